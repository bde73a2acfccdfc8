"""Schema drift through real Dagster runs of the KeyAPI daily asset over real HTTP.

A field the vendor stopped sending keeps its stored values; every drift (missing, added,
retyped) is named in the run's metadata and warned by the `schema_drift` check.
"""

from __future__ import annotations

import dagster as dg
import dlt
import pyarrow as pa
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from assets.drift import contract_failure
from assets.keyapi import keyapi_assets
from pipelines.fields import RAW_CONTRACT
from tests.conftest import count, materialize, named, one_drift_of, rows

DAILY = next(a for a in keyapi_assets if next(iter(a.specs)).tags["period"] == "day")
TABLE = "raw_keyapi.video_rankings_daily"
DAY = "2026-03-03"
ROWS = 2 * 2 * 20  # regions x rank fields x (2 pages of 10)


def run(warehouse, watchlist, partition=DAY):
    return materialize([DAILY], warehouse, watchlist, partition_key=partition)


def test_clean_load_passes_the_drift_check(sim, warehouse, watchlist):
    result = run(warehouse, watchlist)
    assert result.success
    drifted, check = one_drift_of(result)
    assert drifted == [] and check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"schema_drift": True, "unique_key": True, "key_not_null": True}


def test_repull_without_a_field_keeps_stored_values_and_warns(sim, warehouse, watchlist):
    assert run(warehouse, watchlist).success
    names = f"select region, rank_field, rank, video_id, nick_name from {TABLE} order by all"
    stored = rows(warehouse, names)
    assert len(stored) == ROWS and all(name for *_, name in stored)
    first_load = rows(warehouse, f"select distinct _dlt_load_id from {TABLE}")

    sim.set_faults("keyapi", drift="missing_field")
    result = run(warehouse, watchlist)
    assert result.success
    assert rows(warehouse, names) == stored, "every stored nick_name is intact"
    loads = rows(warehouse, f"select distinct _dlt_load_id from {TABLE}")
    assert len(loads) == 1 and loads != first_load, "the slices were re-pulled, not skipped"
    drifted, check = one_drift_of(result)
    assert named(drifted) == {("keyapi", "video_rankings_daily", "nick_name", "missing", DAY)}
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["drifted_fields"].value == 1
    assert "nick_name" in check.metadata["drift"].value
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["schema_drift_restored"].value == {"video_rankings_daily.nick_name": ROWS}


def test_field_missing_on_a_first_load_has_nothing_to_keep(sim, warehouse, watchlist):
    sim.set_faults("keyapi", drift="missing_field")
    result = run(warehouse, watchlist)
    assert result.success
    assert count(warehouse, f"select count(nick_name) from {TABLE}") == 0
    drifted, check = one_drift_of(result)
    assert named(drifted) == {("keyapi", "video_rankings_daily", "nick_name", "missing", DAY)}
    assert not check.passed


def test_added_field_is_named_and_lands_as_text(sim, warehouse, watchlist):
    sim.set_faults("keyapi", drift="added_field")
    result = run(warehouse, watchlist)
    assert result.success
    assert count(warehouse, f"select count(*) from {TABLE} where new_vendor_field = 'sim-drift'")
    assert count(warehouse, f"select count(new_vendor_field) from {TABLE}") == ROWS
    drifted, check = one_drift_of(result)
    assert named(drifted) == {("keyapi", "video_rankings_daily", "new_vendor_field", "added", DAY)}
    assert not check.passed
    sim.reset_faults()
    again = run(warehouse, watchlist)
    assert one_drift_of(again)[1].passed, "a load without the field has no drift"


def test_readable_retype_is_named_and_kept(sim, warehouse, watchlist, tmp_path):
    assert run(warehouse, watchlist).success
    counts = f"select region, rank_field, rank, total_views_cnt, total_digg_cnt from {TABLE}"
    clean = sorted(rows(warehouse, counts))
    sim.set_faults("keyapi", options={"counts_as_strings": True})
    retyped = type(warehouse)(path=str(tmp_path / "retyped"))
    result = run(retyped, watchlist)
    assert result.success
    assert sorted(rows(retyped, counts)) == clean, "digit strings still read as the counts"
    drifted, check = one_drift_of(result)
    fields = {d["field"] for d in drifted if d["kind"] == "type_change"}
    assert "total_views_cnt" in fields and "total_video_sale_gmv_amt" in fields
    assert {d["detail"] for d in drifted} == {"number -> string"}
    assert {d["partition"] for d in drifted} == {DAY}
    assert not check.passed


def test_unreadable_retype_fails_the_run_naming_the_field_and_warns(sim, warehouse, watchlist):
    sim.set_faults("keyapi", drift="type_change")
    result = run(warehouse, watchlist)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "total_views_cnt" in failure.step_failure_data.error.message
    drifted, check = one_drift_of(result)
    assert ("keyapi", "video_rankings_daily", "total_views_cnt", "type_change", DAY) in named(
        drifted
    )
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN


def test_frozen_column_type_fails_naming_vendor_table_and_column(warehouse):
    def rankings(values: pa.Array) -> object:
        @dlt.source(name="keyapi")
        def source() -> object:
            return dlt.resource(
                [pa.table({"video_id": pa.array([1], pa.int64()), "nick_name": values})],
                name="video_rankings_daily",
                schema_contract=RAW_CONTRACT,
            )

        return source()

    pipeline = warehouse.dlt_pipeline("drift_contract", "raw_keyapi")
    pipeline.run(rankings(pa.array(["a"])), loader_file_format="parquet")
    with pytest.raises(PipelineStepFailed) as refused:
        warehouse.dlt_pipeline("drift_contract", "raw_keyapi").run(
            rankings(pa.array([7], pa.int64())), loader_file_format="parquet"
        )
    failure = contract_failure(refused.value)
    assert failure is not None
    assert failure.description.startswith(
        "[keyapi] table video_rankings_daily, column nick_name: the load would change its data_type"
    )
    assert failure.metadata["column"].value == "nick_name"
    assert count(warehouse, "select count(*) from raw_keyapi.video_rankings_daily") == 1
