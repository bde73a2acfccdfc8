"""Schema drift through real Dagster runs of the TikTok Research asset over real HTTP.

The Research API returns only the fields asked for, so the requested field list of the
run's mode is the shape: a requested field the vendor stopped sending keeps its stored
values; a field not asked for and a retyped value are named in the run's metadata and warned
by the `schema_drift` check, per (query, publish day).
"""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from assets.resources import WatchlistResource
from assets.tiktok_research import tiktok_research_videos
from tests.conftest import count, materialize, named, one_drift_of, rows

TABLE = "raw_tiktok_research.videos"
DAY = "2026-03-03"
VIEWS = f"select id, view_count, like_count from {TABLE} order by id"


def watchlist(tmp_path, mode: str = "query") -> WatchlistResource:
    path = tmp_path / f"watchlist-{mode}.yaml"
    path.write_text(
        f"tiktok_research:\n  mode: {mode}\n  queries:\n    - {{name: gb, regions: [GB]}}\n"
    )
    return WatchlistResource(path=str(path))


def run(warehouse, watch: WatchlistResource) -> dg.ExecuteInProcessResult:
    return materialize([tiktok_research_videos], warehouse, watch, partition_key=DAY)


@pytest.mark.parametrize("mode", ["query", "task"])
def test_repull_without_a_field_keeps_stored_values_and_warns(
    sim, warehouse, tmp_path, monkeypatch, mode
):
    monkeypatch.setenv("SOURCES__TIKTOK_RESEARCH__TASK_POLL_SECONDS", "0.01")
    sim.set_faults("tiktok_research", options={"task_polls": 1})
    watch = watchlist(tmp_path, mode)
    assert run(warehouse, watch).success
    stored = rows(warehouse, VIEWS)
    assert stored and all(views is not None for _, views, _ in stored)
    first_load = rows(warehouse, f"select distinct _dlt_load_id from {TABLE}")

    sim.set_faults("tiktok_research", drift="missing_field", options={"task_polls": 1})
    result = run(warehouse, watch)
    assert result.success
    assert [(i, v) for i, v, _ in rows(warehouse, VIEWS)] == [(i, v) for i, v, _ in stored]
    loads = rows(warehouse, f"select distinct _dlt_load_id from {TABLE}")
    assert len(loads) == 1 and loads != first_load, "the day was re-pulled, not skipped"
    drifted, check = one_drift_of(result)
    assert named(drifted) == {("tiktok_research", "videos", "view_count", "missing", DAY)}
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["drifted_fields"].value == 1
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["schema_drift_restored"].value == {"videos.view_count": len(stored)}


def test_field_not_asked_for_is_named_and_dropped_and_a_clean_load_passes(sim, warehouse, tmp_path):
    videos = len(sim.world.videos_published_on(date.fromisoformat(DAY), "GB"))
    sim.set_faults("tiktok_research", drift="added_field")
    result = run(warehouse, watchlist(tmp_path))
    assert result.success
    assert count(warehouse, f"select count(*) from {TABLE}") == videos
    columns = rows(warehouse, f"select column_name from (describe {TABLE})")
    assert ("new_vendor_field",) not in columns, "the row schema is fixed"
    drifted, check = one_drift_of(result)
    assert named(drifted) == {("tiktok_research", "videos", "new_vendor_field", "added", DAY)}
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN

    sim.reset_faults()
    clean = run(warehouse, watchlist(tmp_path))
    assert clean.success
    assert count(warehouse, f"select count(*) from {TABLE}") == videos
    drifted, check = one_drift_of(clean)
    assert drifted == [] and check.passed
    assert check.metadata["drift"].value == "none"


def test_unreadable_retype_fails_the_run_naming_the_field_and_warns(sim, warehouse, tmp_path):
    sim.set_faults("tiktok_research", drift="type_change")
    result = run(warehouse, watchlist(tmp_path))
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "like_count" in failure.step_failure_data.error.message
    drifted, check = one_drift_of(result)
    assert named(drifted) == {("tiktok_research", "videos", "like_count", "type_change", DAY)}
    assert {d["detail"] for d in drifted} == {"number -> string"}
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
