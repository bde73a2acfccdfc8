"""Influtics `GET /v1/videos/stats`: tracked videos, their latest totals and stats history.

Seed `003_17c5e2e6fb64804c.txt` plus the Influtics facts in seeds/README.md. Auth is a
bearer key; the endpoint is free; pages are `limit` (max 100) / `offset` until
`pagination.has_more` is false. Influtics keeps no history of its own list: a pull is a
snapshot of what the organization tracks now, so it is loaded under today's date only.

Three tables come from one crawl:
- `video_stats`: one row per tracked video (latest totals, `er`, `cpm`, title, timestamps),
  on any platform: `external_video_id` is the vendor's id as sent (text: a YouTube or
  Instagram id such as `oDXC4evUUc2`), and `tiktok_video_id` the same id as a BIGINT where
  the platform is TikTok and the id is a 64-bit integer (the warehouse's join key);
- `stats_points`: the `stats` map in long form, merged on (video_id, metric, observed_at),
  so overlapping pulls (each answer repeats the last observations) never duplicate a point;
- `stats_quarantine`: stats entries (and video timestamps) that cannot be typed, such as the
  seed's own `2025-06-31`, kept with the raw text and the reason instead of crashing the
  load or being dropped silently; the rest of the page still loads.

Schema drift against the seed is noted per page (`seed_drift`): a field absent from every
item, a field the seed lacks, a value of another JSON type. The arrow schemas are the
tables' contract (`RAW_CONTRACT`): a field they do not name is reported as `added` and not
stored; a value that no longer reads as its column's type stops the crawl, naming it; a
field absent from a page is reported as `missing` and the ingest asset puts back the values
stored under the same key.

Offset pagination shifts when rows are inserted before the crawl's position, and the
default order (`created_at desc`) puts newly tracked videos first: every later page would
repeat rows. The crawl asks for `created_at asc`, where a newly tracked video (the newest
`created_at`) lands after the crawl's position, and de-duplicates by `video_id` as a net.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import dlt
import pyarrow as pa
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource
from pydantic import Field

from .config import StrictModel
from .errors import InvalidRequest, MalformedResponse, VendorError
from .fields import RAW_CONTRACT, SeedShape
from .http import ClientSettings, VendorClient, VendorProfile
from .report import Drift, RunReport

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.influtics.com"
VIDEO_STATS_PATH = "/v1/videos/stats"
MAX_LIMIT = 100
PLATFORMS = ("TikTok", "YouTube", "Instagram")
STATUSES = ("active", "completed", "failed")
SORTS = ("created_at", "views", "likes", "updated_at")
ORDERS = ("asc", "desc")
# The stable crawl order: newly tracked videos have the newest created_at, so they append.
CRAWL_SORT, CRAWL_ORDER = "created_at", "asc"
MAX_PAGES = 10_000  # a vendor that never says has_more=false must not loop forever

VIDEOS_TABLE = "video_stats"
POINTS_TABLE = "stats_points"
QUARANTINE_TABLE = "stats_quarantine"
VIDEO_KEY = ("video_id",)
POINT_KEY = ("video_id", "metric", "observed_at")
QUARANTINE_KEY = ("video_id", "metric", "raw_timestamp")
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


class InfluticsWatch(StrictModel):
    """Which tracked videos to pull; values are the seed's allowed filter values."""

    platform: Literal["TikTok", "YouTube", "Instagram"] | None = "TikTok"
    status: Literal["active", "completed", "failed"] | None = None
    page_size: int = Field(default=MAX_LIMIT, ge=1, le=MAX_LIMIT)


MAX_DETAIL_CHARS = 300  # of the vendor's `details`, kept in the error message


def _error_detail(body: Any) -> str | None:
    """The seed's error `code` plus its `details` as compact JSON, for the error message.

    `{"code": "INVALID_PARAMETER", "details": {"valid_sort_options": [...]}}` becomes
    `INVALID_PARAMETER; details {"valid_sort_options":[...]}`: what was wrong and what the
    vendor accepts, in the run's failure. A 401 has no details: `INVALID_API_KEY`.
    """
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    details = body.get("details")
    parts = [str(code)] if code else []
    if details not in (None, {}, []):
        text = json.dumps(details, ensure_ascii=False, separators=(",", ":"), default=str)
        if len(text) > MAX_DETAIL_CHARS:
            text = text[: MAX_DETAIL_CHARS - 3] + "..."
        parts.append(f"details {text}")
    return "; ".join(parts) or None


def _envelope_error(body: Any) -> tuple[int, str] | None:
    """An HTTP 200 with `success: false` is still an error: map its code to a status."""
    if not isinstance(body, dict) or body.get("success") is not False:
        return None
    code = str(body.get("code") or "")
    status = {"INVALID_PARAMETER": 400, "INVALID_API_KEY": 401}.get(code, 500)
    return status, f"{body.get('error') or 'error'} ({_error_detail(body) or 'no code'})"


PROFILE = VendorProfile(
    name="influtics",
    auth="bearer",
    credits_per_request=0.0,  # the seed: "Credits Cost: Free"
    envelope_error=_envelope_error,
    error_detail=_error_detail,
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


@dataclass
class InfluticsReport(RunReport):
    """A RunReport that also counts pages, skipped duplicates and quarantined entries."""

    pages: int = 0
    duplicates_skipped: int = 0
    tables: tuple[str, ...] = (VIDEOS_TABLE, POINTS_TABLE, QUARANTINE_TABLE)

    def as_metadata(self) -> dict[str, int | float | str]:
        meta = super().as_metadata()
        meta["pages"] = self.pages
        meta["duplicates_skipped"] = self.duplicates_skipped
        meta["quarantined"] = self.rows.get(QUARANTINE_TABLE, 0)
        return meta


@dataclass
class Page:
    """One page's rows for the three tables (what the crawl hands its transformers)."""

    number: int
    videos: pa.Table
    points: pa.Table
    quarantine: pa.Table


def _malformed(message: str, response: Any, page: int) -> MalformedResponse:
    return MalformedResponse(
        PROFILE.name,
        f"{message} (page {page})",
        endpoint=f"GET {VIDEO_STATS_PATH}",
        status=response.status,
        request_id=response.request_id,
        hint="the vendor changed its payload; pages before this one are kept",
    )


def crawl(
    client: VendorClient,
    observed_on: date,
    *,
    platform: str | None = "TikTok",
    status: str | None = None,
    page_size: int = MAX_LIMIT,
    report: InfluticsReport | None = None,
) -> Iterator[Page]:
    """Every tracked video once, page by page, in the stable `created_at asc` order."""
    report = report if report is not None else InfluticsReport()
    if not 1 <= page_size <= MAX_LIMIT:
        raise ValueError(f"page_size must be in [1, {MAX_LIMIT}], got {page_size}")
    seen: set[str] = set()
    offset = 0
    for number in range(1, MAX_PAGES + 1):
        params: dict[str, Any] = {
            "limit": page_size,
            "offset": offset,
            "sort": CRAWL_SORT,
            "order": CRAWL_ORDER,
        }
        if platform:
            params["platform"] = platform
        if status:
            params["status"] = status
        try:
            response = client.get(VIDEO_STATS_PATH, params)
        except InvalidRequest as exc:
            raise exc.with_hint(
                f"the request was {params}; the seed allows platform {PLATFORMS}, "
                f"status {STATUSES}, sort {SORTS}, order {ORDERS}, limit 1-{MAX_LIMIT}"
            ) from None
        report.pages += 1
        body = response.body
        data = body.get("data") if isinstance(body, dict) else None
        items = data.get("data") if isinstance(data, dict) else None
        pagination = data.get("pagination") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise _malformed("`data.data` should be a list", response, number)
        if not isinstance(pagination, dict) or not isinstance(pagination.get("has_more"), bool):
            raise _malformed("`data.pagination.has_more` should be a boolean", response, number)
        # Before parsing: a value that fails to parse is named as drift too.
        report.note_drift(seed_drift(items, observed_on.isoformat(), response.request_id))
        parsed = []
        for position, item in enumerate(items, start=1):
            try:
                video = parse_video(item, observed_on, response.request_id)
            except ValueError as exc:
                raise _malformed(f"{exc} (item {position})", response, number) from None
            if video.video["video_id"] in seen:
                report.duplicates_skipped += 1
                continue
            seen.add(video.video["video_id"])
            parsed.append(video)
        page = Page(
            number,
            pa.Table.from_pylist([p.video for p in parsed], schema=VIDEO_SCHEMA),
            pa.Table.from_pylist([r for p in parsed for r in p.points], schema=POINT_SCHEMA),
            pa.Table.from_pylist(
                [r for p in parsed for r in p.quarantine], schema=QUARANTINE_SCHEMA
            ),
        )
        report.count_rows(VIDEOS_TABLE, page.videos.num_rows)
        report.count_rows(POINTS_TABLE, page.points.num_rows)
        if page.quarantine.num_rows:
            report.count_rows(QUARANTINE_TABLE, page.quarantine.num_rows)
            logger.warning(
                "page %d: %d stats entries quarantined", number, page.quarantine.num_rows
            )
        yield page
        if not pagination["has_more"]:
            return
        if not items:
            raise _malformed("`has_more` is true but the page is empty", response, number)
        offset += len(items)
    raise MalformedResponse(
        PROFILE.name,
        f"still `has_more` after {MAX_PAGES} pages",
        endpoint=f"GET {VIDEO_STATS_PATH}",
    )


def _timestamp_hint(nullable: bool = True) -> dict[str, Any]:
    """A fresh hint per column: dlt writes the column name into the dict it is given."""
    return {"data_type": "timestamp", "timezone": True, "nullable": nullable}


@dlt.source(name="influtics", max_table_nesting=0)
def influtics_source(
    observed_on: date | None = None,
    platform: str | None = "TikTok",
    status: str | None = None,
    page_size: int = MAX_LIMIT,
    api_key: TSecretStrValue | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    requests_per_second: float = 5.0,
    read_timeout: float = 30.0,
    max_attempts: int = 6,
    backoff_base: float = 0.5,
    report: InfluticsReport | None = None,
) -> list[DltResource]:
    """Today's snapshot of the tracked videos (`observed_on` defaults to today, UTC).

    `api_key`, `base_url` and the tuning values resolve from dlt config
    (`SOURCES__INFLUTICS__API_KEY`, `SOURCES__INFLUTICS__BASE_URL`, ...) when not passed.
    One crawl feeds three tables; the source stops at a failure it cannot retry after
    yielding every complete page (read `report.stopped_by`, then `raise_if_stopped()`).
    """
    run_report = report if report is not None else InfluticsReport()
    run_report.row_keys.update(
        {VIDEOS_TABLE: VIDEO_KEY, POINTS_TABLE: POINT_KEY, QUARANTINE_TABLE: QUARANTINE_KEY}
    )
    day = observed_on or datetime.now(UTC).date()
    settings = ClientSettings(
        read_timeout=read_timeout,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        requests_per_second=requests_per_second,
    )

    @dlt.resource(name="video_stats_pages", selected=False)
    def pages() -> Iterator[Page]:
        try:
            client = VendorClient(PROFILE, base_url, api_key, settings, stats=run_report.requests)
        except VendorError as exc:
            run_report.stopped_by = exc
            return
        with client:
            try:
                yield from crawl(
                    client,
                    day,
                    platform=platform,
                    status=status,
                    page_size=page_size,
                    report=run_report,
                )
            except VendorError as exc:
                logger.error("stopping the crawl after %d pages: %s", run_report.pages, exc)
                run_report.stopped_by = exc

    @dlt.transformer(
        data_from=pages,
        name=VIDEOS_TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=VIDEO_KEY,
        schema_contract=RAW_CONTRACT,
        columns={
            "video_id": {"data_type": "text", "nullable": False},
            "external_video_id": {"data_type": "text"},
            "tiktok_video_id": {"data_type": "bigint"},
            "created_at": _timestamp_hint(),
            "stats_last_updated": _timestamp_hint(),
        },
    )
    def video_stats(page: Page) -> Iterator[pa.Table]:
        if page.videos.num_rows:
            yield page.videos

    @dlt.transformer(
        data_from=pages,
        name=POINTS_TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=POINT_KEY,
        schema_contract=RAW_CONTRACT,
        columns={
            "external_video_id": {"data_type": "text"},
            "tiktok_video_id": {"data_type": "bigint"},
            "value": {"data_type": "bigint", "nullable": False},
            "observed_at": _timestamp_hint(nullable=False),
        },
    )
    def stats_points(page: Page) -> Iterator[pa.Table]:
        if page.points.num_rows:
            yield page.points

    @dlt.transformer(
        data_from=pages,
        name=QUARANTINE_TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=QUARANTINE_KEY,
        schema_contract=RAW_CONTRACT,
        columns={
            "external_video_id": {"data_type": "text"},
            "tiktok_video_id": {"data_type": "bigint"},
        },
    )
    def stats_quarantine(page: Page) -> Iterator[pa.Table]:
        """Set-aside stats entries, merged on (video_id, metric, raw_timestamp).

        Merged rather than appended so a nightly re-pull of the same bad entry keeps one
        row; the row's `_dlt_load_id` (added by the parquet normalizer) then names the
        latest load that saw it, which is what the quarantine check counts.
        """
        if page.quarantine.num_rows:
            yield page.quarantine

    return [pages, video_stats, stats_points, stats_quarantine]
