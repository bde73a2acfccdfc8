"""EnsembleData end to end without Dagster: simulator -> real HTTP -> dlt -> DuckDB."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import pytest

from pipelines.ensembledata import TABLES, EnsembleDataReport, ensembledata_source
from pipelines.errors import AuthError, QuotaExhausted
from simulator import ensembledata as sim_ed
from tests.conftest import count

DATASET = "raw_ensembledata"
TODAY = datetime.now(UTC).date()


def load(warehouse, watch: dict[str, Any], observed_on: date = TODAY) -> EnsembleDataReport:
    report = EnsembleDataReport()
    pipeline = warehouse.dlt_pipeline("ensembledata_tiktok", DATASET)
    source = ensembledata_source(watch=watch, observed_on=observed_on, report=report)
    pipeline.run(source, loader_file_format="parquet")
    return report


def rows(warehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse.file), read_only=True) as con:
        return con.execute(sql).fetchall()


def table_counts(warehouse) -> dict[str, int]:
    present = {
        name
        for (name,) in rows(
            warehouse,
            f"select table_name from information_schema.tables where table_schema = '{DATASET}'",
        )
    }
    return {
        t: count(warehouse, f"select count(*) from {DATASET}.{t}") if t in present else 0
        for t in TABLES
    }


def watch_for(sim) -> dict[str, Any]:
    """A watch over every family, built from the simulator's world as of today."""
    world = sim.world
    busy = max(
        world.creators[:250],  # US creators
        key=lambda c: sum(
            v.creator == c for v in world.videos_between(TODAY - timedelta(days=29), TODAY, "US")
        ),
    )
    social = next(c for c in world.creators if len(sim_ed._followings(c, world)) > 100)
    older = world.videos_published_on(TODAY - timedelta(days=3), "US")
    talked = max(older, key=lambda v: v.final.comments)
    return {
        "daily_units_budget": 1000,
        "max_pages": 2,
        "hashtags": ["skincare"],
        "keywords": [{"name": "honest review", "period": 7, "country": "US"}],
        "users": [
            {"username": busy.unique_id, "depth": 1},
            {"sec_uid": social.sec_uid, "posts": False, "followings": True},
        ],
        "post_ids": [str(v.video_id) for v in older[:5]],
        "comments": [str(talked.video_id)],
        "music_ids": [str(talked.music.music_id)],
    }


def test_every_family_lands_typed_with_exact_ids(sim, warehouse):
    watch = watch_for(sim)
    before = sim.stats("ensembledata")["credits"]
    report = load(warehouse, watch)
    assert report.stopped_by is None
    got = table_counts(warehouse)
    assert all(got[t] > 0 for t in TABLES), got
    assert got == {t: report.rows.get(t, 0) for t in TABLES}
    # units: the sum of units_charged equals what the vendor billed
    assert report.units_spent == sim.stats("ensembledata")["credits"] - before > 0
    types = dict(
        rows(
            warehouse,
            "select column_name, data_type from information_schema.columns "
            f"where table_schema = '{DATASET}' and table_name = 'videos'",
        )
    )
    assert types["aweme_id"] == types["music_id"] == types["author_uid"] == "BIGINT"
    assert types["create_time"] == "TIMESTAMP WITH TIME ZONE"
    # every id is a real world video, never rounded through a float; music only where sent
    for aweme_id, music_id, create_time in rows(
        warehouse, f"select aweme_id, music_id, create_time from {DATASET}.videos"
    ):
        video = sim.world.video(aweme_id)
        assert video is not None and video.create_time == int(create_time.timestamp())
        assert music_id == (video.music.music_id if sim_ed.has_music(video) else None)
    no_music = count(warehouse, f"select count(*) from {DATASET}.videos where music_id is null")
    assert no_music > 0
    assert (
        count(
            warehouse,
            f"select count(*) from {DATASET}.videos v join {DATASET}.music m using (music_id)",
        )
        == got["videos"] - no_music
    )
    assert got["video_stats"] == got["videos"]  # one snapshot per post per day
    # followings walked over two pages with page_token, each once
    social = sim.world.creator(watch["users"][1]["sec_uid"])
    expected = {c.user_id for c in sim_ed._followings(social, sim.world)}
    follows = rows(
        warehouse,
        f"select other_uid from {DATASET}.follows where uid = {social.user_id} "
        "and relation = 'following'",
    )
    assert {u for (u,) in follows} == expected and len(follows) == len(expected) > 100
    assert count(warehouse, f"select count(*) from {DATASET}.user_stats") == 2
    followers = rows(
        warehouse, f"select followers from {DATASET}.user_stats where uid = {social.user_id}"
    )
    assert followers == [(social.followers,)]
    # the most talked-about post has more comments than two pages hold: depth 2 = 60
    assert got["comments"] == 2 * sim_ed.COMMENTS_PAGE
    assert report.walk_ends["depth"] >= 1 and report.walk_ends["end"] >= 1


def test_second_day_adds_exactly_one_snapshot_per_item_and_same_day_replaces(sim, warehouse):
    watch = {"daily_units_budget": None, "max_pages": 1, "hashtags": ["skincare"]}
    first = load(warehouse, watch, TODAY - timedelta(days=1))
    videos = count(warehouse, f"select count(*) from {DATASET}.videos")
    assert first.stopped_by is None and videos == sim_ed.POSTS_PAGE
    load(warehouse, watch, TODAY - timedelta(days=1))  # same day again: replaces
    assert count(warehouse, f"select count(*) from {DATASET}.video_stats") == videos
    load(warehouse, watch, TODAY)
    per_item = rows(
        warehouse,
        f"select aweme_id, count(*), count(distinct observed_on) from {DATASET}.video_stats "
        "group by 1",
    )
    assert len(per_item) == videos and {(n, d) for _, n, d in per_item} == {(2, 2)}
    assert count(warehouse, f"select count(*) from {DATASET}.videos") == videos
    assert count(warehouse, f"select count(*) from {DATASET}.search_hits") == 2 * videos
    # view velocity is computable: plays never go down between the two observations
    drops = count(
        warehouse,
        f"select count(*) from {DATASET}.video_stats a join {DATASET}.video_stats b "
        "using (aweme_id) where b.observed_on > a.observed_on and b.plays < a.plays",
    )
    assert drops == 0


def test_units_budget_reached_mid_run_then_resumed(sim, warehouse):
    watch = {
        "daily_units_budget": 4,
        "max_pages": 2,
        "hashtags": ["skincare", "makeup", "fyp"],
    }
    before = sim.stats("ensembledata")["credits"]
    stopped = load(warehouse, watch)
    assert isinstance(stopped.stopped_by, QuotaExhausted)
    text = str(stopped.stopped_by)
    assert "daily units budget of 4 reached" in text and "4 by this run" in text
    assert stopped.units_spent == sim.stats("ensembledata")["credits"] - before == 4
    hits = rows(warehouse, f"select distinct watch_key from {DATASET}.search_hits order by 1")
    assert hits == [("hashtag:makeup",), ("hashtag:skincare",)]  # whole entries only
    resumed = load(warehouse, {**watch, "daily_units_budget": 100})
    assert resumed.stopped_by is None and resumed.units_used_before == 4
    assert resumed.units_spent == 6
    clean = table_counts(warehouse)
    dupes = count(
        warehouse,
        f"select count(*) from (select aweme_id from {DATASET}.video_stats "
        "group by aweme_id, observed_on having count(*) > 1)",
    )
    assert dupes == 0
    hits = rows(warehouse, f"select count(distinct watch_key) from {DATASET}.search_hits")
    assert hits == [(3,)] and clean["search_hits"] == 3 * 2 * sim_ed.POSTS_PAGE


def test_a_4xx_that_carries_data_is_loaded(sim, warehouse):
    sim.set_faults("ensembledata", options={"partial_status": 400})
    known = sim.world.videos_published_on(TODAY - timedelta(days=2), "GB")[:3]
    ids = [str(v.video_id) for v in known] + ["7000000000000000001"]
    report = load(warehouse, {"daily_units_budget": None, "post_ids": ids})
    assert report.stopped_by is None
    assert report.requests.statuses["400"] == 1
    landed = rows(warehouse, f"select aweme_id from {DATASET}.videos order by 1")
    assert landed == sorted((v.video_id,) for v in known)


def test_bad_token_is_491_with_a_clear_message_and_no_token_anywhere(
    sim, warehouse, monkeypatch, caplog
):
    bad = "ed-wrong-token-abcdef123"
    monkeypatch.setenv("SOURCES__ENSEMBLEDATA__API_KEY", bad)
    caplog.set_level(logging.DEBUG)
    report = load(warehouse, {"hashtags": ["skincare"]})
    error = report.stopped_by
    assert isinstance(error, AuthError) and error.status == 491
    assert "Token not found" in str(error) and "SOURCES__ENSEMBLEDATA__API_KEY" in str(error)
    assert report.requests.requests == 1  # not retried
    meta = str(report.as_metadata())
    # our side's logs (the simulator's access log plays the vendor's server, not us)
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("simulator"))
    for text in (str(error), meta, ours):
        assert bad not in text
    assert "token=***" in ours  # httpx's request log line, masked
    assert not warehouse.file.exists() or bad.encode() not in warehouse.file.read_bytes()


def test_a_repeated_cursor_ends_the_walk_instead_of_looping(sim, warehouse):
    sim.set_faults("ensembledata", options={"repeat_cursor": True})
    report = load(warehouse, {"daily_units_budget": None, "max_pages": 50, "hashtags": ["fyp"]})
    assert report.stopped_by is None and report.walk_ends == {"repeated_cursor": 1}
    assert report.requests_by_endpoint["/tt/hashtag/posts"] == 2
    assert count(warehouse, f"select count(*) from {DATASET}.search_hits") == 2 * 20


@pytest.mark.parametrize(
    "fault",
    [
        {"script": ["ok", "429", "429", "ok", "503"], "retry_after": 0},
        {"script": ["500", "truncated", "ok", "500"], "rate_500": 0.2, "seed": 3},
    ],
)
def test_transient_faults_give_the_same_rows_as_a_clean_run(sim, warehouse, tmp_path, fault):
    from assets.resources import WarehouseResource

    watch = {"daily_units_budget": None, "max_pages": 2, "hashtags": ["skincare", "grwm"]}
    load(warehouse, watch)
    clean = table_counts(warehouse)
    sim.set_faults("ensembledata", **fault)
    other = WarehouseResource(path=str(tmp_path / "faulty.duckdb"))
    report = load(other, watch)
    assert report.stopped_by is None and report.requests.retries > 0
    assert table_counts(other) == clean
