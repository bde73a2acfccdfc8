"""Trendtrack's tables: arrow schemas and keys, tombstone rows, and the seed's shape of a page
and of an item, each field named with the table it lands in (schema drift)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from ..fields import SeedShape
from ..report import Drift
from ..snapshot import TOMBSTONE
from .settings import DELTAS, METRIC_COUNTS, METRIC_FLOATS, PROFILE

_TS = pa.timestamp("us", tz="UTC")
_SEEN = [pa.field("observed_on", pa.date32(), nullable=False), pa.field("observed_at", _TS)]
_METRIC_FIELDS = [
    *[pa.field(n, pa.int64()) for n in METRIC_COUNTS],
    pa.field("engagement_rate", pa.float64()),
    pa.field("rank_percent", pa.float64()),
    pa.field("rank", pa.int64()),
    *[pa.field(c, pa.int64()) for c in DELTAS.values()],
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
    **_of("number", {name: name for name in METRIC_COUNTS}),
    **_of("number", {**METRIC_FLOATS, "rank": "rank", **DELTAS}),
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
