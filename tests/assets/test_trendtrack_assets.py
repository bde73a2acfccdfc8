"""Trendtrack snapshot assets through real Dagster materializations against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assets.resources import WatchlistResource
from assets.trendtrack import trendtrack_checks, trendtrack_library
from pipelines.trendtrack import TABLES
from tests.conftest import count, lake_bytes, materialize, today

ASSETS = [trendtrack_library, trendtrack_checks]
WATCHLIST = """
trendtrack:
  limit: 50
  queries:
    - name: skincare
      search: [skincare]
      search_area: hashtag
      max_pages: 2
"""


@pytest.fixture
def tt_watchlist(tmp_path) -> WatchlistResource:
    path = tmp_path / "watchlist.yaml"
    path.write_text(WATCHLIST)
    return WatchlistResource(path=str(path))


def test_one_asset_per_table_grouped_tagged_and_pooled():
    specs = {spec.key.path[1]: spec for spec in trendtrack_library.specs}
    assert set(specs) == set(TABLES)
    for spec in specs.values():
        assert spec.key.path[0] == "raw_trendtrack" and spec.group_name == "trendtrack"
        assert spec.tags["vendor"] == "trendtrack" and spec.tags["period"] == "snapshot"
        assert not list(spec.deps)
    assert trendtrack_library.op.pool == "vendor_trendtrack"


def test_todays_partition_loads_and_every_check_passes(
    sim, warehouse, tt_watchlist, dagster_home, caplog
):
    result = materialize(ASSETS, warehouse, tt_watchlist, dagster_home, partition_key=today())
    assert result.success
    items = count(warehouse, "select count(*) from raw_trendtrack.library_items")
    assert 0 < items <= 100
    mats = {
        e.asset_key.path[1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert mats["library_items"]["requests"].value == 2
    assert mats["library_items"]["credits_spent"].value == 2
    assert mats["library_item_metrics"]["rows_fetched"].value > items
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 3 * len(TABLES) + 1  # keys, schema drift, freshness
    assert all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]
    key = sim.api_keys["trendtrack"]
    records = dagster_home.get_records_for_run(result.run_id).records
    assert records and all(key not in str(r.event_log_entry) for r in records)
    assert key not in caplog.text
    assert key.encode() not in lake_bytes(warehouse)


def test_a_past_partition_is_refused_before_any_request(sim, warehouse, tt_watchlist):
    before = sim.stats("trendtrack")["total"]
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    result = materialize(ASSETS, warehouse, tt_watchlist, partition_key=yesterday)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    text = str(failure.event_specific_data.error)
    assert "keeps no history" in text and "cannot be backfilled into the past" in text
    assert sim.stats("trendtrack")["total"] == before


def test_invalid_enum_in_the_watchlist_fails_naming_the_key(sim, warehouse, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(WATCHLIST.replace("search_area: hashtag", "search_area: bio"))
    before = sim.stats("trendtrack")["total"]
    result = materialize(ASSETS, warehouse, WatchlistResource(path=str(bad)), partition_key=today())
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "trendtrack.queries.0.search_area" in str(failure.event_specific_data.error)
    assert sim.stats("trendtrack")["total"] == before
