"""Influtics snapshot assets through real Dagster materializations against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from assets.definitions import defs
from assets.influtics import influtics_video_stats
from tests.conftest import count, lake_bytes, materialize, today

KEYS = {
    dg.AssetKey(["raw_influtics", t]) for t in ("video_stats", "stats_points", "stats_quarantine")
}


def test_assets_are_keyed_grouped_tagged_pooled_and_checked():
    specs = {spec.key: spec for spec in influtics_video_stats.specs}
    assert set(specs) == KEYS
    for spec in specs.values():
        assert spec.group_name == "influtics" and spec.kinds == {"dlt", "ducklake"}
        assert spec.tags["vendor"] == "influtics" and spec.tags["period"] == "snapshot"
        assert not list(spec.deps) and spec.freshness_policy is not None
    assert influtics_video_stats.op.pool == "vendor_influtics"
    checks = {(k.asset_key.path[-1], k.name) for k in influtics_video_stats.check_keys}
    assert checks == {
        ("video_stats", "unique_video_id"),
        ("video_stats", "not_null_ids"),
        ("stats_points", "unique_point_key"),
        ("stats_points", "not_null_ids"),
        ("stats_quarantine", "no_quarantined_entries"),
        ("video_stats", "observed_today"),
        *((table, "schema_drift") for table in ("video_stats", "stats_points", "stats_quarantine")),
    }
    job = defs.resolve_job_def("snapshot_job")
    assert set(job.asset_layer.executable_asset_keys) >= KEYS


def test_todays_snapshot_loads_with_metadata_and_checks(
    frozen, warehouse, watchlist, dagster_home, caplog
):
    result = materialize(
        [influtics_video_stats], warehouse, watchlist, dagster_home, partition_key=today()
    )
    assert result.success
    videos = count(warehouse, "select count(*) from raw_influtics.video_stats")
    quarantined = count(warehouse, "select count(*) from raw_influtics.stats_quarantine")
    assert videos > 100 and quarantined > 0
    by_key = {e.asset_key: e.materialization for e in result.get_asset_materialization_events()}
    assert set(by_key) == KEYS
    meta = by_key[dg.AssetKey(["raw_influtics", "video_stats"])].metadata
    assert meta["requests"].value == 2 and meta["rows_video_stats"].value == videos
    assert meta["quarantined"].value == quarantined
    assert meta["rows_stats_points"].value == count(
        warehouse, "select count(*) from raw_influtics.stats_points"
    )
    checks = {
        e.asset_check_key.name + "@" + e.asset_check_key.asset_key.path[-1]: e
        for e in result.get_asset_check_evaluations()
    }
    assert len(checks) == 9
    assert all(c.passed for name, c in checks.items() if not name.startswith("no_quarantined"))
    fresh = checks["observed_today@video_stats"]
    assert fresh.metadata["newest_observation"].value == today()
    assert fresh.metadata["days_behind"].value == 0
    warn = checks["no_quarantined_entries@stats_quarantine"]
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN
    assert warn.metadata["quarantined"].value == quarantined
    # the key is nowhere: not in the event log, not in the warehouse, not in captured logs
    key = frozen.api_keys["influtics"]
    records = dagster_home.get_records_for_run(result.run_id).records
    assert records and all(key not in str(r.event_log_entry) for r in records)
    assert key not in caplog.text and key.encode() not in lake_bytes(warehouse)


def test_clean_rerun_passes_the_quarantine_check_and_keeps_one_row_per_video(
    frozen, warehouse, watchlist
):
    assert materialize([influtics_video_stats], warehouse, watchlist, partition_key=today()).success
    videos = count(warehouse, "select count(*) from raw_influtics.video_stats")
    frozen.set_faults("influtics", options={"bad_timestamps": False, "bad_values": False})
    result = materialize([influtics_video_stats], warehouse, watchlist, partition_key=today())
    assert result.success
    (warn,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "no_quarantined_entries"
    ]
    assert warn.passed and warn.metadata["quarantined"].value == 0
    assert count(warehouse, "select count(*) from raw_influtics.video_stats") == videos


def test_a_past_partition_is_refused_before_any_request(sim, warehouse, watchlist):
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    before = sim.stats("influtics")["total"]
    result = materialize([influtics_video_stats], warehouse, watchlist, partition_key=yesterday)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    text = str(failure.event_specific_data.error)
    assert "keeps no history" in text and "cannot be backfilled into the past" in text
    assert sim.stats("influtics")["total"] == before
    assert (
        not any(warehouse.lake.local_files())
        or count(
            warehouse,
            "select count(*) from information_schema.tables where table_schema = 'raw_influtics'",
        )
        == 0
    )


def test_a_run_that_lands_no_snapshot_today_fails_the_freshness_check(frozen, warehouse, watchlist):
    assert materialize([influtics_video_stats], warehouse, watchlist, partition_key=today()).success
    with warehouse.connect() as con:  # that snapshot becomes yesterday's
        con.execute("update raw_influtics.video_stats set observed_on = observed_on - 1")
    frozen.set_faults("influtics", auth_fail=True)
    result = materialize([influtics_video_stats], warehouse, watchlist, partition_key=today())
    assert not result.success
    (fresh,) = [e for e in result.get_asset_check_evaluations() if e.check_name == "observed_today"]
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert not fresh.passed and fresh.severity == dg.AssetCheckSeverity.ERROR
    assert fresh.metadata["newest_observation"].value == yesterday
    assert fresh.metadata["days_behind"].value == 1
    assert f"from {yesterday}, not today" in fresh.description


def test_rejected_key_fails_the_run_with_the_vendor_message(frozen, warehouse, watchlist):
    frozen.set_faults("influtics", auth_fail=True)
    result = materialize([influtics_video_stats], warehouse, watchlist, partition_key=today())
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    text = str(failure.event_specific_data.error)
    assert "Invalid API key" in text and "SOURCES__INFLUTICS__API_KEY" in text
