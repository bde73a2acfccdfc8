"""A small KeyAPI nightly in its own process, for the crash trials to kill with SIGKILL.

    python -m tests.reliability.nightly LAKE EVENTS DBT_TARGET [--load PERIOD:DAYS]... [--models]

Each `--load` (e.g. `day:2026-11-01,2026-11-02`) runs one period's ranking pipeline the way
`pipeline.run` does, one step at a time (sync from the lake, extract, normalize, load);
`--models` then runs the KeyAPI models with the dbt CLI. One line per step goes to the EVENTS
file (dbt's own lines too), so a test kills the process at a chosen step by event, not by a
guess of time.

`CRASH_TRAP=<point>:<n>` stops it at the n-th passage of one point inside or between steps
(`HOOKS`, or `between`): it writes `trap <point> <detail>` to EVENTS and waits there, mid-step
with its files half written, for the test's SIGKILL. Vendor settings come from the environment
(`SOURCES__KEYAPI__*`). Dagster is not imported (2.5 s per process): the pipeline is made as
`WarehouseResource.dlt_pipeline` makes it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import dlt
from dlt.common.destination.client import RunnableLoadJob
from dlt.common.storages.load_storage import LoadStorage
from dlt.load.load import Load
from dlt.normalize import normalize as dlt_normalize

from pipelines.keyapi import TABLE_FOR_PERIOD, keyapi_source
from pipelines.lake import Lake

PROJECT = Path(__file__).resolve().parents[2] / "warehouse"
DBT = str(Path(sys.executable).with_name("dbt"))
# The models on KeyAPI alone: its three staging views and the two marts that read only them.
MODELS = (
    "stg_keyapi__video_rankings_daily",
    "stg_keyapi__video_rankings_weekly",
    "stg_keyapi__video_rankings_monthly",
    "fct_product_sales_daily",
    "fct_video_ranking_movement",
)
WATCH: dict[str, Any] = {"regions": ["US", "GB"], "rank_fields": ["views", "sales"], "pages": 2}
TRAP_TIMEOUT = 120.0


class Events:
    """Appends `<monotonic s> <what>` lines, on disk at once: the reader is another process."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("a", buffering=1)

    def __call__(self, what: str) -> None:
        self.file.write(f"{time.monotonic():.3f} {what}\n")
        self.file.flush()
        os.fsync(self.file.fileno())


def _after(owner: Any, name: str, hit: Callable[[str], None], detail: Callable[..., str]) -> None:
    original = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        hit(detail(*args, **kwargs))
        return result

    setattr(owner, name, wrapped)


def _before(owner: Any, name: str, hit: Callable[[str], None], detail: Callable[..., str]) -> None:
    original = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        hit(detail(*args, **kwargs))
        return original(*args, **kwargs)

    setattr(owner, name, wrapped)


# Points inside a step where a trap can stop the process:
HOOKS: dict[str, Callable[[Callable[[str], None]], None]] = {
    # normalized files written in the package's temp folder; schema and package not committed
    "normalize": lambda hit: _after(
        dlt_normalize,
        "w_normalize_files",
        hit,
        lambda *a, **k: f"files of package {a[4]} normalized, schema and package not committed",
    ),
    # normalized and schema saved; the package not yet moved to the load folder
    "normalize-commit": lambda hit: _before(
        LoadStorage,
        "commit_new_load_package",
        hit,
        lambda self, load_id: f"package {load_id} normalized, not moved to the load folder",
    ),
    # one load job has run (rows copied into the staging dataset, or merged); the rest not
    "load": lambda hit: _after(
        RunnableLoadJob,
        "run_managed",
        hit,
        lambda job, *a, **k: f"load job {job.job_id()} ran, the package is not complete",
    ),
    # every job ran; the load is not recorded in _dlt_loads, the staging not truncated
    "load-complete": lambda hit: _before(
        Load,
        "complete_package",
        hit,
        lambda self, load_id, *a, **k: f"all jobs of {load_id} ran, the load is not recorded",
    ),
}


class Trap:
    """Stops the process at the n-th passage of one point (`<point>:<n>`), reporting it first."""

    def __init__(self, events: Events, spec: str) -> None:
        point, _, nth = spec.rpartition(":")
        if point not in (*HOOKS, "between"):
            raise SystemExit(f"no trap point {point!r}; known: {', '.join(HOOKS)}, between")
        self.events, self.point, self.nth, self.passages = events, point, int(nth), 0
        if point in HOOKS:
            HOOKS[point](lambda detail: self(point, detail))

    def __call__(self, point: str, detail: str) -> None:
        if point != self.point:
            return
        self.passages += 1
        if self.passages == self.nth:
            self.events(f"trap {point} {detail}")
            time.sleep(TRAP_TIMEOUT)
            raise SystemExit(f"trap {point} was not killed within {TRAP_TIMEOUT} s")


def pipeline(lake: Lake, table: str, workdir: Path) -> dlt.Pipeline:
    """The pipeline `WarehouseResource.dlt_pipeline` makes, in the given working dir."""
    lake.prepare()
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    dlt.config["load.truncate_staging_dataset"] = True
    return dlt.pipeline(
        pipeline_name=f"keyapi_{table}",
        pipelines_dir=str(workdir),
        destination=lake.dlt_destination("_dlt_staging_%s"),
        dataset_name="raw_keyapi",
    )


def load_period(
    lake: Lake, period: str, days: list[date], events: Events, trap: Callable[[str, str], None]
) -> None:
    """One period's rankings for `days`: the steps of `pipeline.run`, each reported. The
    working dir is this process's own, as in production: a killed run's is never reused."""
    workdir = Path(lake.data_path).parent / f"dlt-work-{os.getpid()}"
    load = pipeline(lake, TABLE_FOR_PERIOD[period], workdir)
    load.sync_destination()
    events(f"extract {period}")
    load.extract(keyapi_source(period=period, dates=days, **WATCH), loader_file_format="parquet")
    events(f"extracted {period}")
    trap("between", f"{period}: extracted, not normalized")
    load.normalize()
    events(f"normalized {period}")
    trap("between", f"{period}: normalized, not loaded")
    load.load()
    events(f"loaded {period}")
    shutil.rmtree(workdir)
    trap("between", f"{period}: loaded, the next step not started")


def build_models(lake: Lake, events: Events, target: Path) -> None:
    """`dbt run` of the KeyAPI models on the lake; each line dbt prints becomes an event."""
    command = [DBT, "run", "--select", *MODELS, "--project-dir", str(PROJECT)]
    command += ["--profiles-dir", str(PROJECT), "--target-path", str(target)]
    command += ["--log-path", str(target / "logs")]
    env = {**os.environ, **lake.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    events("models start")
    with subprocess.Popen(
        command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            events(f"dbt {line.rstrip()}")
    if process.returncode != 0:
        raise SystemExit(f"dbt run failed with exit code {process.returncode}")
    events("models done")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.nightly")
    parser.add_argument("lake")
    parser.add_argument("events", type=Path)
    parser.add_argument("dbt_target", type=Path)
    parser.add_argument("--load", action="append", default=[], metavar="PERIOD:DAY[,DAY]")
    parser.add_argument("--models", action="store_true")
    args = parser.parse_args(argv)
    events = Events(args.events)
    spec = os.environ.get("CRASH_TRAP")
    trap: Callable[[str, str], None] = Trap(events, spec) if spec else (lambda *_: None)
    lake = Lake.from_settings(args.lake)
    for item in args.load:
        period, _, days = item.partition(":")
        load_period(lake, period, [date.fromisoformat(d) for d in days.split(",")], events, trap)
    if args.models:
        build_models(lake, events, args.dbt_target)
    events("done")


if __name__ == "__main__":
    main()
