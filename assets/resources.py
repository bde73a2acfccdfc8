"""Dagster resources: where the warehouse lives and how dlt pipelines reach it.

The warehouse path is the one documented setting (`WAREHOUSE_PATH`, default
`data/warehouse.duckdb`); vendor keys and base URLs stay with dlt's own config
(`SOURCES__<VENDOR>__API_KEY`, `SOURCES__<VENDOR>__BASE_URL`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import dagster as dg
import dlt
import duckdb

from pipelines.watchlist import Watchlist, load_watchlist

DEFAULT_WAREHOUSE_PATH = "data/warehouse.duckdb"
# dlt's extract/normalize/load progress; dagster.yaml routes it into the run's event log.
PROGRESS_LOGGER = logging.getLogger("pipelines.progress")
STAGING_DATASET_LAYOUT = "_dlt_staging_%s"


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file every writing asset targets (all of them run in pool `duckdb_writer`).

    Left unset, the path is read when used (not at import) from `WAREHOUSE_PATH`.
    """

    path: str | None = None

    @property
    def file(self) -> Path:
        path = self.path or os.environ.get("WAREHOUSE_PATH") or DEFAULT_WAREHOUSE_PATH
        return Path(path).expanduser().resolve()

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(self.file), read_only=read_only)

    def dlt_pipeline(self, pipeline_name: str, dataset_name: str) -> dlt.Pipeline:
        """A fresh dlt pipeline per run, its working dir kept beside the warehouse file.

        A per-warehouse working dir keeps two warehouses (a test's and the demo's) from
        sharing dlt's local state under one pipeline name.
        """
        self.file.parent.mkdir(parents=True, exist_ok=True)
        # Arrow tables skip dlt's row normalizer: ask it for the load id column anyway, so
        # staging can keep the latest load of a restated row.
        dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
        # Merge loads stage rows in a second schema: name it as dlt-internal so analysts
        # skip it, and empty it after each load so the file does not hold every row twice.
        dlt.config["load.truncate_staging_dataset"] = True
        return dlt.pipeline(
            pipeline_name=pipeline_name,
            pipelines_dir=str(self.file.parent / ".dlt" / self.file.stem),
            destination=dlt.destinations.duckdb(
                str(self.file), staging_dataset_name_layout=STAGING_DATASET_LAYOUT
            ),
            dataset_name=dataset_name,
            progress=dlt.progress.log(
                log_period=5.0, logger=PROGRESS_LOGGER, dump_system_stats=False
            ),
        )


class WatchlistResource(dg.ConfigurableResource):
    """What to track; `path` unset means `WATCHLIST_PATH` or `watchlist.yaml`."""

    path: str | None = None

    def load(self) -> Watchlist:
        return load_watchlist(self.path)
