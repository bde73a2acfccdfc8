"""Models follow their inputs: the automation the daemon evaluates, on a real instance.

KeyAPI days are pulled from the simulator into a temporary lake through a real Dagster instance
(a temporary DAGSTER_HOME with the repo's dagster.yaml), as a UI backfill would; then the
automation conditions are evaluated as the daemon's sensor does. It must request exactly the
backfilled days of every day-partitioned fact, and the models rebuilt whole, nothing more.
"""

from __future__ import annotations

import dagster as dg

from assets.definitions import defs, models_automation
from assets.keyapi import keyapi_assets
from assets.warehouse import model_assets
from tests.conftest import count, materialize

DAYS = ["2026-11-20", "2026-11-21", "2026-11-22"]
RANKING = dg.AssetKey(["raw_keyapi", "video_rankings_daily"])


def _facts() -> set[dg.AssetKey]:
    return {key for a in model_assets if a.partitions_def is not None for key in a.keys}


def _requested(result: dg.EvaluateAutomationConditionsResult) -> dict[dg.AssetKey, set[str]]:
    return {
        key: set(subset.expensively_compute_partition_keys() or ()) if key in _facts() else {"*"}
        for key, subset in (
            (r.key, r.true_subset) for r in result.results if r.true_subset.size > 0
        )
    }


def test_a_backfill_of_three_days_requests_exactly_those_fact_days(
    sim, warehouse, watchlist, dagster_home: dg.DagsterInstance
) -> None:
    day_ranking = next(a for a in keyapi_assets if RANKING in a.keys)
    idle = dg.evaluate_automation_conditions(defs=defs, instance=dagster_home)
    assert idle.total_requested == 0  # nothing updated: nothing to build

    pulled = materialize(
        [day_ranking],
        warehouse,
        watchlist,
        instance=dagster_home,
        tags={
            "dagster/asset_partition_range_start": DAYS[0],
            "dagster/asset_partition_range_end": DAYS[-1],
        },
    )
    assert pulled.success
    assert (
        count(warehouse, "select count(distinct ranking_date) from raw_keyapi.video_rankings_daily")
        == 3
    )

    after = dg.evaluate_automation_conditions(defs=defs, instance=dagster_home, cursor=idle.cursor)
    requested = _requested(after)

    facts = {key: days for key, days in requested.items() if key in _facts()}
    assert facts == {key: set(DAYS) for key in _facts()}
    # every model downstream of the ranking is rebuilt; none that it does not feed
    graph = defs.resolve_asset_graph()
    feeds: set[dg.AssetKey] = set()
    frontier = set(graph.get(RANKING).child_keys)
    while frontier:
        key = frontier.pop()
        feeds.add(key)
        frontier |= set(graph.get(key).child_keys) - feeds
    assert set(requested) == feeds
    assert dg.AssetKey(["staging", "stg_tiktok_research__videos"]) not in requested

    again = dg.evaluate_automation_conditions(defs=defs, instance=dagster_home, cursor=after.cursor)
    assert again.total_requested == 0  # handled once, not on every tick


def test_the_automation_sensor_is_on_by_default_and_targets_every_model() -> None:
    assert models_automation.default_status == dg.DefaultSensorStatus.RUNNING
    targeted = models_automation.asset_selection.resolve(defs.resolve_asset_graph())
    assert targeted == {key for a in model_assets for key in a.keys}
    assert models_automation.emit_backfills
