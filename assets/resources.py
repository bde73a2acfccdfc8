"""Dagster resources: where the warehouse lives and how dlt pipelines reach it.

The warehouse is a DuckLake (`pipelines.lake`): `WAREHOUSE_PATH` (default `data/`) holds the
embedded SQLite catalog and the Parquet files; `WAREHOUSE_CATALOG` (a PostgreSQL URL) plus
`WAREHOUSE_DATA_PATH` switch to the team set-up. Vendor keys and base URLs stay with dlt's own
config (`SOURCES__<VENDOR>__API_KEY`, `SOURCES__<VENDOR>__BASE_URL`).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import dlt
import duckdb
from dagster_dbt import DbtCliInvocation, DbtCliResource
from dbt.adapters.base import BaseAdapter

from pipelines.lake import Lake
from pipelines.watchlist import Watchlist, load_watchlist

# dlt's extract/normalize/load progress; instance/dagster.yaml routes it into the run's event log.
PROGRESS_LOGGER = logging.getLogger("pipelines.progress")
STAGING_DATASET_LAYOUT = "_dlt_staging_%s"
# Each run's private dlt working dir, `<pipeline>-<pid>-<random>` (see `dlt_pipeline`); one
# parent per user, since another user's is not writable.
WORKING_DIRS = Path(tempfile.gettempdir()) / f"tiktok-trends-dlt-runs-{os.getuid()}"


class WarehouseResource(dg.ConfigurableResource):
    """The lake every asset reads and writes; several runs may write it at once.

    Fields left unset are read when used (never at import) from `WAREHOUSE_PATH`,
    `WAREHOUSE_CATALOG` and `WAREHOUSE_DATA_PATH`; a bad value is a ConfigError naming it.
    """

    path: str | None = None
    catalog: str | None = None
    data_path: str | None = None

    @property
    def lake(self) -> Lake:
        return Lake.from_settings(self.path, self.catalog, self.data_path)

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A connection with the lake attached and in use (`select * from raw_keyapi.x`)."""
        return self.lake.connect(read_only=read_only)

    def dlt_pipeline(self, pipeline_name: str, dataset_name: str) -> dlt.Pipeline:
        """A fresh dlt pipeline in a working dir of its own.

        A private working dir lets two runs of one pipeline (the nightly and a backfill) load
        side by side; dlt keeps its state in the lake, so nothing needs the dir afterwards
        (`run_dlt_source` removes it, and the dirs of killed runs go here).
        """
        remove_abandoned_working_dirs()
        lake = self.lake
        # a writer's first connection stores the lake's writer settings dlt's jobs then use
        lake.connect().close()
        # Arrow tables skip dlt's row normalizer: ask it for the load id column anyway, so
        # staging can keep the latest load of a restated row.
        dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
        # Merge loads stage rows in a second schema: name it as dlt-internal so analysts
        # skip it, and empty it after each load so the lake does not hold every row twice.
        dlt.config["load.truncate_staging_dataset"] = True
        WORKING_DIRS.mkdir(parents=True, exist_ok=True)
        return dlt.pipeline(
            pipeline_name=pipeline_name,
            pipelines_dir=tempfile.mkdtemp(
                prefix=f"{pipeline_name}-{os.getpid()}-", dir=WORKING_DIRS
            ),
            destination=lake.dlt_destination(STAGING_DATASET_LAYOUT),
            dataset_name=dataset_name,
            progress=dlt.progress.log(
                log_period=5.0, logger=PROGRESS_LOGGER, dump_system_stats=False
            ),
        )


def remove_working_dir(pipeline: dlt.Pipeline) -> None:
    """Drop a finished run's private dlt working dir (its state lives in the lake)."""
    shutil.rmtree(Path(pipeline.pipelines_dir), ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_abandoned_working_dirs() -> None:
    """Drop the working dirs of runs that died (a kill, a crash) before removing their own.

    A dir is named `<pipeline>-<pid>-<random>`: one whose process is gone holds only load
    packages of a run whose state, and whatever it committed, are in the lake.
    """
    if not WORKING_DIRS.is_dir():
        return
    for path in WORKING_DIRS.iterdir():
        _, pid, _ = path.name.rsplit("-", 2) if path.name.count("-") >= 2 else ("", "", "")
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


class WatchlistResource(dg.ConfigurableResource):
    """What to track; `path` unset means `WATCHLIST_PATH` or `watchlist.yaml`."""

    path: str | None = None

    def load(self) -> Watchlist:
        return load_watchlist(self.path)


WAREHOUSE_PROJECT_DIR = Path(__file__).resolve().parents[1] / "warehouse"
# The venv's dbt beside this interpreter: a test or `dagster dev` without the venv on PATH
# still runs the pinned dbt, not whatever `dbt` the PATH finds first.
DBT_EXECUTABLE = next(
    (str(path) for path in [Path(sys.executable).with_name("dbt")] if path.exists()), "dbt"
)


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """`values` in os.environ for the block; dagster-dbt builds dbt's env from os.environ."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class DbtResource(DbtCliResource):
    """dbt on `warehouse/`, opening the same lake as the pipelines (`warehouse.lake.dbt_env()`).

    The env is set while `cli` starts dbt and renders the profile for the in-process adapter
    (row counts, column types), and only then; usage statistics stay off.
    """

    warehouse: WarehouseResource

    def __init__(
        self,
        warehouse: WarehouseResource,
        project_dir: str | Path = WAREHOUSE_PROJECT_DIR,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("profiles_dir", str(project_dir))
        kwargs.setdefault("dbt_executable", DBT_EXECUTABLE)
        super().__init__(project_dir=str(project_dir), warehouse=warehouse, **kwargs)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> BaseAdapter:
        """The in-process adapter (row counts, column types) on the profile's in-memory DuckDB.

        dagster-dbt treats a DuckDB path as a file to open read-only beside the dbt process;
        ours is `:memory:` with the lake attached, which DuckLake lets both processes open.
        """
        adapter = super()._initialize_dbt_core_adapter(args)
        credentials = adapter.config.credentials
        if Path(credentials.path).name == ":memory:":
            credentials.path = ":memory:"
            credentials.config_options.pop("access_mode", None)
        return adapter

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        env = {**self.warehouse.lake.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        with _environ(env):
            return super().cli(args, **kwargs)
