"""Partitions for vendor data: day, week (keyed by its Monday), month (keyed by the 1st).

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
