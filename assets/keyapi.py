"""KeyAPI ranking ingest assets: one dlt asset per period type, each with its partitions.

Each asset runs `pipelines.keyapi.keyapi_source` for the run's partition keys (a
backfill is one run over a range) and merges into `raw_keyapi.video_rankings_<period>`.
Before any request, a run refuses a period KeyAPI has not published yet and any bad
`SOURCES__KEYAPI__...` setting, saying which and how to fix it; the asset specs are built
from no setting at all, so a bad one never stops the definitions from loading.
"""

from collections.abc import Iterator
from datetime import timedelta

import dagster as dg
from dagster_dlt import DagsterDltResource, build_dlt_asset_specs

from pipelines.config import configured_source, spec_source
from pipelines.errors import ConfigError
from pipelines.keyapi import PRIMARY_KEY, TABLE_FOR_PERIOD, keyapi_source
from pipelines.report import RunReport

from .drift import drift_check_specs
from .ingest import (
    RawTableTranslator,
    key_check_results,
    key_check_specs,
    run_dlt_source,
    spec_pipeline,
    vendor_pool,
)
from .partitions import PARTITIONS_BY_PERIOD, require_published
from .resources import WarehouseResource, WatchlistResource

DATASET = "raw_keyapi"

_DESCRIPTIONS = {
    "day": "KeyAPI daily video rankings (views and sales) per tracked region and category.",
    "week": "KeyAPI weekly video rankings, keyed by the week's Monday.",
    "month": "KeyAPI monthly video rankings, keyed by the month's first day.",
}


# The schedules pull each period once it is published: warn when one night (week, month) was
# missed, with two hours of slack, and fail after two. The daemon evaluates these policies.
_PERIOD = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=31)}
FRESHNESS = {
    period: dg.FreshnessPolicy.time_window(
        warn_window=every + timedelta(hours=2), fail_window=2 * every + timedelta(hours=2)
    )
    for period, every in _PERIOD.items()
}


def keyapi_rankings(period: str) -> dg.AssetsDefinition:
    """The ingest asset of one period type (`day`, `week` or `month`)."""
    partitions_def = PARTITIONS_BY_PERIOD[period]
    table = TABLE_FOR_PERIOD[period]
    pipeline_name = f"keyapi_{table}"
    # (slice, rank) is unique by construction, not by a merge hint: the checks prove it.
    keys = {table: PRIMARY_KEY}

    @dg.multi_asset(
        specs=[
            spec.replace_attributes(freshness_policy=FRESHNESS[period])
            for spec in build_dlt_asset_specs(
                spec_source(keyapi_source, period=period),
                spec_pipeline(pipeline_name, DATASET),
                RawTableTranslator(
                    DATASET, "keyapi", {"period": period, "vendor": "keyapi"}, _DESCRIPTIONS[period]
                ),
            )
        ],
        check_specs=[*key_check_specs(DATASET, keys), *drift_check_specs(DATASET, [table])],
        name=pipeline_name,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=vendor_pool("keyapi"),
    )
    def _assets(
        context: dg.AssetExecutionContext,
        dlt: DagsterDltResource,
        warehouse: WarehouseResource,
        watchlist: WatchlistResource,
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        dates = require_published(context, partitions_def, "KeyAPI")
        watch = watchlist.load().keyapi
        report = RunReport()
        try:
            source = configured_source(
                keyapi_source,
                period=period,
                dates=dates,
                regions=watch.regions,
                rank_fields=watch.rank_fields,
                product_category_ids=watch.product_category_ids,
                pages=watch.pages,
                created_by_ai=watch.created_by_ai,
                report=report,
            )
        except ConfigError as exc:
            raise dg.Failure(description=str(exc)) from None
        yield from run_dlt_source(
            context,
            dlt,
            source,
            warehouse.dlt_pipeline(pipeline_name, DATASET),
            report,
            checks=lambda: _key_checks(context, warehouse, keys),
        )

    return _assets


def _key_checks(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    keys: dict[str, tuple[str, ...]],
) -> Iterator[dg.AssetCheckResult]:
    with warehouse.connect(read_only=True) as con:
        yield from key_check_results(con, DATASET, keys, context.selected_asset_check_keys)


keyapi_assets = [keyapi_rankings(period) for period in ("day", "week", "month")]
