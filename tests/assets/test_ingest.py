"""The ingest helpers every vendor's assets share: key checks on real DuckDB tables."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from assets.ingest import existing_tables, key_check_results, key_check_specs, load_failure

KEYS = {"items": ("id", "day"), "later": ("id",)}


def test_key_checks_count_duplicated_and_null_keys_and_pass_a_table_not_made_yet(warehouse):
    with warehouse.connect() as con:
        con.execute("create schema raw_x")
        con.execute(
            "create table raw_x.items as select * from (values "
            "(1, 'a'), (1, 'a'), (2, null), (3, 'b')) t(id, day)"
        )
        assert existing_tables(con, "raw_x") == {"items"}
        results = {
            (r.asset_key.path[-1], r.check_name): r for r in key_check_results(con, "raw_x", KEYS)
        }
    unique, not_null = results["items", "unique_key"], results["items", "key_not_null"]
    assert not unique.passed and unique.metadata["duplicated_keys"].value == 1
    assert not not_null.passed and not_null.metadata["null_keys"].value == 1
    assert unique.metadata["rows"].value == 4
    assert results["later", "unique_key"].passed and results["later", "key_not_null"].passed
    specs = key_check_specs("raw_x", KEYS)
    assert {(s.asset_key.path[-1], s.name) for s in specs} == set(results)


def test_key_checks_yield_only_the_selected_ones(warehouse):
    selected = {dg.AssetCheckKey(dg.AssetKey(["raw_x", "later"]), "unique_key")}
    with warehouse.connect() as con:
        got = list(key_check_results(con, "raw_x", KEYS, selected))
    assert [(r.asset_key.path[-1], r.check_name) for r in got] == [("later", "unique_key")]


def test_a_lost_commit_race_is_retried_and_other_errors_are_kept(warehouse):
    first, second = warehouse.connect(), warehouse.connect()
    first.execute("create table counts as select 1 as n")
    first.execute("begin")
    second.execute("begin")
    first.execute("update counts set n = 2")
    second.execute("update counts set n = 3")
    first.execute("commit")
    with pytest.raises(duckdb.TransactionException) as lost:
        second.execute("commit")
    wrapped = RuntimeError("Pipeline execution failed at `step=load`")
    wrapped.__cause__ = lost.value
    assert isinstance(load_failure(wrapped), dg.RetryRequested)
    other = RuntimeError("cannot attach postgresql://trends:s3cret-pw@127.0.0.1:1/lake")
    failure = load_failure(other)
    assert isinstance(failure, dg.Failure) and "s3cret-pw" not in failure.description
    assert "postgresql://trends:***@127.0.0.1:1/lake" in failure.description
