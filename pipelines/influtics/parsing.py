"""Influtics parsing: one raw item -> its video row, stats points and quarantined entries.

Pure functions over the seed's item shape, the three tables' arrow schemas, and the seed
shapes schema drift is measured against (`seed_drift`, per page).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from ..fields import SeedShape
from ..report import Drift
from .settings import POINTS_TABLE, PROFILE, QUARANTINE_TABLE, VIDEOS_TABLE

logger = logging.getLogger(__name__)

_TOTALS = ("views", "likes", "comments", "reposts")
# The seed's item and the JSON type of each field there (`int?` totals and `title` may be
# null, which fits any type, but are always sent); its `stats` map holds these metrics.
SEED_FIELDS: dict[str, str] = {
    **dict.fromkeys(("video_id", "external_video_id", "platform", "title"), "string"),
    **dict.fromkeys(("thumbnail_url", "created_at", "stats_last_updated"), "string"),
    **dict.fromkeys((*_TOTALS, "cpm", "er"), "number"),
    "stats": "object",
}
SEED_METRICS = ("likes", "views", "reposts", "comments")
_TIKTOK_ID = re.compile(r"[0-9]{1,19}")
_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[ T](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d{1,9}))?"
    r"\s*(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?"
)


VIDEO_SCHEMA = pa.schema(
    [
        pa.field("video_id", pa.string(), nullable=False),
        ("external_video_id", pa.string()),
        ("tiktok_video_id", pa.int64()),
        ("platform", pa.string()),
        ("title", pa.string()),
        ("thumbnail_url", pa.string()),
        *[(name, pa.int64()) for name in _TOTALS],
        ("er", pa.float64()),
        ("cpm", pa.float64()),
        ("created_at", pa.timestamp("us", tz="UTC")),
        ("stats_last_updated", pa.timestamp("us", tz="UTC")),
        pa.field("observed_on", pa.date32(), nullable=False),
        ("request_id", pa.string()),
    ]
)
POINT_SCHEMA = pa.schema(
    [
        pa.field("video_id", pa.string(), nullable=False),
        ("external_video_id", pa.string()),
        ("tiktok_video_id", pa.int64()),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("observed_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("value", pa.int64(), nullable=False),
        pa.field("observed_on", pa.date32(), nullable=False),
    ]
)
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("video_id", pa.string(), nullable=False),
        ("external_video_id", pa.string()),
        ("tiktok_video_id", pa.int64()),
        pa.field("metric", pa.string(), nullable=False),
        pa.field("raw_timestamp", pa.string(), nullable=False),
        ("raw_value", pa.string()),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("observed_on", pa.date32(), nullable=False),
    ]
)


class BadValue(ValueError):
    """A stats entry that cannot be typed; its message is the quarantine reason."""


def parse_timestamp(raw: Any) -> datetime:
    """`2025-06-30 08:26:03.730104+00` (or ISO 8601) -> an aware UTC datetime.

    Strict on purpose: an impossible date (the seed's `2025-06-31`), a missing UTC offset
    or any other shape raises BadValue naming the problem, never a guessed instant.
    """
    if not isinstance(raw, str):
        raise BadValue(f"timestamp is not a string ({type(raw).__name__})")
    match = _TIMESTAMP.fullmatch(raw.strip())
    if match is None:
        raise BadValue("unparseable timestamp")
    if match["offset"] is None:
        raise BadValue("timestamp has no UTC offset")
    fraction = (match["fraction"] or "").ljust(6, "0")[:6]
    offset = match["offset"].replace("Z", "+00:00")
    if len(offset) == 3:
        offset += ":00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    try:
        ts = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}{offset}")
    except ValueError as exc:
        raise BadValue(f"impossible date or time ({exc})") from None
    return ts.astimezone(UTC)


def parse_count(raw: Any) -> int:
    """A stats value: a JSON integer (or an integral float); anything else is BadValue."""
    if raw is None:
        raise BadValue("missing value")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise BadValue("non-numeric value")
    if isinstance(raw, float):
        if not raw.is_integer() or abs(raw) >= 2**53:
            raise BadValue("non-integer value")
        raw = int(raw)
    if raw < 0:
        raise BadValue("negative count")
    return raw


def _raw_text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _total(value: Any, name: str) -> int | None:
    """A latest-total field (`int?` in the seed): a contract field, so bad means malformed."""
    if value is None:
        return None
    try:
        return parse_count(value)
    except BadValue as exc:
        raise ValueError(f"field {name!r}: {exc} {_raw_text(value)[:40]!r}") from None


def _rate(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"field {name!r} should be a number, got {_raw_text(value)[:40]!r}")
    return float(value)


def _text(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"field {name!r} should be a string, got {type(value).__name__}")
    return value


@dataclass
class ParsedVideo:
    """One item split into its three tables' rows."""

    video: dict[str, Any]
    points: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)


def external_ids(platform: str | None, raw: Any) -> tuple[str | None, int | None]:
    """The vendor's `external_video_id` as sent (text), and as a TikTok id where it is one.

    Every platform's id is kept as text (`oDXC4evUUc2` on YouTube); the BIGINT is set only
    for TikTok and a 64-bit integer, read from the digits, never through a float. A TikTok
    item whose id is not one keeps its text and a NULL BIGINT (the `not_null_ids` check
    counts it) rather than costing the page. Raises ValueError for a non-scalar id.
    """
    if raw is None:
        return None, None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ValueError(f"field 'external_video_id' should be a string, got {type(raw).__name__}")
    text = str(raw)
    if platform != "TikTok" or not _TIKTOK_ID.fullmatch(text) or int(text) >= 2**63:
        return text, None
    return text, int(text)


def parse_video(item: Any, observed_on: date, request_id: str | None) -> ParsedVideo:
    """One raw item -> its video row, stats points and quarantined entries.

    Raises ValueError naming the field when the item breaks the contract (no id, a total
    that is not a count); a bad stats entry or video timestamp is quarantined instead, so
    one odd point never costs the page.
    """
    if not isinstance(item, dict):
        raise ValueError(f"item should be an object, got {type(item).__name__}")
    video_id = item.get("video_id")
    if not isinstance(video_id, str) or not video_id:
        raise ValueError("required field 'video_id' is missing or not a string")
    platform = _text(item, "platform")
    external_text, tiktok_id = external_ids(platform, item.get("external_video_id"))
    if platform == "TikTok" and tiktok_id is None:
        logger.warning(
            "video %s: TikTok external_video_id %r is not a 64-bit integer; kept as text",
            video_id,
            (external_text or "")[:40],
        )
    parsed = ParsedVideo(video={})

    def quarantine(metric: str, raw_ts: Any, raw_value: Any, reason: str) -> None:
        parsed.quarantine.append(
            {
                "video_id": video_id,
                "external_video_id": external_text,
                "tiktok_video_id": tiktok_id,
                "metric": metric,
                "raw_timestamp": _raw_text(raw_ts) or "",
                "raw_value": _raw_text(raw_value),
                "reason": reason,
                "observed_on": observed_on,
            }
        )

    def video_time(name: str) -> datetime | None:
        raw = item.get(name)
        if raw is None:
            return None
        try:
            return parse_timestamp(raw)
        except BadValue as exc:
            quarantine(name, raw, None, str(exc))
            return None

    parsed.video = {
        "video_id": video_id,
        "external_video_id": external_text,
        "tiktok_video_id": tiktok_id,
        "platform": platform,
        "title": _text(item, "title"),
        "thumbnail_url": _text(item, "thumbnail_url"),
        **{name: _total(item.get(name), name) for name in _TOTALS},
        "er": _rate(item.get("er"), "er"),
        "cpm": _rate(item.get("cpm"), "cpm"),
        "created_at": video_time("created_at"),
        "stats_last_updated": video_time("stats_last_updated"),
        "observed_on": observed_on,
        "request_id": request_id,
    }
    stats = item.get("stats")
    if stats is None:
        return parsed
    if not isinstance(stats, dict) or not all(isinstance(s, dict) for s in stats.values()):
        raise ValueError("field 'stats' should map each metric to {timestamp: value}")
    for metric, series in stats.items():
        for raw_ts, raw_value in series.items():
            try:
                observed_at = parse_timestamp(raw_ts)
                value = parse_count(raw_value)
            except BadValue as exc:
                quarantine(metric, raw_ts, raw_value, str(exc))
                continue
            parsed.points.append(
                {
                    "video_id": video_id,
                    "external_video_id": external_text,
                    "tiktok_video_id": tiktok_id,
                    "metric": metric,
                    "observed_at": observed_at,
                    "value": value,
                    "observed_on": observed_on,
                }
            )
    return parsed


VIDEO_SHAPE = SeedShape(PROFILE.name, VIDEOS_TABLE, SEED_FIELDS)
# Both stats tables land the `stats` map: a metric gone or added is named for each.
_STATS_FIELDS = dict.fromkeys((f"stats.{m}" for m in SEED_METRICS), "object")
STATS_SHAPES = tuple(
    SeedShape(PROFILE.name, table, _STATS_FIELDS) for table in (POINTS_TABLE, QUARANTINE_TABLE)
)


def seed_drift(items: list[Any], partition: str, request_id: str | None) -> set[Drift]:
    """How one page's items differ from the seed, per table.

    A page is a slice: its video rows carry the page's `request_id`, which is where a
    field missing from the page gets its stored values back.
    """
    videos = VIDEO_SHAPE.tally()
    stats = [shape.tally() for shape in STATS_SHAPES]
    for item in items:
        videos.add(item)
        series = item.get("stats") if isinstance(item, dict) else None
        if isinstance(series, dict):
            for tally in stats:
                tally.add({f"stats.{metric}": value for metric, value in series.items()})
    found = videos.drift(partition, {"request_id": request_id} if request_id else None)
    for tally in stats:
        found |= tally.drift(partition)
    return found
