"""Schema drift through real Dagster runs of the Trendtrack snapshot multi-asset over real HTTP.

A field the vendor stopped sending keeps its stored values (and an item that stopped
carrying its hashtag list keeps its hashtag rows); every drift (missing, added, retyped) is
named in the run's metadata and warned by the `schema_drift` check of each table it lands in.
"""

from __future__ import annotations

import copy

import dagster as dg
import pytest

from assets.resources import WatchlistResource
from assets.trendtrack import trendtrack_library
from pipelines.report import RunReport
from pipelines.trendtrack import PAGE_PARTS, TABLES, Harvest, TrendtrackWatch, seed_drift
from tests.conftest import count, drift_of, materialize, named, rows, today
from tests.pipelines.test_trendtrack import OBSERVED, SEED_ITEM, parse

TABLE = "raw_trendtrack.library_items"
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


def run(warehouse, watchlist) -> dg.ExecuteInProcessResult:
    return materialize([trendtrack_library], warehouse, watchlist, partition_key=today())


def test_the_seed_example_has_no_drift_and_each_table_names_its_own_fields():
    page = {"requestId": "r", "data": [], "pagination": {"page": 1, "limit": 25, "total": 0}}
    assert seed_drift([SEED_ITEM], "2026-03-02", "r") == set()
    item = copy.deepcopy(SEED_ITEM)
    del item["metrics"]["views"], item["content"]["hashtags"], item["shop"]
    item["profile"]["verified"] = True
    found = {(d.table, d.field, d.kind, d.column, d.where) for d in seed_drift([item], "day", "r")}
    assert found == {
        ("library_items", "metrics.views", "missing", "views", (("request_id", "r"),)),
        ("library_item_metrics", "metrics.views", "missing", "views", (("request_id", "r"),)),
        ("library_item_hashtags", "content.hashtags", "missing", "content.hashtags", ()),
        ("profiles", "profile.verified", "added", "profile.verified", ()),
    }, "an item without a shop (organic) is not drift"
    (lost,) = seed_drift([page], "day", "r", PAGE_PARTS)
    assert (lost.table, lost.field, lost.kind) == (
        "library_search_hits",
        "pagination.totalPages",
        "missing",
    )


def test_an_item_without_its_hashtag_list_keeps_its_hashtag_rows():
    item = copy.deepcopy(SEED_ITEM)
    del item["content"]["hashtags"]
    parsed = parse(item)
    assert parsed.hashtags is None and len(parsed.media) == 2
    harvest = Harvest(TrendtrackWatch(), OBSERVED[0], OBSERVED[1], None, RunReport(), _done=True)
    harvest._add(parsed)
    assert harvest.rows("library_item_hashtags") == []
    assert harvest.tombstone_rows("library_item_hashtags") == [], "no tombstone deletes them"
    assert len(harvest.rows("library_item_media")) == 2


def test_repull_without_a_field_keeps_stored_values_and_warns(frozen, warehouse, tt_watchlist):
    clean = run(warehouse, tt_watchlist)
    assert clean.success
    drifted, checks = drift_of(clean)
    assert drifted == [] and set(checks) == set(TABLES), "a clean load passes every check"
    assert all(c.passed and c.severity == dg.AssetCheckSeverity.WARN for c in checks.values())
    published = f"select id, published_at from {TABLE} order by all"
    stored = rows(warehouse, published)
    assert 50 < len(stored) <= 100 and all(at is not None for _, at in stored)
    first_load = rows(warehouse, f"select distinct _dlt_load_id from {TABLE}")

    frozen.set_faults("trendtrack", drift="missing_field")
    result = run(warehouse, tt_watchlist)
    assert result.success
    assert rows(warehouse, published) == stored, "every stored published_at is intact"
    loads = rows(warehouse, f"select distinct _dlt_load_id from {TABLE}")
    assert len(loads) == 1 and loads != first_load, "the items were re-pulled, not skipped"
    drifted, checks = drift_of(result)
    assert named(drifted) == {("trendtrack", "library_items", "publishedAt", "missing", today())}
    assert not checks["library_items"].passed
    assert "publishedAt" in checks["library_items"].metadata["drift"].value
    assert [t for t, c in checks.items() if not c.passed] == ["library_items"]
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["schema_drift_restored"].value == {"library_items.published_at": len(stored)}


def test_added_field_is_named_and_not_stored(frozen, warehouse, tt_watchlist):
    frozen.set_faults("trendtrack", drift="added_field")
    result = run(warehouse, tt_watchlist)
    assert result.success
    assert count(warehouse, f"select count(*) from {TABLE}") > 50
    columns = (
        "select count(*) from information_schema.columns where table_schema = 'raw_trendtrack'"
    )
    assert count(warehouse, f"{columns} and column_name = 'new_vendor_field'") == 0
    drifted, checks = drift_of(result)
    assert named(drifted) == {("trendtrack", "library_items", "new_vendor_field", "added", today())}
    assert [t for t, c in checks.items() if not c.passed] == ["library_items"]


def test_unreadable_retype_fails_the_run_naming_the_field_and_warns(
    frozen, warehouse, tt_watchlist
):
    frozen.set_faults("trendtrack", drift="type_change")
    result = run(warehouse, tt_watchlist)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "'daysRunning'" in failure.step_failure_data.error.message
    drifted, checks = drift_of(result)
    assert named(drifted) == {
        ("trendtrack", table, "daysRunning", "type_change", today())
        for table in ("library_items", "library_item_metrics")
    }
    assert {t for t, c in checks.items() if not c.passed} == {
        "library_items",
        "library_item_metrics",
    }
    assert checks["library_items"].severity == dg.AssetCheckSeverity.WARN
