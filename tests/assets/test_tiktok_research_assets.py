"""TikTok Research ingest asset, checks, job and schedule through real Dagster runs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg
import pytest

from assets.definitions import defs
from assets.resources import WatchlistResource
from assets.tiktok_research import tiktok_research_checks, tiktok_research_videos
from simulator import tiktok_research as sim_research
from tests.conftest import count, lake_bytes, materialize

TABLE = "raw_tiktok_research.videos"
ASSETS = [tiktok_research_videos, tiktok_research_checks]
RANGE = {
    "dagster/asset_partition_range_start": "2026-03-02",
    "dagster/asset_partition_range_end": "2026-03-04",
}


@pytest.fixture
def watchlist(tmp_path) -> WatchlistResource:
    path = tmp_path / "watchlist.yaml"
    path.write_text(
        "tiktok_research:\n"
        "  max_count: 50\n"
        "  lookback_days: 5\n"
        "  queries:\n"
        "    - {name: gb, regions: [GB]}\n"
        "    - {name: beauty, hashtags: [skincare, makeup], regions: [US]}\n"
    )
    return WatchlistResource(path=str(path))


def gb_videos(sim) -> int:
    return sum(len(sim.world.videos_published_on(date(2026, 3, d), "GB")) for d in (2, 3, 4))


def test_asset_is_keyed_grouped_pooled_and_outside_daily_job():
    spec = next(iter(tiktok_research_videos.specs))
    assert spec.key == dg.AssetKey(["raw_tiktok_research", "videos"])
    assert spec.group_name == "tiktok_research"
    assert spec.tags.get("vendor") == "tiktok_research" and "period" not in spec.tags
    assert tiktok_research_videos.op.pool == "vendor_tiktok_research"
    assert not list(spec.deps)
    job = defs.resolve_job_def("tiktok_research_job")
    assert spec.key in job.asset_layer.executable_asset_keys
    assert spec.key not in defs.resolve_job_def("daily_job").asset_layer.executable_asset_keys


def test_a_range_run_loads_every_day_with_quota_metadata_and_passing_checks(
    sim, warehouse, watchlist, dagster_home
):
    result = materialize(ASSETS, warehouse, watchlist, dagster_home, tags=RANGE)
    assert result.success
    days = count(warehouse, f"select count(distinct create_day) from {TABLE}")
    gb = count(warehouse, f"select count(*) from {TABLE} where query_name = 'gb'")
    assert days == 3
    assert gb == gb_videos(sim)
    mats = result.get_asset_materialization_events()
    assert sorted(m.materialization.partition for m in mats) == ["2026-03-02", "2026-03-03",
                                                                 "2026-03-04"]  # fmt: skip
    meta = mats[0].materialization.metadata
    requests = meta["research_requests"].value
    assert requests == meta["credits_spent"].value and requests >= 2
    assert meta["quota_left_estimate"].value == 1000 - requests
    assert meta["rows_fetched"].value == count(warehouse, f"select count(*) from {TABLE}")
    checks = result.get_asset_check_evaluations()
    assert {c.check_name: c.passed for c in checks} == {
        "unique_key": True,
        "id_not_null": True,
        "fresh_pull": True,
        "schema_drift": True,
    }
    # neither the client secret nor any access token reaches the event log or the warehouse
    records = dagster_home.get_records_for_run(result.run_id).records
    log = " ".join(str(r.event_log_entry) for r in records)
    data = lake_bytes(warehouse)
    for secret in (sim_research.CLIENT_SECRET, sim_research.CLIENT_KEY, "clt.sim"):
        assert secret not in log and secret.encode() not in data


def test_quota_hit_fails_the_run_keeps_complete_windows_and_reports_quota(
    sim, warehouse, watchlist, dagster_home
):
    pages = -(-gb_videos(sim) // 50)  # the first query's window completes, then quota
    sim.set_faults("tiktok_research", quota_after=pages)
    result = materialize(ASSETS, warehouse, watchlist, dagster_home, tags=RANGE)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.event_specific_data
    assert "quota exhausted" in str(error.error)
    assert error.user_failure_data.metadata["quota_left_estimate"].value == 1000 - pages - 1
    assert count(warehouse, f"select count(distinct query_name) from {TABLE}") == 1
    sim.reset_faults()
    assert materialize(ASSETS, warehouse, watchlist, dagster_home, tags=RANGE).success
    dupes = count(
        warehouse,
        f"select count(*) from (select query_name, id from {TABLE} group by all "
        "having count(*) > 1)",
    )
    assert dupes == 0 and count(warehouse, f"select count(distinct query_name) from {TABLE}") == 2


def test_nightly_schedule_requests_one_run_over_the_lookback_range(watchlist, monkeypatch):
    monkeypatch.setenv("WATCHLIST_PATH", watchlist.path)
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 11, 23, 3, 30, tzinfo=UTC),
        repository_def=defs.get_repository_def(),
    )
    schedule = defs.get_schedule_def("tiktok_research_schedule")
    assert schedule.job_name == "tiktok_research_job"
    (request,) = schedule.evaluate_tick(context).run_requests or []
    assert request.partition_key is None
    assert request.tags["dagster/asset_partition_range_start"] == "2026-11-17"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-11-21"


def test_a_query_that_matches_nothing_materializes_with_zero_rows(sim, warehouse, tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text(
        "tiktok_research:\n"
        "  queries:\n"
        "    - {name: nobody, usernames: [no_such_creator_anywhere], regions: [US]}\n"
    )
    result = materialize(ASSETS, warehouse, WatchlistResource(path=str(path)), tags=RANGE)
    assert result.success
    mats = result.get_asset_materialization_events()
    assert sorted(m.materialization.partition for m in mats) == ["2026-03-02", "2026-03-03",
                                                                 "2026-03-04"]  # fmt: skip
    meta = mats[0].materialization.metadata
    assert meta["rows_videos"].value == 0 and meta["rows_fetched"].value == 0
    assert meta["dagster/row_count"].value == 0
    assert meta["research_requests"].value == 1, "one window, one empty page"
    assert meta["empty_slices"].value == 1
    assert meta["empty_slice_examples"].value == "nobody 2026-03-02..2026-03-04"
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert {name: c.passed for name, c in checks.items()} == {
        "unique_key": True,
        "id_not_null": True,
        "fresh_pull": True,  # the empty pull was a pull: its load is minutes old
        "schema_drift": True,  # no video, nothing to drift
    }
    assert checks["fresh_pull"].metadata["newest_pull"].value == "None"
    assert 0 <= checks["fresh_pull"].metadata["age_hours"].value < 1
