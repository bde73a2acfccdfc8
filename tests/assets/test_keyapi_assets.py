"""KeyAPI ingest assets through real Dagster materializations against the simulator."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import dagster as dg
import pytest

from assets.keyapi import keyapi_assets
from assets.resources import WORKING_DIRS, WatchlistResource
from tests.conftest import count, lake_bytes, materialize, rows

BY_PERIOD = {next(iter(a.specs)).tags["period"]: a for a in keyapi_assets}


def test_assets_are_keyed_by_table_grouped_and_pooled():
    for period, table in [("day", "daily"), ("week", "weekly"), ("month", "monthly")]:
        spec = next(iter(BY_PERIOD[period].specs))
        assert spec.key == dg.AssetKey(["raw_keyapi", f"video_rankings_{table}"])
        assert spec.group_name == "keyapi"
        assert spec.kinds == {"dlt", "ducklake"}
        assert not list(spec.deps), "no invented upstream assets"
        assert BY_PERIOD[period].op.pool == "vendor_keyapi"


@pytest.mark.parametrize(
    ("period", "warn_hours", "fail_hours"),
    [("day", 26, 50), ("week", 7 * 24 + 2, 14 * 24 + 2), ("month", 31 * 24 + 2, 62 * 24 + 2)],
)
def test_each_ranking_warns_after_one_missed_period_and_fails_after_two(
    period, warn_hours, fail_hours
):
    policy = next(iter(BY_PERIOD[period].specs)).freshness_policy
    assert (policy.warn_window.to_timedelta(), policy.fail_window.to_timedelta()) == (
        timedelta(hours=warn_hours),
        timedelta(hours=fail_hours),
    )


@pytest.mark.parametrize(
    ("period", "key", "table"),
    [
        ("day", "2026-03-03", "video_rankings_daily"),
        ("week", "2026-03-02", "video_rankings_weekly"),
        ("month", "2026-02-01", "video_rankings_monthly"),
    ],
)
def test_each_partitioned_asset_materializes_one_partition(
    sim, warehouse, watchlist, period, key, table
):
    result = materialize([BY_PERIOD[period]], warehouse, watchlist, partition_key=key)
    assert result.success
    got = count(warehouse, f"select count(*) from raw_keyapi.{table} where ranking_date = '{key}'")
    assert got == 2 * 2 * 20  # regions x rank fields x (2 pages x 10)
    assert count(warehouse, f"select count(*) from raw_keyapi.{table}") == got
    (mat,) = result.get_asset_materialization_events()
    meta = mat.materialization.metadata
    assert meta["requests"].value == 2 * 2 * 2
    assert meta["credits_spent"].value == 8
    assert meta["rows_fetched"].value == got
    assert meta["dagster/row_count"].value == got, "the table's total rows"
    assert mat.materialization.partition == key


def test_a_range_backfill_is_one_run_over_every_day(sim, warehouse, watchlist, dagster_home):
    days = ["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]
    before = sim.stats("keyapi")["total"]
    result = materialize(
        [BY_PERIOD["day"]],
        warehouse,
        watchlist,
        dagster_home,
        tags={
            "dagster/asset_partition_range_start": days[0],
            "dagster/asset_partition_range_end": days[-1],
        },
    )
    assert result.success
    # the watchlist: 2 regions x 2 rank fields, 2 pages of 10 per ranking list
    per_day = rows(
        warehouse,
        "select ranking_date::varchar, count(*) from raw_keyapi.video_rankings_daily "
        "group by 1 order by 1",
    )
    assert per_day == [(day, 2 * 2 * 20) for day in days]
    assert sim.stats("keyapi")["total"] - before == 4 * 2 * 2 * 2, "2 pages per ranking list"
    # one run materialized all four partitions
    assert [run.run_id for run in dagster_home.get_runs()] == [result.run_id]
    key = dg.AssetKey(["raw_keyapi", "video_rankings_daily"])
    records = dagster_home.fetch_materializations(key, limit=10).records
    assert sorted((r.run_id, r.partition_key) for r in records) == [
        (result.run_id, day) for day in days
    ]
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["requests"].value == 4 * 2 * 2 * 2
    assert meta["rows_fetched"].value == meta["dagster/row_count"].value == 4 * 2 * 2 * 20


def test_expired_key_fails_the_run_clearly_and_keeps_earlier_partitions(
    sim, warehouse, watchlist, dagster_home, caplog
):
    assert materialize(
        [BY_PERIOD["day"]], warehouse, watchlist, dagster_home, partition_key="2026-03-03"
    ).success
    sim.set_faults("keyapi", auth_fail=True)
    result = materialize(
        [BY_PERIOD["day"]], warehouse, watchlist, dagster_home, partition_key="2026-03-04"
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    text = str(failure.event_specific_data.error)
    assert "authentication failed" in text and "SOURCES__KEYAPI__API_KEY" in text
    assert count(warehouse, "select count(*) from raw_keyapi.video_rankings_daily") == 80
    # the key is nowhere: not in the event log, not in the warehouse, not in captured logs
    key = sim.api_keys["keyapi"]
    records = dagster_home.get_records_for_run(result.run_id).records
    assert records and all(key not in str(r.event_log_entry) for r in records)
    assert key not in caplog.text
    assert key.encode() not in lake_bytes(warehouse)


def test_quota_hit_keeps_whole_slices_and_a_rerun_completes_without_duplicates(
    sim, warehouse, watchlist
):
    sim.set_faults("keyapi", quota_after=3)
    result = materialize([BY_PERIOD["day"]], warehouse, watchlist, partition_key="2026-03-05")
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "quota exhausted" in str(failure.event_specific_data.error)
    assert count(warehouse, "select count(*) from raw_keyapi.video_rankings_daily") == 20
    sim.reset_faults()
    assert materialize([BY_PERIOD["day"]], warehouse, watchlist, partition_key="2026-03-05").success
    assert count(warehouse, "select count(*) from raw_keyapi.video_rankings_daily") == 80
    assert (
        count(
            warehouse,
            "select count(*) from (select ranking_date, region, rank_field, rank "
            "from raw_keyapi.video_rankings_daily group by all having count(*) > 1)",
        )
        == 0
    )


def test_no_run_leaves_its_dlt_working_dir_and_a_killed_runs_dir_is_swept(
    sim, warehouse, watchlist
):
    mine = f"keyapi_video_rankings_daily-{os.getpid()}-*"
    sim.set_faults("keyapi", quota_after=3)
    stopped = materialize([BY_PERIOD["day"]], warehouse, watchlist, partition_key="2026-03-05")
    assert not stopped.success and not list(WORKING_DIRS.glob(mine)), "a quota hit cleans up"
    sim.reset_faults()
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    killed = WORKING_DIRS / f"keyapi_video_rankings_daily-{done.stdout.strip()}-x1"
    (killed / "pipeline" / "load").mkdir(parents=True)
    assert materialize([BY_PERIOD["day"]], warehouse, watchlist, partition_key="2026-03-05").success
    assert not list(WORKING_DIRS.glob(mine)), "a run that succeeds cleans up"
    assert not killed.exists(), "the dir of a process that is gone is removed"


def test_invalid_watchlist_fails_before_any_request(sim, warehouse, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("keyapi:\n  regions: [usa]\n  rank_field: [views]\n")
    before = sim.stats("keyapi")["total"]
    result = materialize(
        [BY_PERIOD["day"]], warehouse, WatchlistResource(path=str(bad)), partition_key="2026-03-03"
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    text = str(failure.event_specific_data.error)
    assert "keyapi.regions" in text and "keyapi.rank_field" in text
    assert sim.stats("keyapi")["total"] == before
