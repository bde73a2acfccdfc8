"""Schema drift through real Dagster runs of the Influtics snapshot asset over real HTTP.

A field the vendor stopped sending keeps its stored values; every drift (missing, added,
retyped) is named in the run's metadata and warned by the `schema_drift` check of the
table it lands in.
"""

from __future__ import annotations

import copy

import dagster as dg
import pytest

from assets.influtics import influtics_video_stats
from assets.resources import WatchlistResource
from pipelines.influtics import seed_drift
from tests.conftest import count, drift_of, materialize, named, rows, today

TABLE = "raw_influtics.video_stats"
TABLES = ("video_stats", "stats_points", "stats_quarantine")
# The seed's first example item (003_17c5e2e6fb64804c.txt), stats shortened to one point.
SEED_ITEM = {
    "video_id": "77168374-dd2c-496a-b1ae-3d4944f48ccb",
    "external_video_id": "7489443966908189959",
    "stats": {
        metric: {"2025-06-30 08:26:03.730104+00": 1}
        for metric in ("likes", "views", "reposts", "comments")
    },
    "views": 2000000,
    "likes": 56501,
    "comments": 526,
    "reposts": 6892,
    "platform": "TikTok",
    "created_at": "2025-06-30T08:25:29.97727+00:00",
    "title": "Untitled",
    "thumbnail_url": "https://example.invalid/7489443966908189959.webp",
    "cpm": 0,
    "er": 3.339736842105263,
    "stats_last_updated": "2025-06-30T08:26:03.730104+00:00",
}


@pytest.fixture
def watchlist(tmp_path) -> WatchlistResource:
    """The completed TikTok videos only, ten a page: a few pages, so each run stays short."""
    path = tmp_path / "watchlist.yaml"
    path.write_text("influtics:\n  status: completed\n  page_size: 10\n")
    return WatchlistResource(path=str(path))


def run(warehouse, watchlist) -> dg.ExecuteInProcessResult:
    return materialize([influtics_video_stats], warehouse, watchlist, partition_key=today())


def test_the_seed_example_has_no_drift_and_a_lost_metric_is_named_for_both_stats_tables():
    assert seed_drift([SEED_ITEM], "2025-06-30", "req") == set()
    item = copy.deepcopy(SEED_ITEM)
    del item["stats"]["reposts"]
    item["stats"]["saves"] = {}
    found = {(d.table, d.field, d.kind) for d in seed_drift([item], "2025-06-30", "req")}
    assert found == {
        (table, field, kind)
        for table in ("stats_points", "stats_quarantine")
        for field, kind in (("stats.reposts", "missing"), ("stats.saves", "added"))
    }


def test_repull_without_a_field_keeps_stored_values_and_warns(frozen, warehouse, watchlist):
    clean = run(warehouse, watchlist)
    assert clean.success
    drifted, checks = drift_of(clean)
    assert drifted == [] and set(checks) == set(TABLES), "a clean load passes every check"
    assert all(c.passed and c.severity == dg.AssetCheckSeverity.WARN for c in checks.values())
    titles = f"select video_id, title from {TABLE} order by all"
    stored = rows(warehouse, titles)
    kept = sum(1 for _, title in stored if title is not None)
    assert len(stored) > 10 and 0 < kept < len(stored), "some titles are null at the vendor"
    first_load = rows(warehouse, f"select distinct _dlt_load_id from {TABLE}")

    frozen.set_faults("influtics", drift="missing_field")
    result = run(warehouse, watchlist)
    assert result.success
    assert rows(warehouse, titles) == stored, "every stored title is intact"
    loads = rows(warehouse, f"select distinct _dlt_load_id from {TABLE}")
    assert len(loads) == 1 and loads != first_load, "the videos were re-pulled, not skipped"
    drifted, checks = drift_of(result)
    assert named(drifted) == {("influtics", "video_stats", "title", "missing", today())}
    assert not checks["video_stats"].passed
    assert checks["video_stats"].metadata["drifted_fields"].value == 1
    assert "title" in checks["video_stats"].metadata["drift"].value
    assert checks["stats_points"].passed and checks["stats_quarantine"].passed
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["schema_drift_restored"].value == {"video_stats.title": kept}


def test_added_field_is_named_and_not_stored(frozen, warehouse, watchlist):
    frozen.set_faults("influtics", drift="added_field")
    result = run(warehouse, watchlist)
    assert result.success
    columns = "select count(*) from information_schema.columns where table_schema = 'raw_influtics'"
    assert count(warehouse, f"{columns} and column_name = 'new_vendor_field'") == 0
    drifted, checks = drift_of(result)
    assert named(drifted) == {("influtics", "video_stats", "new_vendor_field", "added", today())}
    assert not checks["video_stats"].passed and checks["stats_points"].passed


def test_unreadable_retype_fails_the_run_naming_the_field_and_warns(frozen, warehouse, watchlist):
    frozen.set_faults("influtics", drift="type_change")
    result = run(warehouse, watchlist)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "'views'" in failure.step_failure_data.error.message
    drifted, checks = drift_of(result)
    assert named(drifted) == {("influtics", "video_stats", "views", "type_change", today())}
    assert {d["detail"] for d in drifted} == {"number -> string"}
    assert not checks["video_stats"].passed
    assert checks["video_stats"].severity == dg.AssetCheckSeverity.WARN
