"""warehouse/models/staging: one model per raw table of every vendor, each a source with freshness.

Static checks of the dbt project against the pipelines' own table lists, so a table a vendor
starts loading cannot go unmodelled, and a model cannot lose its grain test or a column's doc.
The models' SQL and values are exercised by `dbt build --select staging` (data and unit tests).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import yaml
from sqlglot import exp

from pipelines import ensembledata, influtics, keyapi, tiktok_research, trendtrack

STAGING = Path(__file__).resolve().parents[2] / "warehouse" / "models" / "staging"
RAW_TABLES: dict[str, tuple[str, ...]] = {
    "keyapi": tuple(keyapi.TABLE_FOR_PERIOD.values()),
    "tiktok_research": (tiktok_research.TABLE,),
    "influtics": (influtics.VIDEOS_TABLE, influtics.POINTS_TABLE, influtics.QUARANTINE_TABLE),
    "trendtrack": tuple(trendtrack.TABLES),
    "ensembledata": tuple(ensembledata.TABLES),
}
# Tables that may rightly stay old or empty: a clean load adds nothing to them.
NO_FRESHNESS = {("influtics", "stats_quarantine")}
GRAIN = re.compile(r"^-- one row per \(([^)]*)\)")


def _yaml(vendor: str, kind: str) -> dict[str, Any]:
    return yaml.safe_load((STAGING / vendor / f"_{vendor}__{kind}.yml").read_text())


def _models(vendor: str) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in _yaml(vendor, "models")["models"]}


def _output_columns(sql: str) -> list[str]:
    """Names the `renamed` CTE selects (the model selects * from it, de-duplicated)."""
    plain = re.sub(r"\{\{.*?\}\}", "raw_table", sql)
    tree = sqlglot.parse_one(plain, read="duckdb")
    renamed = next(cte for cte in tree.find_all(exp.CTE) if cte.alias == "renamed")
    return [e.alias_or_name for e in renamed.this.expressions]


def test_every_raw_table_of_every_vendor_has_exactly_one_staging_model() -> None:
    assert sorted(p.name for p in STAGING.iterdir() if p.is_dir()) == sorted(RAW_TABLES)
    for vendor, tables in RAW_TABLES.items():
        expected = {f"stg_{vendor}__{table}" for table in tables}
        assert {p.stem for p in (STAGING / vendor).glob("*.sql")} == expected
        assert set(_models(vendor)) == expected


@pytest.mark.parametrize("vendor", sorted(RAW_TABLES))
def test_every_raw_table_is_a_source_with_load_time_freshness(vendor: str) -> None:
    (source,) = _yaml(vendor, "sources")["sources"]
    assert (source["name"], source["schema"]) == (f"raw_{vendor}", f"raw_{vendor}")
    assert source["config"]["loaded_at_field"] == "to_timestamp(cast(_dlt_load_id as double))"
    tables = {t["name"]: t for t in source["tables"]}
    assert set(tables) == set(RAW_TABLES[vendor])
    for name, table in tables.items():
        config = table.get("config", {})
        freshness = config["freshness"] if "freshness" in config else source["config"]["freshness"]
        if (vendor, name) in NO_FRESHNESS:
            assert freshness is None
            continue
        assert set(freshness) == {"warn_after", "error_after"}, name
        assert table.get("description"), name


def test_keyapi_freshness_follows_each_period_types_cadence() -> None:
    (source,) = _yaml("keyapi", "sources")["sources"]
    rules = {
        t["name"]: {
            level: (rule["count"], rule["period"])
            for level, rule in t["config"]["freshness"].items()
        }
        for t in source["tables"]
    }
    assert rules == {
        "video_rankings_daily": {"warn_after": (36, "hour"), "error_after": (72, "hour")},
        "video_rankings_weekly": {"warn_after": (8, "day"), "error_after": (15, "day")},
        "video_rankings_monthly": {"warn_after": (33, "day"), "error_after": (40, "day")},
    }


@pytest.mark.parametrize(
    ("vendor", "table"), [(v, t) for v, tables in RAW_TABLES.items() for t in tables]
)
def test_model_states_its_grain_tests_it_and_documents_every_column(
    vendor: str, table: str
) -> None:
    name = f"stg_{vendor}__{table}"
    sql = (STAGING / vendor / f"{name}.sql").read_text()
    model = _models(vendor)[name]

    grain_line = GRAIN.match(sql)
    assert grain_line, f"{name}: first line must be '-- one row per (...)'"
    grain = [c.strip() for c in grain_line.group(1).split(",")]
    assert f"source('raw_{vendor}', '{table}')" in sql
    assert "order by load_id desc" in sql

    columns = {c["name"]: c for c in model["columns"]}
    unique_columns = [[c] for c, spec in columns.items() if "unique" in spec.get("data_tests", [])]
    combinations = [
        t["unique_combination"]["arguments"]["columns"]
        for t in model.get("data_tests", [])
        if "unique_combination" in t and "config" not in t["unique_combination"]
    ]
    assert [grain] == unique_columns + combinations, f"{name}: one grain test, on the stated grain"
    for column in grain:
        assert "not_null" in columns[column].get("data_tests", []), f"{name}.{column}: not_null"

    selected = _output_columns(sql)
    assert selected == list(columns), f"{name}: YAML columns must be the model's, in order"
    assert all(c.get("description") for c in columns.values()), name
    assert selected[0] == "vendor" and selected[-1] == "load_id"
    assert f"'{vendor}' as vendor" in sql


def test_shared_vocabulary_names_mean_the_same_in_every_vendor() -> None:
    """The counters, ids and times analysts join on exist wherever the vendor has them."""
    sql = {
        f"stg_{vendor}__{t}": (STAGING / vendor / f"stg_{vendor}__{t}.sql").read_text()
        for vendor, tables in RAW_TABLES.items()
        for t in tables
    }
    columns = {name: _output_columns(text) for name, text in sql.items()}
    counters = ["views", "likes", "comments", "shares", "saves"]
    for name in (
        "stg_tiktok_research__videos",
        "stg_trendtrack__library_items",
        "stg_trendtrack__library_item_metrics",
        "stg_ensembledata__video_stats",
    ):
        assert {*counters, "video_id", "observed_at", "observed_on"} <= set(columns[name])
    # KeyAPI's counts are what a video gained within the ranked period, not lifetime totals.
    for period in ("daily", "weekly", "monthly"):
        ranking = columns[f"stg_keyapi__video_rankings_{period}"]
        assert {f"{c}_gained" for c in counters} <= set(ranking)
        assert not set(counters) & set(ranking)
    assert {"views", "likes", "comments", "shares"} <= set(columns["stg_influtics__video_stats"])
    handles = [name for name, selected in columns.items() if "creator_handle" in selected]
    assert len(handles) == 7
    for name in handles:
        assert "lower(ltrim(" in sql[name], f"{name}: handles are lower-cased, without '@'"
