"""TikTok Research API: OAuth client credentials, the video query, and query tasks.

Contract: seeds/001_4628c6db6458f10e.txt and the Research facts in seeds/README.md.

    POST /v2/oauth/token/                 form client_key, client_secret, grant_type
    POST /v2/research/video/query/        ?fields=...; JSON {query, start_date, end_date,
                                          max_count <= 100, cursor, search_id}
    POST /v2/research/query_task/create/  {category, condition_groups, fields, limit}
    POST /v2/research/query_task/status/  {task_id} -> {status}
    POST /v2/research/query_task/result/  {task_id, cursor, max_count <= 1000}
    POST /v2/research/query_task/cancel/  {task_id} -> {success}

The four task paths are this project's REST mapping of the seed's SDK calls. Every answer is
`{"data": ..., "error": {"code", "message", "log_id"}}`. The vendor authenticates itself
(`auth="none"` for the server): the client credentials are CLIENT_KEY / CLIENT_SECRET, and
every research call needs a live access token. Videos come from `World.videos_between`,
counts as of the simulator's clock; missing fields are omitted, never null; ids stay
integers.

Field names follow the endpoint too. The HTTP video query knows the public API's list
(`video_duration` in seconds, `is_stem_verified`, `hashtag_info_list`, `video_mention_list`,
`video_label`, ...); the query task knows the seed's (`duration_type`, `stem_verified`) plus
the names its SDK example asks for. Asking either for a name outside its list is a 400
invalid_params "Invalid fields: a,b" listing every such name, as the real API answers.

Operators follow the endpoint. The query task takes the seed's table: LIKE on
video_description (case-insensitive, `%` and `_` wildcards), CONTAINS on hashtag_names and
effect_ids. The HTTP video query takes only EQ / IN / GT / GTE / LT / LTE (seeds/README.md):
a LIKE or CONTAINS there is a 400 invalid_params naming the operation and the field; its
`hashtag_name` matches a video carrying one of the hashtags and `keyword` a description
holding one of the words (both case-insensitive).

Vendor knobs (`FaultConfig.options`), each applied once per fault config unless noted:
    token_ttl: int                 lifetime of new tokens in seconds (default 7200)
    revoke_tokens_after: int       revoke every issued token after N research calls (once)
    short_page: int                serve at most N videos per page (every page), has_more true
    expire_search_after_pages: int the first search's id expires after N pages
    fail_search_after_pages: int   the first search answers 500 after N pages, for good
    task_polls: int                status polls before a task completes (default 3)
    task_outcome: str              "Completed" (default), "AnalysisFailed", "Cancelled" (by
                                   someone else at the vendor), or "never"
"""

from __future__ import annotations

import json
import re
import uuid
import zlib
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from simulator.vendor import ErrorKind, Request, Route, Vendor
from simulator.world import Video, World, metrics_at

CLIENT_KEY = "sim-tiktok_research-client"
CLIENT_SECRET = "sim-tiktok_research-key"  # = the server's default key for this vendor
TOKEN_PATH = "/v2/oauth/token/"
QUERY_PATH = "/v2/research/video/query/"
TASK_PREFIX = "/v2/research/query_task"
TOKEN_TTL = 7200
MAX_COUNT = 100
MAX_WINDOW_DAYS = 30
RESULT_PAGE_MAX = 1000
TASK_LIMIT_MAX = 100_000

OPERATORS: dict[str, frozenset[str]] = {
    **dict.fromkeys(
        ("id", "username", "region_code", "music_id", "playlist_id", "voice_to_text"),
        frozenset({"EQ", "IN"}),
    ),
    **dict.fromkeys(
        (
            "create_time",
            "like_count",
            "comment_count",
            "share_count",
            "view_count",
            "duration_type",
        ),
        frozenset({"EQ", "IN", "GT", "GTE", "LT", "LTE"}),
    ),
    "video_description": frozenset({"EQ", "IN", "LIKE"}),
    "effect_ids": frozenset({"CONTAINS"}),
    "hashtag_names": frozenset({"CONTAINS"}),
}
# The HTTP video query: the seed's fields without LIKE / CONTAINS, plus the real API's
# hashtag_name and keyword.
QUERY_OPERATIONS = frozenset({"EQ", "IN", "GT", "GTE", "LT", "LTE"})
QUERY_OPERATORS: dict[str, frozenset[str]] = {
    **{field: ops & QUERY_OPERATIONS for field, ops in OPERATORS.items() if ops & QUERY_OPERATIONS},
    "hashtag_name": frozenset({"EQ", "IN"}),
    "keyword": frozenset({"EQ", "IN"}),
}
# The fields each endpoint returns, and refuses to be asked for beyond (seeds/README.md): the
# public HTTP video query's full list, and the query task's (the seed's list plus the names its
# SDK example asks for). A name outside an endpoint's list is a 400 invalid_params.
QUERY_FIELDS = (
    "id", "create_time", "username", "region_code", "video_description", "music_id",
    "like_count", "comment_count", "share_count", "view_count", "favorites_count", "effect_ids",
    "hashtag_names", "hashtag_info_list", "video_mention_list", "video_label", "playlist_id",
    "voice_to_text", "is_stem_verified", "video_duration",
)  # fmt: skip
TASK_FIELDS = (
    "id", "create_time", "username", "region_code", "video_description", "music_id",
    "like_count", "comment_count", "share_count", "view_count", "favorites_count", "effect_ids",
    "hashtag_names", "playlist_id", "voice_to_text", "duration_type", "stem_verified",
    "hashtag_info_list", "sticker_info_list", "video_sticker_id", "video_mention_list",
    "video_label",
)  # fmt: skip
_INT_FIELDS = frozenset(
    {"id", "create_time", "music_id", "playlist_id", "like_count", "comment_count",
     "share_count", "view_count", "duration_type"}
)  # fmt: skip
_DATE = re.compile(r"\d{8}")

_ERRORS: dict[ErrorKind, tuple[int, str, str]] = {
    "auth_missing": (401, "access_token_invalid", "The access token is missing."),
    "auth_invalid": (401, "access_token_invalid", "The access token is invalid or expired."),
    "quota": (429, "daily_quota_limit_exceeded", "The daily quota limit has been exceeded."),
    "rate_limit": (429, "rate_limit_exceeded", "Too many requests, slow down."),
    "internal": (500, "internal_error", "Something went wrong, please try again later."),
    "unavailable": (503, "internal_error", "Service unavailable."),
    "not_found": (404, "invalid_params", "Not found."),
}


class _BadRequest(ValueError):
    """An invalid_params answer; its text is the error message."""


def _reply(data: Any, request: Request | str, code: str = "ok", message: str = "") -> Any:
    log_id = request if isinstance(request, str) else request.request_id
    return {"data": data, "error": {"code": code, "message": message, "log_id": log_id}}


def error(kind: ErrorKind, request_id: str) -> tuple[int, Any]:
    status, code, message = _ERRORS[kind]
    return status, _reply({}, request_id, code, message)


def _bad(request: Request, exc: Exception) -> tuple[int, Any]:
    return 400, _reply({}, request, "invalid_params", str(exc))


# -- auth --------------------------------------------------------------------------------------


def token(request: Request) -> tuple[int, Any]:
    """Client credentials -> a bearer token; wrong credentials are OAuth's `invalid_client`."""
    form = {k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != "client_credentials":
        return 400, {
            "error": "unsupported_grant_type",
            "error_description": "grant_type must be client_credentials",
            "log_id": request.request_id,
        }
    if form.get("client_key") != CLIENT_KEY or form.get("client_secret") != CLIENT_SECRET:
        return 401, {
            "error": "invalid_client",
            "error_description": "Client key or secret is incorrect.",
            "log_id": request.request_id,
        }
    ttl = int(request.options.get("token_ttl", TOKEN_TTL))
    value = f"clt.sim{uuid.uuid4().hex}"
    tokens = request.state.setdefault("tokens", {})
    tokens[value] = request.now + timedelta(seconds=ttl)
    return 200, {"access_token": value, "expires_in": ttl, "token_type": "Bearer"}


def _authenticated(request: Request) -> bool:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    tokens: dict[str, datetime] = request.state.setdefault("tokens", {})
    calls = request.state["research_calls"] = request.state.get("research_calls", 0) + 1
    revoke = request.options.get("revoke_tokens_after")
    if revoke is not None and calls > int(revoke) and not request.state.get("revoked"):
        request.state["revoked"] = True
        tokens.clear()
    expires = tokens.get(value.strip()) if scheme.lower() == "bearer" else None
    return expires is not None and request.now < expires


def _guarded(handler: Any) -> Any:
    """Research endpoints: a live token first, then invalid_params for a bad body."""

    def serve(request: Request) -> tuple[int, Any]:
        if not _authenticated(request):
            return error("auth_invalid", request.request_id)
        try:
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise _BadRequest("the body must be a JSON object")
            return handler(request, body)
        except (_BadRequest, json.JSONDecodeError) as exc:
            return _bad(request, exc)

    return serve


# -- the research view of a world video --------------------------------------------------------


def username(video: Video) -> str:
    """The creator's handle; a few accounts carry emoji, RTL text or even a NUL byte."""
    creator = video.creator
    if creator.user_id % 13 == 0:
        return f"{creator.unique_id}{creator.nickname}"
    if creator.user_id % 41 == 0:
        return f"{creator.unique_id[:2]}\x00{creator.unique_id[2:]}"
    return creator.unique_id


def hashtag_id(tag: str) -> int:
    """A stable 64-bit id per hashtag, above 2**53 so a float would round it."""
    return 7_000_000_000_000_000_000 + zlib.crc32(tag.encode()) * 100_000_007


def research_video(video: Video, now: datetime, world: World) -> dict[str, Any]:
    """Every field either endpoint knows for a video; optional ones are absent, not null.

    The item holds both endpoints' names for the same facts (`video_duration` seconds and
    `is_stem_verified` for the HTTP query, `duration_type` and `stem_verified` for the query
    task); each endpoint only ever serves the names of its own list.
    """
    metrics = metrics_at(video, now)
    salt = video.video_id >> 5
    verified = salt % 9 == 0
    item: dict[str, Any] = {
        "id": video.video_id,
        "create_time": video.create_time,
        "username": username(video),
        "region_code": video.region,
        "video_description": video.description,
        "music_id": video.music.music_id,
        "like_count": metrics.likes,
        "comment_count": metrics.comments,
        "share_count": metrics.shares,
        "view_count": metrics.views,
        "favorites_count": metrics.favorites,
        "hashtag_names": list(video.hashtags),
        "hashtag_info_list": [
            {
                "hashtag_id": hashtag_id(tag),
                "hashtag_name": tag,
                **({"hashtag_description": f"Videos about #{tag} ✨"} if len(tag) % 2 else {}),
            }
            for tag in video.hashtags
        ],
        "video_duration": video.duration,
        "duration_type": 0 if video.duration < 15 else 1 if video.duration < 60 else 2,
        "is_stem_verified": verified,
        "stem_verified": verified,
    }
    if salt % 5:
        item["effect_ids"] = [str(1_000_000 + (salt >> n) % 9_000) for n in range(salt % 3)]
    if salt % 7 == 0:
        item["playlist_id"] = (video.create_time << 30) | (salt % 1024)
    if salt % 3 == 0:
        item["voice_to_text"] = video.description.split(" #")[0]
    if salt % 4 == 0:
        creators = world.creators
        item["video_mention_list"] = [
            creators[(salt >> (4 * n)) % len(creators)].unique_id for n in range(1 + salt % 2)
        ]
    if video.created_by_ai:
        item["video_label"] = {"content": "Creator labeled as AI-generated"}
    elif salt % 11 == 0:
        item["video_label"] = {"content": "Get info on the U.S. elections"}
    return item


def _select(item: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    return {name: item[name] for name in fields if name in item}


# -- conditions ---------------------------------------------------------------------------------


def _like(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _check(
    field: Any, operator: Any, values: Any, table: dict[str, frozenset[str]] = OPERATORS
) -> tuple[str, str, list[Any]]:
    op = str(operator).upper()
    operations = frozenset().union(*table.values())
    if op not in operations:
        raise _BadRequest(
            f"Operation {operator!r} is not supported (field {field!r}); "
            f"valid operations: {', '.join(sorted(operations))}"
        )
    if field not in table:
        raise _BadRequest(f"Invalid field_name: {field!r}")
    if op not in table[field]:
        raise _BadRequest(f"Operation {operator!r} is not supported for field {field!r}")
    if not isinstance(values, list) or not values:
        raise _BadRequest(f"field_values of {field!r} must be a non-empty list")
    if field in _INT_FIELDS:
        try:
            values = [int(v) for v in values]
        except (TypeError, ValueError):
            raise _BadRequest(f"field_values of {field!r} must be integers") from None
    return field, op, values


def _holds(item: dict[str, Any], condition: tuple[str, str, list[Any]]) -> bool:
    field, op, values = condition
    if field == "hashtag_name":  # EQ / IN: the video carries one of the hashtags
        tags = {str(tag).lower() for tag in item.get("hashtag_names", ())}
        return any(str(v).lower() in tags for v in values)
    if field == "keyword":  # EQ / IN: the description holds one of the words
        text = str(item.get("video_description", "")).lower()
        return any(str(v).lower() in text for v in values)
    actual = item.get(field)
    if actual is None:
        return False
    if op == "CONTAINS":
        return any(str(v) in actual for v in values)
    if op == "LIKE":
        return bool(_like(str(values[0])).fullmatch(actual))
    if op in ("EQ", "IN"):
        return actual in values
    bound = values[0]
    return {"GT": actual > bound, "GTE": actual >= bound, "LT": actual < bound,
            "LTE": actual <= bound}[op]  # fmt: skip


Groups = list[tuple[str, list[tuple[str, str, list[Any]]]]]


def _matches(item: dict[str, Any], groups: Groups) -> bool:
    for operator, conditions in groups:
        hits = [_holds(item, c) for c in conditions]
        if (operator == "and" and not all(hits)) or (operator == "or" and not any(hits)):
            return False
        if operator == "not" and any(hits):
            return False
    return True


def _candidates(request: Request, start: date, end: date, groups: Groups) -> Iterable[Video]:
    """Videos published in [start, end] (inclusive days), already public at `now`."""
    regions = None
    for operator, conditions in groups:
        for field, op, values in conditions:
            if operator == "and" and field == "region_code" and op in ("EQ", "IN"):
                regions = [r for r in values if r in request.world.regions]
    scan = [None] if regions is None else regions
    now = request.now.timestamp()
    for region in scan:
        for video in request.world.videos_between(start, end + timedelta(days=1), region):
            if video.create_time <= now:
                yield video


def _search(request: Request, start: date, end: date, groups: Groups) -> list[dict[str, Any]]:
    found = []
    for video in _candidates(request, start, end, groups):
        item = research_video(video, request.now, request.world)
        if _matches(item, groups):
            found.append(item)
    found.sort(key=lambda item: (item["create_time"], item["id"]))
    return found


# -- the video query ------------------------------------------------------------------------------


def _day(value: Any, name: str) -> date:
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return datetime.strptime(value, "%Y%m%d").date()
        except ValueError:
            pass
    raise _BadRequest(f"{name} must be a YYYYMMDD date")


def _count(body: dict[str, Any], name: str, default: int, high: int) -> int:
    value = body.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise _BadRequest(f"{name} must be an integer in [0, {high}]")
    return value


def _fields(text: Any, known: Sequence[str]) -> list[str]:
    """The requested field names; any name outside `known` is refused, all of them listed."""
    if not isinstance(text, str):
        raise _BadRequest("fields is required")
    fields = [f.strip() for f in text.split(",") if f.strip()]
    if not fields:
        raise _BadRequest("fields is required")
    if unknown := [f for f in fields if f not in known]:
        raise _BadRequest(f"Invalid fields: {','.join(unknown)}")
    return fields


def video_query(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    """One page of a search; a `search_id` replays the same result set."""
    fields = _fields(request.query.get("fields"), QUERY_FIELDS)
    query = body.get("query")
    if not isinstance(query, dict) or not query or set(query) - {"and", "or", "not"}:
        raise _BadRequest("query must hold and / or / not condition lists")
    groups: Groups = []
    for operator, conditions in query.items():
        if not isinstance(conditions, list):
            raise _BadRequest(f"query.{operator} must be a list")
        groups.append(
            (
                operator,
                [
                    _check(
                        c.get("field_name"),
                        c.get("operation"),
                        c.get("field_values"),
                        QUERY_OPERATORS,
                    )
                    for c in conditions
                    if isinstance(c, dict)
                ],
            )
        )
    start, end = _day(body.get("start_date"), "start_date"), _day(body.get("end_date"), "end_date")
    if end < start or (end - start).days + 1 > MAX_WINDOW_DAYS:
        raise _BadRequest("end_date must be within 30 days after start_date")
    max_count = _count(body, "max_count", 20, MAX_COUNT) or 20
    cursor = _count(body, "cursor", 0, 10**9)
    searches: dict[str, dict[str, Any]] = request.state.setdefault("searches", {})
    search_id = body.get("search_id")
    if search_id:
        search = searches.get(str(search_id))
        if search is None or search["expired"]:
            raise _BadRequest(f"Search Id {search_id} is invalid or expired")
    else:
        search_id = str(uuid.uuid4().int >> 64)
        search = {"items": _search(request, start, end, groups), "pages": 0, "expired": False,
                  "broken": False, "first": not searches}  # fmt: skip
        searches[search_id] = search
    options = request.options
    if search["first"]:
        if search["pages"] >= int(options.get("expire_search_after_pages", 10**9)):
            search["expired"] = True
            raise _BadRequest(f"Search Id {search_id} is invalid or expired")
        if search["pages"] >= int(options.get("fail_search_after_pages", 10**9)):
            return error("internal", request.request_id)
    search["pages"] += 1
    size = min(max_count, int(options.get("short_page", max_count)))
    items = search["items"]
    page = items[cursor : cursor + size]
    data = {
        "videos": [_select(item, fields) for item in page],
        "cursor": cursor + len(page),
        "has_more": cursor + len(page) < len(items),
        "search_id": search_id,
    }
    return 200, _reply(data, request)


# -- query tasks ----------------------------------------------------------------------------


def _task(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    task = request.state.setdefault("tasks", {}).get(str(body.get("task_id")))
    if task is None:
        raise _BadRequest(f"task_id {body.get('task_id')!r} does not exist")
    return task


def create_task(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    """Validates now, analyses later: conditions must bound create_time to <= 30 days."""
    if body.get("category") != "video":
        raise _BadRequest("category must be video")
    raw_groups = body.get("condition_groups")
    if not isinstance(raw_groups, list) or not raw_groups:
        raise _BadRequest("condition_groups must be a non-empty list")
    groups: Groups = []
    for group in raw_groups:
        operator = group.get("operator") if isinstance(group, dict) else None
        if operator not in ("and", "or", "not") or not isinstance(group.get("conditions"), list):
            raise _BadRequest("each condition group needs an operator and conditions")
        conditions = [
            _check(c.get("field"), c.get("operator"), c.get("field_values"))
            for c in group["conditions"]
            if isinstance(c, dict)
        ]
        groups.append((operator, conditions))
    fields = _fields(body.get("fields"), TASK_FIELDS)
    limit = _count(body, "limit", 1000, TASK_LIMIT_MAX) or 1000
    low = [v[0] for o, cs in groups if o == "and" for f, op, v in cs
           if f == "create_time" and op == "GTE"]  # fmt: skip
    high = [v[0] for o, cs in groups if o == "and" for f, op, v in cs
            if f == "create_time" and op == "LT"]  # fmt: skip
    if not low or not high or not 0 < max(high) - max(low) <= MAX_WINDOW_DAYS * 86_400:
        raise _BadRequest("conditions must bound create_time (GTE and LT) to at most 30 days")
    start = datetime.fromtimestamp(max(low), UTC).date()
    end = datetime.fromtimestamp(min(high) - 1, UTC).date()
    items = _search(request, start, end, groups)[:limit]
    tasks = request.state.setdefault("tasks", {})
    task_id = 10_000 + len(tasks)
    tasks[str(task_id)] = {"items": items, "fields": fields, "polls": 0, "status": "Created"}
    return 200, _reply({"task_id": task_id}, request)


def task_status(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    task = _task(request, body)
    if task["status"] not in ("Completed", "AnalysisFailed", "Cancelled"):
        task["polls"] += 1
        polls = int(request.options.get("task_polls", 3))
        outcome = request.options.get("task_outcome", "Completed")
        steps = ["Created", "Validating", "Processing"]
        if task["polls"] >= polls and outcome != "never":
            task["status"] = outcome
        else:
            task["status"] = steps[min(task["polls"], len(steps) - 1)]
    return 200, _reply({"status": task["status"]}, request)


def task_result(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    task = _task(request, body)
    if task["status"] != "Completed":
        raise _BadRequest(f"task {body.get('task_id')} is {task['status']}, not Completed")
    cursor = _count(body, "cursor", 0, 10**9)
    size = _count(body, "max_count", RESULT_PAGE_MAX, RESULT_PAGE_MAX) or RESULT_PAGE_MAX
    page = task["items"][cursor : cursor + size]
    data = {
        "videos": [_select(item, task["fields"]) for item in page],
        "cursor": cursor + len(page),
        "has_more": cursor + len(page) < len(task["items"]),
    }
    return 200, _reply(data, request)


def cancel_task(request: Request, body: dict[str, Any]) -> tuple[int, Any]:
    task = _task(request, body)
    success = task["status"] not in ("Completed", "AnalysisFailed")
    if success:
        task["status"] = "Cancelled"
    return 200, _reply({"success": success}, request)


def _videos(body: Any) -> list[dict[str, Any]]:
    data = body.get("data") if isinstance(body, dict) else None
    return data.get("videos", []) if isinstance(data, dict) else []


def _route(handler: Any, cost: int = 1) -> Route:
    return Route(handler=handler, items=_videos, drop_field="view_count",
                 retype_field="like_count", cost=cost)  # fmt: skip


VENDOR = Vendor(
    name="tiktok_research",
    routes={
        ("POST", TOKEN_PATH): _route(token, cost=0),
        ("POST", QUERY_PATH): _route(_guarded(video_query)),
        ("POST", f"{TASK_PREFIX}/create/"): _route(_guarded(create_task)),
        ("POST", f"{TASK_PREFIX}/status/"): _route(_guarded(task_status)),
        ("POST", f"{TASK_PREFIX}/result/"): _route(_guarded(task_result)),
        ("POST", f"{TASK_PREFIX}/cancel/"): _route(_guarded(cancel_task)),
    },
    error=error,
    auth="none",
    client_settings={"CLIENT_KEY": CLIENT_KEY, "CLIENT_SECRET": CLIENT_SECRET},
)
