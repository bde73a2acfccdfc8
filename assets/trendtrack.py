"""Trendtrack TikTok library ingest: one snapshot multi-asset (a table per asset) and its checks.

The vendor keeps no history, so the asset uses `snapshot_partitions` and refuses any day but
today (`require_current_snapshot`). All four endpoints (query, browse, shop library, item
detail) feed the same item tables, so they are one dlt source run: one asset per table,
keyed `[raw_trendtrack, <table>]`, in group `trendtrack` and tagged `period: snapshot`, which
puts them into `snapshot_job` and its nightly schedule.

Checks run SQL on the warehouse after the load: primary keys unique and not null in every
table, and the metrics snapshot holding today's observation (freshness). Each table's
`schema_drift` check (WARN) runs in the load's own step, since it reads that run's report:
hence a `multi_asset` over the dlt specs rather than `@dlt_assets`, which takes no checks.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation as a type.
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster_dlt import DagsterDltResource, build_dlt_asset_specs

from pipelines.config import configured_source, spec_source
from pipelines.report import RunReport
from pipelines.trendtrack import KEYS, TABLES, trendtrack_source

from .drift import drift_check_specs
from .ingest import (
    RawTableTranslator,
    existing_tables,
    key_check_results,
    key_check_specs,
    run_dlt_source,
    spec_pipeline,
    vendor_pool,
)
from .partitions import require_current_snapshot, snapshot_partitions
from .resources import WarehouseResource, WatchlistResource

DATASET = "raw_trendtrack"
GROUP = "trendtrack"
PIPELINE_NAME = "trendtrack_library"
SNAPSHOT_TABLE = "library_item_metrics"
FRESHNESS = timedelta(days=1)
DESCRIPTION = (
    "Trendtrack TikTok library snapshot (ads and organic videos) for the watched searches, "
    "shops and items; current state merged on ids, metrics appended once per item per day."
)


@dg.multi_asset(
    specs=build_dlt_asset_specs(
        spec_source(trendtrack_source),
        spec_pipeline(PIPELINE_NAME, DATASET),
        RawTableTranslator(
            DATASET, GROUP, {"vendor": "trendtrack", "period": "snapshot"}, DESCRIPTION
        ),
    ),
    check_specs=drift_check_specs(DATASET, TABLES),
    name=PIPELINE_NAME,
    partitions_def=snapshot_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=True,
    pool=vendor_pool("trendtrack"),
)
def trendtrack_library(
    context: dg.AssetExecutionContext,
    dlt: DagsterDltResource,
    warehouse: WarehouseResource,
    watchlist: WatchlistResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    observed_on = require_current_snapshot(context)
    watch = watchlist.load().trendtrack
    report = RunReport(tables=TABLES)
    source = configured_source(
        trendtrack_source, watch=watch, observed_on=observed_on, report=report
    )
    yield from run_dlt_source(
        context, dlt, source, warehouse.dlt_pipeline(PIPELINE_NAME, DATASET), report
    )


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey([DATASET, table])


PRIMARY_KEYS = {table: KEYS[table][0] for table in TABLES}
_CHECK_SPECS = [
    *key_check_specs(DATASET, PRIMARY_KEYS),
    dg.AssetCheckSpec(
        "observed_today",
        asset=_key(SNAPSHOT_TABLE),
        description="the newest metrics snapshot is at most a day old",
    ),
]


@dg.multi_asset_check(specs=_CHECK_SPECS, name="trendtrack_checks")
def trendtrack_checks(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    with warehouse.connect(read_only=True) as con:
        yield from key_check_results(con, DATASET, PRIMARY_KEYS)
        newest = None
        if SNAPSHOT_TABLE in existing_tables(con, DATASET):
            [(newest,)] = con.execute(
                f"select max(observed_on) from {DATASET}.{SNAPSHOT_TABLE}"
            ).fetchall()
    today = datetime.now(UTC).date()
    yield dg.AssetCheckResult(
        check_name="observed_today",
        asset_key=_key(SNAPSHOT_TABLE),
        passed=newest is not None and today - newest <= FRESHNESS,
        metadata={"newest_observation": str(newest), "today": str(today)},
    )


trendtrack_assets = [trendtrack_library]
trendtrack_asset_checks = [trendtrack_checks]
