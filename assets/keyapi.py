"""KeyAPI ranking ingest assets: one dlt asset per period type, each with its partitions.

Each asset runs `pipelines.keyapi.keyapi_source` for the run's partition keys (a
backfill is one run over a range) and merges into `raw_keyapi.video_rankings_<period>`.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import dlt
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData

from pipelines.keyapi import TABLE_FOR_PERIOD, keyapi_source
from pipelines.report import RunReport

from .partitions import PARTITIONS_BY_PERIOD, partition_dates
from .resources import WarehouseResource, WatchlistResource

DATASET = "raw_keyapi"
POOL = "duckdb_writer"

_DESCRIPTIONS = {
    "day": "KeyAPI daily video rankings (views and sales) per tracked region and category.",
    "week": "KeyAPI weekly video rankings, keyed by the week's Monday.",
    "month": "KeyAPI monthly video rankings, keyed by the month's first day.",
}


class RawTableTranslator(DagsterDltTranslator):
    """Asset key = the DuckDB table (`[dataset, table]`); no invented upstream assets."""

    def __init__(self, dataset: str, group: str, tags: dict[str, str], description: str) -> None:
        self.dataset, self.group, self.tags, self.description = dataset, group, tags, description

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=dg.AssetKey([self.dataset, data.resource.name]),
            deps=[],
            group_name=self.group,
            description=self.description,
            tags={**spec.tags, **self.tags},
            kinds={"dlt", "duckdb"},
        ).merge_attributes(metadata={"dagster/table_name": f"{self.dataset}.{data.resource.name}"})


def run_dlt_source(
    context: dg.AssetExecutionContext,
    dlt_resource: DagsterDltResource,
    source: Any,
    pipeline: dlt.Pipeline,
    report: RunReport,
) -> Iterator[dg.MaterializeResult]:
    """Load what the source yields; then fail loudly if the vendor stopped it early.

    Complete slices loaded before a quota hit or an expired key stay in the warehouse;
    the run still fails (with what landed in the failure's metadata), so the partition
    is not marked done and a re-run merges the rest without duplicates.
    """
    results = list(
        dlt_resource.run(
            context=context, dlt_source=source, dlt_pipeline=pipeline, loader_file_format="parquet"
        )
    )
    meta = report.as_metadata()
    context.log.info(f"{context.partition_key_range}: {meta}")
    if report.stopped_by is not None:
        raise dg.Failure(
            description=f"{report.stopped_by}. Rows of complete slices loaded and kept: "
            f"{meta['rows_fetched']}; re-run the partition(s) to complete them.",
            metadata=meta,
        )
    if not report.rows:
        raise dg.Failure(
            description="the vendor returned no rows for any requested slice "
            f"({len(report.empty_slices)} empty, e.g. {report.empty_slices[:3]}); "
            "the period may not be published yet: retry later",
            metadata=meta,
        )
    for result in results:
        yield dg.MaterializeResult(
            asset_key=result.asset_key, metadata={**(result.metadata or {}), **meta}
        )


def keyapi_rankings(period: str) -> dg.AssetsDefinition:
    """The ingest asset of one period type (`day`, `week` or `month`)."""
    partitions_def = PARTITIONS_BY_PERIOD[period]
    pipeline_name = f"keyapi_{TABLE_FOR_PERIOD[period]}"

    @dlt_assets(
        dlt_source=keyapi_source(period=period),
        dlt_pipeline=dlt.pipeline(
            pipeline_name=pipeline_name, destination="duckdb", dataset_name=DATASET
        ),
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
