"""Partitions for vendor data: day, week (keyed by its Monday), month (keyed by the 1st),
and snapshot days for vendors that keep no history.

Day boundaries are UTC. The first partition is `PARTITIONS_START_DATE` (default
2025-01-01); backfills launched from the UI pick ranges of these keys. A period is
published `PUBLICATION_LAG` after it ends (`published_at`): a day D on D+2 00:00, a week
on the Tuesday after it, a month on the 2nd of the next. Days offer only published keys
(`end_offset=-1`). Dagster's offsets count whole periods, so a week or a month cannot lag
one day: -1 would hide a published week six days out of seven. Their newest key shows a
day early, and a run of it is refused before any request (`require_published`).
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

import dagster as dg

DEFAULT_START_DATE = "2025-01-01"
START_DATE_SETTING = "PARTITIONS_START_DATE"
PUBLICATION_LAG = timedelta(days=1)


def _start_date() -> tuple[str, str | None]:
    """`PARTITIONS_START_DATE`, or the default and why the setting was refused.

    A bad value must not break the import of the definitions (every vendor would vanish
    from Dagster with it), so the partitions fall back to the default and every ingest run
    fails at its start, naming the setting, until it is fixed (`require_valid_start_date`);
    the schedules skip their ticks with the same message.
    """
    value = os.environ.get(START_DATE_SETTING, "").strip()
    if not value:
        return DEFAULT_START_DATE, None
    try:
        datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return DEFAULT_START_DATE, (
            f"{START_DATE_SETTING}={value!r} is not a date as YYYY-MM-DD (e.g. "
            f"{DEFAULT_START_DATE}); the partitions fell back to {DEFAULT_START_DATE} and no "
            f"ingest run starts until {START_DATE_SETTING} is fixed or unset, and the code "
            "location reloaded"
        )
    return value, None


START_DATE, START_DATE_ERROR = _start_date()

# end_offset=-1: at any moment the newest day offered is the newest published (D on D+2).
daily_partitions = dg.DailyPartitionsDefinition(
    start_date=START_DATE, end_offset=-1, timezone="UTC"
)
weekly_partitions = dg.WeeklyPartitionsDefinition(
    start_date=START_DATE, day_offset=1, timezone="UTC"
)
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=START_DATE, timezone="UTC")

# Vendors with no history (Influtics, Trendtrack, EnsembleData) are observed, not
# backfilled: one key per UTC day actually observed, added by whatever launches the run
# (`snapshot_request`), so the UI never lists hundreds of days that can only be missing.
SNAPSHOT_PARTITIONS_NAME = "snapshot_days"
snapshot_partitions = dg.DynamicPartitionsDefinition(name=SNAPSHOT_PARTITIONS_NAME)

PARTITIONS_BY_PERIOD: dict[str, dg.TimeWindowPartitionsDefinition] = {
    "day": daily_partitions,
    "week": weekly_partitions,
    "month": monthly_partitions,
}


def partition_dates(keys: list[str]) -> list[date]:
    """Period starts of a run's partition keys (a single-run backfill holds many)."""
    return sorted(date.fromisoformat(key) for key in keys)


def published_at(
    partitions_def: dg.TimeWindowPartitionsDefinition, key: str, lag: timedelta = PUBLICATION_LAG
) -> datetime:
    """When the vendor publishes partition `key`: `lag` after its period ends."""
    return partitions_def.time_window_for_partition_key(key).end + lag


def latest_published_key(
    partitions_def: dg.TimeWindowPartitionsDefinition,
    at: datetime,
    lag: timedelta = PUBLICATION_LAG,
) -> str | None:
    """The newest partition whose period ended at least `lag` before `at`.

    Vendors publish a period's ranking about a day after it closes, so at 03:00 UTC
    on the 23rd the newest daily list to ask for is the 21st's (`published_at` <= `at`).
    """
    moment = (at if at.tzinfo else at.replace(tzinfo=UTC)) - lag
    current = partitions_def.get_partition_key_for_timestamp(moment.timestamp())
    open_window = partitions_def.time_window_for_partition_key(current)
    last_closed = open_window.start - timedelta(seconds=1)
    if last_closed < partitions_def.start:
        return None
    return partitions_def.get_partition_key_for_timestamp(last_closed.timestamp())


def require_valid_start_date() -> None:
    """Fail the run when `PARTITIONS_START_DATE` was refused at import (see `_start_date`)."""
    if START_DATE_ERROR is not None:
        raise dg.Failure(description=START_DATE_ERROR)


def utc_now() -> datetime:
    """The moment publication is judged at (a test stands it on a publication boundary)."""
    return datetime.now(UTC)


def require_published(
    context: dg.AssetExecutionContext,
    partitions_def: dg.TimeWindowPartitionsDefinition,
    vendor: str,
    now: datetime | None = None,
) -> list[date]:
    """The period starts of a run whose every partition is published; else fail, saying which.

    An unpublished period is an empty answer at best: refusing it before any request
    saves the vendor's credits and says when to come back instead of "no rows".
    """
    require_valid_start_date()
    moment = now or utc_now()
    early = [
        (key, when)
        for key in context.partition_keys
        if (when := published_at(partitions_def, key)) > moment
    ]
    if early:
        (first, when), rest = early[0], len(early) - 1
        others = f" (and {rest} later partition(s) of this run)" if rest else ""
        raise dg.Failure(
            description=f"{vendor} partition {first}{others} is not published yet: the vendor "
            f"publishes it at {when:%Y-%m-%d %H:%M} UTC, {PUBLICATION_LAG.days} day after the "
            "period ends. Nothing was requested; run it after that (the nightly schedule picks "
            "it up on its own), or pick partitions up to "
            f"{latest_published_key(partitions_def, moment) or 'none yet'}.",
            metadata={"unpublished_partitions": ", ".join(key for key, _ in early)},
        )
    return partition_dates(context.partition_keys)


def snapshot_key(now: datetime | None = None) -> str:
    """Today's (UTC) snapshot partition key: the only one a snapshot run may load."""
    return (now or datetime.now(UTC)).date().isoformat()


def add_snapshot_day(instance: dg.DagsterInstance, key: str) -> None:
    """Register the observation day `key` (idempotent), for launches outside a schedule."""
    if not instance.has_dynamic_partition(SNAPSHOT_PARTITIONS_NAME, key):
        instance.add_dynamic_partitions(SNAPSHOT_PARTITIONS_NAME, [key])


def require_current_snapshot(
    context: dg.AssetExecutionContext, now: datetime | None = None
) -> date:
    """The observation day of a snapshot run; any other partition fails, saying why.

    A snapshot vendor only knows the present: loading today's data under a past key would
    be a lie the warehouse could never correct.
    """
    require_valid_start_date()
    today = (now or datetime.now(UTC)).date()
    keys = partition_dates(context.partition_keys)
    if keys != [today]:
        raise dg.Failure(
            description=f"this vendor keeps no history: only today's partition ({today}) can "
            f"be materialized, not {', '.join(k.isoformat() for k in keys)}; "
            "snapshot assets cannot be backfilled into the past"
        )
    return today
