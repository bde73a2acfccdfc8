"""EnsembleData snapshot asset through real Dagster materializations against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from assets.ensembledata import DATASET, ensembledata_tiktok
from assets.resources import WatchlistResource
from pipelines.ensembledata import TABLES
from tests.conftest import count, lake_bytes, materialize, today


def watchlist(tmp_path, budget: int | str = 200) -> WatchlistResource:
    path = tmp_path / "watchlist.yaml"
    path.write_text(
        "ensembledata:\n"
        f"  daily_units_budget: {budget}\n"
        "  max_pages: 2\n"
        "  hashtags: [skincare, makeup]\n"
        "  keywords: [{name: honest review, period: 7}]\n"
    )
    return WatchlistResource(path=str(path))


def failure_text(result) -> str:
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return failure.event_specific_data.error.message


def test_an_asset_per_table_grouped_tagged_and_pooled():
    keys = {spec.key for spec in ensembledata_tiktok.specs}
    assert keys == {dg.AssetKey([DATASET, t]) for t in TABLES}
    for spec in ensembledata_tiktok.specs:
        assert spec.group_name == "ensembledata" and spec.kinds == {"dlt", "ducklake"}
        assert spec.tags["vendor"] == "ensembledata" and spec.tags["period"] == "snapshot"
        assert not list(spec.deps) and spec.description
    assert ensembledata_tiktok.op.pool == "vendor_ensembledata"
    checks = {(k.asset_key.path[-1], k.name) for k in ensembledata_tiktok.check_keys}
    assert {
        ("video_stats", "budget_respected"),
        ("video_stats", "observed_today"),
        ("video_stats", "no_failed_requests"),
    } <= checks
    assert {(t, "unique_key") for t in TABLES} <= checks
    assert {(t, "key_not_null") for t in TABLES} <= checks


def test_todays_snapshot_loads_with_checks_and_run_metadata(sim, warehouse, tmp_path):
    result = materialize(
        [ensembledata_tiktok], warehouse, watchlist(tmp_path), partition_key=today()
    )
    assert result.success
    videos = count(warehouse, f"select count(*) from {DATASET}.videos")
    assert videos > 0
    assert count(warehouse, f"select count(*) from {DATASET}.video_stats") == videos
    assert count(warehouse, f"select count(distinct observed_on) from {DATASET}.video_stats") == 1
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == 3 * len(TABLES) + 3
    assert all(e.passed for e in evaluations), [e.check_name for e in evaluations if not e.passed]
    budget = next(e for e in evaluations if e.check_name == "budget_respected")
    assert budget.metadata["units_budget"].value == 200
    mats = {
        m.materialization.asset_key.path[-1]: m.materialization.metadata
        for m in result.get_asset_materialization_events()
    }
    assert set(mats) == set(TABLES)
    meta = mats["videos"]
    # 2 hashtags x 2 pages + 2 keyword pages; one unit each; plus the free used-units call
    assert meta["requests"].value == 7 and meta["units_spent"].value == 6
    assert meta["rows_videos"].value == videos
    assert meta["dagster/row_count"].value == videos
    assert mats["user_stats"]["dagster/row_count"].value == 0, "no creators watched: no table"
    assert meta["units_budget"].value == 200 and meta["units_left"].value == 200 - 6


def test_a_past_partition_fails_saying_snapshots_cannot_be_backfilled(sim, warehouse, tmp_path):
    before = sim.stats("ensembledata")["total"]
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    result = materialize(
        [ensembledata_tiktok], warehouse, watchlist(tmp_path), partition_key=yesterday
    )
    assert not result.success
    text = failure_text(result)
    assert "cannot be backfilled into the past" in text and yesterday in text
    assert sim.stats("ensembledata")["total"] == before


def test_budget_reached_fails_with_units_used_and_keeps_whole_entries(sim, warehouse, tmp_path):
    result = materialize(
        [ensembledata_tiktok], warehouse, watchlist(tmp_path, budget=3), partition_key=today()
    )
    assert not result.success
    text = failure_text(result)
    # skincare (2 pages) landed whole; makeup's first page fit, its second would not
    assert "daily units budget of 3 reached" in text and "3 by this run" in text
    hits = count(warehouse, f"select count(distinct watch_key) from {DATASET}.search_hits")
    assert hits == 1
    # the budget check ran on the failed run, before the failure, and it held
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    budget = evaluations["budget_respected"]
    assert budget.passed and budget.asset_key.path[-1] == "video_stats"
    assert budget.metadata["units_used_today"].value == 3
    assert budget.metadata["units_spent_by_run"].value == 3
    assert budget.metadata["units_budget"].value == 3
    assert evaluations["unique_key"].passed
    # a later run with budget left buys only the two entries missing, nothing duplicates
    rerun = materialize(
        [ensembledata_tiktok], warehouse, watchlist(tmp_path, budget=50), partition_key=today()
    )
    assert rerun.success
    meta = rerun.get_asset_materialization_events()[0].materialization.metadata
    assert meta["entries_resumed"].value == 1 and meta["units_used_before_run"].value == 3
    assert meta["units_spent"].value == 4  # makeup and the keyword, two pages each
    assert count(warehouse, f"select count(distinct watch_key) from {DATASET}.search_hits") == 3
    dupes = count(
        warehouse,
        f"select count(*) from (select aweme_id from {DATASET}.video_stats "
        "group by aweme_id, observed_on having count(*) > 1)",
    )
    assert dupes == 0


def test_a_rerun_of_a_complete_day_buys_nothing_and_still_succeeds(sim, warehouse, tmp_path):
    assert materialize(
        [ensembledata_tiktok], warehouse, watchlist(tmp_path), partition_key=today()
    ).success
    videos = count(warehouse, f"select count(*) from {DATASET}.videos")
    before = sim.stats("ensembledata")["credits"]
    again = materialize(
        [ensembledata_tiktok], warehouse, watchlist(tmp_path), partition_key=today()
    )
    assert again.success and sim.stats("ensembledata")["credits"] == before
    mats = {
        m.materialization.asset_key.path[-1]: m.materialization.metadata
        for m in again.get_asset_materialization_events()
    }
    meta = mats["videos"]
    assert meta["entries_resumed"].value == 3 and meta["units_spent"].value == 0
    assert meta["requests"].value == 1  # only the free units-used lookup
    assert meta["rows_fetched"].value == 0 and meta["dagster/row_count"].value == videos
    assert count(warehouse, f"select count(*) from {DATASET}.videos") == videos
    assert all(e.passed for e in again.get_asset_check_evaluations())


def test_bad_token_fails_clearly_and_leaves_no_trace(
    sim, warehouse, tmp_path, dagster_home, monkeypatch
):
    token = "ed-asset-wrong-token-9876"
    monkeypatch.setenv("SOURCES__ENSEMBLEDATA__API_KEY", token)
    result = materialize(
        [ensembledata_tiktok], warehouse, watchlist(tmp_path), dagster_home, partition_key=today()
    )
    assert not result.success
    text = failure_text(result)
    assert "HTTP 491" in text and "SOURCES__ENSEMBLEDATA__API_KEY" in text
    records = dagster_home.get_records_for_run(result.run_id).records
    assert records and all(token not in str(r.event_log_entry) for r in records)
    assert not any(warehouse.lake.local_files()) or token.encode() not in lake_bytes(warehouse)


def test_the_nightly_snapshot_job_runs_every_table():
    from assets.definitions import defs

    job = defs.resolve_job_def("snapshot_job")
    selected = job.asset_layer.selected_asset_keys
    assert {dg.AssetKey([DATASET, t]) for t in TABLES} <= selected
    schedule = defs.resolve_schedule_def("snapshot_schedule")
    assert schedule.job_name == "snapshot_job" and schedule.cron_schedule == "0 3 * * *"


def test_a_refused_sub_request_warns_lists_itself_and_keeps_the_creators_rows(
    frozen, warehouse, tmp_path, dagster_home
):
    sim = frozen
    creator = max(sim.world.creators[:250], key=lambda c: c.followers)
    path = tmp_path / "watchlist.yaml"
    path.write_text(
        "ensembledata:\n"
        "  daily_units_budget: 200\n"
        "  max_pages: 1\n"
        "  hashtags: [skincare]\n"
        f"  users: [{{username: {creator.unique_id}, followers: true}}]\n"
    )
    sim.set_faults("ensembledata", options={"posts_unavailable": {creator.unique_id: 404}})
    result = materialize(
        [ensembledata_tiktok],
        warehouse,
        WatchlistResource(path=str(path)),
        dagster_home,
        partition_key=today(),
    )
    assert result.success, "a refused sub-request warns; it does not fail the run"
    evaluations = {
        (e.asset_key.path[-1], e.check_name): e for e in result.get_asset_check_evaluations()
    }
    warned = evaluations[("video_stats", "no_failed_requests")]
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.metadata["failed_requests"].value == 1
    listed = warned.metadata["failed_request_list"].value
    assert (
        f"| user:{creator.unique_id} | GET /tt/user/posts | 404 | User posts not found |" in listed
    )
    others = [e for k, e in evaluations.items() if k[1] != "no_failed_requests"]
    assert others and all(e.passed for e in others)
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["failed_requests"].value == 1
    assert meta["failed_request_list"].value == (
        f"user:{creator.unique_id}: GET /tt/user/posts HTTP 404: User posts not found"
    )
    # the creator's profile, follower snapshot and follows landed, beside the hashtag's posts
    uid = creator.user_id
    assert count(warehouse, f"select count(*) from {DATASET}.users where uid = {uid}") == 1
    assert (
        count(warehouse, f"select followers from {DATASET}.user_stats where uid = {uid}")
        == creator.followers
    )
    assert count(warehouse, f"select count(*) from {DATASET}.follows where uid = {uid}") == 100
    assert count(warehouse, f"select count(distinct watch_key) from {DATASET}.search_hits") == 1
    token = sim.api_keys["ensembledata"]
    records = dagster_home.get_records_for_run(result.run_id).records
    assert records and all(token not in str(r.event_log_entry) for r in records)
