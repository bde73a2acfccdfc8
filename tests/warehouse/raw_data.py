"""Hand-made raw keyapi ranking tables, shaped exactly like the ones dlt creates.

Shared by the runner, model and Dagster asset tests so each can plant the rows it needs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import duckdb

RAW_SCHEMA = "raw_keyapi"
RAW_TABLES = {
    "day": "video_rankings_daily",
    "week": "video_rankings_weekly",
    "month": "video_rankings_monthly",
}
RAW_COLUMNS = {
    "ranking_date": "date",
    "rank_type": "varchar",
    "region": "varchar",
    "rank_field": "varchar",
    "product_category_id": "varchar",
    "rank": "bigint",
    "video_id": "bigint",
    "user_id": "bigint",
    "unique_id": "varchar",
    "nick_name": "varchar",
    "avatar": "varchar",
    "category": "varchar",
    "create_time": "timestamp with time zone",
    "created_by_ai": "boolean",
    "duration": "bigint",
    "reflow_cover": "varchar",
    "sales_flag": "bigint",
    "total_comments_cnt": "bigint",
    "total_digg_cnt": "bigint",
    "total_favorites_cnt": "bigint",
    "total_shares_cnt": "bigint",
    "total_video_sale_cnt": "bigint",
    "total_video_sale_gmv_amt": "bigint",
    "total_views_cnt": "bigint",
    "video_desc": "varchar",
    "product_category_list": "varchar",
    "video_products": "varchar",
    "_dlt_load_id": "varchar",
}
FIRST_LOAD = "1714600000.100000"


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The three empty raw tables, as dlt leaves them after a first load."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    columns = ", ".join(f'"{name}" {kind}' for name, kind in RAW_COLUMNS.items())
    for table in RAW_TABLES.values():
        con.execute(f"create table {RAW_SCHEMA}.{table} ({columns})")


def raw_row(**overrides: Any) -> dict[str, Any]:
    """One plausible raw ranking row; `overrides` plant what a test is about."""
    video_id = overrides.get("video_id", 7_300_000_000_000_000_001)
    row = {
        "ranking_date": dt.date(2024, 5, 1),
        "rank_type": "day",
        "region": "US",
        "rank_field": "views",
        "product_category_id": "all",
        "rank": 1,
        "video_id": video_id,
        "user_id": 6_900_000_000_000_000_001,
        "unique_id": "creator_one",
        "nick_name": "Creator One",
        "avatar": "https://example.test/avatar.jpg",
        "category": "Beauty",
        "create_time": dt.datetime(2024, 4, 20, 12, 30, tzinfo=dt.UTC),
        "created_by_ai": False,
        "duration": 31,
        "reflow_cover": "https://example.test/cover.jpg",
        "sales_flag": 1,
        "total_comments_cnt": 40,
        "total_digg_cnt": 900,
        "total_favorites_cnt": 70,
        "total_shares_cnt": 25,
        "total_video_sale_cnt": 12,
        "total_video_sale_gmv_amt": 3_400,
        "total_views_cnt": 10_000,
        "video_desc": f"video {video_id}",
        "product_category_list": (
            '[{"category_name":"Beauty & Personal Care","category_id":"601450"}]'
        ),
        "video_products": "[1729436418527695003]",
        "_dlt_load_id": FIRST_LOAD,
    }
    unknown = set(overrides) - set(row)
    assert not unknown, f"not raw columns: {unknown}"
    return row | overrides


def ranking(
    ranking_date: dt.date,
    video_ids: Sequence[int],
    *,
    period: str = "day",
    rank_field: str = "views",
    **overrides: Any,
) -> list[dict[str, Any]]:
    """One ranking page: `video_ids` in rank order (rank 1 first)."""
    return [
        raw_row(
            ranking_date=ranking_date,
            rank_type=period,
            rank_field=rank_field,
            rank=position,
            video_id=video_id,
            total_views_cnt=100_000 - position,
            **overrides,
        )
        for position, video_id in enumerate(video_ids, start=1)
    ]


def insert_raw(con: duckdb.DuckDBPyConnection, rows: Iterable[Mapping[str, Any]]) -> None:
    """Append rows to the raw table of their rank_type."""
    names = list(RAW_COLUMNS)
    placeholders = ", ".join("?" for _ in names)
    quoted = ", ".join(f'"{name}"' for name in names)
    for row in rows:
        table = RAW_TABLES.get(row["rank_type"], RAW_TABLES["day"])
        con.execute(
            f"insert into {RAW_SCHEMA}.{table} ({quoted}) values ({placeholders})",
            [row[name] for name in names],
        )
