"""EnsembleData TikTok API: hashtag, keyword, creator, post, comment, follow and music monitoring.

Seed `004_d1b5783beaf0fb5d.txt` (the vendor's TikTok guide) plus the EnsembleData facts in
seeds/README.md. Every call is a `GET` under `https://ensembledata.com/apis` with the token as
the `token` query parameter (the shared client adds it and redacts it everywhere). Units
spent are in the `units_charged` response header: summed per run, and held under a daily
budget checked BEFORE each request (units used earlier today, read from the free
`/customer/get-used-units`, + units this run + what the request may cost): the run stops
cleanly before it would exceed the budget and says how much it used. What a request may cost
is conservative: per endpoint, the larger of its price in `PRICES` and the most this run has
seen the vendor charge for that path (per step: depth, 10 ids, 20 posts); the full searches,
whose cost follows what they find, need headroom for their worst case. Should the vendor
still charge past the budget, the run stops at once and says by how much.

Errors are `{"detail": ...}`: 491 token not found and 492 (the token's subscription is
inactive/expired; the seed is silent, so it is treated as an account problem) are AuthError;
493 (a per-account limit; silent in the seed, treated like 495) and 495 units used up are
QuotaExhausted; 422 InvalidRequest; 429 RateLimited; 500 / 520 ServerError (retried). A 4xx
whose body still carries `data` is data, as the vendor's own client treats it.

Lists page with `cursor` -> `nextCursor` (user posts: `start_cursor`; followings also pass the
previous `nextPageToken` as `page_token`). A walk stops at the end marker (no or null
`nextCursor` / `nextPageToken`), at the configured depth (`max_pages`), or when the vendor
answers a cursor it already gave (it never loops).

Tables (dataset `raw_ensembledata`): `videos` keyed by `aweme_id` (the 19-digit TikTok id),
`video_hashtags` (from `text_extra`), `users`, `music`, `comments`, `follows`,
`search_hits`, and three observation snapshots keyed by (id, `observed_on`) so a same-day
re-pull replaces and the next day appends exactly one row per item: `video_stats` (plays,
likes, comments, shares, saves: view velocity), `user_stats` (followers) and `music_stats`.
Each watch entry is one unit of work, fetched and then kept; the entries completed on an
observation day are recorded in the source's dlt state (committed with the rows they loaded),
so a same-day re-run, e.g. after a budget stop, buys only what is missing; a new day starts
fresh. A request of an entry that the vendor refuses (400 / 404 / 422, e.g. a creator whose
posts answer 404) costs only that request's rows: the entry keeps what its other requests
fetched (the creator's profile and follower snapshot), the refusal is listed in the run's
`failed_requests` metadata (an asset check warns), and the entry is not taken as done, so a
same-day re-run asks again. A 404 on an entry's first request is the thing not existing: an
empty slice. Failures that stop the run (auth, quota, the units budget, retries exhausted, a
malformed answer) still stop it after the complete entries. Child lists (`video_hashtags`
per post, `follows` per creator and relation) replace the parent's earlier ones; a list that
is now empty is sent as one tombstone row (`deleted`, dlt's `hard_delete` hint) that removes
the old rows and is never stored itself. Units are what the vendor's `units_charged` headers
say, every billed answer counted (one whose body was truncated and retried too).

Schema drift is noted per watch entry (a slice of the observation day's partition) against
the seed shape of each kind of item (`ItemShape`: a post, its statistics, its hashtags, a
user, a follower, a comment, a sound), on the table each field lands in: a field absent
from every item of the entry (the ingest asset keeps its stored values, per the table's
primary key), a field the seed lacks (named, then dropped: rows are built from fixed arrow
schemas), a value of another JSON type (kept when it still reads as the column's type, else
the entry stops the run). Every table's schema contract is `RAW_CONTRACT`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, MutableMapping
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
from .errors import InvalidRequest, MalformedResponse, QuotaExhausted, VendorError
from .fields import SeedShape, merge_resource, to_int, to_obj, to_text
from .http import ClientSettings, VendorClient, VendorProfile, VendorResponse
from .redaction import redact
from .report import Drift, RunReport

logger = logging.getLogger(__name__)

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
TOMBSTONE = "deleted"  # dlt `hard_delete` column: a row that only removes its parent's rows


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


# -- parsing one item (pure) ----------------------------------------------------------------


def _epoch(value: Any, name: str) -> datetime | None:
    seconds = to_int(value, name)
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


@dataclass(frozen=True)
class Observation:
    """When a pull saw what it saw: the snapshot day and the instant."""

    observed_on: date
    observed_at: datetime


@dataclass
class ParsedPost:
    """One aweme flattened into the rows of every table it feeds."""

    video: dict[str, Any]
    stats: dict[str, Any] | None
    hashtags: list[dict[str, Any]]
    author: dict[str, Any] | None
    music: dict[str, Any] | None


def parse_user(user: Mapping[str, Any], at: Observation) -> dict[str, Any]:
    """An author / follower / user-info object -> a `users` row (identity only)."""
    return {
        "uid": to_int(user.get("uid"), "author.uid", required=True),
        "unique_id": to_text(user.get("unique_id"), "unique_id"),
        "sec_uid": to_text(user.get("sec_uid"), "sec_uid"),
        "nickname": to_text(user.get("nickname"), "nickname"),
        "observed_at": at.observed_at,
    }


def parse_post(item: Any, at: Observation) -> ParsedPost:
    """One aweme (or a keyword hit wrapping it in `aweme_info`) -> typed rows.

    Raises ValueError naming the bad field. `author`, `statistics`, `music` and `text_extra`
    may be missing: their rows are then simply absent.
    """
    if isinstance(item, dict) and isinstance(item.get("aweme_info"), dict):
        item = item["aweme_info"]
    if not isinstance(item, dict):
        raise ValueError(f"item should be an object, got {type(item).__name__}")
    aweme_id = to_int(item.get("aweme_id"), "aweme_id", required=True)
    author = to_obj(item, "author")
    music = to_obj(item, "music")
    stats = to_obj(item, "statistics")
    video_obj = to_obj(item, "video")
    author_row = parse_user(author, at) if author is not None else None
    music_row = None
    if music is not None:
        music_row = {
            "music_id": to_int(music.get("id_str") or music.get("id"), "music.id", required=True),
            "title": to_text(music.get("title"), "music.title"),
            "author": to_text(music.get("author"), "music.author"),
            "observed_at": at.observed_at,
        }
    video = {
        "aweme_id": aweme_id,
        "description": to_text(item.get("desc"), "desc"),
        "create_time": _epoch(item.get("create_time"), "create_time"),
        "region": to_text(item.get("region"), "region"),
        "duration_ms": to_int((video_obj or {}).get("duration"), "video.duration"),
        "author_uid": None if author_row is None else author_row["uid"],
        "author_unique_id": None if author_row is None else author_row["unique_id"],
        "music_id": None if music_row is None else music_row["music_id"],
        "observed_at": at.observed_at,
    }
    stats_row = None
    if stats is not None:
        stats_row = {
            "aweme_id": aweme_id,
            "observed_on": at.observed_on,
            "observed_at": at.observed_at,
            "plays": to_int(stats.get("play_count"), "statistics.play_count"),
            "likes": to_int(stats.get("digg_count"), "statistics.digg_count"),
            "comments": to_int(stats.get("comment_count"), "statistics.comment_count"),
            "shares": to_int(stats.get("share_count"), "statistics.share_count"),
            "saves": to_int(stats.get("collect_count"), "statistics.collect_count"),
        }
    text_extra = item.get("text_extra") or []
    if not isinstance(text_extra, list):
        raise ValueError(f"field 'text_extra' should be a list, got {type(text_extra).__name__}")
    tags: list[str] = []
    for entry in text_extra:
        if not isinstance(entry, dict):
            raise ValueError("field 'text_extra' should hold objects")
        name = to_text(entry.get("hashtag_name"), "text_extra.hashtag_name")
        if name and name.lower() not in tags:
            tags.append(name.lower())
    hashtags = [
        {"aweme_id": aweme_id, "position": n, "hashtag": tag} for n, tag in enumerate(tags, 1)
    ]
    return ParsedPost(video, stats_row, hashtags, author_row, music_row)


def parse_user_info(user: Any, at: Observation) -> tuple[dict[str, Any], dict[str, Any]]:
    """A user-info `user` object -> (`users` row, `user_stats` snapshot row)."""
    if not isinstance(user, dict):
        raise ValueError(f"field 'user' should be an object, got {type(user).__name__}")
    row = parse_user(user, at)
    verified = user.get("verified")
    if verified is not None and not isinstance(verified, bool):
        raise ValueError("field 'verified' should be true/false")
    stats = {
        "uid": row["uid"],
        "observed_on": at.observed_on,
        "observed_at": at.observed_at,
        "followers": to_int(user.get("follower_count"), "follower_count"),
        "followings": to_int(user.get("following_count"), "following_count"),
        "videos": to_int(user.get("aweme_count"), "aweme_count"),
        "likes": to_int(user.get("total_favorited"), "total_favorited"),
        "region": to_text(user.get("region"), "region"),
        "signature": to_text(user.get("signature"), "signature"),
        "verified": verified,
    }
    return row, stats


def parse_comment(item: Any, at: Observation) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One comment -> (`comments` row, its author's `users` row or None)."""
    if not isinstance(item, dict):
        raise ValueError(f"comment should be an object, got {type(item).__name__}")
    user = to_obj(item, "user")
    author = parse_user(user, at) if user is not None else None
    row = {
        "comment_id": to_int(item.get("cid"), "cid", required=True),
        "aweme_id": to_int(item.get("aweme_id"), "aweme_id", required=True),
        "text": to_text(item.get("text"), "text"),
        "create_time": _epoch(item.get("create_time"), "create_time"),
        "likes": to_int(item.get("digg_count"), "digg_count"),
        "replies": to_int(item.get("reply_comment_total"), "reply_comment_total"),
        "user_uid": None if author is None else author["uid"],
        "observed_on": at.observed_on,
    }
    return row, author


# -- tables ---------------------------------------------------------------------------------

_TS = pa.timestamp("us", tz="UTC")


def _schema(*fields: pa.Field | tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema(list(fields))


SCHEMAS: dict[str, pa.Schema] = {
    "videos": _schema(
        pa.field("aweme_id", pa.int64(), nullable=False),
        ("description", pa.string()),
        ("create_time", _TS),
        ("region", pa.string()),
        ("duration_ms", pa.int64()),
        ("author_uid", pa.int64()),
        ("author_unique_id", pa.string()),
        ("music_id", pa.int64()),
        ("observed_at", _TS),
    ),
    "video_stats": _schema(
        pa.field("aweme_id", pa.int64(), nullable=False),
        pa.field("observed_on", pa.date32(), nullable=False),
        ("observed_at", _TS),
        ("plays", pa.int64()),
        ("likes", pa.int64()),
        ("comments", pa.int64()),
        ("shares", pa.int64()),
        ("saves", pa.int64()),
    ),
    "video_hashtags": _schema(
        pa.field("aweme_id", pa.int64(), nullable=False),
        pa.field("position", pa.int64(), nullable=False),
        ("hashtag", pa.string()),
        (TOMBSTONE, pa.bool_()),
    ),
    "users": _schema(
        pa.field("uid", pa.int64(), nullable=False),
        ("unique_id", pa.string()),
        ("sec_uid", pa.string()),
        ("nickname", pa.string()),
        ("observed_at", _TS),
    ),
    "user_stats": _schema(
        pa.field("uid", pa.int64(), nullable=False),
        pa.field("observed_on", pa.date32(), nullable=False),
        ("observed_at", _TS),
        ("followers", pa.int64()),
        ("followings", pa.int64()),
        ("videos", pa.int64()),
        ("likes", pa.int64()),
        ("region", pa.string()),
        ("signature", pa.string()),
        ("verified", pa.bool_()),
    ),
    "music": _schema(
        pa.field("music_id", pa.int64(), nullable=False),
        ("title", pa.string()),
        ("author", pa.string()),
        ("observed_at", _TS),
    ),
    "music_stats": _schema(
        pa.field("music_id", pa.int64(), nullable=False),
        pa.field("observed_on", pa.date32(), nullable=False),
        ("posts", pa.int64()),
    ),
    "comments": _schema(
        pa.field("comment_id", pa.int64(), nullable=False),
        pa.field("aweme_id", pa.int64(), nullable=False),
        ("text", pa.string()),
        ("create_time", _TS),
        ("likes", pa.int64()),
        ("replies", pa.int64()),
        ("user_uid", pa.int64()),
        ("observed_on", pa.date32()),
    ),
    "follows": _schema(
        pa.field("uid", pa.int64(), nullable=False),
        pa.field("relation", pa.string(), nullable=False),
        pa.field("other_uid", pa.int64(), nullable=False),
        ("position", pa.int64()),
        ("observed_on", pa.date32()),
        (TOMBSTONE, pa.bool_()),
    ),
    "search_hits": _schema(
        pa.field("watch_key", pa.string(), nullable=False),
        pa.field("observed_on", pa.date32(), nullable=False),
        pa.field("aweme_id", pa.int64(), nullable=False),
        ("position", pa.int64()),
        ("endpoint", pa.string()),
    ),
}

# table -> (primary key, merge key replaced as a unit or None)
KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "videos": (("aweme_id",), None),
    "video_stats": (("aweme_id", "observed_on"), None),
    "video_hashtags": (("aweme_id", "position"), ("aweme_id",)),
    "users": (("uid",), None),
    "user_stats": (("uid", "observed_on"), None),
    "music": (("music_id",), None),
    "music_stats": (("music_id", "observed_on"), None),
    "comments": (("comment_id",), None),
    "follows": (("uid", "relation", "other_uid"), ("uid", "relation")),
    "search_hits": (("watch_key", "observed_on", "aweme_id"), ("watch_key", "observed_on")),
}
TABLES = tuple(SCHEMAS)


def tombstone(table: str, parent: tuple[Any, ...]) -> dict[str, Any]:
    """The row that empties `parent`'s children in a merge-key table and is itself dropped.

    dlt's delete-insert deletes every stored row under the staged row's merge key, then
    inserts only rows whose `hard_delete` column is not set. Key columns outside the merge
    key get 0: no real child has position 0 or uid 0.
    """
    primary_key, merge_key = KEYS[table]
    if merge_key is None or TOMBSTONE not in SCHEMAS[table].names:
        raise ValueError(f"{table} has no tombstones")
    row: dict[str, Any] = dict(zip(merge_key, parent, strict=True))
    for column in primary_key:
        row.setdefault(column, 0)
    row[TOMBSTONE] = True
    return row


# -- seed shapes (schema drift) -------------------------------------------------------------


@dataclass(frozen=True)
class ItemShape:
    """One kind of vendor item, its fields split over the raw tables they land in.

    Each part is the seed shape of one table (`SeedShape.columns`: the column a field lands
    in). A field no part names is reported as `added` on the first part: the table the item
    is mainly about. Seed: the aweme, user-info and follower fields of
    `004_d1b5783beaf0fb5d.txt` and seeds/README.md; where the guide only points at the
    vendor's response samples (comments, music, `text_extra` entries), the fields the vendor
    sends for them.
    """

    name: str
    parts: tuple[SeedShape, ...]

    def tally(self) -> ItemTally:
        return ItemTally(self)


class ItemTally:
    """The fields the items of one kind carried in one watch entry, one tally per table."""

    def __init__(self, shape: ItemShape) -> None:
        self.known = frozenset(name for part in shape.parts for name in part.fields)
        self.parts = [(part, part.tally()) for part in shape.parts]

    def add(self, item: Any) -> None:
        if not isinstance(item, dict):
            return
        for n, (part, tally) in enumerate(self.parts):
            tally.add(
                {
                    k: v
                    for k, v in item.items()
                    if k in part.fields or (n == 0 and k not in self.known)
                }
            )

    def drift(self, partition: str) -> set[Drift]:
        return {d for _, tally in self.parts for d in tally.drift(partition)}


def _part(
    table: str,
    fields: Mapping[str, str],
    optional: tuple[str, ...] = (),
    columns: Mapping[str, str] | None = None,
) -> SeedShape:
    return SeedShape(PROFILE.name, table, fields, frozenset(optional), columns)


_USER_FIELDS = dict.fromkeys(("uid", "unique_id", "sec_uid", "nickname"), "string")
USER_ITEM = ItemShape("user", (_part("users", _USER_FIELDS),))  # an author, a commenter
# A follower / following: its `uid` is the other side of a `follows` row.
FOLLOW_ITEM = ItemShape(
    "follow",
    (
        _part("users", {k: v for k, v in _USER_FIELDS.items() if k != "uid"}),
        _part("follows", {"uid": "string"}, columns={"uid": "other_uid"}),
    ),
)
POST_ITEM = ItemShape(
    "post",
    (
        _part(
            "videos",
            {
                **dict.fromkeys(("aweme_id", "desc", "region"), "string"),
                "create_time": "number",
                **dict.fromkeys(("author", "video", "music"), "object"),
            },
            optional=("music",),  # a deleted or muted sound: the post has no music object
            columns={
                "desc": "description",
                "video": "duration_ms",
                "author": "author_uid",
                "music": "music_id",
            },
        ),
        _part("video_stats", {"statistics": "object"}),
        _part("video_hashtags", {"text_extra": "array"}),
    ),
)
STATISTICS_ITEM = ItemShape(
    "statistics",
    (
        _part(
            "video_stats",
            {
                "aweme_id": "string",
                **dict.fromkeys(
                    ("play_count", "digg_count", "comment_count", "share_count", "collect_count"),
                    "number",
                ),
            },
            columns={
                "play_count": "plays",
                "digg_count": "likes",
                "comment_count": "comments",
                "share_count": "shares",
                "collect_count": "saves",
            },
        ),
    ),
)
HASHTAG_ITEM = ItemShape(
    "text_extra",
    (
        _part(
            "video_hashtags",
            {"hashtag_name": "string", "type": "number"},
            columns={"hashtag_name": "hashtag"},
        ),
    ),
)
_MUSIC_FIELDS = {"id": "number", **dict.fromkeys(("id_str", "title", "author"), "string")}
MUSIC_ITEM = ItemShape("music", (_part("music", _MUSIC_FIELDS, columns={"id": "music_id"}),))
MUSIC_DETAILS_ITEM = ItemShape(
    "music_details",
    (
        _part("music", _MUSIC_FIELDS, columns={"id": "music_id"}),
        _part("music_stats", {"user_count": "number"}, columns={"user_count": "posts"}),
    ),
)
USER_INFO_ITEM = ItemShape(
    "user_info",
    (
        _part(
            "user_stats",
            {
                **dict.fromkeys(("region", "signature"), "string"),
                "verified": "boolean",
                **dict.fromkeys(
                    ("follower_count", "following_count", "aweme_count", "total_favorited"),
                    "number",
                ),
            },
            columns={
                "follower_count": "followers",
                "following_count": "followings",
                "aweme_count": "videos",
                "total_favorited": "likes",
            },
        ),
        _part("users", _USER_FIELDS),
    ),
)
COMMENT_ITEM = ItemShape(
    "comment",
    (
        _part(
            "comments",
            {
                **dict.fromkeys(("cid", "aweme_id", "text"), "string"),
                **dict.fromkeys(("create_time", "digg_count", "reply_comment_total"), "number"),
                "user": "object",
            },
            columns={
                "cid": "comment_id",
                "digg_count": "likes",
                "reply_comment_total": "replies",
                "user": "user_uid",
            },
        ),
    ),
)
# A keyword search hit wraps its post: the wrapper is what the hit is.
KEYWORD_HIT_ITEM = ItemShape("keyword_hit", (_part("search_hits", {"aweme_info": "object"}),))


def tally_post(tallies: Callable[[ItemShape], ItemTally], item: Any) -> None:
    """Tally one raw post (or keyword hit) and the objects in it that feed other tables."""
    if isinstance(item, dict) and isinstance(item.get("aweme_info"), dict):
        tallies(KEYWORD_HIT_ITEM).add(item)
        item = item["aweme_info"]
    if not isinstance(item, dict):
        return
    tallies(POST_ITEM).add(item)
    for key, shape in (
        ("statistics", STATISTICS_ITEM),
        ("author", USER_ITEM),
        ("music", MUSIC_ITEM),
    ):
        if isinstance(item.get(key), dict):
            tallies(shape).add(item[key])
    if isinstance(item.get("text_extra"), list):
        for entry in item["text_extra"]:
            tallies(HASHTAG_ITEM).add(entry)


# -- budget and pagination ------------------------------------------------------------------

MAX_FAILURES_LISTED = 20  # in run metadata; the count is always exact


@dataclass(frozen=True)
class FailedRequest:
    """A request of one watch entry that the vendor refused while the rest of the entry landed."""

    entry: str
    endpoint: str
    status: int | None
    message: str

    @classmethod
    def of(cls, entry: str, exc: VendorError) -> FailedRequest:
        """From the client's error: path only (never the query, which holds the token)."""
        return cls(entry, exc.endpoint or "?", exc.status, redact(exc.vendor_message))

    def __str__(self) -> str:
        status = f" HTTP {self.status}" if self.status is not None else ""
        return f"{self.entry}: {self.endpoint}{status}: {self.message}"


@dataclass
class EnsembleDataReport(RunReport):
    """A RunReport that also knows the units budget and where the units went."""

    units_budget: int | None = None
    units_used_before: float = 0.0
    units_by_endpoint: Counter[str] = field(default_factory=Counter)
    requests_by_endpoint: Counter[str] = field(default_factory=Counter)
    walk_ends: Counter[str] = field(default_factory=Counter)
    entries_resumed: list[str] = field(default_factory=list)
    failed_requests: list[FailedRequest] = field(default_factory=list)
    tables: tuple[str, ...] = TABLES

    @property
    def units_spent(self) -> float:
        return self.requests.credits

    @property
    def units_over_budget(self) -> float:
        """Units used today beyond the budget: 0 unless the vendor charged more than priced."""
        if self.units_budget is None:
            return 0.0
        return max(0.0, self.units_used_before + self.units_spent - self.units_budget)

    def as_metadata(self) -> dict[str, int | float | str]:
        meta = super().as_metadata()
        meta["units_spent"] = self.units_spent
        meta["units_used_before_run"] = self.units_used_before
        if self.units_budget is not None:
            meta["units_budget"] = self.units_budget
            meta["units_left"] = self.units_budget - self.units_used_before - self.units_spent
            if self.units_over_budget:
                meta["units_over_budget"] = self.units_over_budget
        meta["units_by_endpoint"] = ", ".join(
            f"{k}: {v:g}" for k, v in sorted(self.units_by_endpoint.items())
        )
        meta["requests_by_endpoint"] = ", ".join(
            f"{k}: {v}" for k, v in sorted(self.requests_by_endpoint.items())
        )
        meta["walk_ends"] = ", ".join(f"{k}: {v}" for k, v in sorted(self.walk_ends.items()))
        meta["entries_resumed"] = len(self.entries_resumed)
        if self.entries_resumed:
            meta["entries_resumed_examples"] = ", ".join(self.entries_resumed[:10])
        meta["failed_requests"] = len(self.failed_requests)
        if self.failed_requests:
            listed = [str(f) for f in self.failed_requests[:MAX_FAILURES_LISTED]]
            if len(self.failed_requests) > MAX_FAILURES_LISTED:
                listed.append(f"(+{len(self.failed_requests) - MAX_FAILURES_LISTED} more)")
            meta["failed_request_list"] = redact("; ".join(listed))
        return meta


_BUDGET_HINT = (
    "what landed is kept and a re-run today skips it; raise ensembledata.daily_units_budget "
    "in the watchlist or re-run tomorrow to continue"
)


class Fetcher:
    """The client behind a units budget: every request is checked before it is sent."""

    def __init__(self, client: VendorClient, report: EnsembleDataReport) -> None:
        self.client = client
        self.report = report
        self._highest: dict[str, float] = {}  # most units charged per step, per path

    def expected_units(self, path: str, params: Mapping[str, Any]) -> float:
        """The most this request may cost: price or the highest charge seen, times steps."""
        price = PRICES.get(path, DEFAULT_PRICE)
        return max(price.units, self._highest.get(path, 0.0)) * price.steps(params)

    def get(self, path: str, params: Mapping[str, Any]) -> VendorResponse:
        report = self.report
        budget = report.units_budget
        expected = self.expected_units(path, params)
        if budget is not None:
            total = report.units_used_before + report.units_spent
            if total + expected > budget:
                cost = (
                    f"may cost up to {expected:g} (its worst case: the charge follows what it "
                    "finds)"
                    if PRICES.get(path, DEFAULT_PRICE).varies
                    else f"would cost about {expected:g}"
                )
                raise QuotaExhausted(
                    PROFILE.name,
                    f"daily units budget of {budget} reached: "
                    f"{report.units_used_before:g} units were used earlier today and "
                    f"{report.units_spent:g} by this run ({report.requests.requests} requests); "
                    f"the next request {cost}",
                    endpoint=f"GET {path}",
                    hint=_BUDGET_HINT,
                )
        before, billed_before = report.units_spent, report.requests.billed
        try:
            response = self.client.get(path, params)
        finally:
            # A billed answer that was retried (or a refusal that was billed) still cost units.
            spent = report.units_spent - before
            billed = report.requests.billed - billed_before
            report.units_by_endpoint[path] += spent
            report.requests_by_endpoint[path] += 1
            if billed:
                steps = max(PRICES.get(path, DEFAULT_PRICE).steps(params), 1)
                per_step = spent / billed / steps
                self._highest[path] = max(self._highest.get(path, 0.0), per_step)
        if budget is not None and report.units_over_budget > 0:
            raise QuotaExhausted(
                PROFILE.name,
                f"daily units budget of {budget} exceeded by {report.units_over_budget:g} units: "
                f"this request was charged {spent:g} units where at most {expected:g} were "
                f"expected ({report.units_used_before:g} used earlier today, "
                f"{report.units_spent:g} by this run); stopped at once",
                endpoint=f"GET {path}",
                status=response.status,
                request_id=response.request_id,
                hint="the vendor's price for this endpoint is higher than PRICES in "
                "pipelines/ensembledata.py says; " + _BUDGET_HINT,
            )
        return response


def _malformed(what: str, path: str, page: int, response: VendorResponse) -> MalformedResponse:
    return MalformedResponse(
        PROFILE.name,
        f"{what} (page {page})",
        endpoint=f"GET {path}",
        status=response.status,
        request_id=response.request_id,
        hint="the vendor changed its payload; earlier watch entries are kept",
    )


def data_of(response: VendorResponse, path: str, page: int = 1) -> Any:
    """The `data` of an answer; anything else breaks the contract."""
    body = response.body
    if not isinstance(body, dict) or "data" not in body:
        raise _malformed("answer has no `data`", path, page, response)
    return body["data"]


@dataclass
class Walk:
    """What a paged walk fetched and why it stopped (`end`, `depth` or `repeated_cursor`)."""

    pages: list[tuple[list[Any], VendorResponse]]
    stopped: Literal["end", "depth", "repeated_cursor"]


def walk(
    fetcher: Fetcher,
    path: str,
    params: Mapping[str, Any],
    *,
    list_key: str,
    max_pages: int,
    cursor_param: str = "cursor",
    page_token: bool = False,
) -> Walk:
    """Follow `nextCursor` (and `nextPageToken` when `page_token`) to the end, depth or a repeat."""
    if max_pages < 1:
        raise ValueError(f"max_pages must be at least 1, got {max_pages}")
    query = dict(params)
    seen: set[Any] = {query.get(cursor_param, 0)}
    pages: list[tuple[list[Any], VendorResponse]] = []
    for page in range(1, max_pages + 1):
        response = fetcher.get(path, query)
        data = data_of(response, path, page)
        if not isinstance(data, dict):
            raise _malformed("`data` should be an object", path, page, response)
        items = data.get(list_key)
        if items is None:
            items = []
        if not isinstance(items, list):
            raise _malformed(f"`data.{list_key}` should be a list", path, page, response)
        pages.append((items, response))
        cursor = data.get("nextCursor")
        token = data.get("nextPageToken")
        if cursor is None or cursor == "" or (page_token and not token):
            return Walk(pages, "end")
        if cursor in seen:
            logger.warning("%s answered cursor %s again: stopping this walk", path, cursor)
            return Walk(pages, "repeated_cursor")
        seen.add(cursor)
        query[cursor_param] = cursor
        if page_token:
            query["page_token"] = token
    return Walk(pages, "depth")


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


# -- the harvest ----------------------------------------------------------------------------


@dataclass
class _Unit:
    """The rows of one watch entry, committed to the harvest once fetched, and the requests
    of it the vendor refused (their rows are the only ones missing)."""

    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # table -> parent (its merge key values) -> the parent's whole child list, maybe empty
    children: dict[str, dict[tuple[Any, ...], list[dict[str, Any]]]] = field(default_factory=dict)
    failed: list[VendorError] = field(default_factory=list)

    def put(self, table: str, row: dict[str, Any]) -> None:
        self.tables.setdefault(table, []).append(row)

    def replace(self, table: str, parent: tuple[Any, ...], rows: list[dict[str, Any]]) -> None:
        self.children.setdefault(table, {})[parent] = rows

    def post(self, parsed: ParsedPost) -> None:
        self.put("videos", parsed.video)
        if parsed.stats is not None:
            self.put("video_stats", parsed.stats)
        self.replace("video_hashtags", (parsed.video["aweme_id"],), parsed.hashtags)
        if parsed.author is not None:
            self.put("users", parsed.author)
        if parsed.music is not None:
            self.put("music", parsed.music)

    def extend(self, other: _Unit) -> None:
        for table, rows in other.tables.items():
            self.tables.setdefault(table, []).extend(rows)
        for table, by_parent in other.children.items():
            self.children.setdefault(table, {}).update(by_parent)
        self.failed.extend(other.failed)

    def attempt(self, fetch: Callable[[], _Unit]) -> None:
        """One sub-request (or walk) of the entry: a refusal of it keeps the rest."""
        try:
            part = fetch()
        except InvalidRequest as exc:
            self.failed.append(exc)
            return
        self.extend(part)

    @property
    def empty(self) -> bool:
        return not self.tables and not any(
            rows for by_parent in self.children.values() for rows in by_parent.values()
        )


@dataclass(frozen=True)
class _Entry:
    """One watch entry: its label, a digest of what it asks for, and how to fetch it whole."""

    label: str
    digest: str
    fetch: Callable[[], _Unit]


def _digest(*spec: Any) -> str:
    """Which request(s) an entry makes: a changed entry is not taken as done today."""
    text = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _no_state() -> dict[str, Any]:
    return {}


@dataclass
class Harvest:
    """Everything one source run fetched, deduplicated per table; fetched once, lazily.

    Every resource reads from the same harvest, so the vendor is asked once whichever table
    dlt extracts first. A watch entry lands with every request of it the vendor answered (a
    refused one is listed in the report), or not at all when the run stops during it. `state`
    is where entries completed today are recorded (the source passes dlt's source state;
    without it nothing is remembered between runs).
    """

    watch: EnsembleDataWatch
    at: Observation
    make_client: Callable[[], VendorClient]
    report: EnsembleDataReport
    state: Callable[[], MutableMapping[str, Any]] = _no_state
    tables: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)
    # table -> parent -> its tombstone: the parent's child list is now empty
    tombstones: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)
    # item kind -> the fields its items carried in the watch entry being fetched
    _tallies: dict[str, ItemTally] = field(default_factory=dict)
    _done: bool = False

    def rows(self, table: str) -> list[dict[str, Any]]:
        """The table's real rows (tombstones apart: they are not data)."""
        self._ensure_fetched()
        return list(self.tables.get(table, {}).values())

    def tombstone_rows(self, table: str) -> list[dict[str, Any]]:
        self._ensure_fetched()
        return list(self.tombstones.get(table, {}).values())

    def _ensure_fetched(self) -> None:
        if not self._done:
            self._done = True
            self._fetch()

    def _commit(self, unit: _Unit) -> None:
        for table, rows in unit.tables.items():
            for row in rows:
                self._put(table, row)
        for table, by_parent in unit.children.items():
            merge = KEYS[table][1] or ()
            current = self.tables.setdefault(table, {})
            stored: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
            for key, row in current.items():  # one pass per entry, not one per parent
                stored.setdefault(tuple(row[c] for c in merge), []).append(key)
            for parent, rows in by_parent.items():
                # children replace the parent's earlier ones, as the merge key does
                for key in stored.get(parent, ()):
                    del current[key]
                if rows:
                    self.tombstones.get(table, {}).pop(parent, None)
                else:
                    self.tombstones.setdefault(table, {})[parent] = tombstone(table, parent)
                for row in rows:
                    self._put(table, row)

    def _tally(self, shape: ItemShape) -> ItemTally:
        if shape.name not in self._tallies:
            self._tallies[shape.name] = shape.tally()
        return self._tallies[shape.name]

    def _note_drift(self) -> None:
        """The drift of the entry just fetched (whole or not): a slice of the day's partition.

        No column selects one entry's rows, so a missing field's stored values are kept in
        every row of the load that has it NULL (by each table's primary key).
        """
        day = self.at.observed_on.isoformat()
        for tally in self._tallies.values():
            self.report.note_drift(tally.drift(day))
        self._tallies.clear()

    def _put(self, table: str, row: dict[str, Any]) -> None:
        key = tuple(row[c] for c in KEYS[table][0])
        rows = self.tables.setdefault(table, {})
        old = rows.get(key)
        # The same row from two answers: keep every non-null value, newest first.
        rows[key] = (
            row if old is None else {k: old.get(k) if v is None else v for k, v in row.items()}
        )

    def _posts(
        self,
        unit: _Unit,
        items: list[Any],
        path: str,
        page: int,
        resp: VendorResponse,
        hits: str | None = None,
        offset: int = 0,
    ) -> int:
        for n, item in enumerate(items):
            tally_post(self._tally, item)
            try:
                parsed = parse_post(item, self.at)
            except ValueError as exc:
                raise _malformed(f"{exc} (item {n + 1})", path, page, resp) from None
            unit.post(parsed)
            if hits is not None:
                unit.put(
                    "search_hits",
                    {
                        "watch_key": hits,
                        "observed_on": self.at.observed_on,
                        "aweme_id": parsed.video["aweme_id"],
                        "position": offset + n + 1,
                        "endpoint": path,
                    },
                )
        return offset + len(items)

    def _walk_posts(
        self,
        fetcher: Fetcher,
        path: str,
        params: dict[str, Any],
        key: str,
        cursor_param: str = "cursor",
    ) -> _Unit:
        unit = _Unit()
        result = walk(
            fetcher,
            path,
            params,
            list_key="data",
            max_pages=self.watch.max_pages,
            cursor_param=cursor_param,
        )
        self.report.walk_ends[result.stopped] += 1
        offset = 0
        for page, (items, response) in enumerate(result.pages, 1):
            offset = self._posts(unit, items, path, page, response, key, offset)
        return unit

    def _one_shot_posts(
        self, fetcher: Fetcher, path: str, params: dict[str, Any], key: str | None
    ) -> _Unit:
        """Full searches, post info, multi-info: one answer holding a list of posts."""
        unit = _Unit()
        response = fetcher.get(path, params)
        data = data_of(response, path)
        items = data.get("data") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise _malformed("`data` should hold a list of posts", path, 1, response)
        self._posts(unit, items, path, 1, response, key)
        return unit

    def _keyword(self, fetcher: Fetcher, entry: KeywordWatch) -> _Unit:
        key = f"keyword:{entry.name}"
        if entry.full:
            return self._one_shot_posts(fetcher, KEYWORD_FULL_SEARCH, keyword_params(entry), key)
        return self._walk_posts(
            fetcher, KEYWORD_SEARCH, {**keyword_params(entry), "cursor": 0}, key
        )

    def _user(self, fetcher: Fetcher, entry: UserWatch) -> _Unit:
        unit = _Unit()
        path, params = (
            (USER_INFO, {"username": entry.username})
            if entry.username
            else (USER_INFO_FROM_SECUID, {"secUid": entry.sec_uid})
        )
        response = fetcher.get(path, params)
        data = data_of(response, path)
        raw = (data or {}).get("user") if isinstance(data, dict) else data
        self._tally(USER_INFO_ITEM).add(raw)
        try:
            user, stats = parse_user_info(raw, self.at)
        except ValueError as exc:
            raise _malformed(str(exc), path, 1, response) from None
        unit.put("users", user)
        unit.put("user_stats", stats)
        if entry.posts:
            posts_path, posts_params = (
                (USER_POSTS, {"username": entry.username})
                if entry.username
                else (USER_POSTS_FROM_SECUID, {"secUid": entry.sec_uid})
            )
            posts_params["depth"] = entry.depth
            if entry.oldest_createtime is not None:
                posts_params["oldest_createtime"] = entry.oldest_createtime
            unit.attempt(
                lambda: self._walk_posts(
                    fetcher, posts_path, posts_params, entry.key, "start_cursor"
                )
            )
        for relation, wanted in (("follower", entry.followers), ("following", entry.followings)):
            if wanted:
                unit.attempt(lambda relation=relation: self._follows(fetcher, user, relation))
        return unit

    def _follows(self, fetcher: Fetcher, user: dict[str, Any], relation: str) -> _Unit:
        unit = _Unit()
        path = USER_FOLLOWERS if relation == "follower" else USER_FOLLOWINGS
        list_key = "followers" if relation == "follower" else "followings"
        result = walk(
            fetcher,
            path,
            {"id": str(user["uid"]), "secUid": user["sec_uid"], "cursor": 0},
            list_key=list_key,
            max_pages=min(self.watch.max_pages, MAX_FOLLOWERS // 100),
            page_token=relation == "following",
        )
        self.report.walk_ends[result.stopped] += 1
        rows: list[dict[str, Any]] = []
        for page, (items, response) in enumerate(result.pages, 1):
            for item in items:
                self._tally(FOLLOW_ITEM).add(item)
                try:
                    other = parse_user(item, self.at) if isinstance(item, dict) else None
                except ValueError as exc:
                    raise _malformed(str(exc), path, page, response) from None
                if other is None:
                    raise _malformed(f"`{list_key}` should hold objects", path, page, response)
                unit.put("users", other)
                rows.append(
                    {
                        "uid": user["uid"],
                        "relation": relation,
                        "other_uid": other["uid"],
                        "position": len(rows) + 1,
                        "observed_on": self.at.observed_on,
                    }
                )
        unit.replace("follows", (user["uid"], relation), rows)
        return unit

    def _comments(self, fetcher: Fetcher, aweme_id: str) -> _Unit:
        unit = _Unit()
        result = walk(
            fetcher,
            POST_COMMENTS,
            {"aweme_id": aweme_id, "cursor": 0},
            list_key="comments",
            max_pages=self.watch.max_pages,
        )
        self.report.walk_ends[result.stopped] += 1
        for page, (items, response) in enumerate(result.pages, 1):
            for item in items:
                self._tally(COMMENT_ITEM).add(item)
                if isinstance(item, dict):
                    self._tally(USER_ITEM).add(item.get("user"))
                try:
                    row, author = parse_comment(item, self.at)
                except ValueError as exc:
                    raise _malformed(str(exc), POST_COMMENTS, page, response) from None
                unit.put("comments", row)
                if author is not None:
                    unit.put("users", author)
        return unit

    def _music(self, fetcher: Fetcher, music_id: str) -> _Unit:
        response = fetcher.get(MUSIC_DETAILS, {"id": music_id})
        data = data_of(response, MUSIC_DETAILS)
        if not isinstance(data, dict):
            raise _malformed("`data` should be an object", MUSIC_DETAILS, 1, response)
        self._tally(MUSIC_DETAILS_ITEM).add(data)
        try:
            mid = to_int(data.get("id_str") or data.get("id"), "id", required=True)
            row = {
                "music_id": mid,
                "title": to_text(data.get("title"), "title"),
                "author": to_text(data.get("author"), "author"),
                "observed_at": self.at.observed_at,
            }
            posts = to_int(data.get("user_count"), "user_count")
        except ValueError as exc:
            raise _malformed(str(exc), MUSIC_DETAILS, 1, response) from None
        unit = _Unit()
        unit.attempt(
            lambda: self._walk_posts(
                fetcher, MUSIC_POSTS, {"music_id": music_id, "cursor": 0}, f"music:{music_id}"
            )
        )
        unit.put("music", row)
        unit.put(
            "music_stats", {"music_id": mid, "observed_on": self.at.observed_on, "posts": posts}
        )
        return unit

    def _entries(self, fetcher: Fetcher) -> Iterator[_Entry]:
        """Every watch entry, in watchlist order, with a digest of what it asks for."""
        w = self.watch
        depth = w.max_pages
        for tag in w.hashtags:
            yield _Entry(
                f"hashtag:{tag}",
                _digest(tag, depth),
                lambda tag=tag: self._walk_posts(
                    fetcher, HASHTAG_POSTS, {"name": tag, "cursor": 0}, f"hashtag:{tag}"
                ),
            )
        for full in w.hashtag_full_searches:
            key = f"hashtag_full:{full.name}"
            yield _Entry(
                key,
                _digest(full.model_dump()),
                lambda full=full, key=key: self._one_shot_posts(
                    fetcher,
                    HASHTAG_RECENT_POSTS,
                    {"name": full.name, "days": full.days, "max_cursor": full.max_cursor},
                    key,
                ),
            )
        for kw in w.keywords:
            yield _Entry(
                f"keyword:{kw.name}",
                _digest(kw.model_dump(), depth),
                lambda kw=kw: self._keyword(fetcher, kw),
            )
        for user in w.users:
            yield _Entry(
                user.key,
                _digest(user.model_dump(), depth),
                lambda user=user: self._user(fetcher, user),
            )
        for n, batch in enumerate(batches(w.post_ids), 1):
            yield _Entry(
                f"posts:batch{n}",
                _digest(batch),
                lambda batch=batch: self._one_shot_posts(
                    fetcher, POST_MULTI_INFO, {"ids": ";".join(batch)}, None
                ),
            )
        for url in w.post_urls:
            yield _Entry(
                f"post:{url}",
                _digest(url),
                lambda url=url: self._one_shot_posts(fetcher, POST_INFO, {"url": url}, None),
            )
        for aweme_id in w.comments:
            yield _Entry(
                f"comments:{aweme_id}",
                _digest(aweme_id, depth),
                lambda a=aweme_id: self._comments(fetcher, a),
            )
        for music_id in w.music_ids:
            yield _Entry(
                f"music:{music_id}",
                _digest(music_id, depth),
                lambda m=music_id: self._music(fetcher, m),
            )

    def _completed_today(self) -> MutableMapping[str, str]:
        """label -> digest of the entries already loaded for this observation day."""
        state = self.state()
        day = self.at.observed_on.isoformat()
        progress = state.get("completed")
        if not isinstance(progress, dict) or progress.get("observed_on") != day:
            progress = {"observed_on": day, "entries": {}}  # a new day starts fresh
            state["completed"] = progress
        return progress["entries"]

    def _fetch(self) -> None:
        try:
            client = self.make_client()
        except VendorError as exc:
            self.report.stopped_by = exc
            return
        completed = self._completed_today()
        with client:
            fetcher = Fetcher(client, self.report)
            try:
                if self.report.units_budget is not None:
                    today = self.at.observed_at.date().isoformat()
                    answer = fetcher.get(USED_UNITS, {"date": today})
                    used = data_of(answer, USED_UNITS)
                    if isinstance(used, bool) or not isinstance(used, int | float | None):
                        raise _malformed("`data` should be the units used", USED_UNITS, 1, answer)
                    self.report.units_used_before = float(used or 0)
                for entry in self._entries(fetcher):
                    if completed.get(entry.label) == entry.digest:
                        self.report.entries_resumed.append(entry.label)
                        continue
                    try:
                        unit = entry.fetch()
                    except InvalidRequest as exc:
                        if exc.status == 404:  # the entry's subject does not exist
                            self.report.empty_slices.append(f"{entry.label} (not found)")
                            completed[entry.label] = entry.digest
                            continue
                        unit = _Unit(failed=[exc])  # its first request refused: nothing to keep
                    finally:
                        self._note_drift()  # a retyped field is named even if it stops the run
                    for exc in unit.failed:
                        failure = FailedRequest.of(entry.label, exc)
                        logger.warning("kept the rest of the watch entry; refused: %s", failure)
                        self.report.failed_requests.append(failure)
                    if unit.empty and not unit.failed:
                        self.report.empty_slices.append(entry.label)
                    self._commit(unit)
                    # dlt saves its state in the load package of these rows: both land or
                    # neither; an entry with a refused request is asked again by a re-run
                    if not unit.failed:
                        completed[entry.label] = entry.digest
            except VendorError as exc:
                logger.error("stopping ensembledata after complete watch entries: %s", exc)
                self.report.stopped_by = exc


@dlt.source(name="ensembledata", max_table_nesting=0)
def ensembledata_source(
    watch: Any = None,
    observed_on: date | None = None,
    api_key: TSecretStrValue | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    requests_per_second: float = 5.0,
    read_timeout: float = 30.0,
    max_attempts: int = 6,
    backoff_base: float = 0.5,
    report: EnsembleDataReport | None = None,
) -> list[DltResource]:
    """Today's EnsembleData snapshot of the watched hashtags, keywords, creators, posts, music.

    `watch` is an `EnsembleDataWatch` (or a dict of one), validated here before any request;
    `observed_on` keys the snapshot tables (default: today, UTC). Settings resolve from
    `SOURCES__ENSEMBLEDATA__*`. Call the report's `raise_if_stopped()` after loading: complete
    watch entries are loaded first; a reached units budget stops the run the same way.
    """
    run_report = report if report is not None else EnsembleDataReport()
    checked = validate_watch(watch)
    run_report.units_budget = checked.daily_units_budget
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
        Observation(day, observed_at),
        lambda: VendorClient(PROFILE, base_url, api_key, settings, stats=run_report.requests),
        run_report,
        state=dlt.current.source_state,  # read while dlt extracts: saved with the rows
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
