"""EnsembleData ingest: one snapshot multi-asset (an asset per table) and its checks.

Every endpoint family (hashtag, keyword, creator, post, comment, follow, music) feeds the same
tables (one `videos` table keyed by `aweme_id`, one stats snapshot), and all of them share one
daily units budget, so they are one dlt source run: splitting the families into separate runs
would let two runs race for the same budget and write the same tables. The run's metadata
breaks requests and units down per endpoint, and rows per table.

The vendor keeps no history: the asset uses `snapshot_partitions` and refuses any day but
today (`require_current_snapshot`); tagged `period: snapshot`, it runs nightly in
`snapshot_job`. Checks run in the same step with SQL after the load, and before a run stopped
by the units budget fails: keys unique and not null in every table, the units budget
respected, today's statistics snapshot present, and a warning (`no_failed_requests`) when the
vendor refused a request of some watch entry (e.g. one creator's posts answered 404) while
the entry's other rows landed; the run's `failed_request_list` names each one. Every table
also has `schema_drift` (WARN, assets/drift.py): a field of the items it is built from that
the vendor stopped sending, added or retyped in this load, named with its partition.

A same-day re-run buys only the watch entries not loaded yet today (the source keeps them in
its dlt state), so a re-run after a budget stop completes the day without paying twice, and a
re-run of a complete day loads nothing and succeeds (`allow_empty`): `observed_today` is what
flags a day that truly got no statistics.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation as a type.
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster_dlt import DagsterDltResource, build_dlt_asset_specs

from pipelines.config import configured_source, spec_source
from pipelines.ensembledata import KEYS, TABLES, EnsembleDataReport, ensembledata_source

from .drift import drift_check_specs
from .ingest import (
    RawTableTranslator,
    existing_tables,
    key_check_results,
    key_check_specs,
    run_dlt_source,
    spec_pipeline,
    vendor_pool,
)
from .partitions import require_current_snapshot, snapshot_partitions
from .resources import WarehouseResource, WatchlistResource

DATASET = "raw_ensembledata"
GROUP = "ensembledata"
PIPELINE_NAME = "ensembledata_tiktok"
TAGS = {"vendor": "ensembledata", "period": "snapshot"}
STATS_TABLE = "video_stats"
FAILED_REQUESTS_CHECK = "no_failed_requests"
# Nightly at 03:00 UTC: warn after a missed night (plus two hours of slack), fail after two.
FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=50), warn_window=timedelta(hours=26)
)

_DESCRIPTIONS = {
    "videos": "EnsembleData TikTok posts (aweme objects), one row per aweme_id (the 19-digit "
    "TikTok id) with author and music ids; latest pull wins.",
    "video_stats": "Statistics snapshot per (aweme_id, observed_on): plays, likes, comments, "
    "shares, saves. A same-day re-pull replaces; the next day appends: view velocity.",
    "video_hashtags": "Hashtags of each post (`text_extra`), one row per (aweme_id, position); "
    "a post's newest list replaces its old one, an emptied list removes it (`deleted` is dlt's "
    "hard-delete marker, never set on a stored row).",
    "users": "TikTok accounts seen as authors, watched creators, commenters, followers.",
    "user_stats": "Creator info snapshot per (uid, observed_on): followers, followings, posts, "
    "likes, region, bio, verified.",
    "music": "Sounds used by the posts (posts without a music object have none).",
    "music_stats": "Watched sound snapshot per (music_id, observed_on): posts using it.",
    "comments": "Comments of the watched posts, one row per comment id.",
    "follows": "Followers / followings of watched creators; each day's pull replaces the list, "
    "an emptied (hidden) list removes it.",
    "search_hits": "Which watch entry (hashtag, keyword, creator, music) found which post, "
    "and where, per observation day.",
}


def _key(table: str) -> dg.AssetKey:
    return dg.AssetKey([DATASET, table])


def _asset_specs() -> list[dg.AssetSpec]:
    translator = RawTableTranslator(DATASET, GROUP, TAGS, "")
    specs = build_dlt_asset_specs(
        spec_source(ensembledata_source),
        spec_pipeline(PIPELINE_NAME, DATASET),
        translator,
    )
    return [
        s.replace_attributes(description=_DESCRIPTIONS[s.key.path[-1]], freshness_policy=FRESHNESS)
        for s in specs
    ]


PRIMARY_KEYS = {table: KEYS[table][0] for table in TABLES}


def _check_specs() -> list[dg.AssetCheckSpec]:
    specs = [*key_check_specs(DATASET, PRIMARY_KEYS), *drift_check_specs(DATASET, TABLES)]
    specs.append(
        dg.AssetCheckSpec(
            "budget_respected",
            asset=_key(STATS_TABLE),
            description="units used today (earlier runs + this run) stay within "
            "ensembledata.daily_units_budget",
        )
    )
    specs.append(
        dg.AssetCheckSpec(
            FAILED_REQUESTS_CHECK,
            asset=_key(STATS_TABLE),
            description="warns when the vendor refused a request of a watch entry (400 / 404 / "
            "422) while the entry's other rows landed: those rows are missing from this run",
        )
    )
    specs.append(
        dg.AssetCheckSpec(
            "observed_today",
            asset=_key(STATS_TABLE),
            description="the newest statistics snapshot is at most a day old",
        )
    )
    return specs


def _checks(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, report: EnsembleDataReport
) -> Iterator[dg.AssetCheckResult]:
    """Results of the selected checks, computed on the warehouse after the load."""
    selected = context.selected_asset_check_keys
    with warehouse.connect(read_only=True) as con:
        yield from key_check_results(con, DATASET, PRIMARY_KEYS, selected)
        newest = None
        if STATS_TABLE in existing_tables(con, DATASET):
            [(newest,)] = con.execute(
                f"select max(observed_on) from {DATASET}.{STATS_TABLE}"
            ).fetchall()
    used = report.units_used_before + report.units_spent
    budget = report.units_budget
    if dg.AssetCheckKey(_key(STATS_TABLE), "budget_respected") in selected:
        yield dg.AssetCheckResult(
            check_name="budget_respected",
            asset_key=_key(STATS_TABLE),
            passed=budget is None or used <= budget,
            metadata={
                "units_used_today": used,
                "units_spent_by_run": report.units_spent,
                "units_budget": budget if budget is not None else "none",
            },
        )
    if dg.AssetCheckKey(_key(STATS_TABLE), FAILED_REQUESTS_CHECK) in selected:
        yield _failed_requests(report)
    today = datetime.now(UTC).date()
    if dg.AssetCheckKey(_key(STATS_TABLE), "observed_today") in selected:
        yield dg.AssetCheckResult(
            check_name="observed_today",
            asset_key=_key(STATS_TABLE),
            passed=newest is not None and today - newest <= timedelta(days=1),
            metadata={"newest_observation": str(newest), "today": str(today)},
        )


def _failed_requests(report: EnsembleDataReport) -> dg.AssetCheckResult:
    """`no_failed_requests`: a WARN listing every refused request (messages are redacted)."""
    failed = report.failed_requests
    table = "\n".join(
        [
            "| entry | endpoint | status | message |",
            "|---|---|---|---|",
            *(
                f"| {f.entry} | {f.endpoint} | {f.status} | {f.message.replace('|', '/')} |"
                for f in failed
            ),
        ]
    )
    return dg.AssetCheckResult(
        check_name=FAILED_REQUESTS_CHECK,
        asset_key=_key(STATS_TABLE),
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(failed)} request(s) refused; the rest of their entries landed"
        if failed
        else "every request answered",
        metadata={
            "failed_requests": len(failed),
            "failed_request_list": dg.MetadataValue.md(table) if failed else "none",
        },
    )


@dg.multi_asset(
    name=PIPELINE_NAME,
    specs=_asset_specs(),
    check_specs=_check_specs(),
    partitions_def=snapshot_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=vendor_pool("ensembledata"),
)
def ensembledata_tiktok(
    context: dg.AssetExecutionContext,
    dlt: DagsterDltResource,
    warehouse: WarehouseResource,
    watchlist: WatchlistResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Today's snapshot of the watchlist's EnsembleData section; a past day fails first."""
    day = require_current_snapshot(context)
    watch = watchlist.load().ensembledata
    report = EnsembleDataReport()
    source = configured_source(ensembledata_source, watch=watch, observed_on=day, report=report)
    pipeline = warehouse.dlt_pipeline(PIPELINE_NAME, DATASET)
    yield from run_dlt_source(
        context,
        dlt,
        source,
        pipeline,
        report,
        checks=lambda: _checks(context, warehouse, report),
        allow_empty=True,  # every entry loaded earlier today is an answer; see the docstring
    )


ensembledata_assets = [ensembledata_tiktok]
