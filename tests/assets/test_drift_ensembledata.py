"""Schema drift through real Dagster runs of the EnsembleData snapshot asset over real HTTP.

Drift is noted per watch entry on the table each field lands in: a field the vendor stopped
sending keeps its stored values; an added field and a retyped value are named in the run's
metadata and warned by that table's `schema_drift` check.
"""

from __future__ import annotations

import dagster as dg
import pytest

from assets.ensembledata import DATASET, ensembledata_tiktok
from assets.resources import WatchlistResource
from pipelines.ensembledata import TABLES
from tests.conftest import drift_of, materialize, named, rows, today

DESCRIPTIONS = f"select aweme_id, description from {DATASET}.videos order by aweme_id"
NICKNAMES = f"select uid, nickname from {DATASET}.users order by uid"


@pytest.fixture
def instance() -> dg.DagsterInstance:
    """An ephemeral instance that knows today's snapshot day (when it is a dynamic partition)."""
    instance = dg.DagsterInstance.ephemeral()
    partitions = ensembledata_tiktok.partitions_def
    if isinstance(partitions, dg.DynamicPartitionsDefinition):
        instance.add_dynamic_partitions(partitions.name, [today()])
    return instance


def watchlist(tmp_path, pages: int = 1, creator: str | None = None) -> WatchlistResource:
    """One hashtag (and a creator's profile and followers); `pages` deep, so a deeper
    watchlist re-pulls entries already loaded today."""
    path = tmp_path / f"watchlist-{pages}.yaml"
    users = f"  users: [{{username: {creator}, posts: false, followers: true}}]\n"
    path.write_text(
        "ensembledata:\n"
        "  daily_units_budget: null\n"
        f"  max_pages: {pages}\n"
        "  hashtags: [skincare]\n" + (users if creator else "")
    )
    return WatchlistResource(path=str(path))


def run(warehouse, watch, instance) -> dg.ExecuteInProcessResult:
    return materialize([ensembledata_tiktok], warehouse, watch, instance, partition_key=today())


def warned(checks: dict[str, dg.AssetCheckEvaluation]) -> set[str]:
    assert {c.severity for c in checks.values()} == {dg.AssetCheckSeverity.WARN}
    return {table for table, check in checks.items() if not check.passed}


def test_added_fields_then_missing_ones_named_per_table_and_stored_values_kept(
    frozen, warehouse, tmp_path, instance
):
    creator = frozen.world.creators[0].unique_id
    frozen.set_faults("ensembledata", drift="added_field")
    first = run(warehouse, watchlist(tmp_path, 1, creator), instance)
    assert first.success
    drifted, checks = drift_of(first)
    assert named(drifted) == {
        ("ensembledata", table, "new_vendor_field", "added", today())
        for table in ("videos", "users", "user_stats")  # posts, followers, the creator's info
    }
    assert set(checks) == set(TABLES)
    assert warned(checks) == {"videos", "users", "user_stats"}, "the other tables are clean"
    columns = rows(warehouse, f"select column_name from (describe {DATASET}.videos)")
    assert ("new_vendor_field",) not in columns, "rows are built from a fixed arrow schema"
    descriptions, nicknames = rows(warehouse, DESCRIPTIONS), rows(warehouse, NICKNAMES)
    assert len(descriptions) == 20 and all(text for _, text in descriptions)
    assert len(nicknames) > 20 and all(name for _, name in nicknames)

    frozen.set_faults("ensembledata", drift="missing_field")
    result = run(warehouse, watchlist(tmp_path, 2, creator), instance)
    assert result.success
    now = dict(rows(warehouse, DESCRIPTIONS))
    assert len(now) == 40, "the hashtag was re-pulled two pages deep"
    assert {i: now[i] for i, _ in descriptions} == dict(descriptions), "stored ones intact"
    assert sum(text is None for text in now.values()) == 20, "new posts: nothing to keep"
    now_names = dict(rows(warehouse, NICKNAMES))
    assert {uid: now_names[uid] for uid, _ in nicknames} == dict(nicknames)
    drifted, checks = drift_of(result)
    assert named(drifted) == {
        ("ensembledata", "videos", "desc", "missing", today()),
        ("ensembledata", "users", "nickname", "missing", today()),
    }
    assert warned(checks) == {"videos", "users"}
    assert "desc" in checks["videos"].metadata["drift"].value
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    restored = meta["schema_drift_restored"].value
    assert restored["videos.description"] == 20 and restored["users.nickname"] > 0
    assert set(restored) == {"videos.description", "users.nickname"}


def test_unreadable_retype_fails_the_run_naming_the_field_and_warns(
    sim, warehouse, tmp_path, instance
):
    sim.set_faults("ensembledata", drift="type_change")
    result = run(warehouse, watchlist(tmp_path), instance)
    assert not result.success
    (failure,) = result.get_step_failure_events()
    assert "create_time" in failure.step_failure_data.error.message
    drifted, checks = drift_of(result)
    assert named(drifted) == {("ensembledata", "videos", "create_time", "type_change", today())}
    assert {d["detail"] for d in drifted} == {"number -> string"}
    assert warned(checks) == {"videos"}
