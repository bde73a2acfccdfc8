"""A KeyAPI ranking item as a typed row, its arrow schema and the seed's shape for drift."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from ..fields import SeedShape, to_bool, to_int, to_text
from .settings import PROFILE, TABLE_FOR_PERIOD, RankingSlice

_COUNT_FIELDS = (
    "total_comments_cnt",
    "total_digg_cnt",
    "total_favorites_cnt",
    "total_shares_cnt",
    "total_video_sale_cnt",
    "total_video_sale_gmv_amt",
    "total_views_cnt",
)
_TEXT_FIELDS = ("unique_id", "nick_name", "avatar", "category", "reflow_cover", "video_desc")
# Every field of the seed's example item and its JSON type there: ids, `create_time` and
# `created_by_ai` are strings, counts are numbers, two lists are JSON inside strings.
SEED_FIELDS: dict[str, str] = {
    **dict.fromkeys(_COUNT_FIELDS, "number"),
    **dict.fromkeys(_TEXT_FIELDS, "string"),
    **dict.fromkeys(("video_id", "user_id", "create_time", "created_by_ai"), "string"),
    **dict.fromkeys(("duration", "sales_flag"), "number"),
    **dict.fromkeys(("region", "product_category_list", "video_products"), "string"),
}
_KNOWN_FIELDS = frozenset(SEED_FIELDS)
# The ranking's own region stands in when an item leaves `region` out.
_OPTIONAL_FIELDS = frozenset({"region"})

RANKING_SCHEMA = pa.schema(
    [
        pa.field("ranking_date", pa.date32(), nullable=False),
        pa.field("rank_type", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("rank_field", pa.string(), nullable=False),
        pa.field("product_category_id", pa.string(), nullable=False),
        pa.field("rank", pa.int64(), nullable=False),
        pa.field("video_id", pa.int64(), nullable=False),
        ("user_id", pa.int64()),
        ("unique_id", pa.string()),
        ("nick_name", pa.string()),
        ("avatar", pa.string()),
        ("category", pa.string()),
        ("create_time", pa.timestamp("us", tz="UTC")),
        ("created_by_ai", pa.bool_()),
        ("duration", pa.int64()),
        ("reflow_cover", pa.string()),
        ("sales_flag", pa.int64()),
        *[(name, pa.int64()) for name in _COUNT_FIELDS],
        ("video_desc", pa.string()),
        ("product_category_list", pa.string()),
        ("video_products", pa.string()),
        ("request_id", pa.string()),
    ]
)


def _json_text(value: Any, name: str) -> str | None:
    """Validate a JSON-in-a-string field and re-emit it with integers as strings.

    `video_products` holds 19-digit product ids as bare JSON numbers: re-emitting them
    as strings keeps every later JSON reader (DuckDB, pandas) from rounding them.
    """
    if value is None or value == "":
        return None
    try:
        parsed = json.loads(value, parse_int=str) if isinstance(value, str) else value
    except json.JSONDecodeError as exc:
        raise ValueError(f"field {name!r} is not valid JSON inside its string: {exc}") from None
    if not isinstance(parsed, list):
        raise ValueError(f"field {name!r} should hold a JSON list")
    return json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))


def parse_ranking_item(
    item: Any, ranking: RankingSlice, rank: int, request_id: str | None
) -> dict[str, Any]:
    """One raw ranking item -> one typed row. Raises ValueError naming the bad field."""
    if not isinstance(item, dict):
        raise ValueError(f"item should be an object, got {type(item).__name__}")
    create_time = to_int(item.get("create_time"), "create_time")
    row: dict[str, Any] = {
        "ranking_date": ranking.ranking_date,
        "rank_type": ranking.period,
        "region": item.get("region") or ranking.region,
        "rank_field": ranking.rank_field,
        "product_category_id": ranking.product_category_id,
        "rank": rank,
        "video_id": to_int(item.get("video_id"), "video_id", required=True),
        "user_id": to_int(item.get("user_id"), "user_id"),
        "create_time": None if create_time is None else datetime.fromtimestamp(create_time, tz=UTC),
        "created_by_ai": to_bool(item.get("created_by_ai"), "created_by_ai"),
        "duration": to_int(item.get("duration"), "duration"),
        "sales_flag": to_int(item.get("sales_flag"), "sales_flag"),
        "product_category_list": _json_text(
            item.get("product_category_list"), "product_category_list"
        ),
        "video_products": _json_text(item.get("video_products"), "video_products"),
        "request_id": request_id,
    }
    for name in _COUNT_FIELDS:
        row[name] = to_int(item.get(name), name)
    for name in _TEXT_FIELDS:
        row[name] = to_text(item.get(name), name)
    for name in set(item) - _KNOWN_FIELDS:
        value = item[name]
        column = f"vendor_{name}" if name in RANKING_SCHEMA.names else name
        row[column] = value if value is None or isinstance(value, str) else json.dumps(value)
    return row


def seed_shape(period: str) -> SeedShape:
    """The seed's item shape, for drift in the table of `period`."""
    return SeedShape(PROFILE.name, TABLE_FOR_PERIOD[period], SEED_FIELDS, optional=_OPTIONAL_FIELDS)


def rows_to_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Typed columns from the schema, plus any new vendor field as text (dlt evolves)."""
    extra = sorted({key for row in rows for key in row} - set(RANKING_SCHEMA.names))
    schema = RANKING_SCHEMA
    for name in extra:
        schema = schema.append(pa.field(name, pa.string()))
    return pa.Table.from_pylist(rows, schema=schema)
