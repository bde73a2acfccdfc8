"""Jobs and nightly schedules: the vendor pulls only; the SQL models follow by automation.

Each schedule targets the newest period the vendor has published (see
`latest_published_key`): daily at 03:00 UTC, weekly on Tuesdays, monthly on the 2nd.
While `PARTITIONS_START_DATE` is refused, every tick is skipped with the reason, rather
than launching runs that would all fail on it. The models are built one way only: their
automation conditions (assets/warehouse.py) request the model partitions a pull or a
backfill touched. `warehouse_models_job` builds them by hand (the demo, a full refresh).
"""

from datetime import date, timedelta
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

from pipelines.watchlist import load_watchlist

from .partitions import (
    PARTITIONS_BY_PERIOD,
    START_DATE_ERROR,
    add_snapshot_day,
    daily_partitions,
    latest_published_key,
    snapshot_key,
    snapshot_partitions,
)

SCHEDULE_CRONS = {"day": "0 3 * * *", "week": "0 3 * * 2", "month": "0 3 2 * *"}
JOB_NAMES = {"day": "daily_job", "week": "weekly_job", "month": "monthly_job"}
MODEL_GROUPS = ("staging", "marts")


def period_job(period: str) -> "UnresolvedAssetJobDefinition":
    """One period's ingest assets (tagged `period`); the models follow by automation."""
    return dg.define_asset_job(
        name=JOB_NAMES[period],
        selection=dg.AssetSelection.tag("period", period),
        partitions_def=PARTITIONS_BY_PERIOD[period],
        description=f"Pull every vendor's {period} data for one partition (or a range); "
        "the models it feeds are rebuilt by their automation conditions.",
    )


models_job = dg.define_asset_job(
    name="warehouse_models_job",
    selection=dg.AssetSelection.groups(*MODEL_GROUPS),
    partitions_def=daily_partitions,
    description="Rebuild the SQL models (staging -> marts) by hand and run their checks; the "
    "incremental facts recompute the run's days (a range in one run). Nightly, automation "
    "does this for the days a pull touched.",
)


def period_schedule(period: str, job: "UnresolvedAssetJobDefinition") -> dg.ScheduleDefinition:
    partitions_def = PARTITIONS_BY_PERIOD[period]

    @dg.schedule(
        name=f"{JOB_NAMES[period].removesuffix('_job')}_schedule",
        job=job,
        cron_schedule=SCHEDULE_CRONS[period],
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Nightly: the newest published {period} partition.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        if START_DATE_ERROR is not None:
            return dg.SkipReason(START_DATE_ERROR)
        key = latest_published_key(partitions_def, context.scheduled_execution_time)
        if key is None:
            return dg.SkipReason("no published partition yet")
        return dg.RunRequest(run_key=f"{period}:{key}", partition_key=key)

    return _schedule


jobs = {period: period_job(period) for period in JOB_NAMES}
schedules = [period_schedule(period, job) for period, job in jobs.items()]


snapshot_job = dg.define_asset_job(
    name="snapshot_job",
    selection=dg.AssetSelection.tag("period", "snapshot"),
    partitions_def=snapshot_partitions,
    description="Observe every snapshot vendor (no history) today. From the UI: Materialize, "
    "then add today's UTC date (YYYY-MM-DD) as a new partition.",
)


@dg.schedule(
    job=snapshot_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly: today's snapshot of the vendors that keep no history (adds today "
    "to the `snapshot_days` partitions first).",
)
def snapshot_schedule(context: dg.ScheduleEvaluationContext):
    if START_DATE_ERROR is not None:
        return dg.SkipReason(START_DATE_ERROR)
    key = snapshot_key(context.scheduled_execution_time)
    # A schedule cannot return dynamic partition requests (a sensor can): add the day here.
    add_snapshot_day(context.instance, key)
    return dg.RunRequest(run_key=f"snapshot:{key}", partition_key=key)


# TikTok Research: its own job because the nightly run is a partition RANGE, not one day.
# Counts keep growing after publication, so each night re-queries the last `lookback_days`
# (watchlist) publish days in one run; the assets are tagged without `period` so they stay
# out of `daily_job`, which asks for one day.
tiktok_research_job = dg.define_asset_job(
    name="tiktok_research_job",
    selection=dg.AssetSelection.groups("tiktok_research"),
    partitions_def=daily_partitions,
    description="Re-query the TikTok Research API for a range of publish days (replacing "
    "them with fresher counts); the models follow by automation.",
)


@dg.schedule(
    job=tiktok_research_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly: the newest published day and the `lookback_days` - 1 before it.",
)
def tiktok_research_schedule(context: dg.ScheduleEvaluationContext):
    if START_DATE_ERROR is not None:
        return dg.SkipReason(START_DATE_ERROR)
    newest = latest_published_key(daily_partitions, context.scheduled_execution_time)
    if newest is None:
        return dg.SkipReason("no published partition yet")
    lookback = load_watchlist().tiktok_research.lookback_days
    first = max(
        date.fromisoformat(newest) - timedelta(days=lookback - 1), daily_partitions.start.date()
    )
    return dg.RunRequest(
        run_key=f"tiktok_research:{newest}",
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": newest,
        },
    )
