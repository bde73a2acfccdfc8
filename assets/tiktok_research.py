"""TikTok Research API ingest: the watched queries' videos, partitioned by publish day.

One dlt asset, `[raw_tiktok_research, videos]`, on `daily_partitions` keyed by the video's
`create_time` day in UTC: a run over a partition range (a backfill, or the nightly run over
the last `lookback_days`) crawls those days in windows of at most 30 days and replaces each
(query, day) it re-pulls, because counts keep growing after publication. The asset is tagged
without `period` (it is not in `daily_job`): `tiktok_research_job` and its schedule in
assets/schedules.py re-query a range, not one day.

Run metadata adds the research requests sent (retries included) and `quota_left_estimate`,
a per-run estimate of the 1000-a-day quota (the API does not report it), and `rows_videos`
even when it is 0: a query that matched nothing in its window is an answer, not a failure.
Checks: (query_name, id) unique, id not null, and the newest pull at most FRESHNESS old;
in the asset's own step, `schema_drift` (WARN) names every field that drifted from the
requested field list per (query, publish day) (assets/drift.py).

Before any request, a run refuses publish days not published yet (`require_published`, the
rule the schedule uses) and any bad `SOURCES__TIKTOK_RESEARCH__...` setting (`DAILY_QUOTA`,
`TASK_POLL_SECONDS` and the client's), saying which and how to fix it; the asset spec is
built from no setting at all, so a bad one never stops the definitions from loading.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation as a type.
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster_dlt import DagsterDltResource, build_dlt_asset_specs

from pipelines.config import configured_source, spec_source
from pipelines.errors import ConfigError
from pipelines.report import RunReport
from pipelines.tiktok_research import PRIMARY_KEY, TABLE, RequestBudget, tiktok_research_source

from .drift import drift_check_specs
from .ingest import RawTableTranslator, existing_tables, run_dlt_source, spec_pipeline, vendor_pool
from .partitions import daily_partitions, require_published
from .resources import WarehouseResource, WatchlistResource

DATASET = "raw_tiktok_research"
GROUP = "tiktok_research"
PIPELINE_NAME = "tiktok_research_videos"
TAGS = {"vendor": "tiktok_research"}
FRESHNESS = timedelta(hours=36)
DESCRIPTION = (
    "TikTok Research API videos of the watched queries (hashtags, keywords, regions, creators, "
    "sounds, count floors), one row per (query_name, id), partitioned by the video's UTC "
    "publish day; a re-pulled day replaces the query's rows of that day with fresher counts."
)


@dg.multi_asset(
    specs=build_dlt_asset_specs(
        spec_source(tiktok_research_source),
        spec_pipeline(PIPELINE_NAME, DATASET),
        RawTableTranslator(DATASET, GROUP, TAGS, DESCRIPTION),
    ),
    check_specs=drift_check_specs(DATASET, [TABLE]),
    name=PIPELINE_NAME,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=vendor_pool("tiktok_research"),
)
def tiktok_research_videos(
    context: dg.AssetExecutionContext,
    dlt: DagsterDltResource,
    warehouse: WarehouseResource,
    watchlist: WatchlistResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    days = require_published(context, daily_partitions, "TikTok Research")
    watch = watchlist.load().tiktok_research
    report, budget = RunReport(tables=(TABLE,)), RequestBudget()
    try:
        source = configured_source(
            tiktok_research_source, watch=watch, days=days, report=report, budget=budget
        )
    except ConfigError as exc:
        raise dg.Failure(description=str(exc)) from None
    quota = {"research_requests": budget.spent, "quota_left_estimate": budget.left}
    try:
        for result in run_dlt_source(
            context,
            dlt,
            source,
            warehouse.dlt_pipeline(PIPELINE_NAME, DATASET),
            report,
            allow_empty=True,  # no video matched the window: a legitimate answer
        ):
            quota = {"research_requests": budget.spent, "quota_left_estimate": budget.left}
            if isinstance(result, dg.MaterializeResult):
                result = result._replace(metadata={**(result.metadata or {}), **quota})
            yield result
    except dg.Failure as failure:
        quota = {"research_requests": budget.spent, "quota_left_estimate": budget.left}
        raise dg.Failure(
            description=failure.description, metadata={**failure.metadata, **quota}
        ) from None


_KEY = dg.AssetKey([DATASET, TABLE])


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            "unique_key", asset=_KEY, description=f"no two rows share ({', '.join(PRIMARY_KEY)})"
        ),
        dg.AssetCheckSpec("id_not_null", asset=_KEY, description="`id` is never null"),
        dg.AssetCheckSpec(
            "fresh_pull",
            asset=_KEY,
            description="the newest pull is at most 36 hours old: the newest row's `pulled_at`, "
            "or the newest completed load (a pull whose queries matched nothing is one too)",
        ),
    ],
    name="tiktok_research_checks",
)
def tiktok_research_checks(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.AssetCheckResult]:
    table = f"{DATASET}.{TABLE}"
    with warehouse.connect(read_only=True) as con:
        present = existing_tables(con, DATASET)
        rows = dupes = nulls = 0
        newest = newest_load = None
        if "_dlt_loads" in present:  # dlt records a load even when no video matched
            newest_load = con.execute(
                f"select max(inserted_at) from {DATASET}._dlt_loads where status = 0"
            ).fetchall()[0][0]
        if TABLE in present:
            rows, nulls, newest = con.execute(
                f"select count(*), count(*) - count(id), max(pulled_at) from {table}"
            ).fetchall()[0]
            dupes = con.execute(
                f"select count(*) from (select {', '.join(PRIMARY_KEY)} from {table} "
                "group by all having count(*) > 1)"
            ).fetchall()[0][0]
    yield dg.AssetCheckResult(
        check_name="unique_key",
        passed=dupes == 0,
        metadata={"duplicated_keys": dupes, "rows": rows},
    )
    yield dg.AssetCheckResult(
        check_name="id_not_null", passed=nulls == 0, metadata={"null_ids": nulls, "rows": rows}
    )
    pulls = [t for t in (newest, newest_load) if t is not None]
    latest = max(pulls) if pulls else None
    age = None if latest is None else datetime.now(UTC) - latest
    yield dg.AssetCheckResult(
        check_name="fresh_pull",
        passed=age is not None and age <= FRESHNESS,
        metadata={
            "newest_pull": str(newest),
            "newest_load": str(newest_load),
            "age_hours": round(age / timedelta(hours=1), 1) if age is not None else -1.0,
        },
    )


tiktok_research_assets = [tiktok_research_videos]
tiktok_research_asset_checks = [tiktok_research_checks]
