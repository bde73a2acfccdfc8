"""Trendtrack Public API, TikTok library: ads and organic videos with metrics and rank deltas.

Seed `002_3760140e65f2a384.txt` plus the Trendtrack facts in seeds/README.md. Endpoints:

    GET  /v1/tiktok/library                  browse: search, searchArea, type, status, sortBy,
                                             order, page, limit
    POST /v1/tiktok/library/query            body: search[], mode, searchArea, type, status,
                                             minViews, isPinned, sortBy, order, page, limit
    GET  /v1/tiktok/library/{id}             one item by `tiktok_<id>`, falling back to the id
    GET  /v1/shops/{shopId}/tiktok/library   the items of one shop

The vendor keeps no history: every pull is a snapshot at its observation day. Current state
(items, profiles, shops, page snapshots) is merged on its ids; `library_item_metrics` is
keyed `(item_id, observed_on)`, so a same-day re-pull replaces the day's row and the next
day appends exactly one row per item: that table is what trends are built from.

Paging walks `page` up to `pagination.totalPages` with `limit` within the documented 1..50
(the service accepts 100; the client keeps to the document). Items are keyed by the library
`id`; a result set that changes mid-walk (a page repeats an id, or `total` moves, or fewer
unique ids than `total` arrive) is walked again from page 1 and the walks are unioned, so an
item is neither lost nor doubled. Each watch entry is one unit of work: fetched whole, then
kept; the source stops at the first failure it cannot retry, keeping complete units.

An item's hashtags and media replace its earlier ones (merge key `item_id`); an item that now
has none is sent as one tombstone row (`deleted`, dlt's `hard_delete` hint) that removes the
old rows and is never stored itself. An item that carries no `content.hashtags` list (or a
`media` without its `medias` / `imageUrls` lists) says nothing about them: its rows are kept.

Schema drift against the seed is noted per response (`seed_drift`, `SEED_PARTS`): a field
absent from every object of a response, a field the seed lacks, a value of another JSON
type, each named with the table it lands in. The arrow schemas are the tables' contract
(`merge_resource`): an added field is named and not stored; a value that no longer reads as
its column's type stops the watch entry, naming it; a field absent from a whole response is
named `missing` and the ingest asset puts back the values stored under the same key.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

import dlt
import pyarrow as pa
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource
from pydantic import Field, field_validator, model_validator

from . import config
from .config import StrictModel
from .errors import ConfigError, InvalidRequest, MalformedResponse, VendorError
from .fields import (
    SeedShape,
    merge_resource,
    to_bool,
    to_float,
    to_int,
    to_iso_timestamp,
    to_list,
    to_obj,
    to_text,
)
from .http import ClientSettings, VendorClient, VendorProfile, VendorResponse
from .report import Drift, RunReport

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.trendtrack.io"
LIBRARY_PATH = "/v1/tiktok/library"
QUERY_PATH = "/v1/tiktok/library/query"
ITEM_PATH = "/v1/tiktok/library/{id}"
SHOP_PATH = "/v1/shops/{shop_id}/tiktok/library"
LIMIT_MIN, LIMIT_MAX = 1, 50  # the document's bounds (the service allows 100)
MAX_WALKS = 3  # walks of one result set before accepting what the union holds

# The seed's enums, in its order; the first value is the vendor's default unless noted.
SearchArea = Literal["all", "caption", "profile", "hashtag", "music"]
ItemType = Literal["all", "ad", "organic"]
ItemStatus = Literal["all", "active", "inactive"]
SortBy = Literal[
    "relevance",  # the vendor's default is "newest"
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
]
Order = Literal["asc", "desc"]  # default "desc"
Mode = Literal["any", "all"]
Pinned = Literal["yes", "no"]
DELTA_DAYS = (3, 7, 14, 30)
TOMBSTONE = "deleted"  # dlt `hard_delete` column: a row that only removes its item's rows
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_ITEM_ID = re.compile(r"(?:tiktok_)?(\d{1,19})")


# -- the watchlist section ----------------------------------------------------------------------


class _Listing(StrictModel):
    """What every paged listing shares; `name` keys its hits in `library_search_hits`."""

    name: str
    search_area: SearchArea = "all"
    type: ItemType = "all"
    status: ItemStatus = "all"
    sort_by: SortBy = "newest"
    order: Order = "desc"
    max_pages: int = Field(default=10, ge=1, le=1000)

    @field_validator("name")
    @classmethod
    def _slug(cls, name: str) -> str:
        if not _NAME.fullmatch(name):
            raise ValueError("name must be a lower-case slug: letters, digits, _ . -")
        return name


class LibraryBrowse(_Listing):
    """`GET /v1/tiktok/library`: one optional search string."""

    search: str | None = None


class LibraryQuery(_Listing):
    """`POST /v1/tiktok/library/query`: several terms, any/all, view floor, pin filter."""

    search: tuple[str, ...] = Field(min_length=1)
    mode: Mode = "any"
    min_views: int | None = Field(default=None, ge=0)
    pinned: Pinned | None = None


class ShopLibrary(_Listing):
    """`GET /v1/shops/{shopId}/tiktok/library` for one stable public shop id."""

    shop_id: str
    search: str | None = None

    @field_validator("shop_id")
    @classmethod
    def _shop_id(cls, value: str) -> str:
        if not value.strip() or "/" in value or "?" in value:
            raise ValueError("shop_id must be one non-empty path segment")
        return value


class TrendtrackWatch(StrictModel):
    """Which Trendtrack searches, shops and items to snapshot every day."""

    queries: tuple[LibraryQuery, ...] = (
        LibraryQuery(name="skincare", search=("skincare", "grwm"), search_area="hashtag"),
    )
    browse: tuple[LibraryBrowse, ...] = ()
    shops: tuple[ShopLibrary, ...] = ()
    items: tuple[str, ...] = ()
    limit: int = Field(default=LIMIT_MAX, ge=LIMIT_MIN, le=LIMIT_MAX)

    @field_validator("items")
    @classmethod
    def _item_ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        bad = [i for i in ids if not _ITEM_ID.fullmatch(i)]
        if bad:
            raise ValueError(f"items are `tiktok_<id>` or numeric TikTok ids, got {bad}")
        return ids

    @model_validator(mode="after")
    def _unique_names(self) -> TrendtrackWatch:
        names = [e.name for e in (*self.queries, *self.browse, *self.shops)]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"names must be unique across queries, browse and shops: {dupes}")
        return self


def validate_watch(watch: TrendtrackWatch | Mapping[str, Any] | None) -> TrendtrackWatch:
    """A watch from the watchlist or a plain dict; any problem is a ConfigError naming the
    watchlist key (`trendtrack.<key>: ...`), raised before any request."""
    return config.validate_watch(TrendtrackWatch, watch, "trendtrack")


# -- HTTP contract ------------------------------------------------------------------------------


def _validation_detail(body: Any) -> str | None:
    """`error.code` plus each `details.validationErrors[]` field and what it expects."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    details = error.get("details")
    problems = details.get("validationErrors") if isinstance(details, dict) else None
    parts = []
    for problem in problems if isinstance(problems, list) else []:
        if not isinstance(problem, dict):
            continue
        expected = problem.get("expected")
        expected = expected if isinstance(expected, list) else [expected]
        parts.append(f"{problem.get('field')}: {'; '.join(str(e) for e in expected if e)}")
    code = error.get("code")
    if not parts:
        return f"code {code}" if code else None
    return f"code {code}; " + ", ".join(parts)


PROFILE = VendorProfile(
    name="trendtrack",
    auth="bearer",
    quota_statuses=frozenset({402}),
    invalid_statuses=frozenset({400, 404, 409, 422}),
    credits_per_request=1.0,
    error_detail=_validation_detail,
)


@dataclass(frozen=True)
class Listing:
    """One watch entry as HTTP: a path, fixed parameters, and how pages are asked for."""

    key: str
    method: Literal["GET", "POST"]
    path: str
    params: Mapping[str, Any]
    max_pages: int

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"

    def request(self, client: VendorClient, page: int, limit: int) -> VendorResponse:
        if not LIMIT_MIN <= limit <= LIMIT_MAX:
            raise ConfigError(f"trendtrack limit must be in {LIMIT_MIN}..{LIMIT_MAX}, got {limit}")
        if page < 1:
            raise ConfigError(f"trendtrack page must be >= 1, got {page}")
        paging = {"page": page, "limit": limit}
        if self.method == "POST":
            return client.post(self.path, json_body={**self.params, **paging})
        return client.get(self.path, params={**self.params, **paging})


def _listing_params(entry: _Listing) -> dict[str, Any]:
    return {
        "searchArea": entry.search_area,
        "type": entry.type,
        "status": entry.status,
        "sortBy": entry.sort_by,
        "order": entry.order,
    }


def listings(watch: TrendtrackWatch) -> list[Listing]:
    """Every paged listing of a watch: queries, then browses, then shops."""
    out = []
    for query in watch.queries:
        body = {**_listing_params(query), "search": list(query.search), "mode": query.mode}
        if query.min_views is not None:
            body["minViews"] = query.min_views
        if query.pinned is not None:
            body["isPinned"] = query.pinned
        out.append(Listing(f"query:{query.name}", "POST", QUERY_PATH, body, query.max_pages))
    for browse in watch.browse:
        params = _listing_params(browse)
        if browse.search:
            params["search"] = browse.search
        out.append(Listing(f"browse:{browse.name}", "GET", LIBRARY_PATH, params, browse.max_pages))
    for shop in watch.shops:
        params = _listing_params(shop)
        if shop.search:
            params["search"] = shop.search
        path = SHOP_PATH.format(shop_id=shop.shop_id)
        out.append(Listing(f"shop:{shop.name}", "GET", path, params, shop.max_pages))
    return out


# -- parsing one item ---------------------------------------------------------------------------

# Trendtrack sends some ids as numbers and others as strings: take both as text.
_text = functools.partial(to_text, int_ok=True)


@dataclass
class ParsedItem:
    """One library item flattened into the rows of every table it feeds."""

    item: dict[str, Any]
    metrics: dict[str, Any]
    # None: the item did not carry the list, so its stored rows stay as they are.
    hashtags: list[dict[str, Any]] | None
    media: list[dict[str, Any]] | None
    profile: dict[str, Any] | None
    shop: dict[str, Any] | None
    page_snapshot: dict[str, Any] | None


_METRIC_COUNTS = ("views", "likes", "comments", "saves", "shares", "reposts")
_METRIC_FLOATS = {"engagementRate": "engagement_rate", "rankPercent": "rank_percent"}
_DELTAS = {f"deltaRank{d}d": f"delta_rank_{d}d" for d in DELTA_DAYS}


def parse_item(
    raw: Any, *, observed_on: date, observed_at: datetime, request_id: str | None
) -> ParsedItem:
    """One raw library item -> typed rows. Raises ValueError naming the bad field."""
    if not isinstance(raw, dict):
        raise ValueError(f"item should be an object, got {type(raw).__name__}")
    item_id = _text(raw.get("id"), "id")
    if not item_id:
        raise ValueError("required field 'id' is missing")
    tiktok_id = to_int(raw.get("tiktokId"), "tiktokId")
    if tiktok_id is None and (match := _ITEM_ID.fullmatch(item_id)):
        tiktok_id = int(match.group(1))
    if tiktok_id is None:
        raise ValueError("required field 'tiktokId' is missing and 'id' does not hold it")
    seen = {"observed_on": observed_on, "observed_at": observed_at}

    metrics_raw = to_obj(raw, "metrics") or {}
    metrics: dict[str, Any] = {
        name: to_int(metrics_raw.get(name), f"metrics.{name}") for name in _METRIC_COUNTS
    }
    for key, column in _METRIC_FLOATS.items():
        metrics[column] = to_float(metrics_raw.get(key), f"metrics.{key}")
    metrics["rank"] = to_int(metrics_raw.get("rank"), "metrics.rank")
    for key, column in _DELTAS.items():
        metrics[column] = to_int(metrics_raw.get(key), f"metrics.{key}")

    content = to_obj(raw, "content") or {}
    music = to_obj(content, "music") or {}
    media = to_obj(raw, "media") or {}
    pin = to_obj(raw, "pin") or {}
    links = to_obj(raw, "links") or {}
    source = to_obj(raw, "source") or {}
    profile_raw, shop_raw = to_obj(raw, "profile"), to_obj(raw, "shop")
    snapshot_raw = to_obj(raw, "pageSnapshot")
    profile_id = _text(profile_raw.get("id"), "profile.id") if profile_raw else None
    shop_id = _text(shop_raw.get("id"), "shop.id") if shop_raw else None
    days_running = to_int(raw.get("daysRunning"), "daysRunning")
    status = _text(raw.get("status"), "status")
    indexed_at = to_iso_timestamp(raw.get("indexedAt"), "indexedAt")

    item = {
        "id": item_id,
        "tiktok_id": tiktok_id,
        "type": _text(raw.get("type"), "type"),
        "status": status,
        "is_pinned": to_bool(raw.get("isPinned"), "isPinned"),
        "published_at": to_iso_timestamp(raw.get("publishedAt"), "publishedAt"),
        "created_at": to_iso_timestamp(raw.get("createdAt"), "createdAt"),
        "updated_at": to_iso_timestamp(raw.get("updatedAt"), "updatedAt"),
        "indexed_at": indexed_at,
        "days_running": days_running,
        "description": _text(content.get("description"), "content.description"),
        "language": _text(content.get("language"), "content.language"),
        "category": _text(content.get("category"), "content.category"),
        "music_id": _text(music.get("id"), "content.music.id"),
        "music_title": _text(music.get("title"), "content.music.title"),
        "music_author": _text(music.get("author"), "content.music.author"),
        "media_type": _text(media.get("type"), "media.type"),
        "thumbnail_url": _text(media.get("thumbnailUrl"), "media.thumbnailUrl"),
        "media_url": _text(media.get("mediaUrl"), "media.mediaUrl"),
        "video_url": _text(media.get("videoUrl"), "media.videoUrl"),
        "duration_sec": to_float(media.get("durationSec"), "media.durationSec"),
        "media_count": to_int(media.get("mediaCount"), "media.mediaCount"),
        "image_count": to_int(media.get("imageCount"), "media.imageCount"),
        **metrics,
        "relevance_score": to_float(metrics_raw.get("relevanceScore"), "metrics.relevanceScore"),
        "profile_id": profile_id,
        "shop_id": shop_id,
        "pin_is_current": to_bool(pin.get("isCurrent"), "pin.isCurrent"),
        "pin_first_pinned_at": to_iso_timestamp(pin.get("firstPinnedAt"), "pin.firstPinnedAt"),
        "pin_last_pinned_at": to_iso_timestamp(pin.get("lastPinnedAt"), "pin.lastPinnedAt"),
        "pin_last_unpinned_at": to_iso_timestamp(pin.get("lastUnpinnedAt"), "pin.lastUnpinnedAt"),
        "tiktok_url": _text(links.get("tiktokUrl"), "links.tiktokUrl"),
        "profile_url": _text(links.get("profileUrl"), "links.profileUrl"),
        "source_network": _text(source.get("network"), "source.network"),
        "source_type": _text(source.get("sourceType"), "source.sourceType"),
        "source_tiktok_page_id": _text(source.get("tiktokPageId"), "source.tiktokPageId"),
        "source_website_id": _text(source.get("websiteId"), "source.websiteId"),
        "source_domain": _text(source.get("domain"), "source.domain"),
        **seen,
        "request_id": request_id,
    }
    snapshot = {
        "item_id": item_id,
        "observed_on": observed_on,
        "tiktok_id": tiktok_id,
        "observed_at": observed_at,
        "indexed_at": indexed_at,
        "status": status,
        "days_running": days_running,
        **metrics,
        "request_id": request_id,
    }
    hashtags = [
        {
            "item_id": item_id,
            "position": n,
            "hashtag": _text(tag, f"content.hashtags[{n}]"),
            **seen,
        }
        for n, tag in enumerate(to_list(content, "hashtags"))
    ]
    media_rows = []
    for n, entry in enumerate(to_list(media, "medias")):
        if not isinstance(entry, dict):
            raise ValueError(f"field 'media.medias[{n}]' should be an object")
        media_rows.append(
            {
                "item_id": item_id,
                "source": "medias",
                "position": n,
                "media_type": _text(entry.get("type"), f"media.medias[{n}].type"),
                "url": _text(entry.get("url"), f"media.medias[{n}].url"),
                "media_order": to_int(entry.get("order"), f"media.medias[{n}].order"),
                **seen,
            }
        )
    for n, url in enumerate(to_list(media, "imageUrls")):
        media_rows.append(
            {
                "item_id": item_id,
                "source": "imageUrls",
                "position": n,
                "media_type": "image",
                "url": _text(url, f"media.imageUrls[{n}]"),
                "media_order": n,
                **seen,
            }
        )
    return ParsedItem(
        item=item,
        metrics=snapshot,
        hashtags=hashtags if "hashtags" in content else None,
        media=None if media and not {"medias", "imageUrls"} <= media.keys() else media_rows,
        profile=_parse_profile(profile_raw, seen) if profile_id else None,
        shop=_parse_shop(shop_raw, seen) if shop_raw and shop_id else None,
        page_snapshot=(
            _parse_page_snapshot(snapshot_raw, profile_id, seen)
            if snapshot_raw and profile_id
            else None
        ),
    )


def _parse_profile(p: Mapping[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
    return {
        "profile_id": _text(p.get("id"), "profile.id"),
        "handle": _text(p.get("handle"), "profile.handle"),
        "name": _text(p.get("name"), "profile.name"),
        "avatar_url": _text(p.get("avatarUrl"), "profile.avatarUrl"),
        "bio": _text(p.get("bio"), "profile.bio"),
        "bio_url": _text(p.get("bioUrl"), "profile.bioUrl"),
        "account_type": _text(p.get("accountType"), "profile.accountType"),
        "sec_uid": _text(p.get("secUid"), "profile.secUid"),
        **{
            column: to_int(p.get(key), f"profile.{key}")
            for key, column in (
                ("followers", "followers"),
                ("following", "following"),
                ("totalTikToks", "total_tiktoks"),
                ("newTikToks", "new_tiktoks"),
                ("views", "views"),
                ("likes", "likes"),
            )
        },
        "percent_ads": to_float(p.get("percentAds"), "profile.percentAds"),
        "page_creation": to_iso_timestamp(p.get("pageCreation"), "profile.pageCreation"),
        **seen,
    }


def _parse_shop(s: Mapping[str, Any], seen: dict[str, Any]) -> dict[str, Any]:
    categories = [to_int(c, "shop.googleCategoryIds[]") for c in to_list(s, "googleCategoryIds")]
    return {
        "shop_id": _text(s.get("id"), "shop.id"),
        "domain": _text(s.get("domain"), "shop.domain"),
        "name": _text(s.get("name"), "shop.name"),
        "logo_url": _text(s.get("logoUrl"), "shop.logoUrl"),
        "favicon_url": _text(s.get("faviconUrl"), "shop.faviconUrl"),
        "country_code": _text(s.get("countryCode"), "shop.countryCode"),
        "monthly_visits": to_int(s.get("monthlyVisits"), "shop.monthlyVisits"),
        "traffic_growth_30d": to_float(s.get("trafficGrowth30d"), "shop.trafficGrowth30d"),
        "products_count": to_int(s.get("productsCount"), "shop.productsCount"),
        "google_category_ids": json.dumps([str(c) for c in categories]),
        **seen,
    }


def _parse_page_snapshot(
    s: Mapping[str, Any], profile_id: str, seen: dict[str, Any]
) -> dict[str, Any]:
    return {
        "profile_id": profile_id,
        "recorded_at": to_iso_timestamp(s.get("recordedAt"), "pageSnapshot.recordedAt"),
        **{
            column: to_int(s.get(key), f"pageSnapshot.{key}")
            for key, column in (
                ("adsCount", "ads_count"),
                ("organicCount", "organic_count"),
                ("totalTikToks", "total_tiktoks"),
                ("dailyViews", "daily_views"),
                ("dailyLikes", "daily_likes"),
                ("dailyFollowers", "daily_followers"),
            )
        },
        **seen,
    }


# -- tables -------------------------------------------------------------------------------------

_TS = pa.timestamp("us", tz="UTC")
_SEEN = [pa.field("observed_on", pa.date32(), nullable=False), pa.field("observed_at", _TS)]
_METRIC_FIELDS = [
    *[pa.field(n, pa.int64()) for n in _METRIC_COUNTS],
    pa.field("engagement_rate", pa.float64()),
    pa.field("rank_percent", pa.float64()),
    pa.field("rank", pa.int64()),
    *[pa.field(c, pa.int64()) for c in _DELTAS.values()],
]


def _schema(*fields: pa.Field | tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([f if isinstance(f, pa.Field) else pa.field(*f) for f in fields])


SCHEMAS: dict[str, pa.Schema] = {
    "library_items": _schema(
        pa.field("id", pa.string(), nullable=False),
        pa.field("tiktok_id", pa.int64(), nullable=False),
        *[(n, pa.string()) for n in ("type", "status")],
        ("is_pinned", pa.bool_()),
        *[(n, _TS) for n in ("published_at", "created_at", "updated_at", "indexed_at")],
        ("days_running", pa.int64()),
        *[
            (n, pa.string())
            for n in (
                "description",
                "language",
                "category",
                "music_id",
                "music_title",
                "music_author",
                "media_type",
                "thumbnail_url",
                "media_url",
                "video_url",
            )
        ],
        ("duration_sec", pa.float64()),
        ("media_count", pa.int64()),
        ("image_count", pa.int64()),
        *_METRIC_FIELDS,
        ("relevance_score", pa.float64()),
        ("profile_id", pa.string()),
        ("shop_id", pa.string()),
        ("pin_is_current", pa.bool_()),
        *[(n, _TS) for n in ("pin_first_pinned_at", "pin_last_pinned_at", "pin_last_unpinned_at")],
        *[
            (n, pa.string())
            for n in (
                "tiktok_url",
                "profile_url",
                "source_network",
                "source_type",
                "source_tiktok_page_id",
                "source_website_id",
                "source_domain",
            )
        ],
        *_SEEN,
        ("request_id", pa.string()),
    ),
    "library_item_metrics": _schema(
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("observed_on", pa.date32(), nullable=False),
        pa.field("tiktok_id", pa.int64(), nullable=False),
        ("observed_at", _TS),
        ("indexed_at", _TS),
        ("status", pa.string()),
        ("days_running", pa.int64()),
        *_METRIC_FIELDS,
        ("request_id", pa.string()),
    ),
    "library_item_hashtags": _schema(
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("position", pa.int64(), nullable=False),
        ("hashtag", pa.string()),
        *_SEEN,
        (TOMBSTONE, pa.bool_()),
    ),
    "library_item_media": _schema(
        pa.field("item_id", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("position", pa.int64(), nullable=False),
        ("media_type", pa.string()),
        ("url", pa.string()),
        ("media_order", pa.int64()),
        *_SEEN,
        (TOMBSTONE, pa.bool_()),
    ),
    "profiles": _schema(
        pa.field("profile_id", pa.string(), nullable=False),
        *[
            (n, pa.string())
            for n in ("handle", "name", "avatar_url", "bio", "bio_url", "account_type", "sec_uid")
        ],
        *[
            (n, pa.int64())
            for n in ("followers", "following", "total_tiktoks", "new_tiktoks", "views", "likes")
        ],
        ("percent_ads", pa.float64()),
        ("page_creation", _TS),
        *_SEEN,
    ),
    "shops": _schema(
        pa.field("shop_id", pa.string(), nullable=False),
        *[(n, pa.string()) for n in ("domain", "name", "logo_url", "favicon_url", "country_code")],
        ("monthly_visits", pa.int64()),
        ("traffic_growth_30d", pa.float64()),
        ("products_count", pa.int64()),
        ("google_category_ids", pa.string()),
        *_SEEN,
    ),
    "page_snapshots": _schema(
        pa.field("profile_id", pa.string(), nullable=False),
        ("recorded_at", _TS),
        *[
            (n, pa.int64())
            for n in (
                "ads_count",
                "organic_count",
                "total_tiktoks",
                "daily_views",
                "daily_likes",
                "daily_followers",
            )
        ],
        *_SEEN,
    ),
    "library_search_hits": _schema(
        pa.field("watch_key", pa.string(), nullable=False),
        pa.field("observed_on", pa.date32(), nullable=False),
        pa.field("item_id", pa.string(), nullable=False),
        ("position", pa.int64()),
        ("endpoint", pa.string()),
        ("request_id", pa.string()),
    ),
}

# table -> (primary key, merge key replaced as a unit or None)
KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "library_items": (("id",), None),
    "library_item_metrics": (("item_id", "observed_on"), None),
    "library_item_hashtags": (("item_id", "position"), ("item_id",)),
    "library_item_media": (("item_id", "source", "position"), ("item_id",)),
    "profiles": (("profile_id",), None),
    "shops": (("shop_id",), None),
    "page_snapshots": (("profile_id",), None),
    "library_search_hits": (("watch_key", "observed_on", "item_id"), ("watch_key", "observed_on")),
}
TABLES = tuple(SCHEMAS)


# -- schema drift against the seed --------------------------------------------------------------


def _of(kind: str, columns: Mapping[str, str | None]) -> dict[str, tuple[str, str | None]]:
    """Seed fields of one JSON type: key -> (type, the column holding its value, if any)."""
    return {key: (kind, column) for key, column in columns.items()}


@dataclass(frozen=True)
class SeedPart:
    """The seed's fields of one object of an item, as they land in one table.

    `path` is where the object sits: "" the item, "content.music" a sub-object,
    "media.medias[]" each object of a list. Only objects an item carries are tallied, so an
    organic video without `shop` is not drift; a key no part of the path names is `added`
    in the path's first part.
    """

    table: str
    path: str
    fields: Mapping[str, tuple[str, str | None]]
    optional: frozenset[str] = frozenset()

    def shape(self) -> SeedShape:
        prefix = f"{self.path}." if self.path else ""
        return SeedShape(
            PROFILE.name,
            self.table,
            {prefix + key: kind for key, (kind, _) in self.fields.items()},
            optional=frozenset(prefix + key for key in self.optional),
            columns={prefix + key: col for key, (_, col) in self.fields.items() if col},
        )

    def objects(self, root: Any) -> list[dict[str, Any]]:
        found = [root]
        for step in self.path.split(".") if self.path else ():
            key, many = step.removesuffix("[]"), step.endswith("[]")
            values = [obj.get(key) for obj in found if isinstance(obj, dict)]
            found = [v for vs in values if isinstance(vs, list) for v in vs] if many else values
        return [obj for obj in found if isinstance(obj, dict)]


_METRICS_SEED = {
    **_of("number", {name: name for name in _METRIC_COUNTS}),
    **_of("number", {**_METRIC_FLOATS, "rank": "rank", **_DELTAS}),
}
_ITEM_SEED = {
    **_of("string", {"id": "id", "tiktokId": "tiktok_id", "type": "type", "status": "status"}),
    **_of("string", {"publishedAt": "published_at", "createdAt": "created_at"}),
    **_of("string", {"updatedAt": "updated_at", "indexedAt": "indexed_at"}),
    "isPinned": ("boolean", "is_pinned"),
    "daysRunning": ("number", "days_running"),
    **_of("object", dict.fromkeys(("media", "content", "metrics", "profile", "shop", "pin"))),
    **_of("object", dict.fromkeys(("pageSnapshot", "links", "source"))),
}
# What the vendor leaves out of an item that has none (a shop on an organic video, a
# sound that was removed), and what only the item detail carries (`links`, `source`).
_ITEM_OPTIONAL = frozenset({"media", "shop", "pageSnapshot", "links", "source"})
_PROFILE_COLUMNS = {"id": "profile_id", "avatarUrl": "avatar_url", "bioUrl": "bio_url"}
_PROFILE_COLUMNS |= {"accountType": "account_type", "secUid": "sec_uid"}
_PROFILE_COUNTS = {"totalTikToks": "total_tiktoks", "newTikToks": "new_tiktoks"}
_SHOP_COLUMNS = {"id": "shop_id", "logoUrl": "logo_url", "faviconUrl": "favicon_url"}
_SNAPSHOT_COUNTS = {"adsCount": "ads_count", "organicCount": "organic_count"}
_SNAPSHOT_COUNTS |= {"totalTikToks": "total_tiktoks", "dailyViews": "daily_views"}
_SNAPSHOT_COUNTS |= {"dailyLikes": "daily_likes", "dailyFollowers": "daily_followers"}
# The seed example's item, one part per (object, table); a field landing in two tables
# (the metrics, the status) is in a part of each, so both keep their stored values.
SEED_PARTS: tuple[SeedPart, ...] = (
    SeedPart("library_items", "", _ITEM_SEED, _ITEM_OPTIONAL),
    SeedPart(
        "library_item_metrics",
        "",
        {key: _ITEM_SEED[key] for key in ("tiktokId", "status", "daysRunning", "indexedAt")},
    ),
    SeedPart(
        "library_items",
        "content",
        _of("string", {k: k for k in ("description", "language", "category")})
        | {"music": ("object", None)},
        frozenset({"music"}),
    ),
    SeedPart("library_item_hashtags", "content", {"hashtags": ("array", None)}),
    SeedPart(
        "library_items",
        "content.music",
        _of("string", {"id": "music_id", "title": "music_title", "author": "music_author"}),
    ),
    SeedPart(
        "library_items",
        "media",
        _of("string", {"type": "media_type", "thumbnailUrl": "thumbnail_url"})
        | _of("string", {"mediaUrl": "media_url", "videoUrl": "video_url"})
        | _of("number", {"durationSec": "duration_sec", "mediaCount": "media_count"})
        | _of("number", {"imageCount": "image_count"}),
    ),
    SeedPart("library_item_media", "media", _of("array", {"imageUrls": None, "medias": None})),
    SeedPart(
        "library_item_media",
        "media.medias[]",
        _of("string", {"type": "media_type", "url": "url"}) | {"order": ("number", "media_order")},
    ),
    SeedPart("library_item_metrics", "metrics", _METRICS_SEED),
    SeedPart(
        "library_items",
        "metrics",
        _METRICS_SEED | {"relevanceScore": ("number", "relevance_score")},
    ),
    SeedPart(
        "profiles",
        "profile",
        _of("string", {k: k for k in ("handle", "name", "bio")} | _PROFILE_COLUMNS)
        | _of("number", {k: k for k in ("followers", "following", "views", "likes")})
        | _of("number", _PROFILE_COUNTS | {"percentAds": "percent_ads"})
        | {"pageCreation": ("string", "page_creation")},
    ),
    SeedPart("library_items", "profile", {"id": ("string", "profile_id")}),
    SeedPart(
        "shops",
        "shop",
        _of("string", {"domain": "domain", "name": "name", "countryCode": "country_code"})
        | _of("string", _SHOP_COLUMNS)
        | _of("number", {"monthlyVisits": "monthly_visits", "productsCount": "products_count"})
        | _of("number", {"trafficGrowth30d": "traffic_growth_30d"})
        | {"googleCategoryIds": ("array", "google_category_ids")},
    ),
    SeedPart("library_items", "shop", {"id": ("string", "shop_id")}),
    SeedPart(
        "library_items",
        "pin",
        {"isCurrent": ("boolean", "pin_is_current")}
        | _of("string", {"firstPinnedAt": "pin_first_pinned_at"})
        | _of("string", {"lastPinnedAt": "pin_last_pinned_at"})
        | _of("string", {"lastUnpinnedAt": "pin_last_unpinned_at"}),
    ),
    SeedPart(
        "page_snapshots",
        "pageSnapshot",
        {"recordedAt": ("string", "recorded_at")} | _of("number", _SNAPSHOT_COUNTS),
    ),
    SeedPart(
        "library_items",
        "links",
        _of("string", {"tiktokUrl": "tiktok_url", "profileUrl": "profile_url"}),
    ),
    SeedPart(
        "library_items",
        "source",
        _of("string", {"network": "source_network", "sourceType": "source_type"})
        | _of("string", {"tiktokPageId": "source_tiktok_page_id"})
        | _of("string", {"websiteId": "source_website_id", "domain": "source_domain"}),
    ),
)
# A listing's page, which `library_search_hits` is built from.
PAGE_PARTS: tuple[SeedPart, ...] = (
    SeedPart(
        "library_search_hits",
        "",
        {"requestId": ("string", "request_id"), "data": ("array", None)}
        | {"pagination": ("object", None)},
    ),
    SeedPart(
        "library_search_hits",
        "pagination",
        _of("number", dict.fromkeys(("page", "limit", "total", "totalPages"))),
    ),
)
# Tables whose rows carry the response's request id: a drift there is put back per response.
_BY_REQUEST = frozenset({"library_items", "library_item_metrics"})


def seed_drift(
    roots: Iterable[Any],
    partition: str,
    request_id: str | None,
    parts: tuple[SeedPart, ...] = SEED_PARTS,
) -> set[Drift]:
    """How one response's items (or, with `PAGE_PARTS`, its body) differ from the seed."""
    known: dict[str, set[str]] = {}
    first: dict[str, SeedPart] = {}
    for part in parts:
        known.setdefault(part.path, set()).update(part.fields)
        first.setdefault(part.path, part)
    tallies = [(part, part.shape().tally()) for part in parts]
    for root in roots:
        for part, tally in tallies:
            prefix, takes_added = f"{part.path}." if part.path else "", first[part.path] is part
            for obj in part.objects(root):
                tally.add(
                    {
                        prefix + key: value
                        for key, value in obj.items()
                        if key in part.fields or (takes_added and key not in known[part.path])
                    }
                )
    found: set[Drift] = set()
    for part, tally in tallies:
        by_request = request_id and part.table in _BY_REQUEST
        found |= tally.drift(partition, {"request_id": request_id} if by_request else None)
    return found


def tombstone(table: str, item_id: str, observed_on: date) -> dict[str, Any]:
    """The row that empties an item's children and is itself dropped.

    dlt's delete-insert deletes every stored row under the staged row's merge key (`item_id`),
    then inserts only rows whose `hard_delete` column is not set. Other key columns get values
    no real child has (position -1, source "").
    """
    primary_key, merge_key = KEYS[table]
    if merge_key != ("item_id",) or TOMBSTONE not in SCHEMAS[table].names:
        raise ValueError(f"{table} has no tombstones")
    row: dict[str, Any] = {"item_id": item_id, "observed_on": observed_on, TOMBSTONE: True}
    for column in primary_key[1:]:
        row[column] = -1 if pa.types.is_int64(SCHEMAS[table].field(column).type) else ""
    return row


# -- fetching -----------------------------------------------------------------------------------


@dataclass
class Hit:
    """An item as one listing returned it: the parsed rows and where it was seen."""

    parsed: ParsedItem
    position: int
    request_id: str | None


@dataclass
class WalkResult:
    hits: dict[str, Hit]
    walks: int
    stable: bool
    truncated: bool


def _bad_page(listing: Listing, page: int, response: VendorResponse, what: str) -> VendorError:
    return MalformedResponse(
        PROFILE.name,
        f"{what} ({listing.key}, page {page})",
        endpoint=listing.endpoint,
        status=response.status,
        request_id=response.request_id,
        hint="the vendor changed its payload; earlier watch entries are kept",
    )


def _walk(
    client: VendorClient,
    listing: Listing,
    limit: int,
    observed: tuple[date, datetime],
    report: RunReport,
) -> tuple[dict[str, Hit], bool, bool]:
    """One walk over pages 1..totalPages: (hits by id, result set looked stable, truncated).

    Each page's drift is noted before its items are parsed, so a value that fails to parse
    is named as drift too.
    """
    hits: dict[str, Hit] = {}
    totals: set[int] = set()
    repeats = 0
    page = 1
    while True:
        response = listing.request(client, page, limit)
        body = response.body
        items = body.get("data") if isinstance(body, dict) else None
        pagination = body.get("pagination") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise _bad_page(listing, page, response, "`data` should be a list")
        day, rid = observed[0].isoformat(), response.request_id
        report.note_drift(seed_drift([body], day, rid, PAGE_PARTS) | seed_drift(items, day, rid))
        if not isinstance(pagination, dict):
            raise _bad_page(listing, page, response, "`pagination` should be an object")
        try:
            total = to_int(pagination.get("total"), "pagination.total")
            total_pages = to_int(pagination.get("totalPages"), "pagination.totalPages")
        except ValueError as exc:
            raise _bad_page(listing, page, response, str(exc)) from None
        if total is None or total_pages is None:
            raise _bad_page(listing, page, response, "`pagination.total/totalPages` are missing")
        totals.add(total)
        for offset, raw in enumerate(items):
            try:
                parsed = parse_item(
                    raw,
                    observed_on=observed[0],
                    observed_at=observed[1],
                    request_id=response.request_id,
                )
            except ValueError as exc:
                raise _bad_page(listing, page, response, f"{exc} in item {offset + 1}") from None
            if parsed.item["id"] in hits:
                repeats += 1
                continue
            position = (page - 1) * limit + offset + 1
            hits[parsed.item["id"]] = Hit(parsed, position, response.request_id)
        if page >= total_pages or not items:
            return hits, len(totals) == 1 and repeats == 0 and len(hits) == total, False
        if page >= listing.max_pages:
            return hits, len(totals) == 1 and repeats == 0, True
        page += 1


def fetch_listing(
    client: VendorClient,
    listing: Listing,
    *,
    limit: int,
    observed: tuple[date, datetime],
    max_walks: int = MAX_WALKS,
    report: RunReport | None = None,
) -> WalkResult:
    """Every item of one listing, by library id, walked again while the result set moves."""
    report = report if report is not None else RunReport()
    merged: dict[str, Hit] = {}
    stable = truncated = False
    walks = 0
    while walks < max_walks and not stable:
        walks += 1
        hits, stable, truncated = _walk(client, listing, limit, observed, report)
        merged.update(hits)
        if not stable:
            logger.info("%s: result set moved during walk %d; walking again", listing.key, walks)
    if not stable:
        logger.warning("%s: result set still moving after %d walks", listing.key, walks)
    return WalkResult(merged, walks, stable, truncated)


def fetch_item(
    client: VendorClient,
    item_id: str,
    observed: tuple[date, datetime],
    report: RunReport | None = None,
) -> ParsedItem | None:
    """One item by composite id, falling back to the TikTok id; None when neither exists."""
    match = _ITEM_ID.fullmatch(item_id)
    if match is None:
        raise ConfigError(f"trendtrack item id {item_id!r} is not tiktok_<id> or a TikTok id")
    candidates = dict.fromkeys([item_id, f"tiktok_{match.group(1)}", match.group(1)])
    for candidate in candidates:
        path = ITEM_PATH.format(id=candidate)
        try:
            response = client.get(path)
        except InvalidRequest as exc:
            if exc.status == 404:
                continue
            raise
        data = response.body.get("data") if isinstance(response.body, dict) else None
        if report is not None:
            report.note_drift(seed_drift([data], observed[0].isoformat(), response.request_id))
        try:
            return parse_item(
                data,
                observed_on=observed[0],
                observed_at=observed[1],
                request_id=response.request_id,
            )
        except ValueError as exc:
            raise MalformedResponse(
                PROFILE.name,
                f"{exc} (item {candidate})",
                endpoint=f"GET {ITEM_PATH}",
                status=response.status,
                request_id=response.request_id,
            ) from None
    return None


@dataclass
class Harvest:
    """Everything one source run fetched, deduplicated, per table; fetched once, lazily.

    Every resource of the source reads from the same harvest, so the vendor is asked once
    whichever table dlt extracts first. A watch entry lands whole or not at all.
    """

    watch: TrendtrackWatch
    observed_on: date
    observed_at: datetime
    make_client: Any
    report: RunReport
    tables: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)
    children: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    _done: bool = False

    def rows(self, table: str) -> list[dict[str, Any]]:
        """The table's real rows (tombstones apart: they are not data)."""
        self._ensure_fetched()
        if table in self.children:
            return [row for rows in self.children[table].values() for row in rows]
        return list(self.tables.get(table, {}).values())

    def tombstone_rows(self, table: str) -> list[dict[str, Any]]:
        """One per item whose list of `table` children is now empty."""
        self._ensure_fetched()
        by_item = self.children.get(table, {})
        return [
            tombstone(table, item_id, self.observed_on)
            for item_id, rows in by_item.items()
            if not rows
        ]

    def _ensure_fetched(self) -> None:
        if not self._done:
            self._done = True
            self._fetch()

    def _put(self, table: str, row: dict[str, Any]) -> None:
        key = tuple(row[c] for c in KEYS[table][0])
        rows = self.tables.setdefault(table, {})
        old = rows.get(key)
        # The same item from a listing and from its detail: keep every non-null value.
        rows[key] = (
            row if old is None else {k: old.get(k) if v is None else v for k, v in row.items()}
        )

    def _add(self, parsed: ParsedItem) -> None:
        item_id = parsed.item["id"]
        self._put("library_items", parsed.item)
        self._put("library_item_metrics", parsed.metrics)
        # Child rows replace the item's earlier ones, as the merge key does in the warehouse.
        for table, children in (
            ("library_item_hashtags", parsed.hashtags),
            ("library_item_media", parsed.media),
        ):
            if children is not None:
                self.children.setdefault(table, {})[item_id] = children
        for table, row in (
            ("profiles", parsed.profile),
            ("shops", parsed.shop),
            ("page_snapshots", parsed.page_snapshot),
        ):
            if row is not None:
                self._put(table, row)

    def _fetch(self) -> None:
        observed = (self.observed_on, self.observed_at)
        try:
            client = self.make_client()
        except VendorError as exc:
            self.report.stopped_by = exc
            return
        with client:
            try:
                for listing in listings(self.watch):
                    result = fetch_listing(
                        client,
                        listing,
                        limit=self.watch.limit,
                        observed=observed,
                        report=self.report,
                    )
                    if not result.hits:
                        self.report.empty_slices.append(listing.key)
                    for item_id, hit in result.hits.items():
                        self._add(hit.parsed)
                        self._put(
                            "library_search_hits",
                            {
                                "watch_key": listing.key,
                                "observed_on": self.observed_on,
                                "item_id": item_id,
                                "position": hit.position,
                                "endpoint": listing.endpoint,
                                "request_id": hit.request_id,
                            },
                        )
                for item_id in self.watch.items:
                    parsed = fetch_item(client, item_id, observed, self.report)
                    if parsed is None:
                        self.report.empty_slices.append(f"item:{item_id} (not found)")
                    else:
                        self._add(parsed)
            except VendorError as exc:
                logger.error("stopping trendtrack after complete watch entries: %s", exc)
                self.report.stopped_by = exc


@dlt.source(name="trendtrack", max_table_nesting=0)
def trendtrack_source(
    watch: Any = None,
    observed_on: date | None = None,
    api_key: TSecretStrValue | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    requests_per_second: float = 5.0,
    read_timeout: float = 30.0,
    max_attempts: int = 6,
    backoff_base: float = 0.5,
    report: RunReport | None = None,
) -> list[DltResource]:
    """Today's snapshot of the watched Trendtrack searches, shops and items.

    `watch` is a `TrendtrackWatch` (or a dict of one), validated here, before any request.
    `observed_on` is the observation day (default: today, UTC) keying the metrics snapshot.
    Settings resolve from `SOURCES__TRENDTRACK__*` like every vendor. Call the report's
    `raise_if_stopped()` after loading: complete watch entries are loaded first.
    """
    run_report = report if report is not None else RunReport()
    checked = validate_watch(watch)
    now = datetime.now(UTC)
    day = observed_on or now.date()
    observed_at = now if day == now.date() else datetime.combine(day, now.time(), tzinfo=UTC)
    settings = ClientSettings(
        read_timeout=read_timeout,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        requests_per_second=requests_per_second,
    )
    harvest = Harvest(
        checked,
        day,
        observed_at,
        lambda: VendorClient(PROFILE, base_url, api_key, settings, stats=run_report.requests),
        run_report,
    )
    return [_resource(table, harvest, run_report) for table in TABLES]


def _resource(table: str, harvest: Harvest, report: RunReport) -> DltResource:
    return merge_resource(
        table,
        SCHEMAS[table],
        KEYS[table],
        lambda: harvest.rows(table),
        report,
        tombstones=lambda: harvest.tombstone_rows(table),
        hard_delete=TOMBSTONE if TOMBSTONE in SCHEMAS[table].names else None,
    )
