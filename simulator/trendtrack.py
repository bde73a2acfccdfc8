"""Trendtrack Public API, TikTok library: four endpoints over one re-indexed library.

Contract: seeds/002_3760140e65f2a384.txt and the Trendtrack facts in seeds/README.md.

    GET  /v1/tiktok/library                   browse (search, searchArea, type, status, sortBy,
                                              order, page, limit in the query string)
    POST /v1/tiktok/library/query             the same over a JSON body (search[], mode,
                                              minViews, isPinned)
    GET  /v1/tiktok/library/{id}              one item by `tiktok_<id>`, or by the bare TikTok id
    GET  /v1/shops/{shopId}/tiktok/library    the items linked to one shop

The library holds the world's videos of the last `LIBRARY_DAYS` UTC days (ads = videos that
link products, organic = the rest), re-indexed every hour: all metrics, ranks and rank deltas
are taken at the top of the hour, so a walk over pages within one hour sees one result set.
Sub-objects are optional as in the vendor's data: no `shop` key on organic videos, `pin: null`
on most, no `media` on some (`has_media`), no `content.music` on some (`has_music`: the sound
was removed), no `pageSnapshot` for some profiles (`has_page_snapshot`). The vendor keeps no
history.

`limit` is 1..100 here although the document says 1..50 (the service is laxer than its doc).
Errors are `{"error": {code, message, requestId, details: {validationErrors: [...]}}}`.

Vendor options (FaultConfig.options):
- `shift_after_page: n` inserts `shift_items` (default 1) freshly indexed videos at the top of
  every result set as soon as a page after page `n` is requested: the result set changes under
  a client walking its pages;
- `bare_items: true` serves every item without `media` and with no hashtags, as after its
  creator edited the post: a client must drop the item's earlier media and hashtag rows.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from simulator.vendor import ErrorKind, Request, Route, Vendor
from simulator.world import Creator, Video, World, metrics_at

LIBRARY = "/v1/tiktok/library"
QUERY = "/v1/tiktok/library/query"
ITEM = "/v1/tiktok/library/{id}"
SHOP = "/v1/shops/{shopId}/tiktok/library"

LIBRARY_DAYS = 14
LIMIT_MAX = 100  # what the service enforces (the document says 50)
DEFAULT_LIMIT = 25
DELTA_DAYS = (3, 7, 14, 30)
SEARCH_AREAS = ("all", "caption", "profile", "hashtag", "music")
TYPES = ("all", "ad", "organic")
STATUSES = ("all", "active", "inactive")
SORT_BY = (
    "relevance",
    "newest",
    "updatedAt",
    "views",
    "likes",
    "comments",
    "shares",
    "saves",
    "engagementRate",
    "daysRunning",
    "followers",
)
ORDERS = ("asc", "desc")
MODES = ("any", "all")
PINNED = ("yes", "no")
BODY_FIELDS = frozenset(
    {
        "search",
        "mode",
        "searchArea",
        "type",
        "status",
        "minViews",
        "isPinned",
        "sortBy",
        "order",
        "page",
        "limit",
    }
)
_LANGUAGE = {"US": "en", "GB": "en", "DE": "de", "FR": "fr", "ID": "id", "BR": "pt", "JP": "ja"}
_CDN = "https://cdn.trendtrack.sim.invalid"
_SHOP_NS = uuid.UUID("3f8aa146-6f96-46e8-9781-64db5166f9a8")
_INT = re.compile(r"[+-]?\d{1,9}")
_ITEM_ID = re.compile(r"(?:tiktok_)?(\d{1,19})")

_ERRORS: dict[ErrorKind, tuple[int, str, str]] = {
    "auth_missing": (
        401,
        "missing_api_key",
        "Provide an API key using Authorization: Bearer <api_key>.",
    ),
    "auth_invalid": (401, "invalid_api_key", "The API key is invalid or has been revoked."),
    "quota": (402, "insufficient_credits", "Your plan has no API credits left this period."),
    "rate_limit": (429, "rate_limited", "Too many requests; slow down."),
    "internal": (500, "internal_error", "Internal server error."),
    "unavailable": (503, "service_unavailable", "The service is temporarily unavailable."),
    "not_found": (404, "not_found", "Route not found."),
}


def _error_body(
    code: str, message: str, request_id: str, problems: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "requestId": request_id}
    if problems is not None:
        error["details"] = {"validationErrors": problems}
    return {"error": error}


def error(kind: ErrorKind, request_id: str) -> tuple[int, dict[str, Any]]:
    status, code, message = _ERRORS[kind]
    return status, _error_body(code, message, request_id)


# -- the library ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One library item with everything computed at index time (the JSON is built per request)."""

    video: Video
    indexed_at: datetime
    views: int
    likes: int
    comments: int
    shares: int
    saves: int
    rank: int | None
    rank_percent: float | None
    deltas: tuple[int | None, ...]  # DELTA_DAYS order

    @property
    def item_id(self) -> str:
        return f"tiktok_{self.video.video_id}"

    @property
    def is_ad(self) -> bool:
        return bool(self.video.products)

    @property
    def active(self) -> bool:
        return self.age < self.video.curve.lifetime

    @property
    def age(self) -> float:
        return self.indexed_at.timestamp() - self.video.create_time

    @property
    def days_running(self) -> int:
        return int(min(self.age, self.video.curve.lifetime) // 86_400)

    @property
    def engagement_rate(self) -> float:
        engaged = self.likes + self.comments + self.shares + self.saves
        return round(engaged / self.views, 4) if self.views else 0.0

    @property
    def pinned(self) -> bool | None:
        """None = never pinned (`pin: null`); else whether the pin is current."""
        if (self.video.video_id >> 5) % 6:
            return None
        return (self.video.video_id >> 8) % 2 == 0


def index_hour(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@lru_cache(maxsize=8)
def library(world: World, indexed_at: datetime) -> tuple[Entry, ...]:
    """Every item of the library at one index time, newest first, ranked by views."""
    first = indexed_at.date() - timedelta(days=LIBRARY_DAYS - 1)
    cutoff = indexed_at.timestamp()
    videos = [
        v
        for v in world.videos_between(first, indexed_at.date() + timedelta(days=1))
        if v.create_time <= cutoff
    ]
    ranks = _ranks(videos, indexed_at)
    earlier = [_ranks(videos, indexed_at - timedelta(days=d)) for d in DELTA_DAYS]
    entries = []
    for video in videos:
        m = metrics_at(video, indexed_at)
        rank = ranks.get(video.video_id)
        deltas = tuple(
            None if rank is None or video.video_id not in then else then[video.video_id] - rank
            for then in earlier
        )
        entries.append(
            Entry(
                video,
                indexed_at,
                m.views,
                m.likes,
                m.comments,
                m.shares,
                m.favorites,
                rank,
                None if rank is None else round(100 * rank / len(videos), 2),
                deltas,
            )
        )
    entries.sort(key=lambda e: (-e.video.create_time, e.video.video_id))
    return tuple(entries)


def _ranks(videos: list[Video], at: datetime) -> dict[int, int]:
    """Rank by views at `at` among the videos already published then (1 = most viewed)."""
    t = at.timestamp()
    live = [(metrics_at(v, at).views, v.video_id) for v in videos if v.create_time <= t]
    live.sort(key=lambda pair: (-pair[0], pair[1]))
    return {video_id: n for n, (_, video_id) in enumerate(live, start=1)}


def _inserted(world: World, indexed_at: datetime, count: int) -> list[Entry]:
    """Videos published just after the index time: what a re-index puts on top mid-walk."""
    cutoff = indexed_at.timestamp()
    day, found = indexed_at.date(), []
    while len(found) < count:
        found += [v for v in world.videos_published_on(day) if v.create_time > cutoff]
        day += timedelta(days=1)
    entries = []
    for video in found[:count]:
        seen = datetime.fromtimestamp(video.create_time + 3600, tz=UTC)
        m = metrics_at(video, seen)
        entries.append(
            Entry(
                video,
                seen,
                m.views,
                m.likes,
                m.comments,
                m.shares,
                m.favorites,
                None,
                None,
                (None,) * 4,
            )
        )
    return entries


def _current(request: Request) -> list[Entry]:
    entries = list(library(request.world, index_hour(request.now)))
    return [*request.state.get("inserted", ()), *entries]


def _maybe_shift(request: Request, page: int) -> None:
    after = request.options.get("shift_after_page")
    if after is not None and page > int(after) and "inserted" not in request.state:
        count = int(request.options.get("shift_items", 1))
        request.state["inserted"] = _inserted(request.world, index_hour(request.now), count)


def has_media(video: Video) -> bool:
    """About one item in ten comes without a `media` object."""
    return (video.video_id >> 7) % 10 != 0


def has_music(video: Video) -> bool:
    """About one item in nine has no `content.music` (its sound was removed)."""
    return (video.video_id >> 11) % 9 != 0


def has_page_snapshot(creator: Creator) -> bool:
    """A quarter of the profiles have no `pageSnapshot` recorded."""
    return creator.user_id % 4 != 0


def shop_id(category_id: str, region: str) -> str:
    """The stable public id of the shop selling a category's products in a region."""
    return str(uuid.uuid5(_SHOP_NS, f"{category_id}:{region}"))


def _shop_of(video: Video) -> str | None:
    if not video.products:
        return None
    return shop_id(video.products[0].category.category_id, video.region)


# -- filtering and sorting ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Filter:
    search: tuple[str, ...] = ()
    mode: str = "any"
    area: str = "all"
    type: str = "all"
    status: str = "all"
    min_views: int | None = None
    pinned: str | None = None
    sort_by: str = "newest"
    order: str = "desc"
    page: int = 1
    limit: int = DEFAULT_LIMIT
    shop: str | None = None


def _term_matches(term: str, entry: Entry, area: str) -> bool:
    video, needle = entry.video, term.casefold().strip()
    checks = {
        "caption": lambda: needle in video.description.casefold(),
        "profile": lambda: (
            needle.lstrip("@") in video.creator.unique_id.casefold()
            or needle in video.creator.nickname.casefold()
        ),
        "hashtag": lambda: needle.lstrip("#") in {h.casefold() for h in video.hashtags},
        "music": lambda: (
            has_music(video)
            and (needle in video.music.title.casefold() or needle in video.music.author.casefold())
        ),
    }
    if area == "all":
        return any(check() for check in checks.values())
    return checks[area]()


def _relevance(entry: Entry, flt: _Filter) -> float:
    if not flt.search:
        return 1.0
    hits = sum(_term_matches(t, entry, flt.area) for t in flt.search)
    return round(hits / len(flt.search), 4)


def _keep(entry: Entry, flt: _Filter) -> bool:
    if flt.type != "all" and (flt.type == "ad") != entry.is_ad:
        return False
    if flt.status != "all" and (flt.status == "active") != entry.active:
        return False
    if flt.min_views is not None and entry.views < flt.min_views:
        return False
    if flt.pinned is not None and (flt.pinned == "yes") != bool(entry.pinned):
        return False
    if flt.shop is not None and _shop_of(entry.video) != flt.shop:
        return False
    if flt.search:
        hits = [_term_matches(t, entry, flt.area) for t in flt.search]
        return all(hits) if flt.mode == "all" else any(hits)
    return True


_SORT_KEYS = {
    "newest": lambda e, f: e.video.create_time,
    "updatedAt": lambda e, f: e.indexed_at.timestamp(),
    "views": lambda e, f: e.views,
    "likes": lambda e, f: e.likes,
    "comments": lambda e, f: e.comments,
    "shares": lambda e, f: e.shares,
    "saves": lambda e, f: e.saves,
    "engagementRate": lambda e, f: e.engagement_rate,
    "daysRunning": lambda e, f: e.days_running,
    "followers": lambda e, f: e.video.creator.followers,
    "relevance": lambda e, f: (_relevance(e, f), e.views),
}


def _page(request: Request, flt: _Filter) -> tuple[int, dict[str, Any]]:
    _maybe_shift(request, flt.page)
    inserted = list(request.state.get("inserted", ()))
    base = [e for e in library(request.world, index_hour(request.now)) if _keep(e, flt)]
    key = _SORT_KEYS[flt.sort_by]
    # Stable tie-break on the id, then the requested order on the key.
    base.sort(key=lambda e: e.video.video_id)
    base.sort(key=lambda e: key(e, flt), reverse=flt.order == "desc")
    results = [*inserted, *base]
    total = len(results)
    start = (flt.page - 1) * flt.limit
    data = [item_json(e, _relevance(e, flt)) for e in results[start : start + flt.limit]]
    pagination = {
        "page": flt.page,
        "limit": flt.limit,
        "total": total,
        "totalPages": math.ceil(total / flt.limit),
    }
    if request.options.get("bare_items"):
        data = [_bare(item) for item in data]
    return 200, {"requestId": request.request_id, "data": data, "pagination": pagination}


# -- validation ---------------------------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__(problems)
        self.problems = problems


def _problem(location: str, name: str, *expected: str) -> dict[str, Any]:
    return {"field": f"{location}.{name}", "location": location, "expected": list(expected)}


def _enum(
    values: dict[str, Any], name: str, allowed: tuple[str, ...], location: str, default: str
) -> tuple[str, list[dict[str, Any]]]:
    value = values.get(name, default)
    if value not in allowed:
        expected = f"{name} must be one of the following values: {', '.join(allowed)}"
        return default, [_problem(location, name, expected)]
    return value, []


def _number(
    values: dict[str, Any], name: str, default: int | None, low: int, high: int | None, where: str
) -> tuple[int | None, list[dict[str, Any]]]:
    value = values.get(name)
    if value is None:
        return default, []
    if where == "query-string":
        if not isinstance(value, str) or not _INT.fullmatch(value):
            return default, [_problem(where, name, f"{name} must be an integer number")]
        value = int(value)
    elif isinstance(value, bool) or not isinstance(value, int):
        return default, [_problem(where, name, f"{name} must be an integer number")]
    problems = []
    if value < low:
        problems.append(_problem(where, name, f"{name} must not be less than {low}"))
    if high is not None and value > high:
        problems.append(_problem(where, name, f"{name} must not be greater than {high}"))
    return (default if problems else value), problems


def _common(values: dict[str, Any], where: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """searchArea, type, status, sortBy, order, page, limit: shared by the listing endpoints."""
    problems: list[dict[str, Any]] = []
    out: dict[str, Any] = {}
    for name, key, allowed, default in (
        ("searchArea", "area", SEARCH_AREAS, "all"),
        ("type", "type", TYPES, "all"),
        ("status", "status", STATUSES, "all"),
        ("sortBy", "sort_by", SORT_BY, "newest"),
        ("order", "order", ORDERS, "desc"),
    ):
        out[key], found = _enum(values, name, allowed, where, default)
        problems += found
    out["page"], found = _number(values, "page", 1, 1, None, where)
    problems += found
    out["limit"], found = _number(values, "limit", DEFAULT_LIMIT, 1, LIMIT_MAX, where)
    problems += found
    return out, problems


def _query_filter(request: Request, shop: str | None = None) -> _Filter:
    out, problems = _common(request.query, "query-string")
    unknown = set(request.query) - {"search", "searchArea", "type", "status", "sortBy", "order"}
    unknown -= {"page", "limit"}
    problems += [_problem("query-string", n, f"property {n} should not exist") for n in unknown]
    if problems:
        raise _Invalid(problems)
    search = request.query.get("search", "").strip()
    return _Filter(search=(search,) if search else (), shop=shop, **out)


def _body_filter(request: Request) -> _Filter:
    try:
        body = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _Invalid([_problem("body", "body", "body must be a JSON object")]) from None
    if not isinstance(body, dict):
        raise _Invalid([_problem("body", "body", "body must be a JSON object")])
    out, problems = _common(body, "body")
    problems += [
        _problem("body", n, f"property {n} should not exist")
        for n in sorted(set(body) - BODY_FIELDS)
    ]
    search = body.get("search", [])
    if not isinstance(search, list) or not all(isinstance(s, str) for s in search):
        problems.append(_problem("body", "search", "search must be an array of strings"))
        search = []
    mode, found = _enum(body, "mode", MODES, "body", "any")
    problems += found
    pinned = body.get("isPinned")
    if pinned is not None and pinned not in PINNED:
        problems.append(
            _problem("body", "isPinned", "isPinned must be one of the following values: yes, no")
        )
    min_views, found = _number(body, "minViews", None, 0, None, "body")
    problems += found
    if problems:
        raise _Invalid(problems)
    terms = tuple(s.strip() for s in search if s.strip())
    return _Filter(search=terms, mode=mode, min_views=min_views, pinned=pinned, **out)


def _invalid(request: Request, exc: _Invalid) -> tuple[int, dict[str, Any]]:
    return 400, _error_body(
        "validation_error", "Request validation failed.", request.request_id, exc.problems
    )


# -- handlers -----------------------------------------------------------------------------------


def browse(request: Request) -> tuple[int, dict[str, Any]]:
    try:
        return _page(request, _query_filter(request))
    except _Invalid as exc:
        return _invalid(request, exc)


def query(request: Request) -> tuple[int, dict[str, Any]]:
    try:
        return _page(request, _body_filter(request))
    except _Invalid as exc:
        return _invalid(request, exc)


def shop_library(request: Request) -> tuple[int, dict[str, Any]]:
    """Items of one shop; an unknown shop id has no items (an empty page, not a 404)."""
    try:
        return _page(request, _query_filter(request, shop=request.path_params["shopId"]))
    except _Invalid as exc:
        return _invalid(request, exc)


def detail(request: Request) -> tuple[int, dict[str, Any]]:
    """One item by composite id (`tiktok_<id>`), falling back to the bare TikTok id."""
    raw = request.path_params["id"]
    match = _ITEM_ID.fullmatch(raw)
    if match is None:
        problem = _problem("path", "id", "id must be tiktok_<tiktokId> or a numeric TikTok id")
        return _invalid(request, _Invalid([problem]))
    wanted = int(match.group(1))
    for entry in _current(request):
        if entry.video.video_id == wanted:
            item = item_json(entry, 1.0)
            item["links"] = {
                "tiktokUrl": f"https://www.tiktok.com/@{entry.video.creator.unique_id}"
                f"/video/{entry.video.video_id}",
                "profileUrl": f"https://www.tiktok.com/@{entry.video.creator.unique_id}",
            }
            shop = _shop_of(entry.video)
            item["source"] = {
                "network": "tiktok",
                "sourceType": "ad" if entry.is_ad else "organic",
                "tiktokPageId": str(entry.video.creator.user_id),
                "websiteId": shop,
                "domain": None if shop is None else f"{shop[:8]}.shop.sim.invalid",
            }
            if request.options.get("bare_items"):
                item = _bare(item)
            return 200, {"requestId": request.request_id, "data": item}
    body = _error_body("not_found", f"No TikTok library item {raw}.", request.request_id)
    return 404, body


# -- JSON -----------------------------------------------------------------------------------------


def _iso(ts: float) -> str:
    return (
        datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _profile(creator: Creator, is_ad: bool) -> dict[str, Any]:
    uid = creator.user_id
    total = 40 + uid % 900
    return {
        "id": str(uid),
        "handle": creator.unique_id,
        "name": creator.nickname,
        "avatarUrl": f"{_CDN}/avatar/{creator.sec_uid}.jpg",
        "bio": f"{creator.category} | {creator.region}",
        "bioUrl": None if uid % 3 else f"https://linktr.sim.invalid/{creator.unique_id}",
        "accountType": "business" if is_ad or uid % 5 == 0 else "personal",
        "secUid": creator.sec_uid,
        "followers": creator.followers,
        "following": uid % 1_500,
        "totalTikToks": total,
        "newTikToks": uid % 12,
        "percentAds": round((uid % 40) / 100, 2),
        "views": creator.followers * (8 + uid % 30),
        "likes": creator.followers * (1 + uid % 4),
        "pageCreation": _iso(uid >> 32),
    }


def _shop(video: Video) -> dict[str, Any]:
    category = video.products[0].category
    sid = shop_id(category.category_id, video.region)
    return {
        "id": sid,
        "domain": f"{sid[:8]}.shop.sim.invalid",
        "name": f"{category.name} Store {video.region}",
        "logoUrl": f"{_CDN}/shop/{sid}/logo.png",
        "faviconUrl": f"{_CDN}/shop/{sid}/favicon.ico",
        "countryCode": video.region,
        "monthlyVisits": 10_000 + int(sid[:6], 16) % 500_000,
        "trafficGrowth30d": round((int(sid[6:8], 16) - 128) / 256, 3),
        "productsCount": int(sid[9], 16) + 10,
        "googleCategoryIds": [int(category.category_id)],
    }


def _media(video: Video) -> dict[str, Any]:
    vid = video.video_id
    cover = f"{_CDN}/cover/{vid}.jpg"
    return {
        "type": "video",
        "thumbnailUrl": cover,
        "mediaUrl": f"{_CDN}/media/{vid}.mp4",
        "videoUrl": f"{_CDN}/video/{vid}.mp4",
        "imageUrls": [cover],
        "medias": [
            {"type": "video", "url": f"{_CDN}/media/{vid}.mp4", "order": 0},
            {"type": "image", "url": cover, "order": 1},
        ],
        "durationSec": video.duration,
        "mediaCount": 2,
        "imageCount": 1,
    }


def item_json(entry: Entry, relevance: float) -> dict[str, Any]:
    """One library item in the seed's shape; optional sub-objects vary per video."""
    video, creator = entry.video, entry.video.creator
    vid = video.video_id
    pinned = entry.pinned
    item: dict[str, Any] = {
        "id": entry.item_id,
        "tiktokId": str(vid),
        "type": "ad" if entry.is_ad else "organic",
        "status": "active" if entry.active else "inactive",
        "isPinned": bool(pinned),
        "publishedAt": _iso(video.create_time),
        "createdAt": _iso(video.create_time + 600),
        "updatedAt": _iso(entry.indexed_at.timestamp()),
        "daysRunning": entry.days_running,
    }
    if has_media(video):
        item["media"] = _media(video)
    item["content"] = {
        "description": video.description,
        "language": _LANGUAGE[video.region],
        "category": creator.category,
        "hashtags": list(video.hashtags),
    }
    if has_music(video):
        item["content"]["music"] = {
            "id": str(video.music.music_id),
            "title": video.music.title,
            "author": video.music.author,
        }
    item["metrics"] = {
        "views": entry.views,
        "likes": entry.likes,
        "comments": entry.comments,
        "saves": entry.saves,
        "shares": entry.shares,
        "reposts": entry.shares // 4,
        "engagementRate": entry.engagement_rate,
        "rank": entry.rank,
        "rankPercent": entry.rank_percent,
        "relevanceScore": relevance,
        **{f"deltaRank{d}d": delta for d, delta in zip(DELTA_DAYS, entry.deltas, strict=True)},
    }
    item["profile"] = _profile(creator, entry.is_ad)
    if entry.is_ad:
        item["shop"] = _shop(video)
    item["pin"] = (
        None
        if pinned is None
        else {
            "isCurrent": pinned,
            "firstPinnedAt": _iso(video.create_time + 3_600),
            "lastPinnedAt": _iso(video.create_time + 7_200),
            "lastUnpinnedAt": None if pinned else _iso(video.create_time + 86_400),
        }
    )
    if has_page_snapshot(creator):
        day = entry.indexed_at.replace(hour=0)
        item["pageSnapshot"] = {
            "recordedAt": _iso(day.timestamp()),
            "adsCount": creator.user_id % 17,
            "organicCount": 20 + creator.user_id % 300,
            "totalTikToks": 40 + creator.user_id % 900,
            "dailyViews": creator.followers // 3,
            "dailyLikes": creator.followers // 25,
            "dailyFollowers": creator.followers // 500,
        }
    item["indexedAt"] = _iso(entry.indexed_at.timestamp())
    return item


def _bare(item: dict[str, Any]) -> dict[str, Any]:
    """The item after an edit removed its media and hashtags (`bare_items`)."""
    bare = {k: v for k, v in item.items() if k != "media"}
    bare["content"] = {**item["content"], "hashtags": []}
    return bare


def _list_items(body: Any) -> list[dict[str, Any]]:
    return body["data"]


# Drift drops `publishedAt`, which every item carries (`media` may be absent from an item
# that has none, so dropping it would not be drift), and retypes the count `daysRunning`.
_DROP, _RETYPE = "publishedAt", "daysRunning"

VENDOR = Vendor(
    name="trendtrack",
    routes={
        ("GET", LIBRARY): Route(browse, _list_items, _DROP, _RETYPE),
        ("POST", QUERY): Route(query, _list_items, _DROP, _RETYPE),
        ("GET", ITEM): Route(detail, lambda body: [body["data"]], _DROP, _RETYPE),
        ("GET", SHOP): Route(shop_library, _list_items, _DROP, _RETYPE),
    },
    error=error,
)
