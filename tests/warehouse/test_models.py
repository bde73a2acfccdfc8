"""The runner: discovery, SQL-read dependencies, documentation checks, builds and data tests."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from tests.warehouse.raw_data import insert_raw, ranking, raw_row
from warehouse.models import (
    Model,
    ModelError,
    ModelTestResult,
    build_model,
    load_models,
    run_tests,
    table_columns,
)

STAGING = "staging.stg_keyapi__video_rankings"
MART = "marts.fct_video_ranking_movement"
STAGING_KEY = "unique_combination__period__period_start__region__rank_field__product_category_id"
MART_GRAIN = f"{STAGING_KEY}__video_id"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def _failing(results: list[ModelTestResult]) -> dict[str, int]:
    return {result.test.name: result.failing_rows for result in results if not result.passed}


def _clean_rankings(con: duckdb.DuckDBPyConnection) -> None:
    insert_raw(con, ranking(dt.date(2024, 5, 1), [101, 102]))
    insert_raw(con, ranking(dt.date(2024, 5, 2), [102, 103]))
    insert_raw(con, ranking(dt.date(2024, 4, 29), [101], period="week"))


def test_dependencies_are_read_from_the_sql(models: dict[str, Model]) -> None:
    assert models[STAGING].deps == (
        ("raw_keyapi", "video_rankings_daily"),
        ("raw_keyapi", "video_rankings_monthly"),
        ("raw_keyapi", "video_rankings_weekly"),
    )
    assert models[MART].deps == (("staging", "stg_keyapi__video_rankings"),)
    assert list(models) == [STAGING, MART]


def test_models_are_ordered_by_their_sql_dependencies(tmp_path: Path) -> None:
    # alphabetical order (a_top, b_middle) is the opposite of the dependency order
    root = _write(
        tmp_path,
        {
            "staging/stg_base.sql": "-- one row per id\nselect id from raw_x.things",
            "marts/a_top.sql": "-- one row per id\nselect id from marts.b_middle",
            "marts/b_middle.sql": """\
                -- one row per id
                with base as (select * from staging.stg_base)
                select * from base
            """,
            "staging/_staging.yml": """\
                models:
                  - name: stg_base
                    description: Base.
                    columns: [{name: id, description: The id.}]
            """,
            "marts/_marts.yml": """\
                models:
                  - name: a_top
                    description: Top.
                    columns: [{name: id, description: The id.}]
                  - name: b_middle
                    description: Middle, `select *` resolved through the CTE and stg_base.
                    columns: [{name: id, description: The id.}]
            """,
        },
    )
    ordered = load_models(root)
    assert [model.relation for model in ordered] == [
        "staging.stg_base",
        "marts.b_middle",
        "marts.a_top",
    ]
    assert ordered[1].deps == (("staging", "stg_base"),)  # the CTE `base` is not a dependency


@pytest.mark.parametrize(
    ("sql", "columns_yaml", "message"),
    [
        ("select id, name from raw_x.t", "[{name: id, description: Id.}]", "undocumented"),
        (
            "select id from raw_x.t",
            "[{name: id, description: Id.}, {name: gone, description: Gone.}]",
            r"does not produce \['gone'\]",
        ),
        ("select * from raw_x.t", "[{name: id, description: Id.}]", "list the columns"),
        ("select id from things", "[{name: id, description: Id.}]", "unqualified table"),
        ("select id from raw_x.t", "[{name: id}]", "needs a description"),
    ],
)
def test_inconsistent_model_is_rejected_at_load(
    tmp_path: Path, sql: str, columns_yaml: str, message: str
) -> None:
    root = _write(
        tmp_path,
        {
            "staging/stg_t.sql": f"-- one row per id\n{sql}",
            "staging/_staging.yml": f"""\
                models:
                  - name: stg_t
                    description: A model.
                    columns: {columns_yaml}
            """,
        },
    )
    with pytest.raises(ModelError, match=message):
        load_models(root)


def test_unknown_test_kind_is_rejected_at_load(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "staging/stg_t.sql": "-- one row per id\nselect id from raw_x.t",
            "staging/_staging.yml": """\
                models:
                  - name: stg_t
                    description: A model.
                    columns: [{name: id, description: Id., tests: [is_positive]}]
            """,
        },
    )
    with pytest.raises(ModelError, match="unknown test 'is_positive'"):
        load_models(root)


def test_tests_get_stable_names_severities_and_sql(models: dict[str, Model]) -> None:
    tests = {test.name: test for test in models[MART].tests}
    assert set(tests) == {
        "not_null__period",
        "accepted_values__period",
        "not_null__period_start",
        "not_null__region",
        "not_null__rank_field",
        "accepted_values__rank_field",
        "not_null__product_category_id",
        "not_null__video_id",
        "relationships__video_id__staging__stg_keyapi__video_rankings",
        MART_GRAIN,
    }
    assert {test.severity for test in tests.values()} == {"error"}
    assert "not in ('views', 'sales')" in tests["accepted_values__rank_field"].sql
    staging_tests = {test.name: test for test in models[STAGING].tests}
    assert staging_tests[f"{STAGING_KEY}__rank"].severity == "error"
    assert staging_tests[f"{STAGING_KEY}__video_id"].severity == "warn"


def test_build_writes_table_and_column_comments(
    con: duckdb.DuckDBPyConnection, models: dict[str, Model]
) -> None:
    _clean_rankings(con)
    result = build_model(con, models[STAGING])

    assert result.row_count == 5
    assert result.seconds > 0
    columns = table_columns(con, "staging", "stg_keyapi__video_rankings")
    documented = {column.name: column.description for column in models[STAGING].columns}
    assert {name: comment for name, _, comment in columns} == documented
    assert documented["video_id"] == "TikTok video id (64-bit; never passed through a float)."
    (table_comment,) = con.execute(
        "select comment from duckdb_tables() where schema_name = 'staging'"
    ).fetchone() or (None,)
    assert table_comment == models[STAGING].description


def test_failed_build_keeps_the_previous_table(
    con: duckdb.DuckDBPyConnection, models: dict[str, Model]
) -> None:
    _clean_rankings(con)
    build_model(con, models[STAGING])
    # an id that cannot be a BIGINT makes the cast in the model fail
    insert_raw(con, [raw_row(rank=9, video_products="[99999999999999999999]")])

    with pytest.raises(duckdb.ConversionException):
        build_model(con, models[STAGING])

    assert con.execute(f"select count(*) from {STAGING}").fetchone() == (5,)
    comments = table_columns(con, "staging", "stg_keyapi__video_rankings")
    assert all(comment for _, _, comment in comments)


def test_every_test_passes_on_clean_data(
    con: duckdb.DuckDBPyConnection,
    models: dict[str, Model],
    build_all: Callable[[], None],
) -> None:
    _clean_rankings(con)
    build_all()

    # 2 + 2 daily listings and 1 weekly; the mart adds 101 dropping out on 05-02
    assert con.execute(f"select count(*) from {STAGING}").fetchone() == (5,)
    assert con.execute(f"select count(*) from {MART}").fetchone() == (6,)
    assert con.execute(f"select video_id from {MART} where is_dropped_out").fetchall() == [(101,)]
    for model in models.values():
        results = run_tests(con, model)
        assert len(results) == len(model.tests)
        assert _failing(results) == {}
        assert all(r.sample_rows == () for r in results)


def test_null_key_and_unknown_rank_field_fail_their_tests(
    con: duckdb.DuckDBPyConnection,
    models: dict[str, Model],
    build_all: Callable[[], None],
) -> None:
    _clean_rankings(con)
    # planted on the last loaded day, so neither row also reappears as a drop-out
    last_day = dt.date(2024, 5, 2)
    insert_raw(
        con,
        [
            raw_row(ranking_date=last_day, rank=7, video_id=None),
            raw_row(ranking_date=last_day, rank=8, rank_field="likes"),
        ],
    )
    build_all()

    staging = run_tests(con, models[STAGING])
    assert _failing(staging) == {"not_null__video_id": 1, "accepted_values__rank_field": 1}
    unknown = next(r for r in staging if r.test.name == "accepted_values__rank_field")
    assert unknown.sample_columns == (
        "period",
        "period_start",
        "region",
        "rank_field",
        "product_category_id",
        "rank",
    )
    assert unknown.sample_rows == (("day", last_day, "US", "likes", "all", 8),)
    assert _failing(run_tests(con, models[MART])) == {
        "not_null__video_id": 1,
        "accepted_values__rank_field": 1,
    }


def test_duplicate_grain_and_orphan_video_fail_their_tests(
    con: duckdb.DuckDBPyConnection,
    models: dict[str, Model],
    build_all: Callable[[], None],
) -> None:
    _clean_rankings(con)
    build_all()
    con.execute(f"insert into {STAGING} select * from {STAGING} where rank = 1")
    con.execute(f"insert into {MART} select * replace (999 as video_id) from {MART} limit 1")

    # the copied rank-1 rows duplicate both the ranking position and the video in its ranking
    assert _failing(run_tests(con, models[STAGING])) == {
        f"{STAGING_KEY}__rank": 3,
        f"{STAGING_KEY}__video_id": 3,
    }
    mart = run_tests(con, models[MART])
    assert _failing(mart) == {"relationships__video_id__staging__stg_keyapi__video_rankings": 1}
    orphan = next(r for r in mart if not r.passed)
    assert orphan.sample_rows[0][-1] == 999
    assert "not exists" in orphan.test.sql


def test_missing_raw_input_says_which_asset_to_materialize(
    tmp_path: Path, models: dict[str, Model]
) -> None:
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        with pytest.raises(ModelError) as info:
            build_model(con, models[STAGING])
        message = str(info.value)
        assert "raw_keyapi.video_rankings_daily" in message
        assert "materialize raw_keyapi/video_rankings_daily" in message
        assert con.execute(
            "select count(*) from information_schema.tables where table_schema = 'staging'"
        ).fetchone() == (0,)
