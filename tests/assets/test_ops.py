"""The run log (`ops.runs`, `ops.loads`) written by the run status sensors, over real runs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from assets.keyapi import keyapi_assets
from assets.ops import RunRow, ops_sensors, write_run
from assets.resources import WarehouseResource
from tests.conftest import lake_bytes, materialize, rows

DAILY = next(a for a in keyapi_assets if next(iter(a.specs)).tags["period"] == "day")
MONTHLY = next(a for a in keyapi_assets if next(iter(a.specs)).tags["period"] == "month")
SENSORS = {sensor.name: sensor for sensor in ops_sensors}
ASSET = "raw_keyapi/video_rankings_daily"
RUN_COLUMNS = (
    "job_name, status, partition_start, partition_end, vendor, assets, rows_loaded, requests, "
    "credits, units, error_class"
)
LOAD_COLUMNS = (
    "asset_key, vendor, partition_start, partition_end, status, rows_loaded, row_count, "
    "requests, credits, units"
)


def evaluate(result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance, warehouse) -> None:
    """Run the sensor for the result's final status, as the daemon would on its tick."""
    run = instance.get_run_by_id(result.run_id)
    event = result.get_run_success_event() if result.success else result.get_run_failure_event()
    name = f"ops_run_log_{run.status.value.lower()}"
    context = dg.build_run_status_sensor_context(
        sensor_name=name,
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=event,
        resources={"warehouse": warehouse},
    )
    SENSORS[name](context)


def run_row(warehouse, run_id: str, columns: str = RUN_COLUMNS) -> list[tuple]:
    return rows(warehouse, f"select {columns} from ops.runs where run_id = '{run_id}'")


def load_rows(warehouse, run_id: str) -> list[tuple]:
    return rows(warehouse, f"select {LOAD_COLUMNS} from ops.loads where run_id = '{run_id}'")


def test_a_successful_range_backfill_is_one_run_row_and_one_load_row(
    sim, warehouse, watchlist, dagster_home
):
    result = materialize(
        [DAILY],
        warehouse,
        watchlist,
        dagster_home,
        tags={
            "dagster/asset_partition_range_start": "2026-03-02",
            "dagster/asset_partition_range_end": "2026-03-03",
        },
    )
    assert result.success
    evaluate(result, dagster_home, warehouse)
    evaluate(result, dagster_home, warehouse)  # a re-evaluated tick replaces, never duplicates
    # 2 days x 2 regions x 2 rank fields x 2 pages of 10; one credit per request
    assert run_row(warehouse, result.run_id) == [
        (
            "__ephemeral_asset_job__",
            "SUCCESS",
            "2026-03-02",
            "2026-03-03",
            "keyapi",
            1,
            160,
            16,
            16.0,
            None,
            None,
        )
    ]
    assert load_rows(warehouse, result.run_id) == [
        (ASSET, "keyapi", "2026-03-02", "2026-03-03", "materialized", 160, 160, 16, 16.0, None)
    ]
    [(message, what_to_do, summary, started, ended)] = run_row(
        warehouse, result.run_id, "message, what_to_do, summary, started_at, ended_at"
    )
    assert (message, what_to_do, summary) == (None, None, None)
    record = dagster_home.get_run_record_by_id(result.run_id)
    assert started == datetime.fromtimestamp(record.start_time, UTC)
    assert ended == datetime.fromtimestamp(record.end_time, UTC) > started


def test_a_quota_hit_is_summarized_with_what_landed_and_what_to_do(
    sim, warehouse, watchlist, dagster_home, capfd
):
    sim.set_faults("keyapi", quota_after=3)
    result = materialize([DAILY], warehouse, watchlist, dagster_home, partition_key="2026-03-04")
    assert not result.success
    capfd.readouterr()
    evaluate(result, dagster_home, warehouse)
    logged = capfd.readouterr().err
    # three billed pages (one slice of 20 rows kept), then the vendor's 402
    assert run_row(warehouse, result.run_id) == [
        (
            "__ephemeral_asset_job__",
            "FAILURE",
            "2026-03-04",
            "2026-03-04",
            "keyapi",
            1,
            20,
            4,
            3.0,
            None,
            "QuotaExhausted",
        )
    ]
    assert load_rows(warehouse, result.run_id) == [
        (ASSET, "keyapi", "2026-03-04", "2026-03-04", "failed", 20, None, 4, 3.0, None)
    ]
    [(message, what_to_do, summary)] = run_row(
        warehouse, result.run_id, "message, what_to_do, summary"
    )
    assert message.startswith("[keyapi] GET /v1/tiktok/video/ranking/analytics HTTP 402 quota")
    assert what_to_do.startswith("credits or daily quota are used up; what already landed is kept")
    assert summary == f"keyapi 2026-03-04: QuotaExhausted. What to do: {what_to_do}"
    assert f"WARNING - {summary}" in logged, "the sensor logs the one-line summary too"


def test_a_bad_key_is_an_auth_error_and_the_key_never_reaches_the_lake(
    sim, warehouse, watchlist, dagster_home, monkeypatch
):
    bad_key = "bad-key-5f3a9c1e7d2b4086"
    monkeypatch.setenv("SOURCES__KEYAPI__API_KEY", bad_key)
    result = materialize([DAILY], warehouse, watchlist, dagster_home, partition_key="2026-03-05")
    assert not result.success
    evaluate(result, dagster_home, warehouse)
    [(status, error_class, rows_loaded, requests, message, what_to_do)] = run_row(
        warehouse,
        result.run_id,
        "status, error_class, rows_loaded, requests, message, what_to_do",
    )
    assert (status, error_class, rows_loaded, requests) == ("FAILURE", "AuthError", 0, 1)
    assert "HTTP 401 authentication failed" in message
    assert what_to_do.startswith("check SOURCES__KEYAPI__API_KEY")
    assert load_rows(warehouse, result.run_id) == [
        (ASSET, "keyapi", "2026-03-05", "2026-03-05", "failed", 0, None, 1, 0.0, None)
    ]
    assert bad_key.encode() not in lake_bytes(warehouse)


def test_a_refused_setting_is_a_config_error_with_its_fix(
    sim, warehouse, watchlist, dagster_home, monkeypatch
):
    monkeypatch.setenv("SOURCES__KEYAPI__MAX_ATTEMPTS", "0")
    before = sim.stats("keyapi")["total"]
    result = materialize([DAILY], warehouse, watchlist, dagster_home, partition_key="2026-03-06")
    assert not result.success
    assert sim.stats("keyapi")["total"] == before, "refused before any request"
    evaluate(result, dagster_home, warehouse)
    [(error_class, requests, what_to_do, summary)] = run_row(
        warehouse, result.run_id, "error_class, requests, what_to_do, summary"
    )
    assert (error_class, requests) == ("ConfigError", None)
    assert "SOURCES__KEYAPI__MAX_ATTEMPTS" in what_to_do
    assert summary.startswith("keyapi 2026-03-06: ConfigError. What to do: ")
    assert load_rows(warehouse, result.run_id) == [
        (ASSET, "keyapi", "2026-03-06", "2026-03-06", "failed", None, None, None, None, None)
    ]


def test_an_early_period_is_not_published_or_no_rows_never_a_bare_failure(
    sim, warehouse, watchlist, dagster_home, monkeypatch
):
    # the newest month offered, on the 1st at noon: closed, but published only on the 2nd
    month = MONTHLY.partitions_def.get_last_partition_key()
    closed = MONTHLY.partitions_def.time_window_for_partition_key(month).end
    with monkeypatch.context() as clock:
        clock.setattr("assets.partitions.utc_now", lambda: closed + timedelta(hours=12))
        refused = materialize([MONTHLY], warehouse, watchlist, dagster_home, partition_key=month)
    # the vendor's clock is behind: it answers 2026-03-03 with empty pages, as it does until D+2
    monkeypatch.setattr(sim, "now", datetime(2026, 3, 4, 12, tzinfo=UTC))
    empty = materialize([DAILY], warehouse, watchlist, dagster_home, partition_key="2026-03-03")
    for result in (refused, empty):
        assert not result.success
        evaluate(result, dagster_home, warehouse)
    got = {
        run_id: (error_class, requests, what_to_do)
        for run_id, error_class, requests, what_to_do in rows(
            warehouse, "select run_id, error_class, requests, what_to_do from ops.runs"
        )
    }
    assert got == {
        refused.run_id: (
            "NotPublished",
            None,
            "nothing to do: the schedule loads the period once the vendor publishes it",
        ),
        empty.run_id: ("NoRows", 4, "the period may not be published yet: re-run it later"),
    }


def test_concurrent_writers_each_land_their_run_once(warehouse):
    def row(n: int) -> RunRow:
        return RunRow(
            *(f"run-{n}", "nightly", "SUCCESS", "2026-03-01", "2026-03-01", "keyapi", 1),
            *(n, 1, 1.0, None, None, None, None, None, None, None),
        )

    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(2):
                write_run(warehouse, row(n), [])
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert rows(warehouse, "select run_id, rows_loaded from ops.runs order by 1") == [
        (f"run-{n}", n) for n in range(4)
    ]


def test_tables_have_types_and_a_comment_on_every_column(warehouse):
    write_run(
        warehouse,
        RunRow("r", "j", "CANCELED", None, None, None, 0, *[None] * 10),
        [],
    )
    tables = rows(
        warehouse,
        "select table_name, comment from duckdb_tables() where schema_name = 'ops' order by 1",
    )
    assert [name for name, _ in tables] == ["loads", "runs"]
    assert all(comment for _, comment in tables)
    columns = rows(
        warehouse,
        "select table_name, column_name, data_type, comment from duckdb_columns() "
        "where schema_name = 'ops'",
    )
    assert len(columns) == 11 + 17
    assert all(comment for *_, comment in columns)
    types = {(table, column): kind for table, column, kind, _ in columns}
    assert types["runs", "rows_loaded"] == "BIGINT"
    assert types["runs", "started_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["loads", "credits"] == "DOUBLE"


@pytest.mark.parametrize("status", ["success", "failure", "canceled"])
def test_sensors_are_registered_running_with_the_warehouse(status):
    from assets.definitions import defs

    sensor = defs.resolve_sensor_def(f"ops_run_log_{status}")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.required_resource_keys == {"warehouse"}
    assert isinstance(defs.resources["warehouse"], WarehouseResource)
    dg.Definitions.validate_loadable(defs)  # raises if a sensor's resource is missing


def test_a_daemon_style_tick_records_each_finished_run_once(
    sim, warehouse, watchlist, dagster_home, monkeypatch
):
    def tick(name: str, cursor: str | None) -> str | None:
        context = dg.build_sensor_context(
            instance=dagster_home, cursor=cursor, resources={"warehouse": warehouse}
        )
        SENSORS[name].evaluate_tick(context)
        return context.cursor

    # the first tick of a new sensor only sets its cursor: runs before it are not replayed
    cursors = {name: tick(name, None) for name in SENSORS}
    monkeypatch.setenv("SOURCES__KEYAPI__MAX_ATTEMPTS", "0")
    result = materialize([DAILY], warehouse, watchlist, dagster_home, partition_key="2026-03-07")
    assert not result.success
    for name, cursor in cursors.items():
        tick(name, cursor)
        tick(name, cursor)  # the same tick again, as after a daemon restart
    assert rows(warehouse, "select run_id, status, error_class from ops.runs") == [
        (result.run_id, "FAILURE", "ConfigError")
    ]
