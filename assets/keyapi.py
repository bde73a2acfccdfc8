"""KeyAPI ranking ingest assets: one dlt asset per period type, each with its partitions.

Each asset runs `pipelines.keyapi.keyapi_source` for the run's partition keys (a
backfill is one run over a range) and merges into `raw_keyapi.video_rankings_<period>`.
"""

from collections.abc import Iterator

import dagster as dg
from dagster_dlt import DagsterDltResource, dlt_assets

from pipelines.keyapi import TABLE_FOR_PERIOD, keyapi_source
from pipelines.report import RunReport

from .ingest import POOL, RawTableTranslator, run_dlt_source, spec_pipeline
from .partitions import PARTITIONS_BY_PERIOD, partition_dates
from .resources import WarehouseResource, WatchlistResource

DATASET = "raw_keyapi"

_DESCRIPTIONS = {
    "day": "KeyAPI daily video rankings (views and sales) per tracked region and category.",
    "week": "KeyAPI weekly video rankings, keyed by the week's Monday.",
    "month": "KeyAPI monthly video rankings, keyed by the month's first day.",
}


def keyapi_rankings(period: str) -> dg.AssetsDefinition:
    """The ingest asset of one period type (`day`, `week` or `month`)."""
    partitions_def = PARTITIONS_BY_PERIOD[period]
    pipeline_name = f"keyapi_{TABLE_FOR_PERIOD[period]}"

    @dlt_assets(
        dlt_source=keyapi_source(period=period),
        dlt_pipeline=spec_pipeline(pipeline_name, DATASET),
        name=pipeline_name,
        dagster_dlt_translator=RawTableTranslator(
            DATASET, "keyapi", {"period": period, "vendor": "keyapi"}, _DESCRIPTIONS[period]
        ),
        partitions_def=partitions_def,
        pool=POOL,
    )
    def _assets(
        context: dg.AssetExecutionContext,
        dlt: DagsterDltResource,
        warehouse: WarehouseResource,
        watchlist: WatchlistResource,
    ) -> Iterator[dg.MaterializeResult]:
        watch = watchlist.load().keyapi
        report = RunReport()
        source = keyapi_source(
            period=period,
            dates=partition_dates(context.partition_keys),
            regions=watch.regions,
            rank_fields=watch.rank_fields,
            product_category_ids=watch.product_category_ids,
            pages=watch.pages,
            created_by_ai=watch.created_by_ai,
            report=report,
        )
        yield from run_dlt_source(
            context, dlt, source, warehouse.dlt_pipeline(pipeline_name, DATASET), report
        )

    return _assets


keyapi_assets = [keyapi_rankings(period) for period in ("day", "week", "month")]
