"""Trendtrack's constants from the seed, its watchlist section, and its HTTP profile."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .. import config
from ..config import StrictModel
from ..http import VendorProfile

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
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
ITEM_ID = re.compile(r"(?:tiktok_)?(\d{1,19})")
# An item's metrics, as the seed names them and as the columns hold them.
METRIC_COUNTS = ("views", "likes", "comments", "saves", "shares", "reposts")
METRIC_FLOATS = {"engagementRate": "engagement_rate", "rankPercent": "rank_percent"}
DELTAS = {f"deltaRank{d}d": f"delta_rank_{d}d" for d in DELTA_DAYS}


# -- the watchlist section ----------------------------------------------------------------------


class BaseListing(StrictModel):
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


class LibraryBrowse(BaseListing):
    """`GET /v1/tiktok/library`: one optional search string."""

    search: str | None = None


class LibraryQuery(BaseListing):
    """`POST /v1/tiktok/library/query`: several terms, any/all, view floor, pin filter."""

    search: tuple[str, ...] = Field(min_length=1)
    mode: Mode = "any"
    min_views: int | None = Field(default=None, ge=0)
    pinned: Pinned | None = None


class ShopLibrary(BaseListing):
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
        bad = [i for i in ids if not ITEM_ID.fullmatch(i)]
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
