"""TikTok Research settings: paths, limits, the two modes' field and operator tables, the
vendor profiles and errors, and the watchlist entry (validated before any request).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .. import config
from ..config import StrictModel
from ..errors import VendorError
from ..http import VendorProfile

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
