"""KeyAPI "Video Ranking (Analytics)": GET /v1/tiktok/video/ranking/analytics.

Contract: seeds/000_2f879721105b6020.txt and the KeyAPI facts in seeds/README.md. Every
answer is `{code, message, data, requestId}`; ids, `create_time` and `created_by_ai` are
strings, counts are numbers, `product_category_list` / `video_products` are JSON inside
strings. Totals are what a video gained within the ranked UTC day / week / month; the rank
is the position in page order. A period is published one day after it ends.

Vendor option (FaultConfig.options): `counts_as_strings` sends every count as a digit
string ("1234"), a type change a client can still read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from simulator.vendor import ErrorKind, Request, Route, Vendor
from simulator.world import RankedVideo

PATH = "/v1/tiktok/video/ranking/analytics"
RANK_FIELDS = {1: "views", 2: "sales_units"}  # video_rank_field -> world metric
DAY, WEEK, MONTH = 1, 2, 3  # rank_type
PAGE_NUM_MAX = 100_000
PAGE_SIZE_MAX = 10
PUBLISH_DELAY = timedelta(days=1)
REQUIRED = ("date", "region", "video_rank_field", "rank_type", "page_num", "page_size")
_IMAGES = "https://echosell-images.sim.invalid"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT = re.compile(r"[+-]?\d{1,9}")

_ERRORS: dict[ErrorKind, tuple[int, str]] = {
    "auth_missing": (401, "apiKey is null"),
    "auth_invalid": (401, "apiKey is invalid"),
    "quota": (402, "apiKey quota is not enough"),
    "rate_limit": (429, "qps limit exceeded"),
    "internal": (500, "Internal server error"),
    "unavailable": (503, "Service unavailable"),
    "not_found": (404, "Not found"),
}


class _BadRequest(ValueError):
    """A parameter problem; its message is the 400 body's `message`."""


@dataclass(frozen=True)
class _Query:
    """A validated ranking request, its period resolved to [start, end) in UTC days."""

    start: date
    end: date  # exclusive
    region: str
    metric: str
    page_num: int
    page_size: int
    category_id: str | None
    created_by_ai: bool | None


def _body(code: int, message: str, data: Any, request_id: str) -> dict[str, Any]:
    return {"code": code, "message": message, "data": data, "requestId": request_id}


def error(kind: ErrorKind, request_id: str) -> tuple[int, dict[str, Any]]:
    """KeyAPI's error envelope: `code` repeats the HTTP status, `data` is null."""
    status, message = _ERRORS[kind]
    return status, _body(status, message, None, request_id)


def video_ranking(request: Request) -> tuple[int, dict[str, Any]]:
    """One page of a ranking; an unpublished period is an empty success, as the vendor does."""
    try:
        query = _parse(request)
    except _BadRequest as exc:
        return 400, _body(400, str(exc), None, request.request_id)
    published_at = datetime.combine(query.end, time.min, tzinfo=UTC) + PUBLISH_DELAY
    if published_at > request.now:
        return 200, _body(0, "success", [], request.request_id)
    ranked = request.world.ranking(
        query.region,
        query.start,
        query.end,
        query.metric,
        query.category_id,
        query.created_by_ai,
    )
    offset = (query.page_num - 1) * query.page_size
    page = ranked[offset : offset + query.page_size]
    items = [_item(entry) for entry in page]
    if request.options.get("counts_as_strings"):
        for item in items:
            item.update({k: str(v) for k, v in item.items() if k.startswith("total_")})
    return 200, _body(0, "success", items, request.request_id)


def _parse(request: Request) -> _Query:
    query, world = request.query, request.world
    for name in REQUIRED:
        if not query.get(name):
            raise _BadRequest(f"Missing required parameter: {name}")
    day = _date(query["date"])
    if query["region"] not in world.regions:
        raise _BadRequest(f"Invalid parameter: region must be one of {', '.join(world.regions)}")
    rank_field = _int(query, "video_rank_field", 1, 2)
    rank_type = _int(query, "rank_type", DAY, MONTH)
    page_num = _int(query, "page_num", 1, PAGE_NUM_MAX)
    page_size = _int(query, "page_size", 1, PAGE_SIZE_MAX)

    if rank_type == DAY:
        end = day + timedelta(days=1)
    elif rank_type == WEEK:
        if day.weekday() != 0:
            raise _BadRequest("Invalid parameter: date must be a Monday for rank_type=2 (week)")
        end = day + timedelta(days=7)
    else:
        if day.day != 1:
            raise _BadRequest(
                "Invalid parameter: date must be the first day of a month for rank_type=3 (month)"
            )
        end = (day + timedelta(days=31)).replace(day=1)

    category_id = query.get("product_category_id") or None
    if category_id is not None and world.category(category_id) is None:
        raise _BadRequest("Invalid parameter: product_category_id is not a first-level category id")
    ai_flag = query.get("created_by_ai") or None
    if ai_flag not in (None, "true", "false"):
        raise _BadRequest("Invalid parameter: created_by_ai must be true or false")
    return _Query(
        day,
        end,
        query["region"],
        RANK_FIELDS[rank_field],
        page_num,
        page_size,
        category_id,
        None if ai_flag is None else ai_flag == "true",
    )


def _date(value: str) -> date:
    if _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _BadRequest("Invalid parameter: date must be a valid yyyy-MM-dd date")


def _int(query: dict[str, str], name: str, low: int, high: int) -> int:
    value = query[name]
    if not _INT.fullmatch(value) or not low <= int(value) <= high:
        raise _BadRequest(f"Invalid parameter: {name} must be an integer in [{low}, {high}]")
    return int(value)


def _item(entry: RankedVideo) -> dict[str, Any]:
    """One ranking item, with exactly the seed example's fields and JSON types."""
    video, gained, creator = entry.video, entry.metrics, entry.video.creator
    categories = [{"category_name": c.name, "category_id": c.category_id} for c in video.categories]
    return {
        "avatar": f"{_IMAGES}/user-avatar/{creator.user_id % 1000}/{creator.sec_uid}.jpg",
        "category": creator.category,
        "create_time": str(video.create_time),
        "created_by_ai": "true" if video.created_by_ai else "false",
        "duration": video.duration,
        "nick_name": creator.nickname,
        "product_category_list": json.dumps(categories, ensure_ascii=False, separators=(",", ":")),
        "reflow_cover": f"{_IMAGES}/video-cover/{video.video_id % 1000}/{video.video_id}.jpg",
        "region": video.region,
        "sales_flag": video.sales_flag,
        "total_comments_cnt": gained.comments,
        "total_digg_cnt": gained.likes,
        "total_favorites_cnt": gained.favorites,
        "total_shares_cnt": gained.shares,
        "total_video_sale_cnt": gained.sales_units,
        "total_video_sale_gmv_amt": gained.gmv,
        "total_views_cnt": gained.views,
        "unique_id": creator.unique_id,
        "user_id": str(creator.user_id),
        "video_desc": video.description,
        "video_id": str(video.video_id),
        "video_products": "[" + ",".join(str(p.product_id) for p in video.products) + "]",
    }


VENDOR = Vendor(
    name="keyapi",
    routes={
        ("GET", PATH): Route(
            handler=video_ranking,
            items=lambda body: body["data"],
            drop_field="nick_name",
            retype_field="total_views_cnt",
        ),
    },
    error=error,
)
