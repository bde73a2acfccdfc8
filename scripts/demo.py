"""README command 1: the nightly pipeline for the last 7 days, against the simulator.

Starts the bundled vendor simulator on a free loopback port, points every vendor at
it, runs the weekly and monthly ingest for the last two published weeks and months,
then the daily job (daily ingest + every SQL model and its checks) as one single-run backfill
each, recorded in the Dagster instance under DAGSTER_HOME so the UI shows them.
Running it again replaces the same partitions: row counts do not change.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime

import dagster as dg
import duckdb

from assets.definitions import defs
from assets.partitions import PARTITIONS_BY_PERIOD, latest_published_key
from assets.resources import DEFAULT_WAREHOUSE_PATH
from assets.schedules import JOB_NAMES
from simulator.server import Simulator

DAYS = 7
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def demo_partitions(now: datetime) -> dict[str, list[str]]:
    """The last DAYS published days, and the last two published weeks and months.

    Two weeks and two months give the movement mart a previous period to compare with.
    """
    keys: dict[str, list[str]] = {}
    for period, count in (("day", DAYS), ("week", 2), ("month", 2)):
        partitions_def = PARTITIONS_BY_PERIOD[period]
        last = latest_published_key(partitions_def, now)
        if last is None:
            raise SystemExit(f"error: no published {period} partition yet")
        all_keys = partitions_def.get_partition_keys()
        end = all_keys.index(last) + 1
        keys[period] = all_keys[max(0, end - count) : end]
    return keys


def run_period(period: str, keys: list[str], *, with_models: bool, instance) -> None:
    job = defs.resolve_job_def(JOB_NAMES[period])
    keys_in_job = job.asset_layer.executable_asset_keys
    ingest = [key for key in keys_in_job if key.path[0].startswith("raw_")]
    then = " then building the models" if with_models else ""
    print(f"==> {period}: pulling {keys[0]}..{keys[-1]} ({len(keys)} partitions){then}", flush=True)
    start = time.monotonic()
    result = job.execute_in_process(
        instance=instance,
        run_config=QUIET,
        tags={
            "dagster/asset_partition_range_start": keys[0],
            "dagster/asset_partition_range_end": keys[-1],
            "source": "demo",
        },
        asset_selection=None if with_models else ingest,
        raise_on_error=False,
    )
    latest = {e.materialization.asset_key: e for e in result.get_asset_materialization_events()}
    for event in latest.values():
        mat = event.materialization
        rows = mat.metadata.get("rows_fetched") or mat.metadata.get("dagster/row_count")
        requests = mat.metadata.get("requests")
        extra = f", {requests.value} requests" if requests else ""
        shown = rows.value if rows else "?"
        print(f"    {mat.asset_key.to_user_string():<45} {shown:>7} rows{extra}")
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            print(f"    check FAILED: {check.asset_key.to_user_string()} {check.check_name}")
    print(f"    done in {time.monotonic() - start:.1f}s (run {result.run_id[:8]})", flush=True)
    if not result.success:
        failures = [e.message for e in result.all_events if e.is_failure]
        raise SystemExit(f"error: the {period} run failed:\n  " + "\n  ".join(failures[-3:]))


def summary(path: str) -> None:
    con = duckdb.connect(path, read_only=True)
    print(f"\nWarehouse {path}")
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in ('raw_keyapi', 'staging', 'marts') "
        "and not starts_with(table_name, '_dlt') order by 1, 2"
    ).fetchall()
    for schema, table in tables:
        [(count,)] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchall()
        print(f"  {schema}.{table:<40} {count:>8} rows")
    print("\nTop 5 videos by rank gain (latest day, vs the day before)")
    top = con.execute(
        """
        select region, rank_field, video_id, previous_rank, rank, rank_change
        from marts.fct_video_ranking_movement
        where period = 'day'
          and rank_change is not null
          and period_start = (
            select max(period_start) from marts.fct_video_ranking_movement where period = 'day'
          )
        order by rank_change desc, rank
        limit 5
        """
    ).fetchall()
    print(f"  {'region':<7}{'field':<7}{'video_id':>20}{'was':>6}{'now':>6}{'gain':>6}")
    for region, field, video_id, previous, rank, change in top:
        print(f"  {region:<7}{field:<7}{video_id:>20}{previous:>6}{rank:>6}{change:>+6}")


def main() -> None:
    os.environ.setdefault("WAREHOUSE_PATH", DEFAULT_WAREHOUSE_PATH)
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")  # dlt's per-step progress lines
    instance = dg.DagsterInstance.get()
    now = datetime.now(UTC)
    partitions = demo_partitions(now)
    started = time.monotonic()
    with Simulator().start() as sim:
        print(f"==> vendor simulator on {sim.url}", flush=True)
        for vendor in sim.vendors:
            key = sim.api_keys[vendor]
            os.environ[f"SOURCES__{vendor.upper()}__BASE_URL"] = sim.base_url(vendor)
            os.environ[f"SOURCES__{vendor.upper()}__API_KEY"] = key
            os.environ[f"SOURCES__{vendor.upper()}__REQUESTS_PER_SECOND"] = "50"
        run_period("week", partitions["week"], with_models=False, instance=instance)
        run_period("month", partitions["month"], with_models=False, instance=instance)
        run_period("day", partitions["day"], with_models=True, instance=instance)
    print(f"==> pipeline finished in {time.monotonic() - started:.1f}s")
    summary(os.environ["WAREHOUSE_PATH"])
    print("\nOpen the Dagster UI on these runs: bash scripts/ui.sh")


if __name__ == "__main__":
    sys.exit(main())
