"""README command 1: the nightly pipeline for the last 7 days, against the simulator.

Starts the bundled vendor simulator on a free loopback port, points every vendor at it, and
runs what the nightly schedules run, each as one single-run backfill recorded in the Dagster
instance under DAGSTER_HOME so the UI shows them: KeyAPI's last two published weeks and
months, TikTok Research over the last 7 publish days, today's snapshot of Influtics,
Trendtrack and EnsembleData, KeyAPI's last 7 days; vendors load side by side (`--parallel`),
then every dbt model and its checks (`warehouse_models_job`: with no daemon here, the models'
automation does not run). A failed pull is reported on one line and the others
still run. The simulator's clock is pinned to the start of the UTC day, so running
it again the same day replaces the same partitions with the same data: no row count changes.
A demo killed mid-run (kill -9, a closed terminal) leaves its run STARTED and its pool slot
held; the next demo marks that run failed and frees the slot before it starts (no daemon
watches this instance to do it), so a plain re-run completes.
"""

from __future__ import annotations

import argparse
import fcntl
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from assets.definitions import defs
from assets.partitions import (
    PARTITIONS_BY_PERIOD,
    add_snapshot_day,
    daily_partitions,
    latest_published_key,
    snapshot_partitions,
)
from assets.resources import WarehouseResource
from pipelines.lake import DEFAULT_ROOT
from simulator.server import Simulator

DAYS = 7
# Vendor pulls at once. The lake takes them side by side (`--parallel 3`), but on 2 cores the
# extra processes cost more than they save: measured 221 s for 3 at a time vs 121 s serial.
PARALLEL_RUNS = 1
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# No daemon runs here, so nothing evaluates the models' automation: the demo builds them.
MODELS_JOB = "warehouse_models_job"
DEMO_TAGS = {"source": "demo"}
UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


class DemoBusy(Exception):
    """Another demo holds this instance: its runs are live, not orphans."""


@contextmanager
def demo_lock(instance: dg.DagsterInstance) -> Iterator[None]:
    """One demo per Dagster home at a time. The kernel drops the lock when its process dies,
    however it dies, so holding it proves every unfinished demo run is an orphan."""
    path = Path(instance.root_directory) / "demo.lock"
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DemoBusy(f"another demo is running on {instance.root_directory}") from None
        yield


def fail_orphaned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed the demo runs a killed demo left unfinished, and free their pool slots:
    the run monitor would, but it lives in the daemon, which the demo does not start."""
    orphans = instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED, tags=DEMO_TAGS))
    for run in orphans:
        instance.report_run_failed(
            run, "Its demo process ended without finishing it (killed?); the next demo failed it."
        )
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return [run.run_id for run in orphans]


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


def demo_runs(now: datetime) -> list[tuple[str, list[str]]]:
    """(job, partition keys) of the vendor pulls, each one run; `MODELS_JOB` runs after them.

    Two weeks and two months give the movement mart a previous period to compare with.
    """
    return [
        ("weekly_job", last_keys(PARTITIONS_BY_PERIOD["week"], now, 2)),
        ("monthly_job", last_keys(PARTITIONS_BY_PERIOD["month"], now, 2)),
        ("tiktok_research_job", last_keys(daily_partitions, now, DAYS)),
        ("snapshot_job", [now.date().isoformat()]),
        ("daily_job", last_keys(PARTITIONS_BY_PERIOD["day"], now, DAYS)),
    ]


@dataclass
class JobOutcome:
    """What one run printed and, if it failed, its one-line root cause."""

    name: str
    lines: list[str]
    error: str | None = None


def run_job(name: str, keys: list[str]) -> JobOutcome:
    """One job as a single-run backfill over `keys`, in this process, recorded in the instance."""
    job = defs.resolve_job_def(name)
    what = "the models" if name == MODELS_JOB else "vendor pulls"
    span = keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"
    lines = [f"==> {name}: {what}, {span} ({len(keys)} partitions)"]
    start = time.monotonic()
    with dg.DagsterInstance.get() as instance:
        if job.partitions_def == snapshot_partitions:
            add_snapshot_day(instance, keys[0])  # what the nightly schedule does first
        result = job.execute_in_process(
            instance=instance,
            run_config=QUIET,
            tags={
                "dagster/asset_partition_range_start": keys[0],
                "dagster/asset_partition_range_end": keys[-1],
                **DEMO_TAGS,
            },
            raise_on_error=False,
        )
    latest = {e.materialization.asset_key: e for e in result.get_asset_materialization_events()}
    for event in latest.values():
        mat = event.materialization
        lines.append(f"    {mat.asset_key.to_user_string():<45} {outcome_words(mat.metadata)}")
    # Every table of one vendor's source reports the same run's requests: count each once.
    per_vendor = {
        e.materialization.asset_key.path[0]: e.materialization.metadata["requests"].value
        for e in latest.values()
        if "requests" in e.materialization.metadata
    }
    if requests := sum(per_vendor.values()):
        lines.append(f"    {requests} vendor requests")
    for check in result.get_asset_check_evaluations():
        if not check.passed:
            severity = check.severity.value.lower()
            lines.append(
                f"    check {severity}: {check.asset_key.to_user_string()} {check.check_name}"
            )
    lines.append(f"    done in {time.monotonic() - start:.1f}s (run {result.run_id[:8]})")
    if result.success:
        return JobOutcome(name, lines)
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    cause = (
        root_cause(failures[-1].event_specific_data.error)
        if failures
        else "the run failed before any step"
    )
    return JobOutcome(name, lines, cause)


def outcome_words(metadata: Mapping[str, Any]) -> str:
    """What a materialization did, in words: never a bare "0 loaded"."""
    total = metadata.get("dagster/row_count")
    in_table = f" {total.value:>8} in table" if total else ""
    if "rows_fetched" not in metadata:  # a SQL model: built from the lake, nothing loaded
        return f"{'built':>14}{in_table}"
    loaded = metadata.get("rows_loaded")
    if loaded and loaded.value:
        return f"{loaded.value:>7} loaded{in_table}"
    resumed = metadata.get("entries_resumed")
    if resumed and resumed.value:
        reason = f"(its {resumed.value} watch entries were loaded earlier today)"
    elif metadata["rows_fetched"].value:
        reason = "(its rows landed in the source's other tables)"
    else:
        reason = "(the vendor sent nothing for this table)"
    return f"{0:>7} loaded{in_table} {reason}"


def root_cause(error: Any) -> str:
    """The innermost error's message, on one line: what a person acts on."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    message = " ".join(str(getattr(error, "message", error)).split())
    return message[:400]


def run_pulls(runs: list[tuple[str, list[str]]], parallel: int) -> list[JobOutcome]:
    """Every vendor pull, `parallel` runs at a time, each in its own process as the daemon's
    run launcher does; printed in nightly order."""
    if parallel <= 1:
        outcomes = [run_job(name, keys) for name, keys in runs]
        for outcome in outcomes:
            print("\n".join(outcome.lines), flush=True)
        return outcomes
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=parallel, mp_context=context) as pool:
        futures = [pool.submit(run_job, name, keys) for name, keys in runs]
        outcomes = []
        for future in futures:
            outcome = future.result()
            print("\n".join(outcome.lines), flush=True)
            outcomes.append(outcome)
    return outcomes


def summary() -> None:
    lake = WarehouseResource().lake
    con = lake.connect(read_only=True)
    print(f"\nWarehouse: catalog {lake.catalog}, data {lake.data_path}")
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = 'lake' "
        "and (starts_with(table_schema, 'raw_') or table_schema in ('staging', 'marts')) "
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--parallel",
        type=int,
        default=PARALLEL_RUNS,
        help=f"vendor pulls running at once (default {PARALLEL_RUNS}; 1 = one after another)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("WAREHOUSE_PATH", DEFAULT_ROOT)
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")  # dlt's per-step progress lines
    # The simulator's world moves with its clock (videos get tracked, counts grow): pin it to
    # the start of the UTC day, so every run on one day sees the same vendor data.
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    runs = demo_runs(now)
    with dg.DagsterInstance.get() as instance:
        try:
            with demo_lock(instance):
                for run_id in fail_orphaned_runs(instance):
                    print(
                        f"==> run {run_id[:8]} of a killed demo marked failed, its slots freed",
                        flush=True,
                    )
                return run_demo(runs, now, args.parallel)
        except DemoBusy as busy:
            print(f"error: {busy}; wait for it to end, or set DAGSTER_HOME", file=sys.stderr)
            return 2


def run_demo(runs: list[tuple[str, list[str]]], now: datetime, parallel: int) -> int:
    """The pulls, then the models, against a simulator pinned at `now`; 1 if any failed."""
    started = time.monotonic()
    with Simulator(now=now).start() as sim:
        print(f"==> vendor simulator on {sim.url}", flush=True)
        os.environ.update(sim.source_env())
        for vendor in sim.vendors:
            os.environ[f"SOURCES__{vendor.upper()}__REQUESTS_PER_SECOND"] = "50"
        outcomes = run_pulls(runs, parallel)
        pulled = time.monotonic() - started
        print(f"==> vendor pulls finished in {pulled:.1f}s ({parallel} at a time)")
        models = run_job(MODELS_JOB, runs[-1][1])
        print("\n".join(models.lines), flush=True)
        outcomes.append(models)
    print(f"==> pipeline finished in {time.monotonic() - started:.1f}s")
    failed = [o for o in outcomes if o.error]
    if len(failed) < len(outcomes):
        summary()
    print("\nOpen the Dagster UI on these runs: bash scripts/ui.sh")
    for outcome in failed:
        print(f"error: {outcome.name} failed: {outcome.error}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
