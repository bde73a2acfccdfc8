"""Influtics ingest assets: tracked videos, their stats points and the quarantine.

One crawl of `GET /v1/videos/stats` feeds three tables in `raw_influtics`, so they are one
multi-asset (one dlt pipeline, one run, pool `vendor_influtics`). Influtics keeps no history:
the asset is partitioned by observation day (`snapshot_partitions`), runs nightly in
`snapshot_job`, and refuses any partition but today's. Its checks run in the same step,
with SQL against the warehouse after the load (and before a vendor-stopped run fails):
unique keys, not-null ids, a warning when the load quarantined stats entries, a
`schema_drift` warning on each table whose vendor fields differ from the seed, and
`observed_today` (the newest snapshot is today's); a freshness policy warns when a night
was missed altogether.
"""

from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
from dagster_dlt import DagsterDltResource, build_dlt_asset_specs

from pipelines.config import configured_source, spec_source
from pipelines.influtics import (
    POINTS_TABLE,
    QUARANTINE_TABLE,
    VIDEOS_TABLE,
    InfluticsReport,
    influtics_source,
)

from .drift import drift_check_specs
from .ingest import RawTableTranslator, existing_tables, run_dlt_source, spec_pipeline, vendor_pool
from .partitions import require_current_snapshot, snapshot_partitions
from .resources import WarehouseResource, WatchlistResource

DATASET = "raw_influtics"
PIPELINE_NAME = "influtics_video_stats"
TAGS = {"vendor": "influtics", "period": "snapshot"}
# Nightly at 03:00 UTC: warn after a missed night (plus two hours of slack), fail after two.
# A FreshnessPolicy, not `build_last_update_freshness_checks` (superseded in Dagster 1.13):
# the daemon evaluates it without a sensor.
FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=50), warn_window=timedelta(hours=26)
)
KEYS = {table: dg.AssetKey([DATASET, table]) for table in (VIDEOS_TABLE, POINTS_TABLE)}
KEYS[QUARANTINE_TABLE] = dg.AssetKey([DATASET, QUARANTINE_TABLE])

_DESCRIPTIONS = {
    VIDEOS_TABLE: "Influtics tracked videos: one row per video with its latest totals, "
    "engagement rate, CPM and timestamps (external_video_id = the vendor's id as text on "
    "every platform; tiktok_video_id = the TikTok id as BIGINT).",
    POINTS_TABLE: "Influtics stats history in long form: one row per "
    "(video_id, metric, observed_at); overlapping pulls merge, never duplicate.",
    QUARANTINE_TABLE: "Influtics stats entries that could not be typed (impossible dates, "
    "non-numeric values), with the raw text, the reason and the load that saw them last.",
}

# (check name, table, SQL counting offending rows, description)
_SQL_CHECKS: tuple[tuple[str, str, str, str], ...] = (
    (
        "unique_video_id",
        VIDEOS_TABLE,
        "select count(*) from (select video_id from {t} group by 1 having count(*) > 1)",
        "Each tracked video has one row.",
    ),
    (
        "not_null_ids",
        VIDEOS_TABLE,
        "select count(*) from {t} where video_id is null "
        "or (platform = 'TikTok' and tiktok_video_id is null)",
        "Every row has the vendor's UUID and, for TikTok, a 64-bit TikTok video id.",
    ),
    (
        "unique_point_key",
        POINTS_TABLE,
        "select count(*) from (select video_id, metric, observed_at from {t} "
        "group by all having count(*) > 1)",
        "One value per (video_id, metric, observed_at): re-pulls merge.",
    ),
    (
        "not_null_ids",
        POINTS_TABLE,
        "select count(*) from {t} where video_id is null or metric is null or observed_at is null",
        "Every point names its video, metric and instant.",
    ),
)
QUARANTINE_CHECK = "no_quarantined_entries"
FRESH_CHECK = "observed_today"


def _check_specs() -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(name, asset=KEYS[table], description=description)
        for name, table, _, description in _SQL_CHECKS
    ]
    specs.append(
        dg.AssetCheckSpec(
            QUARANTINE_CHECK,
            asset=KEYS[QUARANTINE_TABLE],
            description="Warns when this load set stats entries aside (bad timestamps or "
            "values); the rows are in raw_influtics.stats_quarantine with their reason.",
        )
    )
    specs.append(
        dg.AssetCheckSpec(
            FRESH_CHECK,
            asset=KEYS[VIDEOS_TABLE],
            description="The newest snapshot in raw_influtics.video_stats is today's (UTC): "
            "fails when a run did not land it (the vendor refused the key, an error mid-crawl); "
            "metadata shows when Influtics itself last updated any stats.",
        )
    )
    return [*specs, *drift_check_specs(DATASET, KEYS)]


def _asset_specs() -> list[dg.AssetSpec]:
    translator = RawTableTranslator(DATASET, "influtics", TAGS, "")
    specs = build_dlt_asset_specs(
        spec_source(influtics_source),
        spec_pipeline(PIPELINE_NAME, DATASET),
        translator,
    )
    return [
        s.replace_attributes(description=_DESCRIPTIONS[s.key.path[-1]], freshness_policy=FRESHNESS)
        for s in specs
    ]


def _checks(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    load_ids: list[str],
    today: date,
) -> Iterator[dg.AssetCheckResult]:
    """Check results for the selected checks, computed on the warehouse after the load."""
    selected = context.selected_asset_check_keys
    with warehouse.connect() as con:
        if dg.AssetCheckKey(KEYS[VIDEOS_TABLE], FRESH_CHECK) in selected:
            yield _freshness(con, today)
        for name, table, sql, _ in _SQL_CHECKS:
            if dg.AssetCheckKey(KEYS[table], name) not in selected:
                continue
            bad = 0
            if table in existing_tables(con, DATASET):
                bad = con.execute(sql.format(t=f"{DATASET}.{table}")).fetchall()[0][0]
            yield dg.AssetCheckResult(
                check_name=name,
                asset_key=KEYS[table],
                passed=bad == 0,
                metadata={"offending_rows": bad},
            )
        if dg.AssetCheckKey(KEYS[QUARANTINE_TABLE], QUARANTINE_CHECK) not in selected:
            return
        reasons: list[tuple[str, int]] = []
        if QUARANTINE_TABLE in existing_tables(con, DATASET) and load_ids:
            marks = ", ".join("?" for _ in load_ids)
            reasons = con.execute(
                f"select reason, count(*) from {DATASET}.{QUARANTINE_TABLE} "
                f"where _dlt_load_id in ({marks}) group by 1 order by 2 desc, 1",
                load_ids,
            ).fetchall()
        total = sum(n for _, n in reasons)
        yield dg.AssetCheckResult(
            check_name=QUARANTINE_CHECK,
            asset_key=KEYS[QUARANTINE_TABLE],
            passed=total == 0,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{total} stats entries quarantined by this load"
            if total
            else "nothing quarantined",
            metadata={
                "quarantined": total,
                "reasons": ", ".join(f"{reason}: {n}" for reason, n in reasons) or "none",
            },
        )


def _freshness(con, today: date) -> dg.AssetCheckResult:  # type: ignore[no-untyped-def]
    """`observed_today`: today's snapshot landed; the vendor's own last update as context."""
    newest = vendor_update = None
    if VIDEOS_TABLE in existing_tables(con, DATASET):
        newest, vendor_update = con.execute(
            f"select max(observed_on), max(stats_last_updated) from {DATASET}.{VIDEOS_TABLE}"
        ).fetchall()[0]
    passed = newest == today
    return dg.AssetCheckResult(
        check_name=FRESH_CHECK,
        asset_key=KEYS[VIDEOS_TABLE],
        passed=passed,
        description=f"today's ({today}) snapshot is loaded"
        if passed
        else f"the newest snapshot is from {newest or 'no day at all'}, not today ({today}); "
        "re-run today's partition of snapshot_job",
        metadata={
            "newest_observation": str(newest),
            "today": str(today),
            "days_behind": (today - newest).days if newest is not None else -1,
            "newest_vendor_stats_update": str(vendor_update),
        },
    )


@dg.multi_asset(
    name=PIPELINE_NAME,
    specs=_asset_specs(),
    check_specs=_check_specs(),
    partitions_def=snapshot_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=True,
    pool=vendor_pool("influtics"),
)
def influtics_video_stats(
    context: dg.AssetExecutionContext,
    dlt: DagsterDltResource,
    warehouse: WarehouseResource,
    watchlist: WatchlistResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Today's snapshot of every tracked video; a past partition fails before any request."""
    day = require_current_snapshot(context)
    watch = watchlist.load().influtics
    report = InfluticsReport()
    source = configured_source(
        influtics_source,
        observed_on=day,
        platform=watch.platform,
        status=watch.status,
        page_size=watch.page_size,
        report=report,
    )
    pipeline = warehouse.dlt_pipeline(PIPELINE_NAME, DATASET)

    def checks() -> Iterator[dg.AssetCheckResult]:
        load_info = pipeline.last_trace.last_load_info if pipeline.last_trace else None
        return _checks(context, warehouse, list(load_info.loads_ids) if load_info else [], day)

    yield from run_dlt_source(context, dlt, source, pipeline, report, checks=checks)


influtics_assets = [influtics_video_stats]
