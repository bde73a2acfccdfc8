"""Influtics `GET /v1/videos/stats`: the organization's tracked videos and their stats.

Contract: seeds/003_17c5e2e6fb64804c.txt and the Influtics facts in seeds/README.md. A
success is `{"success": true, "data": {"data": [...], "pagination": {total, limit, offset,
has_more}}, "meta": {processing_time_ms, request_id}}`; an error is `{"success": false,
"error", "code", "details"?}`. Each item carries a `stats` map `{metric: {timestamp: value}}`
with Postgres-style timestamps (`2025-06-30 08:26:03.730104+00`, trailing zeros dropped).

The tracked list is a deterministic sample of the world's TikTok videos published in the last
`TRACK_DAYS` UTC days (plus a few YouTube / Instagram entries that reuse a world video's
counts); a video is tracked from a moment after its publish time, observed every
`OBSERVATION_INTERVAL` from then on, and its `stats` map holds the last `OBSERVATIONS_KEPT`
observations. Like the seed's own example, some items carry an impossible date
(`2025-06-31`) and some a non-numeric value; `FaultConfig.options` switches them off
(`bad_timestamps: false`, `bad_values: false`) and can insert `insert_videos` newly tracked
videos after `insert_after_requests` pages were served, to reproduce offset drift.
"""

from __future__ import annotations

import calendar
import random
import threading
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from simulator.vendor import ErrorKind, Request, Route, Vendor
from simulator.world import Video, World, metrics_at

PATH = "/v1/videos/stats"
LIMIT_DEFAULT = 50
LIMIT_MAX = 100
PLATFORMS = ("TikTok", "YouTube", "Instagram")
STATUSES = ("active", "completed", "failed")
SORTS = ("created_at", "views", "likes", "updated_at")
ORDERS = ("asc", "desc")
METRICS = ("likes", "views", "reposts", "comments")
TRACK_DAYS = 6
TRACKED_SHARE = 1 / 15  # of the world's videos, tracked as TikTok
OTHER_PLATFORM_SHARE = 1 / 150  # tracked again as a YouTube / Instagram cross-post
OBSERVATION_INTERVAL = timedelta(hours=12)
FIRST_OBSERVATION = timedelta(seconds=34)  # the seed: tracked 08:25:29, first stats 08:26:03
OBSERVATIONS_KEPT = 3
BAD_TIMESTAMP_SHARE = 0.08
BAD_VALUE_SHARE = 0.05
NON_NUMERIC_VALUES = ("N/A", "1.2K")
_THUMBS = "https://thumbs.influtics.sim.invalid"
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = 1_000_000
_STATE_LOCK = threading.Lock()

_ERRORS: dict[ErrorKind, tuple[int, str, str]] = {
    "auth_missing": (401, "Missing API key", "INVALID_API_KEY"),
    "auth_invalid": (401, "Invalid API key", "INVALID_API_KEY"),
    "quota": (402, "Credit limit reached", "INSUFFICIENT_CREDITS"),
    "rate_limit": (429, "Too many requests", "RATE_LIMIT_EXCEEDED"),
    "internal": (500, "Internal server error", "INTERNAL_ERROR"),
    "unavailable": (503, "Service temporarily unavailable", "SERVICE_UNAVAILABLE"),
    "not_found": (404, "Endpoint not found", "NOT_FOUND"),
}


@dataclass(frozen=True)
class Tracked:
    """One tracked video; `video` supplies the counts (a cross-post reuses its original's)."""

    video_id: str  # the vendor's UUID
    platform: str
    external_id: str
    video: Video
    tracked_us: int  # epoch microseconds: the item's `created_at`
    status: str
    title: str | None
    cpm: float
    bad_timestamp: bool
    bad_value: str | None


class _BadParameter(ValueError):
    def __init__(self, name: str, details: dict[str, Any]) -> None:
        super().__init__(f"Invalid {name} parameter")
        self.details = details


def error(kind: ErrorKind, request_id: str) -> tuple[int, dict[str, Any]]:
    """Influtics' error envelope: `success: false`, a message and a code (no request id)."""
    status, message, code = _ERRORS[kind]
    return status, {"success": False, "error": message, "code": code}


def pg_timestamp(us: int) -> str:
    """Postgres text output: `2025-06-30 08:26:03.730104+00`, trailing zeros dropped."""
    ts = _EPOCH + timedelta(microseconds=us)
    fraction = f".{ts.microsecond:06d}".rstrip("0").rstrip(".")
    return ts.strftime("%Y-%m-%d %H:%M:%S") + fraction + "+00"


def iso_timestamp(us: int) -> str:
    """ISO 8601 as the seed's `created_at`: `2025-06-30T08:25:29.97727+00:00`."""
    return pg_timestamp(us).replace(" ", "T")[:-3] + "+00:00"


def impossible(stamp: str) -> str:
    """The same timestamp on the day after its month's last day, like the seed's 2025-06-31."""
    year, month = int(stamp[:4]), int(stamp[5:7])
    return f"{stamp[:8]}{calendar.monthrange(year, month)[1] + 1}{stamp[10:]}"


def tracked_videos(world: World, now: datetime, state: dict[str, Any]) -> list[Tracked]:
    """Every video tracked at `now` (base sample, then any inserted mid-crawl), unsorted."""
    now_us = _micros(now)
    base = [t for t in _base_sample(world, now.date()) if t.tracked_us <= now_us]
    return base + list(state.get("inserted", ()))


def observations(entry: Tracked, now: datetime) -> list[int]:
    """Epoch microseconds of the kept observations at `now`, oldest first."""
    first, now_us = entry.tracked_us + _micros_delta(FIRST_OBSERVATION), _micros(now)
    if first > now_us:
        return []
    step = _micros_delta(OBSERVATION_INTERVAL)
    last_k = (now_us - first) // step
    return [first + k * step for k in range(max(0, last_k - OBSERVATIONS_KEPT + 1), last_k + 1)]


def video_stats(request: Request) -> tuple[int, dict[str, Any]]:
    """One page of the tracked list, filtered and sorted as asked."""
    try:
        query = _parse(request.query)
    except _BadParameter as exc:
        return 400, {
            "success": False,
            "error": str(exc),
            "code": "INVALID_PARAMETER",
            "details": exc.details,
        }
    options, state = request.options, request.state
    with _STATE_LOCK:
        served = state.get("served", 0)
        if (
            options.get("insert_videos")
            and "inserted" not in state
            and served >= options.get("insert_after_requests", 1)
        ):
            state["inserted"] = _inserted(request.world, request.now, options["insert_videos"])
        state["served"] = served + 1
        entries = tracked_videos(request.world, request.now, state)

    limit, offset, platform, status, sort, order = query
    rows = [
        _item(e, request.now, options)
        for e in entries
        if (platform is None or e.platform == platform) and (status is None or e.status == status)
    ]
    # Ties break on the UUID, so one request's order is total; offsets still drift when
    # rows are inserted before the crawl's position (the default `created_at desc`).
    rows.sort(key=lambda r: (r[0][sort], r[1]["video_id"]), reverse=order == "desc")
    page = [item for _, item in rows[offset : offset + limit]]
    return 200, {
        "success": True,
        "data": {
            "data": page,
            "pagination": {
                "total": len(rows),
                "limit": limit,
                "offset": offset,
                "has_more": offset + len(page) < len(rows),
            },
        },
        "meta": {"processing_time_ms": 40 + 3 * len(page), "request_id": request.request_id},
    }


def _parse(query: dict[str, str]) -> tuple[int, int, str | None, str | None, str, str]:
    limit = _number(query, "limit", LIMIT_DEFAULT, 1, LIMIT_MAX)
    offset = _number(query, "offset", 0, 0, None)
    platform = query.get("platform") or None
    if platform is not None and platform not in PLATFORMS:
        raise _BadParameter("platform", {"valid_platform_options": list(PLATFORMS)})
    status = query.get("status") or None
    if status is not None and status not in STATUSES:
        raise _BadParameter("status", {"valid_status_options": list(STATUSES)})
    sort = query.get("sort") or "created_at"
    if sort not in SORTS:
        raise _BadParameter("sort", {"valid_sort_options": list(SORTS)})
    order = query.get("order") or "desc"
    if order not in ORDERS:
        raise _BadParameter("order", {"valid_order_options": list(ORDERS)})
    return limit, offset, platform, status, sort, order


def _number(query: dict[str, str], name: str, default: int, low: int, high: int | None) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        bounds = {"min": low} if high is None else {"min": low, "max": high}
        raise _BadParameter(name, bounds)
    return int(raw)


def _item(entry: Tracked, now: datetime, options: Any) -> tuple[dict[str, int], dict[str, Any]]:
    """(sort keys, item): the item has the seed's fields and JSON types."""
    times = observations(entry, now)
    counts = [metrics_at(entry.video, _EPOCH + timedelta(microseconds=t)) for t in times]
    stamps = [pg_timestamp(t) for t in times]
    if entry.bad_timestamp and options.get("bad_timestamps", True) and stamps:
        stamps[-1] = impossible(stamps[-1])
    stats: dict[str, dict[str, Any]] = {}
    for metric, field in zip(METRICS, ("likes", "views", "shares", "comments"), strict=True):
        stats[metric] = {stamp: getattr(c, field) for stamp, c in zip(stamps, counts, strict=True)}
    if entry.bad_value is not None and options.get("bad_values", True) and stamps:
        stats["comments"][stamps[0]] = entry.bad_value
    last = counts[-1] if counts else None
    engaged = last.likes + last.comments + last.shares if last else 0
    item: dict[str, Any] = {
        "video_id": entry.video_id,
        "external_video_id": entry.external_id,
        "stats": stats,
        "views": last.views if last else None,
        "likes": last.likes if last else None,
        "comments": last.comments if last else None,
        "reposts": last.shares if last else None,
        "platform": entry.platform,
        "created_at": iso_timestamp(entry.tracked_us),
        "title": entry.title,
        "thumbnail_url": f"{_THUMBS}/{entry.platform.lower()}/{entry.external_id}.webp",
        "cpm": entry.cpm,
        "er": engaged / last.views * 100 if last and last.views else None,
        "stats_last_updated": iso_timestamp(times[-1]) if times else None,
    }
    keys = {
        "created_at": entry.tracked_us,
        "updated_at": times[-1] if times else 0,
        "views": item["views"] or 0,
        "likes": item["likes"] or 0,
    }
    return keys, item


@lru_cache(maxsize=16)
def _base_sample(world: World, today: date) -> tuple[Tracked, ...]:
    """The deterministic tracked sample for publish days [today - TRACK_DAYS, today]."""
    start = today - timedelta(days=TRACK_DAYS)
    entries = []
    for video in world.videos_between(start, today + timedelta(days=1)):
        rng = random.Random(f"{world.seed}:influtics:{video.video_id}")
        roll = rng.random()
        if roll < TRACKED_SHARE:
            platform = "TikTok"
        elif roll < TRACKED_SHARE + OTHER_PLATFORM_SHARE:
            platform = rng.choice(PLATFORMS[1:])
        else:
            continue
        entries.append(_entry(rng, video, platform, video.create_time * _US))
    return tuple(entries)


def _inserted(world: World, now: datetime, count: int) -> list[Tracked]:
    """`count` untracked videos of yesterday, tracked at `now`: the newest `created_at` of all.

    They are just tracked, so not observed yet: empty `stats` and null totals, as a real
    vendor answers before its first scrape.
    """
    candidates = world.videos_published_on(now.date() - timedelta(days=1))
    picked = []
    for video in candidates:
        rng = random.Random(f"{world.seed}:influtics:{video.video_id}")
        if rng.random() < TRACKED_SHARE + OTHER_PLATFORM_SHARE:
            continue  # already tracked
        entry = _entry(rng, video, "TikTok", 0)
        picked.append(replace(entry, tracked_us=_micros(now) + len(picked), status="active"))
        if len(picked) == count:
            break
    return picked


def _entry(rng: random.Random, video: Video, platform: str, published_us: int) -> Tracked:
    delay = rng.randrange(300 * _US, 6 * 3600 * _US)
    if platform == "TikTok":
        external = str(video.video_id)
    else:
        external = "".join(rng.choices(_ID_ALPHABET, k=11))
    title_roll = rng.random()
    title = video.description if title_roll < 0.7 else "Untitled" if title_roll < 0.9 else None
    cpm = round(rng.uniform(2, 25), 2) if rng.random() < 0.2 else 0
    bad_roll = rng.random()
    return Tracked(
        video_id=str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        platform=platform,
        external_id=external,
        video=video,
        tracked_us=published_us + delay,
        status=rng.choices(STATUSES, weights=(85, 10, 5))[0],
        title=title,
        cpm=cpm,
        bad_timestamp=bad_roll < BAD_TIMESTAMP_SHARE,
        bad_value=(
            rng.choice(NON_NUMERIC_VALUES)
            if BAD_TIMESTAMP_SHARE <= bad_roll < BAD_TIMESTAMP_SHARE + BAD_VALUE_SHARE
            else None
        ),
    )


def _micros(ts: datetime) -> int:
    return _micros_delta(ts - _EPOCH)


def _micros_delta(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * _US + delta.microseconds


VENDOR = Vendor(
    name="influtics",
    routes={
        ("GET", PATH): Route(
            handler=video_stats,
            items=lambda body: body["data"]["data"],
            drop_field="title",
            retype_field="views",
            cost=0,  # the seed: "Credits Cost: Free"
        ),
    },
    error=error,
)
