"""staging.stg_keyapi__video_rankings: union of the raw tables, renamed, cast, de-duplicated."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import duckdb

from tests.warehouse.raw_data import insert_raw, raw_row
from warehouse.models import Model, build_model, table_columns

STAGING = "staging.stg_keyapi__video_rankings"


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_three_raw_tables_are_unioned_renamed_and_cast(
    con: duckdb.DuckDBPyConnection, build_all: Callable[[], None]
) -> None:
    insert_raw(
        con,
        [
            raw_row(video_id=11, rank_type="day", ranking_date=dt.date(2024, 5, 1)),
            raw_row(video_id=12, rank_type="week", ranking_date=dt.date(2024, 4, 29)),
            raw_row(
                video_id=13,
                rank_type="month",
                ranking_date=dt.date(2024, 5, 1),
                rank_field="sales",
                product_category_id="601450",
            ),
        ],
    )
    build_all()

    rows = _rows(con, f"select * from {STAGING} order by video_id")
    assert [(r["period"], r["period_start"], r["video_id"]) for r in rows] == [
        ("day", dt.date(2024, 5, 1), 11),
        ("week", dt.date(2024, 4, 29), 12),
        ("month", dt.date(2024, 5, 1), 13),
    ]
    first = rows[0]
    assert first == first | {
        "region": "US",
        "rank_field": "views",
        "product_category_id": "all",
        "rank": 1,
        "creator_user_id": 6_900_000_000_000_000_001,
        "creator_handle": "creator_one",
        "creator_nickname": "Creator One",
        "creator_category": "Beauty",
        "video_created_at": dt.datetime(2024, 4, 20, 12, 30, tzinfo=dt.UTC),
        "is_ai_generated": False,
        "duration_seconds": 31,
        "sales_flag": 1,
        "views": 10_000,
        "likes": 900,
        "comments": 40,
        "shares": 25,
        "favorites": 70,
        "units_sold": 12,
        "gmv": 3_400,
        "video_description": "video 11",
        "product_category_names": ["Beauty & Personal Care"],
        "product_ids": [1729436418527695003],
        "_dlt_load_id": "1714600000.100000",
    }
    assert "avatar" not in first
    assert "_dlt_id" not in first
    assert (rows[2]["rank_field"], rows[2]["product_category_id"]) == ("sales", "601450")

    columns = table_columns(con, "staging", "stg_keyapi__video_rankings")
    types = {name: kind for name, kind, _ in columns}
    assert types["period_start"] == "DATE"
    assert types["video_id"] == "BIGINT"
    assert types["video_created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["product_ids"] == "BIGINT[]"
    assert types["product_category_names"] == "VARCHAR[]"


def test_product_ids_keep_all_64_bits(
    con: duckdb.DuckDBPyConnection, models: dict[str, Model]
) -> None:
    # 1729436418527695003 as a double would be 1729436418527695104.
    insert_raw(
        con,
        [
            raw_row(rank=1, video_products="[1729436418527695003, 9223372036854775807]"),
            raw_row(rank=2, video_products='["1729436418527695005"]'),
            raw_row(rank=3, video_products="[]", product_category_list=None),
        ],
    )
    build_model(con, models[STAGING])

    rows = con.execute(
        f"select product_ids, product_category_names from {STAGING} order by rank"
    ).fetchall()
    assert rows == [
        ([1729436418527695003, 9223372036854775807], ["Beauty & Personal Care"]),
        ([1729436418527695005], ["Beauty & Personal Care"]),
        ([], None),
    ]


def test_repulled_position_keeps_only_the_latest_load(
    con: duckdb.DuckDBPyConnection, models: dict[str, Model]
) -> None:
    insert_raw(
        con,
        [
            raw_row(rank=1, video_id=21, total_views_cnt=500, _dlt_load_id="1714600000.9"),
            raw_row(rank=1, video_id=22, total_views_cnt=800, _dlt_load_id="1714700000.1"),
            raw_row(rank=2, video_id=21, total_views_cnt=510, _dlt_load_id="1714700000.1"),
            # a different slice with the same rank is not a duplicate
            raw_row(rank=1, video_id=23, region="GB", _dlt_load_id="1714600000.9"),
        ],
    )
    build_model(con, models[STAGING])

    rows = con.execute(
        f"select region, rank, video_id, views, _dlt_load_id from {STAGING} order by region, rank"
    ).fetchall()
    assert rows == [
        ("GB", 1, 23, 10_000, "1714600000.9"),
        ("US", 1, 22, 800, "1714700000.1"),
        ("US", 2, 21, 510, "1714700000.1"),
    ]
