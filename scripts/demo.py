"""README command 1: the nightly pipeline for the last 7 days, against the simulator.

Starts the bundled vendor simulator on a free loopback port, points every vendor at it, and
runs what the nightly schedules run, each as one single-run backfill recorded in the Dagster
instance under DAGSTER_HOME so the UI shows them: KeyAPI's last two published weeks and
months, TikTok Research over the last 7 publish days, today's snapshot of Influtics,
Trendtrack and EnsembleData, and last, the daily job (KeyAPI's last 7 days plus every SQL
model and its checks). The simulator's clock is pinned to the start of the UTC day, so running
it again the same day replaces the same partitions with the same data: no row count changes.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime

import dagster as dg
import duckdb

from assets.definitions import defs
from assets.partitions import (
    PARTITIONS_BY_PERIOD,
    daily_partitions,
    latest_published_key,
)
from assets.resources import DEFAULT_WAREHOUSE_PATH
from simulator.server import Simulator

DAYS = 7
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def last_keys(
    partitions_def: dg.TimeWindowPartitionsDefinition, now: datetime, count: int
) -> list[str]:
    """The `count` newest published partition keys, oldest first."""
    last = latest_published_key(partitions_def, now)
    if last is None:
        raise SystemExit(f"error: no published partition yet for {partitions_def}")
    all_keys = partitions_def.get_partition_keys(current_time=now)
    end = all_keys.index(last) + 1
    return all_keys[max(0, end - count) : end]


def demo_runs(now: datetime) -> list[tuple[str, list[str], bool]]:
    """(job, partition keys, with models) in nightly order; the models run once, last.

    Two weeks and two months give the movement mart a previous period to compare with.
    """
    return [
        ("weekly_job", last_keys(PARTITIONS_BY_PERIOD["week"], now, 2), False),
        ("monthly_job", last_keys(PARTITIONS_BY_PERIOD["month"], now, 2), False),
        ("tiktok_research_job", last_keys(daily_partitions, now, DAYS), False),
        ("snapshot_job", [now.date().isoformat()], False),
        ("daily_job", last_keys(PARTITIONS_BY_PERIOD["day"], now, DAYS), True),
    ]


def run_job(name: str, keys: list[str], *, with_models: bool, instance) -> None:
    job = defs.resolve_job_def(name)
    keys_in_job = job.asset_layer.executable_asset_keys
    ingest = [key for key in keys_in_job if key.path[0].startswith("raw_")]
    then = " then building the models" if with_models else ""
    span = keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"
    print(f"==> {name}: {span} ({len(keys)} partitions){then}", flush=True)
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
        loaded = mat.metadata.get("rows_loaded")
        total = mat.metadata.get("dagster/row_count")
        line = f"    {mat.asset_key.to_user_string():<45} {loaded.value if loaded else 0:>7} loaded"
        print(line + (f" {total.value:>8} in table" if total else ""))
    # Every table of one vendor's source reports the same run's requests: count each once.
    per_vendor = {
        e.materialization.asset_key.path[0]: e.materialization.metadata["requests"].value
        for e in latest.values()
        if "requests" in e.materialization.metadata
    }
    requests = sum(per_vendor.values())
    if requests:
        print(f"    {requests} vendor requests")
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            severity = check.severity.value.lower()
            print(f"    check {severity}: {check.asset_key.to_user_string()} {check.check_name}")
    print(f"    done in {time.monotonic() - start:.1f}s (run {result.run_id[:8]})", flush=True)
    if not result.success:
        failures = [e.message for e in result.all_events if e.is_failure]
        raise SystemExit(f"error: {name} failed:\n  " + "\n  ".join(failures[-3:]))


def summary(path: str) -> None:
    con = duckdb.connect(path, read_only=True)
    print(f"\nWarehouse {path}")
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where (starts_with(table_schema, 'raw_') or table_schema in ('staging', 'marts')) "
        "and not starts_with(table_name, '_dlt') order by 1, 2"
    ).fetchall()
    for schema, table in tables:
        [(count,)] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchall()
        print(f"  {schema + '.' + table:<50} {count:>8} rows")
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
    # The simulator's world moves with its clock (videos get tracked, counts grow): pin it to
    # the start of the UTC day, so every run on one day sees the same vendor data.
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    runs = demo_runs(now)
    started = time.monotonic()
    with Simulator(now=now).start() as sim:
        print(f"==> vendor simulator on {sim.url}", flush=True)
        os.environ.update(sim.source_env())
        for vendor in sim.vendors:
            os.environ[f"SOURCES__{vendor.upper()}__REQUESTS_PER_SECOND"] = "50"
        for name, keys, with_models in runs:
            run_job(name, keys, with_models=with_models, instance=instance)
    print(f"==> pipeline finished in {time.monotonic() - started:.1f}s")
    summary(os.environ["WAREHOUSE_PATH"])
    print("\nOpen the Dagster UI on these runs: bash scripts/ui.sh")


if __name__ == "__main__":
    sys.exit(main())
