"""EnsembleData's constants from the guide, its prices, HTTP profile and watchlist section."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .. import config
from ..config import StrictModel
from ..http import VendorProfile

DEFAULT_BASE_URL = "https://ensembledata.com/apis"
HASHTAG_POSTS = "/tt/hashtag/posts"
HASHTAG_RECENT_POSTS = "/tt/hashtag/recent-posts"
KEYWORD_SEARCH = "/tt/keyword/search"
KEYWORD_FULL_SEARCH = "/tt/keyword/full-search"
USER_INFO = "/tt/user/info"
USER_INFO_FROM_SECUID = "/tt/user/info-from-secuid"
USER_POSTS = "/tt/user/posts"
USER_POSTS_FROM_SECUID = "/tt/user/posts-from-secuid"
USER_FOLLOWERS = "/tt/user/followers"
USER_FOLLOWINGS = "/tt/user/followings"
POST_INFO = "/tt/post/info"
POST_MULTI_INFO = "/tt/post/multi-info"
POST_COMMENTS = "/tt/post/comments"
MUSIC_POSTS = "/tt/music/posts"
MUSIC_DETAILS = "/tt/music/details"
USED_UNITS = "/customer/get-used-units"

MAX_MULTI_IDS = 100  # the guide: "accepts a maximum of 100 post ids at once"
MAX_FOLLOWERS = 5_000  # the guide: the most recent 5000 followers
KEYWORD_SORTING = {"relevance": 0, "likes": 1}
POSTS_PER_PAGE = 20  # the guide: a hashtag search page holds "about 20 posts"
# The guide's largest full walk: "very popular hashtags tend to have a maximum of 4000-5000
# posts". The keyword full search states no bound at all, so it is held to the same one.
FULL_SEARCH_MAX_POSTS = 5_000


@dataclass(frozen=True)
class Price:
    """What one request may cost: `units` for each of `steps(params)` steps.

    The seed names no prices, so these are the vendor's per-request charges as its answers
    show them: 1 unit a request, user posts 1 per `depth`, multi-info 1 per 10 ids, and a full
    search 1 per page of ~20 posts it walks for you (the guide: it "uses the same Hashtag Search
    endpoint ... but it handles the cursor for you"). `varies`: the charge follows what the
    search finds, so `steps` is the worst case, not a guess.
    """

    units: float = 1.0
    steps: Callable[[Mapping[str, Any]], int] = lambda params: 1
    varies: bool = False


PRICES: dict[str, Price] = {
    USED_UNITS: Price(0),
    USER_POSTS: Price(1, lambda p: int(p.get("depth", 1))),
    USER_POSTS_FROM_SECUID: Price(1, lambda p: int(p.get("depth", 1))),
    POST_MULTI_INFO: Price(1, lambda p: math.ceil(len(str(p["ids"]).split(";")) / 10)),
    # at most `max_cursor` posts
    HASHTAG_RECENT_POSTS: Price(
        1, lambda p: math.ceil(int(p["max_cursor"]) / POSTS_PER_PAGE), varies=True
    ),
    KEYWORD_FULL_SEARCH: Price(
        1, lambda p: math.ceil(FULL_SEARCH_MAX_POSTS / POSTS_PER_PAGE), varies=True
    ),
}
DEFAULT_PRICE = Price(1)  # every other path: one unit a request


def _detail(body: Any) -> str | None:
    """FastAPI's 422 `detail` is a list of field problems: name them."""
    detail = body.get("detail") if isinstance(body, dict) else None
    if not isinstance(detail, list):
        return None
    parts = []
    for problem in detail[:5]:
        if isinstance(problem, dict):
            loc = ".".join(str(p) for p in problem.get("loc", []) if p != "query")
            parts.append(f"{loc}: {problem.get('msg', '?')}")
    return "; ".join(parts) or None


def _data_on_error(status: int, body: Any) -> bool:
    """A 4xx that still carries `data` is data (the vendor's own client returns it)."""
    return isinstance(body, dict) and body.get("data") is not None


PROFILE = VendorProfile(
    name="ensembledata",
    auth="query",
    token_param="token",
    cost_header="units_charged",
    auth_statuses=frozenset({401, 403, 491, 492}),
    quota_statuses=frozenset({493, 495}),
    invalid_statuses=frozenset({400, 404, 422}),
    error_detail=_detail,
    data_on_error=_data_on_error,
)


# -- the watchlist section ------------------------------------------------------------------


def _name(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


class HashtagFullSearch(StrictModel):
    """`/tt/hashtag/recent-posts`: every post of a hashtag at most `days` old."""

    name: str
    days: int = Field(default=7, ge=1, le=180)
    max_cursor: int = Field(default=200, ge=1, le=10_000)

    _check_name = field_validator("name")(_name)


class KeywordWatch(StrictModel):
    """`/tt/keyword/search` (paged) or `/tt/keyword/full-search` (`full: true`)."""

    name: str
    period: Literal[0, 1, 7, 30, 90, 180] = 7
    sorting: Literal["relevance", "likes"] = "relevance"
    country: str | None = None
    match_exactly: bool = False
    full: bool = False

    _check_name = field_validator("name")(_name)

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and (len(value) != 2 or not value.isalpha() or not value.isupper()):
            raise ValueError(f"country must be a two-letter upper-case code, got {value!r}")
        return value


class UserWatch(StrictModel):
    """One creator, by `username` or `sec_uid`: info always, posts and follows on request."""

    username: str | None = None
    sec_uid: str | None = None
    posts: bool = True
    depth: int = Field(default=1, ge=1, le=50)  # chunks of ~10 posts per request
    oldest_createtime: int | None = Field(default=None, ge=0)  # epoch seconds
    followers: bool = False
    followings: bool = False

    @model_validator(mode="after")
    def _one_id(self) -> UserWatch:
        if (self.username is None) == (self.sec_uid is None):
            raise ValueError("give exactly one of username or sec_uid")
        return self

    @property
    def key(self) -> str:
        return f"user:{self.username or self.sec_uid}"


class EnsembleDataWatch(StrictModel):
    """What to monitor through EnsembleData, and the daily units budget it may spend."""

    daily_units_budget: int | None = Field(default=300, ge=1)  # null = no budget
    max_pages: int = Field(default=3, ge=1, le=250)  # depth of every paged walk
    hashtags: tuple[str, ...] = ()
    hashtag_full_searches: tuple[HashtagFullSearch, ...] = ()
    keywords: tuple[KeywordWatch, ...] = ()
    users: tuple[UserWatch, ...] = ()
    post_ids: tuple[str, ...] = ()  # multi-info, batched by 100
    post_urls: tuple[str, ...] = ()  # post info, one URL per request
    comments: tuple[str, ...] = ()  # aweme ids whose comments are pulled
    music_ids: tuple[str, ...] = ()  # music details and the posts using it

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(_name(t).lstrip("#") for t in tags)

    @field_validator("post_ids", "comments", "music_ids", mode="before")
    @classmethod
    def _ids(cls, ids: Any) -> tuple[str, ...]:
        """YAML reads a bare id as an int: take it as its digits (ints are exact here)."""
        if not isinstance(ids, list | tuple):
            raise ValueError("should be a list of ids")
        bad = [i for i in ids if isinstance(i, bool) or not str(i).isdigit() or len(str(i)) > 20]
        if bad:
            raise ValueError(f"ids are numeric (19-digit TikTok ids), got {bad}")
        return tuple(str(i) for i in ids)

    @field_validator("post_urls")
    @classmethod
    def _urls(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        bad = [u for u in urls if "tiktok.com/" not in u or "/video/" not in u]
        if bad:
            raise ValueError(f"post urls look like https://www.tiktok.com/@user/video/<id>: {bad}")
        return urls


def validate_watch(watch: EnsembleDataWatch | Mapping[str, Any] | None) -> EnsembleDataWatch:
    """A watch from the watchlist or a plain dict; any problem is a ConfigError naming the
    watchlist key (`ensembledata.<key>: ...`), raised before any request."""
    return config.validate_watch(EnsembleDataWatch, watch, "ensembledata")


def batches(ids: tuple[str, ...], size: int = MAX_MULTI_IDS) -> list[tuple[str, ...]]:
    """Multi-info takes at most 100 ids per request."""
    if not 1 <= size <= MAX_MULTI_IDS:
        raise ValueError(f"batch size must be within 1..{MAX_MULTI_IDS}, got {size}")
    unique = tuple(dict.fromkeys(ids))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


def keyword_params(entry: KeywordWatch) -> dict[str, Any]:
    params: dict[str, Any] = {
        "name": entry.name,
        "period": entry.period,
        "sorting": KEYWORD_SORTING[entry.sorting],
        "match_exactly": "true" if entry.match_exactly else "false",
    }
    if entry.country:
        params["country"] = entry.country
    return params
