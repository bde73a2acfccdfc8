"""Lake upkeep as an asset on a schedule, with DuckLake's own maintenance functions.

Every load adds small Parquet files and a snapshot. Weekly, `lake_maintenance` merges
adjacent small files, expires snapshots older than the time-travel window
(`WAREHOUSE_TIME_TRAVEL_DAYS`, default 30: queries `at (timestamp => ...)` reach that far
back), then deletes the files no snapshot references any more. It runs beside loads: DuckLake
commits are isolated, and a lost commit race is retried.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation as a type.
import os
from collections.abc import Mapping
from typing import Any

import dagster as dg

from pipelines.errors import ConfigError

from .resources import WarehouseResource

DEFAULT_TIME_TRAVEL_DAYS = 30
# A file younger than this may belong to a load still committing: never call it orphaned.
ORPHAN_GRACE_HOURS = 24


def time_travel_days(env: Mapping[str, str] = os.environ) -> int:
    raw = env.get("WAREHOUSE_TIME_TRAVEL_DAYS", str(DEFAULT_TIME_TRAVEL_DAYS))
    try:
        days = int(raw)
    except ValueError:
        days = -1
    if days < 1:
        raise ConfigError(
            f"WAREHOUSE_TIME_TRAVEL_DAYS={raw!r} must be a whole number of days >= 1 "
            f"(default {DEFAULT_TIME_TRAVEL_DAYS}): how far back time travel reaches"
        )
    return days


@dg.asset(
    key=dg.AssetKey(["ops", "lake_maintenance"]),
    group_name="ops",
    kinds={"ducklake"},
    description="Compacts small files, expires snapshots past the time-travel window and "
    "deletes unreferenced files (DuckLake's maintenance functions).",
    retry_policy=dg.RetryPolicy(max_retries=3, delay=30),
)
def lake_maintenance(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    days = time_travel_days()
    with warehouse.connect() as con:
        lake = "lake"

        def count(sql: str) -> int:
            return len(con.execute(sql).fetchall())

        before = con.execute(f"select count(*) from ducklake_snapshots('{lake}')").fetchone()[0]
        flushed = count(f"select * from ducklake_flush_inlined_data('{lake}')")
        merged = count(f"select * from ducklake_merge_adjacent_files('{lake}')")
        expired = count(
            f"select * from ducklake_expire_snapshots('{lake}', "
            f"older_than => now() - interval {days} day)"
        )
        removed = count(
            f"select * from ducklake_cleanup_old_files('{lake}', "
            f"older_than => now() - interval {days} day)"
        )
        orphans = count(
            f"select * from ducklake_delete_orphaned_files('{lake}', "
            f"older_than => now() - interval {ORPHAN_GRACE_HOURS} hour)"
        )
        after = con.execute(f"select count(*) from ducklake_snapshots('{lake}')").fetchone()[0]
    metadata: dict[str, Any] = {
        "time_travel_days": days,
        "snapshots_before": before,
        "snapshots_after": after,
        "inlined_tables_flushed": flushed,
        "file_merges": merged,
        "snapshots_expired": expired,
        "old_files_deleted": removed,
        "orphaned_files_deleted": orphans,
    }
    context.log.info(f"lake maintenance: {metadata}")
    return dg.MaterializeResult(metadata=metadata)


maintenance_job = dg.define_asset_job(
    name="lake_maintenance_job",
    selection=dg.AssetSelection.assets(lake_maintenance),
    description="Compact, expire and clean the lake (weekly).",
)

maintenance_schedule = dg.ScheduleDefinition(
    name="lake_maintenance_schedule",
    job=maintenance_job,
    cron_schedule="0 5 * * 0",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sundays 05:00 UTC, after the nightly loads.",
)
