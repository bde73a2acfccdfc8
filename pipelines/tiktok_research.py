"""TikTok Research API: raw video metadata and engagement counts for watched queries.

Seed `001_4628c6db6458f10e.txt` (the Research Query Service client) plus the Research facts
in seeds/README.md. Two ways to run one query, one row schema (`raw_tiktok_research.videos`):

    POST /v2/oauth/token/                   client credentials -> access token (7200 s)
    POST /v2/research/video/query/          mode "query": `fields` in the query string, JSON
                                            {query, start_date, end_date, max_count, cursor,
                                            search_id}; windows of at most 30 days
    POST /v2/research/query_task/create/    mode "task": {category, condition_groups, fields,
                                            limit} -> {task_id}
    POST /v2/research/query_task/status/    {task_id} -> {status}: Created, Validating,
                                            Processing, Completed, AnalysisFailed, Cancelled
    POST /v2/research/query_task/result/    {task_id, cursor, max_count} -> {videos, cursor,
                                            has_more}
    POST /v2/research/query_task/cancel/    {task_id} -> {success}

The seed documents the task lifecycle only through its Python SDK; the four task paths are
this project's REST mapping of it (served by the simulator, see simulator/tiktok_research.py).
Every answer is `{"data": ..., "error": {"code": "ok" | ..., "message", "log_id"}}`.

Field names differ by mode too: the HTTP video query asks for the public API's names
(`video_duration`, `is_stem_verified`, `hashtag_info_list`, ...; one unknown name and the
vendor refuses the whole request), the query task for the seed's (`duration_type`,
`stem_verified`). `parse_video` maps both onto one column per meaning.

Operators differ by mode. The query task takes the seed's table (LIKE on video_description,
CONTAINS on hashtag_names / effect_ids); the HTTP video query takes only EQ, IN, GT, GTE, LT,
LTE (seeds/README.md), with the real API's `hashtag_name` and `keyword` fields for hashtags
and description words. A LIKE / CONTAINS in mode query is refused before any request.

Rows are keyed `(query_name, id)` and merged with `(query_name, create_day)` as merge key:
a window is fetched whole, then yielded, so a re-pulled day replaces that query's rows of
the day (counts keep growing after publication) and a half-fetched window never lands; nor
does a task result cut off at `task_limit`. A 500 that outlasts the client's retries or an
expired `search_id` restarts the window with a fresh search and de-duplicates by id. Every
research request sent (retries and the resend after a 401 included) counts against the
1000-a-day quota per run; a daily-quota 429 stops the source after the windows it completed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import dlt
import pyarrow as pa
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltResource
from pydantic import Field, field_validator, model_validator

from . import config
from .config import StrictModel
from .errors import (
    AuthError,
    ConfigError,
    InvalidRequest,
    MalformedResponse,
    QuotaExhausted,
    ServerError,
    VendorError,
)
from .fields import RAW_CONTRACT, FieldTally, SeedShape, to_int, to_text
from .http import AuthProvider, ClientSettings, VendorClient, VendorProfile, VendorResponse
from .redaction import Secret, register
from .report import Drift, RunReport

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://open.tiktokapis.com"
TOKEN_PATH = "/v2/oauth/token/"
QUERY_PATH = "/v2/research/video/query/"
TASK_CREATE_PATH = "/v2/research/query_task/create/"
TASK_STATUS_PATH = "/v2/research/query_task/status/"
TASK_RESULT_PATH = "/v2/research/query_task/result/"
TASK_CANCEL_PATH = "/v2/research/query_task/cancel/"

MAX_COUNT = 100  # videos per page of the HTTP query
MAX_WINDOW_DAYS = 30  # start_date..end_date, both inclusive
DAILY_QUOTA = 1000  # research requests per day (the token endpoint is free)
TOKEN_TTL_SECONDS = 7200
TOKEN_REFRESH_MARGIN = 300.0  # refresh this long before the token expires
TASK_LIMIT_MAX = 100_000  # "Execution Stage" maximum of one query task
TASK_RESULT_PAGE = 1000  # videos per task result page (this project's mapping)
MAX_WINDOW_RESTARTS = 3  # fresh searches of one window before giving up on it
# A quota hit loses the window in flight; a week loses at most 7 days of one query and costs
# one extra (partial) page per week, and still covers the nightly lookback in one search.
DEFAULT_WINDOW_DAYS = 7
TABLE = "videos"
CREDENTIALS_HINT = (
    "check SOURCES__TIKTOK_RESEARCH__CLIENT_KEY and __CLIENT_SECRET "
    "(or [sources.tiktok_research] in .dlt/secrets.toml) and the app's Research API access"
)
PRIMARY_KEY = ("query_name", "id")
MERGE_KEY = ("query_name", "create_day")

TASK_DONE, TASK_FAILED, TASK_CANCELLED = "Completed", "AnalysisFailed", "Cancelled"
TASK_PENDING = ("Created", "Validating", "Processing")

Mode = Literal["query", "task"]

# The seed's "Query Condition Fields and Operators" table: field -> (type, allowed operators).
# It is the query task's table (mode "task").
FIELD_OPERATORS: dict[str, tuple[str, frozenset[str]]] = {
    "id": ("int64", frozenset({"EQ", "IN"})),
    "create_time": ("int64", frozenset({"EQ", "IN", "GT", "GTE", "LT", "LTE"})),
    "username": ("string", frozenset({"EQ", "IN"})),
    "region_code": ("string", frozenset({"EQ", "IN"})),
    "video_description": ("string", frozenset({"EQ", "IN", "LIKE"})),
    "music_id": ("int64", frozenset({"EQ", "IN"})),
    "like_count": ("int64", frozenset({"EQ", "IN", "GT", "GTE", "LT", "LTE"})),
    "comment_count": ("int64", frozenset({"EQ", "IN", "GT", "GTE", "LT", "LTE"})),
    "share_count": ("int64", frozenset({"EQ", "IN", "GT", "GTE", "LT", "LTE"})),
    "view_count": ("int64", frozenset({"EQ", "IN", "GT", "GTE", "LT", "LTE"})),
    "effect_ids": ("list", frozenset({"CONTAINS"})),
    "hashtag_names": ("list", frozenset({"CONTAINS"})),
    "playlist_id": ("int64", frozenset({"EQ", "IN"})),
    "voice_to_text": ("string", frozenset({"EQ", "IN"})),
    "duration_type": ("int", frozenset({"EQ", "IN", "GT", "GTE", "LT", "LTE"})),
}
SINGLE_VALUE_OPERATORS = frozenset({"EQ", "GT", "GTE", "LT", "LTE", "LIKE"})
# The HTTP video query (mode "query") takes these operations only (seeds/README.md): the seed's
# fields keep what is left of their operators, and the real API's `hashtag_name` (a video has
# one of the hashtags) and `keyword` (the description holds one of the words) replace the
# CONTAINS / LIKE conditions on hashtag_names / video_description.
QUERY_OPERATIONS = frozenset({"EQ", "IN", "GT", "GTE", "LT", "LTE"})
QUERY_FIELD_OPERATORS: dict[str, tuple[str, frozenset[str]]] = {
    **{
        field: (kind, ops & QUERY_OPERATIONS)
        for field, (kind, ops) in FIELD_OPERATORS.items()
        if ops & QUERY_OPERATIONS
    },
    "hashtag_name": ("string", frozenset({"EQ", "IN"})),
    "keyword": ("string", frozenset({"EQ", "IN"})),
}
MODE_FIELD_OPERATORS: dict[str, dict[str, tuple[str, frozenset[str]]]] = {
    "query": QUERY_FIELD_OPERATORS,
    "task": FIELD_OPERATORS,
}
# Either mode's field: what a condition may name before the watch's mode is known.
ANY_FIELD_OPERATORS: dict[str, tuple[str, frozenset[str]]] = {
    field: (kind, ops | QUERY_FIELD_OPERATORS.get(field, (kind, frozenset()))[1])
    for field, (kind, ops) in {**QUERY_FIELD_OPERATORS, **FIELD_OPERATORS}.items()
}

# The fields each mode asks for, all it can return (seeds/README.md). The HTTP video query
# answers a name outside the public API's list with a 400 "Invalid fields", so mode query asks
# only for those; mode task asks for the seed's list plus the names of the seed's SDK example.
QUERY_FIELDS: tuple[str, ...] = (
    "id",
    "create_time",
    "username",
    "region_code",
    "video_description",
    "music_id",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
    "favorites_count",
    "effect_ids",
    "hashtag_names",
    "hashtag_info_list",
    "video_mention_list",
    "video_label",
    "playlist_id",
    "voice_to_text",
    "is_stem_verified",
    "video_duration",
)
TASK_FIELDS: tuple[str, ...] = (
    "id",
    "create_time",
    "username",
    "region_code",
    "video_description",
    "music_id",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
    "favorites_count",
    "effect_ids",
    "hashtag_names",
    "playlist_id",
    "voice_to_text",
    "duration_type",
    "stem_verified",
    "hashtag_info_list",
    "video_mention_list",
    "video_label",
)
_INT_FIELDS = (
    "music_id",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
    "favorites_count",
    "playlist_id",
    "video_duration",
    "duration_type",
)
_TEXT_FIELDS = ("username", "region_code", "video_description", "voice_to_text")
_LIST_FIELDS = ("effect_ids", "hashtag_names", "video_mention_list")
# The JSON type of every field either mode can ask for (seed table, seeds/README.md): ids and
# counts are numbers, lists arrays, `video_label` an object, the STEM flag a boolean.
FIELD_TYPES: dict[str, str] = {
    **dict.fromkeys(("id", "create_time", *_INT_FIELDS), "number"),
    **dict.fromkeys(_TEXT_FIELDS, "string"),
    **dict.fromkeys((*_LIST_FIELDS, "hashtag_info_list"), "array"),
    "video_label": "object",
    **dict.fromkeys(("is_stem_verified", "stem_verified"), "boolean"),
}
# "Missing fields are omitted, not null": these are absent from a video that has none (no
# effect, playlist, subtitles, mention or label), so a slice without them has not drifted.
OMITTED_FIELDS = frozenset(
    {"effect_ids", "playlist_id", "voice_to_text", "video_mention_list", "video_label"}
)

VIDEO_SCHEMA = pa.schema(
    [
        pa.field("query_name", pa.string(), nullable=False),
        pa.field("id", pa.int64(), nullable=False),
        pa.field("create_time", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("create_day", pa.date32(), nullable=False),
        ("username", pa.string()),
        ("region_code", pa.string()),
        ("video_description", pa.string()),
        ("voice_to_text", pa.string()),
        *[(name, pa.int64()) for name in _INT_FIELDS],
        ("is_stem_verified", pa.bool_()),
        *[(name, pa.list_(pa.string())) for name in _LIST_FIELDS],
        ("hashtag_info_list", pa.string()),  # JSON text, hashtag ids as digit strings
        ("video_label", pa.string()),  # JSON text
        pa.field("pulled_at", pa.timestamp("us", tz="UTC"), nullable=False),
        ("log_id", pa.string()),
    ]
)

_ERROR_STATUS = {
    "invalid_params": 400,
    "access_token_invalid": 401,
    "scope_not_authorized": 403,
    "rate_limit_exceeded": 429,
    "daily_quota_limit_exceeded": 429,
    "internal_error": 500,
}


def _envelope_error(body: Any) -> tuple[int, str] | None:
    """A 200 whose `error.code` is not "ok" is that error (its code names the status)."""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if code in (None, "ok"):
        return None
    return _ERROR_STATUS.get(str(code), 400), f"{error.get('message') or 'error'} ({code})"


def _error_code(body: Any) -> str | None:
    """The error code joins the message, so `daily_quota_limit_exceeded` reads as quota."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("code") not in (None, "ok"):
        return str(error["code"])
    if isinstance(error, str):  # the OAuth endpoint: {"error": "invalid_client", ...}
        return str(body.get("error_description") or "") or None
    return None


PROFILE = VendorProfile(
    name="tiktok_research",
    auth="none",  # the OAuth token provider supplies the Authorization header
    quota_statuses=frozenset(),
    quota_markers=("daily_quota_limit_exceeded",),
    credits_per_request=1.0,  # one request of the daily quota
    envelope_error=_envelope_error,
    error_detail=_error_code,
)
TOKEN_PROFILE = VendorProfile(name="tiktok_research", auth="none", error_detail=_error_code)


class QueryTaskError(VendorError):
    """A query task ended without a result: AnalysisFailed, Cancelled, or timed out."""

    kind = "query task failed"


class TaskLimitReached(QueryTaskError):
    """A task result as long as its `limit`: cut off, so that query's window is not loaded."""

    kind = "query task result cut off"


# -- the watchlist entry: condition groups from the seed, plus shortcuts -------------------


class Condition(StrictModel):
    """One seed condition: a field, an operator that the seed allows for it, and values."""

    field: str
    operator: str
    field_values: tuple[str, ...] = Field(min_length=1)

    @field_validator("field_values", mode="before")
    @classmethod
    def _as_text(cls, values: Any) -> Any:
        if isinstance(values, list | tuple):
            return tuple(
                str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in values
            )
        return values

    @model_validator(mode="after")
    def _allowed(self) -> Condition:
        check_condition(self.field, self.operator, self.field_values)
        return self

    @property
    def op(self) -> str:
        return self.operator.upper()


class ConditionGroup(StrictModel):
    """`and`: all must hold; `or`: at least one; `not`: none."""

    operator: Literal["and", "or", "not"]
    conditions: tuple[Condition, ...] = Field(min_length=1)


def check_condition(
    field: str, operator: str, values: Sequence[str], mode: Mode | None = None
) -> None:
    """Refuse what the mode's field/operator table does not allow, naming field and operator.

    Without a mode, a field or operator allowed in either mode passes (a watchlist entry is
    checked again once its mode is known, see ResearchWatch).
    """
    if field not in ANY_FIELD_OPERATORS:
        raise ValueError(
            f"unknown query field {field!r}; allowed: {', '.join(sorted(ANY_FIELD_OPERATORS))}"
        )
    table = ANY_FIELD_OPERATORS if mode is None else MODE_FIELD_OPERATORS[mode]
    where = "" if mode is None else f" in mode: {mode}"
    kind, allowed = table.get(field, (ANY_FIELD_OPERATORS[field][0], frozenset()))
    op = operator.upper()
    if op not in allowed:
        raise ValueError(
            f"operator {op} is not allowed for field {field!r}{where} "
            f"(allowed: {', '.join(sorted(allowed)) or 'none'}){_mode_hint(field, op, mode)}"
        )
    if op in SINGLE_VALUE_OPERATORS and len(values) != 1:
        raise ValueError(f"operator {op} on field {field!r} takes exactly one value")
    if kind in ("int64", "int"):
        bad = [v for v in values if not str(v).lstrip("-").isdigit()]
        if bad:
            raise ValueError(f"field {field!r} takes integers, got {bad}")


def _mode_hint(field: str, op: str, mode: Mode | None) -> str:
    if mode == "query" and op in ("LIKE", "CONTAINS"):
        other = {"hashtag_names": "hashtag_name", "video_description": "keyword"}.get(field)
        instead = f", or field {other!r} with IN / EQ" if other else ""
        return (
            f"; the HTTP video query takes only {', '.join(sorted(QUERY_OPERATIONS))}: "
            f"use mode: task for {op}{instead}"
        )
    if mode == "task" and field in ("hashtag_name", "keyword"):
        return (
            "; that is a video-query field: the query task takes hashtag_names CONTAINS "
            "or video_description LIKE"
        )
    return ""


class ResearchQuery(StrictModel):
    """One watched query. Shortcuts and `condition_groups` combine with AND.

    A video matches when it has any of `hashtags` or any of `keywords` (one `or` group),
    and every other shortcut holds (one `and` group). How the hashtag / keyword shortcuts
    are written depends on the mode (see `groups`).
    """

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    hashtags: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    usernames: tuple[str, ...] = ()
    music_ids: tuple[int, ...] = ()
    min_views: int | None = Field(default=None, ge=0)
    min_likes: int | None = Field(default=None, ge=0)
    condition_groups: tuple[ConditionGroup, ...] = ()

    @field_validator("regions")
    @classmethod
    def _regions(cls, regions: tuple[str, ...]) -> tuple[str, ...]:
        bad = [r for r in regions if len(r) != 2 or not r.isalpha() or not r.isupper()]
        if bad:
            raise ValueError(f"field 'region_code': regions are two-letter codes, got {bad}")
        return regions

    @field_validator("hashtags")
    @classmethod
    def _hashtags(cls, tags: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(tag.lstrip("#").lower() for tag in tags)

    @model_validator(mode="after")
    def _not_empty(self) -> ResearchQuery:
        if not self.groups("task"):
            raise ValueError(f"query {self.name!r} has no condition: it would match every video")
        return self

    def groups(self, mode: Mode) -> list[ConditionGroup]:
        """The condition groups of this query in `mode` (without the create_time window).

        Mode task (the seed): `hashtag_names CONTAINS` per hashtag, `video_description LIKE
        %keyword%` per keyword. Mode query (the HTTP API): `hashtag_name IN [...]` and
        `keyword IN [...]`.
        """
        either: list[Condition] = []
        if mode == "query":
            for field, values in (("hashtag_name", self.hashtags), ("keyword", self.keywords)):
                if values:
                    either.append(Condition(field=field, operator="IN", field_values=values))
        else:
            either += [
                Condition(field="hashtag_names", operator="CONTAINS", field_values=(t,))
                for t in self.hashtags
            ]
            either += [
                Condition(field="video_description", operator="LIKE", field_values=(f"%{k}%",))
                for k in self.keywords
            ]
        every = []
        for field, values in (
            ("region_code", self.regions),
            ("username", self.usernames),
            ("music_id", tuple(str(m) for m in self.music_ids)),
        ):
            if values:
                every.append(Condition(field=field, operator="IN", field_values=values))
        for field, floor in (("view_count", self.min_views), ("like_count", self.min_likes)):
            if floor is not None:
                every.append(Condition(field=field, operator="GTE", field_values=(str(floor),)))
        groups = list(self.condition_groups)
        if every:
            groups.insert(0, ConditionGroup(operator="and", conditions=tuple(every)))
        if either:
            groups.insert(0, ConditionGroup(operator="or", conditions=tuple(either)))
        return groups


class ResearchWatch(StrictModel):
    """Which Research API queries to crawl every night, and how."""

    mode: Literal["query", "task"] = "query"
    lookback_days: int = Field(default=3, ge=1, le=MAX_WINDOW_DAYS)
    max_count: int = Field(default=MAX_COUNT, ge=1, le=MAX_COUNT)
    window_days: int = Field(default=DEFAULT_WINDOW_DAYS, ge=1, le=MAX_WINDOW_DAYS)
    task_limit: int = Field(default=1000, ge=1, le=TASK_LIMIT_MAX)
    task_timeout_seconds: float = Field(default=900.0, gt=0)
    queries: tuple[ResearchQuery, ...] = (
        ResearchQuery(name="skincare", hashtags=("skincare", "grwm"), regions=("US", "GB")),
    )

    @model_validator(mode="after")
    def _unique_names(self) -> ResearchWatch:
        names = [q.name for q in self.queries]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"query names must be unique: {dupes}")
        for query in self.queries:
            groups = query.groups(self.mode)
            if self.mode == "query" and sum(g.operator == "or" for g in groups) > 1:
                raise ValueError(
                    f"query {query.name!r}: the HTTP video query holds one `or` list; "
                    "use mode: task for several `or` groups"
                )
            for group in groups:
                for c in group.conditions:
                    try:
                        check_condition(c.field, c.operator, c.field_values, self.mode)
                    except ValueError as exc:
                        raise ValueError(f"query {query.name!r}: {exc}") from None
        return self


def validate_watch(watch: ResearchWatch | Mapping[str, Any] | None) -> ResearchWatch:
    """A watch from the watchlist or a plain dict; any problem is a ConfigError naming the
    watchlist key (`tiktok_research.<key>: ...`), raised before any request."""
    return config.validate_watch(ResearchWatch, watch, "tiktok_research")


# -- request building -----------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Publish days [start, end], both inclusive (the API's `start_date` / `end_date`)."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def label(self) -> str:
        return f"{self.start}..{self.end}"


def split_windows(days: Sequence[date], max_days: int = MAX_WINDOW_DAYS) -> list[Window]:
    """Contiguous runs of `days`, each at most `max_days` long (the API's 30-day limit)."""
    if not 1 <= max_days <= MAX_WINDOW_DAYS:
        raise ConfigError(f"window_days must be 1..{MAX_WINDOW_DAYS}, got {max_days}")
    windows: list[Window] = []
    for day in sorted(set(days)):
        last = windows[-1] if windows else None
        if last and day == last.end + timedelta(days=1) and len(last.days) < max_days:
            windows[-1] = Window(last.start, day)
        else:
            windows.append(Window(day, day))
    return windows


def _condition_json(condition: Condition) -> dict[str, Any]:
    return {
        "operation": condition.op,
        "field_name": condition.field,
        "field_values": list(condition.field_values),
    }


def _check_mode(groups: Sequence[ConditionGroup], mode: Mode) -> None:
    for group in groups:
        for c in group.conditions:
            try:
                check_condition(c.field, c.operator, c.field_values, mode)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None


def http_query(groups: Sequence[ConditionGroup]) -> dict[str, list[dict[str, Any]]]:
    """Condition groups -> the HTTP query object `{"and": [...], "or": [...], "not": [...]}`.

    Only the video query's operations pass (no LIKE / CONTAINS): a ConfigError names the
    field and the operator before anything is sent.
    """
    if sum(g.operator == "or" for g in groups) > 1:
        raise ConfigError("the HTTP video query holds one `or` list; use mode: task")
    _check_mode(groups, "query")
    query: dict[str, list[dict[str, Any]]] = {}
    for group in groups:
        query.setdefault(group.operator, []).extend(_condition_json(c) for c in group.conditions)
    return query


def query_body(
    groups: Sequence[ConditionGroup],
    window: Window,
    max_count: int,
    cursor: int = 0,
    search_id: str | None = None,
) -> dict[str, Any]:
    """The JSON body of one page of `POST /v2/research/video/query/`, checked against limits."""
    if not 1 <= max_count <= MAX_COUNT:
        raise ConfigError(f"max_count must be 1..{MAX_COUNT}, got {max_count}")
    if len(window.days) > MAX_WINDOW_DAYS:
        raise ConfigError(f"window {window.label()} is longer than {MAX_WINDOW_DAYS} days")
    body: dict[str, Any] = {
        "query": http_query(groups),
        "start_date": window.start.strftime("%Y%m%d"),
        "end_date": window.end.strftime("%Y%m%d"),
        "max_count": max_count,
    }
    if cursor:
        body["cursor"] = cursor
    if search_id:
        body["search_id"] = search_id
    return body


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def task_body(groups: Sequence[ConditionGroup], window: Window, limit: int) -> dict[str, Any]:
    """A create-task body: the window becomes create_time conditions (epoch seconds, UTC)."""
    if not 1 <= limit <= TASK_LIMIT_MAX:
        raise ConfigError(f"limit must be 1..{TASK_LIMIT_MAX}, got {limit}")
    _check_mode(groups, "task")
    bounds = ConditionGroup(
        operator="and",
        conditions=(
            Condition(
                field="create_time", operator="GTE", field_values=(str(_epoch(window.start)),)
            ),
            Condition(
                field="create_time",
                operator="LT",
                field_values=(str(_epoch(window.end + timedelta(days=1))),),
            ),
        ),
    )
    return {
        "category": "video",
        "condition_groups": [
            {
                "operator": g.operator,
                "conditions": [
                    {"field": c.field, "operator": c.op, "field_values": list(c.field_values)}
                    for c in g.conditions
                ],
            }
            for g in (bounds, *groups)
        ],
        "fields": ",".join(TASK_FIELDS),
        "limit": limit,
    }


# -- parsing ---------------------------------------------------------------------------------


def _text_list(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise ValueError(f"field {name!r} should be a list of strings")
    return [str(v) for v in value]


def _hashtag_info(value: Any) -> str | None:
    """`hashtag_info_list` as compact JSON text, each `hashtag_id` re-emitted as a digit
    string so no later JSON reader (DuckDB's casts, pandas) can round it through a float."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ValueError("field 'hashtag_info_list' should be a list of objects")
    infos = []
    for info in value:
        hashtag = to_int(info.get("hashtag_id"), "hashtag_info_list.hashtag_id")
        infos.append(info if hashtag is None else {**info, "hashtag_id": str(hashtag)})
    return json.dumps(infos, ensure_ascii=False, separators=(",", ":"))


def _json_object(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(f"field {name!r} should be an object, got {type(value).__name__}")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_video(
    item: Any, query_name: str, pulled_at: datetime, log_id: str | None = None
) -> dict[str, Any]:
    """One raw video of either mode -> one typed row; omitted fields become NULL.

    One column per meaning, whichever mode filled it: `is_stem_verified` takes the HTTP
    query's `is_stem_verified` or the task's `stem_verified` (the same flag). Durations are
    two meanings, so two columns: `video_duration` is seconds (mode query), `duration_type`
    the seed's duration bucket (mode task); neither is derived from the other, because the
    seed does not define the buckets' bounds. ValueError names the bad field.
    """
    if not isinstance(item, dict):
        raise ValueError(f"video should be an object, got {type(item).__name__}")
    video_id = to_int(item.get("id"), "id", required=True)
    if video_id is not None and video_id <= 0:
        raise ValueError(f"field 'id' should be a positive video id, got {video_id}")
    created = to_int(item.get("create_time"), "create_time", required=True)
    create_time = datetime.fromtimestamp(created or 0, tz=UTC)
    row: dict[str, Any] = {
        "query_name": query_name,
        "id": video_id,
        "create_time": create_time,
        "create_day": create_time.date(),
        "pulled_at": pulled_at,
        "log_id": log_id,
        "hashtag_info_list": _hashtag_info(item.get("hashtag_info_list")),
        "video_label": _json_object(item.get("video_label"), "video_label"),
    }
    for name in _INT_FIELDS:
        row[name] = to_int(item.get(name), name)
    for name in _TEXT_FIELDS:
        row[name] = to_text(item.get(name), name)
    for name in _LIST_FIELDS:
        row[name] = _text_list(item.get(name), name)
    source = "is_stem_verified" if "is_stem_verified" in item else "stem_verified"
    verified = item.get(source)
    if verified is not None and not isinstance(verified, bool):
        raise ValueError(f"field {source!r} should be a boolean, got {verified!r}")
    row["is_stem_verified"] = verified
    return row


def rows_to_table(rows: Sequence[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=VIDEO_SCHEMA)


def seed_shape(mode: Mode) -> SeedShape:
    """What a video of `mode` should carry: the Research API returns only the fields asked
    for, so the mode's requested field list is the shape."""
    fields = QUERY_FIELDS if mode == "query" else TASK_FIELDS
    return SeedShape(
        PROFILE.name,
        TABLE,
        {name: FIELD_TYPES[name] for name in fields},
        optional=OMITTED_FIELDS & set(fields),
        columns={"stem_verified": "is_stem_verified"},
    )


class PublishDayShapes:
    """The fields the videos of one (query, window) carried, one tally per publish day.

    A (query, publish day) is what a load replaces (the merge key) and a daily partition, so
    it is the slice drift is noted for: `where` selects exactly its rows.
    """

    def __init__(self, shape: SeedShape, query_name: str, window: Window) -> None:
        self.shape, self.query_name, self.window = shape, query_name, window
        self._days: dict[date, FieldTally] = {}

    def add(self, item: Any) -> None:
        """Tally one raw video under its publish day (the window's first day if unreadable)."""
        created = item.get("create_time") if isinstance(item, dict) else None
        day = self.window.start
        if isinstance(created, int) and not isinstance(created, bool) and 0 <= created < 2**40:
            day = datetime.fromtimestamp(created, tz=UTC).date()
        self._days.setdefault(day, self.shape.tally()).add(item)

    def drift(self) -> set[Drift]:
        found: set[Drift] = set()
        for day, tally in self._days.items():
            where = {"query_name": self.query_name, "create_day": day}
            found |= tally.drift(day.isoformat(), where)
        return found


# -- auth, budget, crawl ---------------------------------------------------------------------


class OAuthToken:
    """Client-credentials access token: fetched on first use, refreshed before it expires.

    Implements `pipelines.http.AuthProvider`; the shared client calls `invalidate()` once
    when the API answers 401, so a token revoked early is replaced, not retried blindly.
    """

    def __init__(
        self,
        client: VendorClient,
        client_key: Secret,
        client_secret: Secret,
        clock: Callable[[], float] = time.monotonic,
        margin: float = TOKEN_REFRESH_MARGIN,
    ) -> None:
        self._client, self._key, self._secret = client, client_key, client_secret
        self._clock, self._margin = clock, margin
        self._token: Secret | None = None
        self._expires_at = 0.0
        self.fetched = 0

    def header(self) -> str:
        if self._token is None or self._clock() >= self._expires_at - self._margin:
            self._fetch()
        assert self._token is not None
        return f"Bearer {self._token.reveal()}"

    def invalidate(self) -> None:
        self._token = None

    def _fetch(self) -> None:
        try:
            response = self._client.request(
                "POST",
                TOKEN_PATH,
                form={
                    "client_key": self._key.reveal(),
                    "client_secret": self._secret.reveal(),
                    "grant_type": "client_credentials",
                },
            )
        except AuthError as exc:
            raise exc.with_hint(CREDENTIALS_HINT) from None
        body = response.body if isinstance(response.body, dict) else {}
        token, ttl = body.get("access_token"), body.get("expires_in", TOKEN_TTL_SECONDS)
        if not isinstance(token, str) or not token or not isinstance(ttl, int | float):
            raise MalformedResponse(
                PROFILE.name,
                "the token answer has no access_token / expires_in",
                endpoint=f"POST {TOKEN_PATH}",
                status=response.status,
                request_id=response.request_id,
            )
        register(token)
        self._token = Secret(token)
        self._expires_at = self._clock() + float(ttl)
        self.fetched += 1


class RequestBudget:
    """Research requests this run sent, against the daily quota (a per-run estimate).

    Every request the vendor sees counts, not every logical call: the first try, each retry
    of a 5xx / 429 / timeout and the resend after a 401 (see MeteredAuth). The API does not
    say how much of the day's quota other runs spent, so `left` assumes this run is the
    day's only one; the vendor's own 429 remains the authority.
    """

    def __init__(self, limit: int = DAILY_QUOTA) -> None:
        self.limit, self.spent = limit, 0

    @property
    def left(self) -> int:
        return max(0, self.limit - self.spent)

    def spend(self) -> None:
        """Count one request about to be sent; refuse the one over the limit, unsent."""
        if self.spent >= self.limit:
            raise QuotaExhausted(
                PROFILE.name,
                f"this run reached its budget of {self.limit} research requests",
                hint="the daily quota is 1000 requests; re-run the failed partitions tomorrow",
            )
        self.spent += 1


class MeteredAuth:
    """The research client's AuthProvider: the access token, one budget request per attempt.

    The shared client asks its provider for a header before every attempt it sends, retries
    and the 401 resend included, so this is where each request is counted, and where the
    one that would exceed the budget is stopped before it leaves. Token requests (free) are
    made by the token's own client and not counted.
    """

    def __init__(self, token: AuthProvider, budget: RequestBudget) -> None:
        self._token, self.budget = token, budget

    def header(self) -> str:
        header = self._token.header()
        self.budget.spend()
        return header

    def invalidate(self) -> None:
        self._token.invalidate()


def _data(response: VendorResponse, endpoint: str, what: str) -> dict[str, Any]:
    body = response.body
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise MalformedResponse(
            PROFILE.name,
            f"`data` should be an object ({what})",
            endpoint=endpoint,
            status=response.status,
            request_id=response.request_id,
        )
    return data


def _next_cursor(
    data: dict[str, Any], cursor: int, response: VendorResponse, endpoint: str, what: str
) -> int:
    """The page's next cursor; one that does not move forward would loop on the quota."""
    try:
        next_cursor = to_int(data.get("cursor"), "cursor", required=True)
    except ValueError as exc:
        next_cursor, problem = None, str(exc)
    else:
        problem = f"`cursor` did not advance ({cursor} -> {next_cursor})"
    if next_cursor is None or next_cursor <= cursor:
        raise MalformedResponse(
            PROFILE.name,
            f"{problem} on {what}",
            endpoint=endpoint,
            status=response.status,
            request_id=response.request_id,
        )
    return next_cursor


def _page_videos(
    response: VendorResponse,
    endpoint: str,
    what: str,
    query_name: str,
    pulled_at: datetime,
    shapes: PublishDayShapes | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = _data(response, endpoint, what)
    videos = data.get("videos", [])
    if not isinstance(videos, list):
        raise MalformedResponse(
            PROFILE.name,
            f"`data.videos` should be a list ({what})",
            endpoint=endpoint,
            status=response.status,
            request_id=response.request_id,
        )
    rows = []
    for index, item in enumerate(videos):
        if shapes is not None:
            shapes.add(item)
        try:
            rows.append(parse_video(item, query_name, pulled_at, response.request_id))
        except ValueError as exc:
            raise MalformedResponse(
                PROFILE.name,
                f"{exc} (video {index + 1} of {what})",
                endpoint=endpoint,
                status=response.status,
                request_id=response.request_id,
                hint="the vendor changed its payload; complete windows are kept",
            ) from None
    return data, rows


def _restartable(exc: VendorError) -> bool:
    """A search that broke mid-crawl: a 5xx that outlasted retries, or an expired search_id."""
    if isinstance(exc, ServerError):
        return True
    return isinstance(exc, InvalidRequest) and "search_id" in exc.vendor_message.lower().replace(
        " ", "_"
    )


def crawl_window(
    client: VendorClient,
    query: ResearchQuery,
    window: Window,
    *,
    max_count: int,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    shapes: PublishDayShapes | None = None,
) -> list[dict[str, Any]]:
    """Every video of one query in one window, pages followed while `has_more`.

    A short page does not end the crawl (only `has_more` does). A broken search restarts
    the window with a fresh search, at most MAX_WINDOW_RESTARTS times; rows are keyed by id,
    so pages seen twice are not doubled and the restart's fresher counts win. Every raw
    video is tallied in `shapes` (schema drift), a page that fails to parse too.
    """
    groups = query.groups("query")
    rows: dict[int, dict[str, Any]] = {}
    endpoint = f"POST {QUERY_PATH}"
    params = {"fields": ",".join(QUERY_FIELDS)}
    for attempt in range(MAX_WINDOW_RESTARTS + 1):
        cursor, search_id, page = 0, None, 0
        try:
            while True:
                page += 1
                response = client.post(
                    QUERY_PATH, query_body(groups, window, max_count, cursor, search_id), params
                )
                what = f"page {page} of {query.name} {window.label()}"
                data, page_rows = _page_videos(response, endpoint, what, query.name, now(), shapes)
                rows.update((row["id"], row) for row in page_rows)
                if not data.get("has_more"):
                    return list(rows.values())
                cursor = _next_cursor(data, cursor, response, endpoint, what)
                search_id = data.get("search_id") or search_id
        except (ServerError, InvalidRequest) as exc:
            if not _restartable(exc) or attempt == MAX_WINDOW_RESTARTS:
                raise
            logger.warning(
                "%s %s: search broke at page %d (%s); restarting the window, %d rows kept",
                query.name,
                window.label(),
                page,
                exc.vendor_message,
                len(rows),
            )
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class TaskSettings:
    """How long to wait for a query task and how often to ask (delays double up to poll_max)."""

    limit: int = 1000
    timeout_seconds: float = 900.0
    poll_initial: float = 1.0
    poll_max: float = 30.0


def run_task(
    client: VendorClient,
    query: ResearchQuery,
    window: Window,
    *,
    settings: TaskSettings,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    shapes: PublishDayShapes | None = None,
) -> list[dict[str, Any]]:
    """Create a query task, poll it with backoff until Completed, fetch every result page.

    AnalysisFailed and Cancelled end with a QueryTaskError; a result as long as the task's
    `limit` was cut off by the vendor, so it ends with TaskLimitReached and nothing of the
    window is returned (its partial days would replace complete ones). A task that outlives
    `timeout_seconds`, or a run interrupted meanwhile (Dagster's termination raises inside
    the step, from the moment the task id is known), is cancelled before the error
    propagates.
    """
    label = f"query task ({query.name} {window.label()})"
    task_id: int | None = None
    finished = False
    try:
        created = client.post(
            TASK_CREATE_PATH, task_body(query.groups("task"), window, settings.limit)
        )
        task_id = to_int(
            _data(created, f"POST {TASK_CREATE_PATH}", "create").get("task_id"),
            "task_id",
            required=True,
        )
        label = f"query task {task_id} ({query.name} {window.label()})"
        started, delay = clock(), settings.poll_initial
        while True:
            status_answer = client.post(TASK_STATUS_PATH, {"task_id": task_id})
            status = _data(status_answer, f"POST {TASK_STATUS_PATH}", label).get("status")
            if status == TASK_DONE:
                break
            if status in (TASK_FAILED, TASK_CANCELLED):
                finished = True
                raise QueryTaskError(
                    PROFILE.name,
                    f"{label} ended {status}",
                    endpoint=f"POST {TASK_STATUS_PATH}",
                    request_id=status_answer.request_id,
                    hint=(
                        "the vendor could not analyse the query: check its conditions"
                        if status == TASK_FAILED
                        else "someone or something cancelled it at the vendor, not this run"
                    )
                    + "; complete windows are kept, re-run the partition",
                )
            if status not in TASK_PENDING:
                raise MalformedResponse(
                    PROFILE.name,
                    f"{label}: unknown status {status!r}",
                    endpoint=f"POST {TASK_STATUS_PATH}",
                    request_id=status_answer.request_id,
                )
            if clock() - started + delay > settings.timeout_seconds:
                raise QueryTaskError(
                    PROFILE.name,
                    f"{label} still {status} after {settings.timeout_seconds:.0f}s; cancelled",
                    hint="raise task_timeout_seconds in the watchlist or narrow the query",
                )
            sleep(delay)
            delay = min(settings.poll_max, delay * 2)
        rows: dict[int, dict[str, Any]] = {}
        cursor, page, served = 0, 0, 0
        while True:
            page += 1
            response = client.post(
                TASK_RESULT_PATH,
                {"task_id": task_id, "cursor": cursor, "max_count": TASK_RESULT_PAGE},
            )
            data, page_rows = _page_videos(
                response,
                f"POST {TASK_RESULT_PATH}",
                f"result page {page} of {label}",
                query.name,
                now(),
                shapes,
            )
            rows.update((row["id"], row) for row in page_rows)
            served += len(page_rows)
            if served >= settings.limit:
                finished = True
                raise TaskLimitReached(
                    PROFILE.name,
                    f"{label} returned {served} videos, its limit of {settings.limit}: the "
                    f"vendor cut the result off, so nothing of {query.name} {window.label()} "
                    "is loaded (a partial day would replace a complete one)",
                    endpoint=f"POST {TASK_RESULT_PATH}",
                    request_id=response.request_id,
                    hint="raise tiktok_research.task_limit in the watchlist "
                    f"(at most {TASK_LIMIT_MAX}) or lower tiktok_research.window_days so each "
                    "task holds fewer videos; other queries and complete windows are kept",
                )
            if not data.get("has_more"):
                finished = True
                return list(rows.values())
            cursor = _next_cursor(
                data, cursor, response, f"POST {TASK_RESULT_PATH}", f"result page {page}"
            )
    except BaseException:
        if task_id is not None and not finished:
            _cancel(client, task_id, label)
        raise


def _cancel(client: VendorClient, task_id: int, label: str) -> None:
    """Best effort: a cancel that fails is logged, the original error is what propagates."""
    try:
        answer = client.post(TASK_CANCEL_PATH, {"task_id": task_id})
        data = answer.body.get("data") if isinstance(answer.body, dict) else answer.body
        logger.warning("cancelled %s: %s", label, data)
    except VendorError as exc:
        logger.error("could not cancel %s: %s", label, exc)


# -- the dlt source ----------------------------------------------------------------------------


@dlt.source(name="tiktok_research", max_table_nesting=0)
def tiktok_research_source(
    watch: ResearchWatch | Mapping[str, Any] | None = None,
    days: Sequence[date] = (),
    client_key: TSecretStrValue | None = dlt.secrets.value,
    client_secret: TSecretStrValue | None = dlt.secrets.value,
    base_url: str = DEFAULT_BASE_URL,
    requests_per_second: float = 1.0,
    read_timeout: float = 30.0,
    max_attempts: int = 6,
    backoff_base: float = 0.5,
    task_poll_seconds: float = 2.0,
    daily_quota: int = DAILY_QUOTA,
    report: RunReport | None = None,
    budget: RequestBudget | None = None,
) -> DltResource:
    """Videos of every watched query published on `days` (a partition range).

    Secrets resolve from `SOURCES__TIKTOK_RESEARCH__CLIENT_KEY` / `__CLIENT_SECRET`. The
    source stops at the first failure it cannot absorb, after yielding every complete
    window; the caller loads them and calls `report.raise_if_stopped()`. A task result cut
    off at `task_limit` stops only its query: the other queries go on, and the report is
    stopped by the cut-off at the end. Pass `budget` to read how many of the daily quota's
    requests the run sent.

    Schema drift against the mode's requested fields (`seed_shape`) is noted in the report
    per (query, publish day), a window that failed to parse too: a field absent from every
    video of the slice (the ingest asset keeps its stored values, per `PRIMARY_KEY`), a field
    not asked for (named, then dropped: the row schema is fixed), a value of another JSON
    type (kept when it still reads as the column's type, else the window stops). The table's
    schema contract is `RAW_CONTRACT`: a stored column's type is frozen.
    """
    spec = validate_watch(watch)
    run_report = report if report is not None else RunReport()
    run_budget = budget if budget is not None else RequestBudget(daily_quota)
    run_budget.limit = daily_quota  # a caller's budget is there to be read, the cap is config
    windows = split_windows(days, spec.window_days)
    settings = ClientSettings(
        read_timeout=read_timeout,
        max_attempts=max_attempts,
        backoff_base=backoff_base,
        requests_per_second=requests_per_second or None,
    )
    task_settings = TaskSettings(
        spec.task_limit, spec.task_timeout_seconds, task_poll_seconds, max(task_poll_seconds, 30.0)
    )
    shape = seed_shape(spec.mode)
    run_report.row_keys[TABLE] = PRIMARY_KEY

    @dlt.resource(
        name=TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=PRIMARY_KEY,
        merge_key=MERGE_KEY,
        schema_contract=RAW_CONTRACT,
        columns={
            "id": {"data_type": "bigint", "nullable": False},
            "music_id": {"data_type": "bigint"},
            "playlist_id": {"data_type": "bigint"},
            "create_time": {"data_type": "timestamp", "timezone": True, "nullable": False},
            "create_day": {"data_type": "date", "nullable": False},
            "pulled_at": {"data_type": "timestamp", "timezone": True},
            "video_duration": {"data_type": "bigint"},
            "hashtag_names": {"data_type": "json"},
            "effect_ids": {"data_type": "json"},
            "video_mention_list": {"data_type": "json"},
            "hashtag_info_list": {"data_type": "json"},
            "video_label": {"data_type": "json"},
        },
    )
    def videos() -> Iterator[pa.Table]:
        if not windows:
            return
        if not client_key or not client_secret:
            run_report.stopped_by = AuthError(
                PROFILE.name, "no client_key / client_secret is configured", hint=CREDENTIALS_HINT
            )
            return
        try:
            token_client = VendorClient(
                TOKEN_PROFILE, base_url, None, settings, stats=run_report.requests
            )
            token = OAuthToken(token_client, Secret(client_key), Secret(client_secret))
            client = VendorClient(
                PROFILE,
                base_url,
                None,
                settings,
                stats=run_report.requests,
                auth_provider=MeteredAuth(token, run_budget),
            )
        except VendorError as exc:
            run_report.stopped_by = exc
            return
        cut_off: dict[str, TaskLimitReached] = {}  # query name -> its first cut-off window
        with token_client, client:
            for window in windows:
                for query in spec.queries:
                    label = f"{query.name} {window.label()}"
                    if query.name in cut_off:
                        continue  # its settings need raising first (see the error's hint)
                    shapes = PublishDayShapes(shape, query.name, window)
                    try:
                        if spec.mode == "task":
                            rows = run_task(
                                client, query, window, settings=task_settings, shapes=shapes
                            )
                        else:
                            rows = crawl_window(
                                client, query, window, max_count=spec.max_count, shapes=shapes
                            )
                    except TaskLimitReached as exc:
                        logger.error("skipping the rest of %s: %s", query.name, exc)
                        cut_off[query.name] = exc
                        continue
                    except VendorError as exc:
                        if isinstance(exc, AuthError):
                            exc = exc.with_hint(CREDENTIALS_HINT)
                        logger.error("stopping before %s is complete: %s", label, exc)
                        run_report.stopped_by = exc
                        return
                    finally:
                        run_report.note_drift(shapes.drift())
                    if not rows:
                        run_report.empty_slices.append(label)
                        continue
                    run_report.count_rows(TABLE, len(rows))
                    yield rows_to_table(rows)
        if cut_off:
            first = next(iter(cut_off.values()))
            if len(cut_off) > 1:
                first = TaskLimitReached(
                    PROFILE.name,
                    f"{first.vendor_message}; also cut off: {', '.join(list(cut_off)[1:])}",
                    endpoint=first.endpoint,
                    request_id=first.request_id,
                    hint=first.hint,
                )
            run_report.stopped_by = first

    return videos
