"""EnsembleData TikTok API: hashtag, keyword, user, post, comment, follow and music endpoints.

Contract: seeds/004_d1b5783beaf0fb5d.txt plus the EnsembleData facts in seeds/README.md.
Every call is a `GET` with the token as the `token` query parameter. A good answer is
`{"data": ...}`; an error is FastAPI-style `{"detail": "..."}` (a list of field problems for a
422). Units spent are in the `units_charged` header (the server adds it from the cost a
handler states). Posts are TikTok "aweme" objects built from the shared world; about one in
ten has no `music` object. Lists page with `cursor` / `nextCursor` (the end marker is a
missing `nextCursor`, or `null` for followers / followings); followings also need the
`nextPageToken` of the previous page as `page_token`.

Vendor options (FaultConfig.options):
- `repeat_cursor: true` makes every list answer the same `nextCursor` again after its first
  page, as the real API sometimes does: a client must notice, not loop;
- `partial_status: <4xx>` makes `/tt/post/multi-info` with unknown ids answer that status
  with the found posts still in `data` (the vendor's own client treats it as data);
- `edited_captions: true` sends every post with an empty `text_extra` (its creator edited the
  hashtags out): a client must drop the post's earlier hashtags;
- `private_follows: true` answers every follower / following list empty (the creator hid it);
- `posts_unavailable: {"<unique_id or sec_uid>": <404 | 422>}` makes `/tt/user/posts` and
  `/tt/user/posts-from-secuid` of those creators answer that status (`{"detail": ...}`, no
  units charged) while their info and follow lists still answer: one failed sub-request.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from simulator.vendor import ErrorKind, Request, Route, Vendor
from simulator.world import Creator, Video, World, metrics_at

COST_HEADER = "units_charged"
WINDOW_DAYS = 7  # hashtag and music listings look this far back
POSTS_PAGE = 20
USER_POSTS_CHUNK = 10  # one `depth` of user posts
COMMENTS_PAGE = 30
FOLLOW_PAGE = 100
MAX_FOLLOWERS = 250
MAX_MULTI_IDS = 100
KEYWORD_PERIODS = (0, 1, 7, 30, 90, 180)
_POST_URL = re.compile(r"https://(?:www\.)?tiktok\.com/@[\w.\-]+/video/(\d{1,20})(?:[/?].*)?")
_COMMENT_TEXTS = (
    "need this 😭",
    "where is it from?",
    "link pls",
    "السلام عليكم",
    "this is so real",
    "ok but the ending 💀",
    "saving this",
    "わかる",
)

_ERRORS: dict[ErrorKind, tuple[int, Any]] = {
    "auth_missing": (
        422,
        [{"loc": ["query", "token"], "msg": "field required", "type": "value_error.missing"}],
    ),
    "auth_invalid": (491, "Token not found"),
    "quota": (495, "Units used up"),
    "rate_limit": (429, "Too many requests"),
    "internal": (500, "Internal server error"),
    "unavailable": (520, "Unknown error, please retry"),
    "not_found": (404, "Not Found"),
}


class _Invalid(ValueError):
    """A parameter problem: answered 422 with FastAPI's list of field errors."""

    def __init__(self, name: str, msg: str) -> None:
        super().__init__(msg)
        self.name, self.msg = name, msg


def error(kind: ErrorKind, request_id: str) -> tuple[int, dict[str, Any]]:
    status, detail = _ERRORS[kind]
    return status, {"detail": detail}


def _problem(exc: _Invalid) -> tuple[int, dict[str, Any]]:
    return 422, {"detail": [{"loc": ["query", exc.name], "msg": exc.msg, "type": "value_error"}]}


# -- parameters ------------------------------------------------------------------------------


def _text(request: Request, name: str) -> str:
    value = request.query.get(name, "").strip()
    if not value:
        raise _Invalid(name, "field required")
    return value


def _int(request: Request, name: str, default: int | None = None, low: int = 0) -> int:
    raw = request.query.get(name, "")
    if raw == "" and default is not None:
        return default
    if not re.fullmatch(r"-?\d{1,19}", raw) or int(raw) < low:
        raise _Invalid(name, f"value is not a valid integer >= {low}")
    return int(raw)


def _bool(request: Request, name: str) -> bool:
    raw = request.query.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise _Invalid(name, "value could not be parsed to a boolean")
    return raw == "true"


def _creator(request: Request, param: str) -> Creator | None:
    return request.world.creator(_text(request, param))


# -- payloads ----------------------------------------------------------------------------------


def has_music(video: Video) -> bool:
    """About one post in ten comes without a `music` object (deleted or muted sounds)."""
    return (video.video_id >> 5) % 10 != 0


def aweme(video: Video, request: Request) -> dict[str, Any]:
    """A TikTok aweme object as EnsembleData relays it; ids are strings, music.id a number."""
    m = metrics_at(video, request.now)
    creator = video.creator
    post: dict[str, Any] = {
        "aweme_id": str(video.video_id),
        "desc": video.description,
        "create_time": video.create_time,
        "region": video.region,
        "author": _user(creator),
        "statistics": {
            "aweme_id": str(video.video_id),
            "play_count": m.views,
            "digg_count": m.likes,
            "comment_count": m.comments,
            "share_count": m.shares,
            "collect_count": m.favorites,
        },
        "text_extra": (
            []
            if request.options.get("edited_captions")
            else [{"type": 1, "hashtag_name": tag} for tag in video.hashtags]
        ),
        "video": {"duration": video.duration * 1000},
    }
    if has_music(video):
        post["music"] = {
            "id": video.music.music_id,
            "id_str": str(video.music.music_id),
            "title": video.music.title,
            "author": video.music.author,
        }
    return post


def _user(creator: Creator) -> dict[str, Any]:
    return {
        "uid": str(creator.user_id),
        "unique_id": creator.unique_id,
        "sec_uid": creator.sec_uid,
        "nickname": creator.nickname,
    }


def _user_info(creator: Creator, world: World) -> dict[str, Any]:
    rng = random.Random(f"{world.seed}:ed-user:{creator.user_id}")
    return {
        **_user(creator),
        "region": creator.region,
        "signature": f"{creator.category} • {creator.region}",
        "verified": creator.followers > 500_000,
        "follower_count": creator.followers,
        "following_count": len(_followings(creator, world)),
        "aweme_count": rng.randint(20, 900),
        "total_favorited": creator.followers * rng.randint(3, 40),
    }


def _recent(request: Request, days: int, keep: Callable[[Video], bool]) -> list[Video]:
    """Published videos of the last `days` UTC days (all regions), newest first."""
    today = request.now.date()
    start = today - timedelta(days=max(days, 1) - 1)
    now = request.now.timestamp()
    found = [
        v
        for v in request.world.videos_between(start, today + timedelta(days=1))
        if v.create_time <= now and keep(v)
    ]
    return sorted(found, key=lambda v: (-v.create_time, v.video_id))


def _page(
    request: Request, items: Sequence[Any], cursor: int, size: int
) -> tuple[list[Any], int | None]:
    """One page of a list and its next cursor (None at the end), honouring `repeat_cursor`."""
    chunk = list(items[cursor : cursor + size])
    following = cursor + size if cursor + size < len(items) else None
    if request.options.get("repeat_cursor") and cursor > 0:
        following = cursor  # the vendor answers the cursor it was given: never advances
    return chunk, following


def _ok(
    request: Request, data: dict[str, Any] | list[Any] | int, units: int = 1
) -> tuple[int, Any, dict[str, str]]:
    """A 200 with the units it spends; the day's use is kept for /customer/get-used-units."""
    used = request.state.setdefault("units", {})
    day = request.now.date().isoformat()
    used[day] = used.get(day, 0) + units
    return 200, {"data": data}, {COST_HEADER: str(units)}


def _handler(fn: Callable[[Request], tuple[int, Any, dict[str, str]] | tuple[int, Any]]):
    """Turns a parameter problem raised by `fn` into the vendor's 422."""

    def handle(request: Request) -> tuple[int, Any] | tuple[int, Any, dict[str, str]]:
        try:
            return fn(request)
        except _Invalid as exc:
            return _problem(exc)

    return handle


def _not_found(what: str) -> tuple[int, dict[str, Any]]:
    return 404, {"detail": f"{what} not found"}


def _list_body(
    request: Request, posts: list[Video], cursor: int, size: int = POSTS_PAGE
) -> dict[str, Any]:
    chunk, following = _page(request, posts, cursor, size)
    body: dict[str, Any] = {"data": [aweme(v, request) for v in chunk]}
    if following is not None:
        body["nextCursor"] = following
    return body


# -- hashtag and keyword ---------------------------------------------------------------------


@_handler
def hashtag_posts(request: Request):
    tag = _text(request, "name").lstrip("#").lower()
    cursor = _int(request, "cursor", 0)
    posts = _recent(request, WINDOW_DAYS, lambda v: tag in v.hashtags)
    return _ok(request, _list_body(request, posts, cursor))


@_handler
def hashtag_recent_posts(request: Request):
    """Full hashtag search: every post at most `days` old within the first `max_cursor`."""
    tag = _text(request, "name").lstrip("#").lower()
    days = _int(request, "days", WINDOW_DAYS, low=1)
    max_cursor = _int(request, "max_cursor", 4_000, low=1)
    posts = _recent(request, days, lambda v: tag in v.hashtags)[:max_cursor]
    units = max(1, math.ceil(len(posts) / POSTS_PAGE))
    return _ok(request, {"data": [aweme(v, request) for v in posts]}, units)


def _keyword_posts(request: Request) -> list[Video]:
    words = _text(request, "name").lower()
    period = _int(request, "period", 0)
    if period not in KEYWORD_PERIODS:
        raise _Invalid("period", f"value is not one of {list(KEYWORD_PERIODS)}")
    sorting = _int(request, "sorting", 0)
    if sorting not in (0, 1):
        raise _Invalid("sorting", "value is not one of [0, 1]")
    country = request.query.get("country", "").upper()
    if country and country not in request.world.regions:
        raise _Invalid("country", f"value is not one of {list(request.world.regions)}")
    exact = _bool(request, "match_exactly")
    terms = words.split()

    def score(v: Video) -> int:
        text = v.description.lower()
        if exact:
            return int(words in text)
        return sum(t in text or t.lstrip("#") in v.hashtags for t in terms)

    days = period or 180
    posts = [
        v
        for v in _recent(request, min(days, 30), lambda v: not country or v.region == country)
        if score(v)
    ]
    if sorting == 1:
        return sorted(posts, key=lambda v: (-metrics_at(v, request.now).likes, v.video_id))
    return sorted(posts, key=lambda v: (-score(v), -v.create_time, v.video_id))


@_handler
def keyword_search(request: Request):
    """Keyword search items wrap the post in `aweme_info`, as the vendor sends them."""
    cursor = _int(request, "cursor", 0)
    body = _list_body(request, _keyword_posts(request), cursor)
    body["data"] = [{"aweme_info": post} for post in body["data"]]
    return _ok(request, body)


@_handler
def keyword_full_search(request: Request):
    posts = _keyword_posts(request)
    units = max(1, math.ceil(len(posts) / POSTS_PAGE))
    return _ok(request, {"data": [{"aweme_info": aweme(v, request)} for v in posts]}, units)


# -- users -----------------------------------------------------------------------------------


def _user_info_handler(param: str):
    @_handler
    def handle(request: Request):
        creator = _creator(request, param)
        if creator is None:
            return _not_found("User")
        return _ok(request, {"user": _user_info(creator, request.world)})

    return handle


def _creator_videos(creator: Creator, request: Request) -> list[Video]:
    """The creator's published posts of the last 30 days, newest first."""
    return _recent(request, 30, lambda v: v.creator == creator)


def _user_posts_handler(param: str):
    @_handler
    def handle(request: Request):
        creator = _creator(request, param)
        depth = _int(request, "depth", 1, low=1)
        start = _int(request, "start_cursor", 0)
        oldest = _int(request, "oldest_createtime", 0)
        if creator is None:
            return _not_found("User")
        if (refused := _posts_refused(request, creator)) is not None:
            return refused
        posts = [
            v
            for v in _creator_videos(creator, request)
            if (not start or v.create_time * 1000 < start) and v.create_time >= oldest
        ]
        chunk = posts[: depth * USER_POSTS_CHUNK]
        body: dict[str, Any] = {"data": [aweme(v, request) for v in chunk]}
        if len(posts) > len(chunk):
            body["nextCursor"] = chunk[-1].create_time * 1000
            if request.options.get("repeat_cursor") and start:
                body["nextCursor"] = start
        return _ok(request, body, depth)

    return handle


_POSTS_REFUSALS = {404: "User posts not found", 422: "User posts are unavailable for this account"}


def _posts_refused(request: Request, creator: Creator) -> tuple[int, dict[str, Any]] | None:
    """The `posts_unavailable` option's answer for this creator, if it names them."""
    unavailable = request.options.get("posts_unavailable") or {}
    status = unavailable.get(creator.unique_id) or unavailable.get(creator.sec_uid)
    if status is None:
        return None
    if status not in _POSTS_REFUSALS:
        raise ValueError(f"posts_unavailable statuses are {sorted(_POSTS_REFUSALS)}")
    return status, {"detail": _POSTS_REFUSALS[status]}


def _others(creator: Creator, world: World, kind: str, count: int) -> list[Creator]:
    rng = random.Random(f"{world.seed}:ed-{kind}:{creator.user_id}")
    pool = [c for c in world.creators if c != creator]
    return rng.sample(pool, min(count, len(pool)))


def _followers(creator: Creator, world: World) -> list[Creator]:
    return _others(creator, world, "followers", min(creator.followers, MAX_FOLLOWERS))


def _followings(creator: Creator, world: World) -> list[Creator]:
    rng = random.Random(f"{world.seed}:ed-following-count:{creator.user_id}")
    return _others(creator, world, "followings", rng.randint(30, 180))


def _visible(request: Request, people: list[Creator]) -> list[Creator]:
    return [] if request.options.get("private_follows") else people


def page_token(creator: Creator, cursor: int) -> str:
    """The opaque token a followings page hands out for the next one."""
    return hashlib.sha1(f"{creator.sec_uid}:{cursor}".encode()).hexdigest()[:16]


def _follow_creator(request: Request) -> Creator | None:
    creator = _creator(request, "secUid")
    if creator is not None and str(creator.user_id) != _text(request, "id"):
        raise _Invalid("id", "id and secUid name different users")
    return creator


@_handler
def user_followers(request: Request):
    creator = _follow_creator(request)
    cursor = _int(request, "cursor", 0)
    if creator is None:
        return _not_found("User")
    everyone = _visible(request, _followers(creator, request.world))
    chunk, following = _page(request, everyone, cursor, FOLLOW_PAGE)
    return _ok(
        request,
        {
            "followers": [_user(c) for c in chunk],
            "total": creator.followers if everyone else 0,
            "nextCursor": following,
        },
    )


@_handler
def user_followings(request: Request):
    creator = _follow_creator(request)
    cursor = _int(request, "cursor", 0)
    token = request.query.get("page_token", "")
    if creator is None:
        return _not_found("User")
    if cursor and token != page_token(creator, cursor):
        raise _Invalid("page_token", "page_token does not belong to this cursor")
    everyone = _visible(request, _followings(creator, request.world))
    chunk, following = _page(request, everyone, cursor, FOLLOW_PAGE)
    return _ok(
        request,
        {
            "followings": [_user(c) for c in chunk],
            "total": len(everyone),
            "nextCursor": following,
            "nextPageToken": None if following is None else page_token(creator, following),
        },
    )


# -- posts, comments, music ------------------------------------------------------------------


@_handler
def post_info(request: Request):
    match = _POST_URL.fullmatch(_text(request, "url"))
    if match is None:
        raise _Invalid("url", "not a TikTok post URL (https://www.tiktok.com/@user/video/<id>)")
    video = request.world.video(int(match.group(1)))
    if video is None or video.create_time > request.now.timestamp():
        return _not_found("Post")
    return _ok(request, [aweme(video, request)])


@_handler
def post_multi_info(request: Request):
    ids = [i for i in _text(request, "ids").split(";") if i]
    if len(ids) > MAX_MULTI_IDS:
        raise _Invalid("ids", f"at most {MAX_MULTI_IDS} ids per request, got {len(ids)}")
    if not all(i.isdigit() and len(i) <= 20 for i in ids):
        raise _Invalid("ids", "ids must be numeric aweme ids joined by ';'")
    found = [
        v
        for v in (request.world.video(int(i)) for i in ids)
        if v is not None and v.create_time <= request.now.timestamp()
    ]
    units = max(1, math.ceil(len(ids) / 10))
    partial = request.options.get("partial_status")
    if partial and len(found) < len(ids):
        return partial, {
            "data": [aweme(v, request) for v in found],
            "detail": f"{len(ids) - len(found)} of {len(ids)} posts were not found",
        }
    return _ok(request, [aweme(v, request) for v in found], units)


def _comments(video: Video, request: Request) -> list[dict[str, Any]]:
    world = request.world
    rng = random.Random(f"{world.seed}:ed-comments:{video.video_id}")
    count = min(metrics_at(video, request.now).comments, 75)
    comments = []
    for i in range(count):
        at = video.create_time + 60 * (i + 1)
        author = rng.choice(world.creators)
        comments.append(
            {
                "cid": str((at << 32) | rng.getrandbits(32)),
                "aweme_id": str(video.video_id),
                "text": rng.choice(_COMMENT_TEXTS),
                "create_time": at,
                "digg_count": rng.randint(0, 500),
                "reply_comment_total": rng.choice((0, 0, 0, 1, 3)),
                "user": _user(author),
            }
        )
    return comments


@_handler
def post_comments(request: Request):
    aweme_id = _text(request, "aweme_id")
    cursor = _int(request, "cursor", 0)
    video = request.world.video(int(aweme_id)) if aweme_id.isdigit() else None
    if video is None:
        return _not_found("Post")
    everything = _comments(video, request)
    chunk, following = _page(request, everything, cursor, COMMENTS_PAGE)
    body: dict[str, Any] = {"comments": chunk, "total": len(everything)}
    if following is not None:
        body["nextCursor"] = following
    return _ok(request, body)


def _music(request: Request, param: str):
    raw = _text(request, param)
    return next((m for m in request.world.music if str(m.music_id) == raw), None)


@_handler
def music_posts(request: Request):
    music = _music(request, "music_id")
    cursor = _int(request, "cursor", 0)
    if music is None:
        return _not_found("Music")
    posts = _recent(request, WINDOW_DAYS, lambda v: v.music == music and has_music(v))
    return _ok(request, _list_body(request, posts, cursor))


@_handler
def music_details(request: Request):
    music = _music(request, "id")
    if music is None:
        return _not_found("Music")
    posts = _recent(request, WINDOW_DAYS, lambda v: v.music == music and has_music(v))
    return _ok(
        request,
        {
            "id": music.music_id,
            "id_str": str(music.music_id),
            "title": music.title,
            "author": music.author,
            "user_count": len(posts),
        },
    )


@_handler
def used_units(request: Request):
    day = request.query.get("date") or request.now.date().isoformat()
    try:
        date.fromisoformat(day)
    except ValueError:
        raise _Invalid("date", "invalid date format, expected YYYY-MM-DD") from None
    return 200, {"data": request.state.get("units", {}).get(day, 0)}


def _posts(body: Any) -> list[dict[str, Any]]:
    """Where drift applies: the posts of a list answer (keyword items unwrapped)."""
    data = body["data"]
    items = data if isinstance(data, list) else data.get("data", [])
    return [i.get("aweme_info", i) for i in items if isinstance(i, dict)]


def _route(handler: Any, cost: int = 1) -> Route:
    return Route(handler, _posts, drop_field="desc", retype_field="create_time", cost=cost)


_USERS: Callable[[Any], list[dict[str, Any]]] = lambda body: [body["data"]["user"]]  # noqa: E731

VENDOR = Vendor(
    name="ensembledata",
    routes={
        ("GET", "/tt/hashtag/posts"): _route(hashtag_posts),
        ("GET", "/tt/hashtag/recent-posts"): _route(hashtag_recent_posts),
        ("GET", "/tt/keyword/search"): _route(keyword_search),
        ("GET", "/tt/keyword/full-search"): _route(keyword_full_search),
        ("GET", "/tt/user/info"): Route(
            _user_info_handler("username"), _USERS, "nickname", "follower_count"
        ),
        ("GET", "/tt/user/info-from-secuid"): Route(
            _user_info_handler("secUid"), _USERS, "nickname", "follower_count"
        ),
        ("GET", "/tt/user/posts"): _route(_user_posts_handler("username")),
        ("GET", "/tt/user/posts-from-secuid"): _route(_user_posts_handler("secUid")),
        ("GET", "/tt/user/followers"): Route(
            user_followers, lambda b: b["data"]["followers"], "nickname", "uid"
        ),
        ("GET", "/tt/user/followings"): Route(
            user_followings, lambda b: b["data"]["followings"], "nickname", "uid"
        ),
        ("GET", "/tt/post/info"): _route(post_info),
        ("GET", "/tt/post/multi-info"): _route(post_multi_info),
        ("GET", "/tt/post/comments"): Route(
            post_comments, lambda b: b["data"]["comments"], "text", "digg_count"
        ),
        ("GET", "/tt/music/posts"): _route(music_posts),
        ("GET", "/tt/music/details"): Route(
            music_details, lambda b: [b["data"]], "title", "user_count"
        ),
        ("GET", "/customer/get-used-units"): Route(used_units, lambda b: [], "", "", cost=0),
    },
    error=error,
    auth="query",
    token_param="token",
    cost_header=COST_HEADER,
)
