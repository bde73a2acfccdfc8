"""Partitions for vendor data: day, week (keyed by its Monday), month (keyed by the 1st),
and snapshot days for vendors that keep no history.

Day boundaries are UTC. The first partition is `PARTITIONS_START_DATE` (default
2025-01-01); backfills launched from the UI pick ranges of these keys.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import dagster as dg

DEFAULT_START_DATE = "2025-01-01"
PUBLICATION_LAG = timedelta(days=1)


def _start_date() -> str:
    return os.environ.get("PARTITIONS_START_DATE", DEFAULT_START_DATE)


daily_partitions = dg.DailyPartitionsDefinition(start_date=_start_date(), timezone="UTC")
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=_start_date(), day_offset=1, timezone="UTC"
)
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=_start_date(), timezone="UTC")

# Vendors with no history (Influtics, Trendtrack, EnsembleData) are observed, not
# backfilled: one partition per UTC observation day, today's included (end_offset=1).
snapshot_partitions = dg.DailyPartitionsDefinition(
    start_date=_start_date(), end_offset=1, timezone="UTC"
)

PARTITIONS_BY_PERIOD: dict[str, dg.TimeWindowPartitionsDefinition] = {
    "day": daily_partitions,
    "week": weekly_partitions,
    "month": monthly_partitions,
}


def partition_dates(keys: list[str]) -> list[date]:
    """Period starts of a run's partition keys (a single-run backfill holds many)."""
    return sorted(date.fromisoformat(key) for key in keys)


def latest_published_key(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    at: datetime,
    lag: timedelta = PUBLICATION_LAG,
) -> str | None:
    """The newest partition whose period ended at least `lag` before `at`.

    Vendors publish a period's ranking about a day after it closes, so at 03:00 UTC
    on the 23rd the newest daily list to ask for is the 21st's.
    """
    moment = (at if at.tzinfo else at.replace(tzinfo=UTC)) - lag
    current = partitions_def.get_partition_key_for_timestamp(moment.timestamp())
    open_window = partitions_def.time_window_for_partition_key(current)
    last_closed = open_window.start - timedelta(seconds=1)
    if last_closed < partitions_def.start:
        return None
    return partitions_def.get_partition_key_for_timestamp(last_closed.timestamp())


def require_current_snapshot(
    context: dg.AssetExecutionContext, now: datetime | None = None
) -> date:
    """The observation day of a snapshot run; any other partition fails, saying why.

    A snapshot vendor only knows the present: loading today's data under a past key would
    be a lie the warehouse could never correct.
    """
    today = (now or datetime.now(UTC)).date()
    keys = partition_dates(context.partition_keys)
    if keys != [today]:
        raise dg.Failure(
            description=f"this vendor keeps no history: only today's partition ({today}) can "
            f"be materialized, not {', '.join(k.isoformat() for k in keys)}; "
            "snapshot assets cannot be backfilled into the past"
        )
    return today
