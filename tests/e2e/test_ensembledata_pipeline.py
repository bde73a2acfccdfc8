"""EnsembleData end to end without Dagster: simulator -> real HTTP -> dlt -> DuckDB."""

from __future__ import annotations

import logging
import math
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from assets.resources import WarehouseResource
from pipelines import ensembledata as ed
from pipelines.ensembledata import TABLES, EnsembleDataReport, ensembledata_source
from pipelines.errors import AuthError, QuotaExhausted
from pipelines.http import ClientSettings, VendorClient
from simulator import ensembledata as sim_ed
from simulator.world import metrics_at
from tests.conftest import count, lake_bytes, rows

DATASET = "raw_ensembledata"
TODAY = datetime.now(UTC).date()


def load(warehouse, watch: dict[str, Any], observed_on: date = TODAY) -> EnsembleDataReport:
    report = EnsembleDataReport()
    pipeline = warehouse.dlt_pipeline("ensembledata_tiktok", DATASET)
    source = ensembledata_source(watch=watch, observed_on=observed_on, report=report)
    pipeline.run(source, loader_file_format="parquet")
    return report


def present(warehouse) -> set[str]:
    return {
        name
        for (name,) in rows(
            warehouse,
            f"select table_name from information_schema.tables where table_schema = '{DATASET}'",
        )
    }


def table_counts(warehouse) -> dict[str, int]:
    tables = present(warehouse)
    return {
        t: count(warehouse, f"select count(*) from {DATASET}.{t}") if t in tables else 0
        for t in TABLES
    }


def content(warehouse, table: str) -> list[tuple] | None:
    """Every row of a table, without the columns that say when it was fetched or loaded."""
    if table not in present(warehouse):
        return None
    columns = [
        c
        for (c,) in rows(
            warehouse,
            "select column_name from information_schema.columns where "
            f"table_schema = '{DATASET}' and table_name = '{table}' order by ordinal_position",
        )
        if c != "observed_at" and not c.startswith("_dlt")
    ]
    listed = ", ".join(columns)
    return rows(warehouse, f"select {listed} from {DATASET}.{table} order by all")


def hits(warehouse, watch_key: str) -> list[int]:
    return [
        a
        for (a,) in rows(
            warehouse,
            f"select aweme_id from {DATASET}.search_hits where watch_key = '{watch_key}' "
            "order by position",
        )
    ]


def at_now(sim, **query: Any) -> SimpleNamespace:
    """What a simulator handler sees as its request, to compute the answer it gives."""
    return SimpleNamespace(world=sim.world, now=sim.clock(), options={}, query=query)


def watch_for(sim) -> dict[str, Any]:
    """A watch over every family, built from the simulator's world as of today."""
    world = sim.world
    busy = max(
        world.creators[:250],  # US creators
        key=lambda c: sum(
            v.creator == c for v in world.videos_between(TODAY - timedelta(days=29), TODAY, "US")
        ),
    )
    busy_gb = max(
        world.creators[250:500], key=lambda c: len(sim_ed._creator_videos(c, at_now(sim)))
    )
    social = next(c for c in world.creators if len(sim_ed._followings(c, world)) > 100)
    older = world.videos_published_on(TODAY - timedelta(days=3), "US")
    # the most comments as the vendor counts them now, not at the end of the post's life:
    # a post whose comments come late can sit under two pages three days in
    talked = max(older, key=lambda v: metrics_at(v, sim.clock()).comments)
    mute = next(v for v in older if not sim_ed.has_music(v))
    return {
        "daily_units_budget": 1000,
        "max_pages": 2,
        "hashtags": ["skincare"],
        "hashtag_full_searches": [{"name": "fyp", "days": 2, "max_cursor": 30}],
        "keywords": [
            {"name": "honest review", "period": 7, "country": "US"},
            {"name": "gadgets", "period": 7, "country": "US", "full": True},
        ],
        "users": [
            {"username": busy.unique_id, "depth": 1},
            {"sec_uid": social.sec_uid, "posts": False, "followings": True},
            {"sec_uid": busy_gb.sec_uid, "depth": 1, "followers": True},
        ],
        "post_ids": [str(v.video_id) for v in older[:5]],
        "post_urls": [f"https://www.tiktok.com/@{mute.creator.unique_id}/video/{mute.video_id}"],
        "comments": [str(talked.video_id)],
        "music_ids": [str(talked.music.music_id)],
    }


def test_every_family_lands_typed_with_exact_ids(frozen, warehouse):
    sim, world = frozen, frozen.world
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
    loaded = rows(warehouse, f"select aweme_id, music_id, create_time from {DATASET}.videos")
    for aweme_id, music_id, create_time in loaded:
        video = world.video(aweme_id)
        assert video is not None and video.create_time == int(create_time.timestamp())
        assert music_id == (video.music.music_id if sim_ed.has_music(video) else None)
    # posts without music: NULL music_id and no music row of their own
    no_music = count(warehouse, f"select count(*) from {DATASET}.videos where music_id is null")
    assert no_music > 0
    sent = {world.video(a).music.music_id for a, _, _ in loaded if sim_ed.has_music(world.video(a))}
    music = {m for (m,) in rows(warehouse, f"select music_id from {DATASET}.music")}
    assert music == sent | {int(watch["music_ids"][0])}
    assert (
        count(
            warehouse,
            f"select count(*) from {DATASET}.videos v join {DATASET}.music m using (music_id)",
        )
        == got["videos"] - no_music
    )
    assert got["video_stats"] == got["videos"]  # one snapshot per post per day
    # followings walked over two pages with page_token, each once
    social = world.creator(watch["users"][1]["sec_uid"])
    expected = {c.user_id for c in sim_ed._followings(social, world)}
    follows = rows(
        warehouse,
        f"select other_uid from {DATASET}.follows where uid = {social.user_id} "
        "and relation = 'following'",
    )
    assert {u for (u,) in follows} == expected and len(follows) == len(expected) > 100
    assert count(warehouse, f"select count(*) from {DATASET}.user_stats") == 3
    followers = rows(
        warehouse, f"select followers from {DATASET}.user_stats where uid = {social.user_id}"
    )
    assert followers == [(social.followers,)]
    # the most talked-about post has more comments than two pages hold: depth 2 = 60
    assert got["comments"] == 2 * sim_ed.COMMENTS_PAGE
    assert report.walk_ends["depth"] >= 1 and report.walk_ends["end"] >= 1

    # hashtag recent-posts: every post of the last 2 days, cut at max_cursor, newest first
    recent = sim_ed._recent(at_now(sim), 2, lambda v: "fyp" in v.hashtags)
    assert len(recent) > 30 and hits(warehouse, "hashtag_full:fyp") == [
        v.video_id for v in recent[:30]
    ]
    assert report.units_by_endpoint[ed.HASHTAG_RECENT_POSTS] == 2  # 30 posts, 20 a unit
    # keyword full search: every match in one answer, charged per 20 posts
    query = {"name": "gadgets", "period": "7", "country": "US", "sorting": "0"}
    matches = sim_ed._keyword_posts(at_now(sim, **query))
    assert matches and hits(warehouse, "keyword:gadgets") == [v.video_id for v in matches]
    assert report.units_by_endpoint[ed.KEYWORD_FULL_SEARCH] == math.ceil(len(matches) / 20)
    # posts by sec_uid: two chunks of 10 (depth 1, max_pages 2) on start_cursor
    gb = world.creator(watch["users"][2]["sec_uid"])
    posted = sim_ed._creator_videos(gb, at_now(sim))
    assert hits(warehouse, f"user:{gb.sec_uid}") == [v.video_id for v in posted[:20]]
    assert report.requests_by_endpoint[ed.USER_POSTS_FROM_SECUID] == 2
    # followers: two pages of 100, in the vendor's order
    fans = rows(
        warehouse,
        f"select other_uid from {DATASET}.follows where uid = {gb.user_id} "
        "and relation = 'follower' order by position",
    )
    assert [u for (u,) in fans] == [c.user_id for c in sim_ed._followers(gb, world)[:200]]
    # post info by URL: a post without music, every value as the world has it
    mute = world.video(int(watch["post_urls"][0].rsplit("/", 1)[1]))
    assert rows(
        warehouse,
        "select description, epoch(create_time)::bigint, region, duration_ms, author_uid, "
        f"author_unique_id, music_id from {DATASET}.videos where aweme_id = {mute.video_id}",
    ) == [
        (
            mute.description,
            mute.create_time,
            mute.region,
            mute.duration * 1000,
            mute.creator.user_id,
            mute.creator.unique_id,
            None,
        )
    ]
    m = metrics_at(mute, sim.clock())
    assert rows(
        warehouse,
        "select plays, likes, comments, shares, saves from "
        f"{DATASET}.video_stats where aweme_id = {mute.video_id}",
    ) == [(m.views, m.likes, m.comments, m.shares, m.favorites)]
    assert rows(
        warehouse,
        f"select hashtag from {DATASET}.video_hashtags where aweme_id = {mute.video_id} "
        "order by position",
    ) == [(t,) for t in dict.fromkeys(h.lower() for h in mute.hashtags)]


def test_second_day_adds_exactly_one_snapshot_per_item_and_same_day_replaces(sim, warehouse):
    watch = {"daily_units_budget": None, "max_pages": 1, "hashtags": ["skincare"]}
    first = load(warehouse, watch, TODAY - timedelta(days=1))
    videos = count(warehouse, f"select count(*) from {DATASET}.videos")
    assert first.stopped_by is None and videos == sim_ed.POSTS_PAGE
    again = load(warehouse, watch, TODAY - timedelta(days=1))  # same day: already loaded
    assert again.requests.requests == 0 and again.entries_resumed == ["hashtag:skincare"]
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


def test_units_budget_reached_mid_run_then_resumed_buys_only_what_is_missing(
    frozen, warehouse, tmp_path
):
    sim = frozen
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
    # only fyp's two pages are bought: the landed entries are not paid for again
    assert resumed.entries_resumed == ["hashtag:skincare", "hashtag:makeup"]
    assert resumed.units_spent == 2 == sim.stats("ensembledata")["credits"] - before - 4
    assert resumed.requests_by_endpoint == {ed.USED_UNITS: 1, ed.HASHTAG_POSTS: 2}
    again = load(warehouse, {**watch, "daily_units_budget": 100})
    assert again.units_spent == 0 and again.requests_by_endpoint == {ed.USED_UNITS: 1}
    # the stopped + resumed warehouse holds exactly what one uninterrupted run loads
    whole = WarehouseResource(path=str(tmp_path / "whole.duckdb"))
    assert load(whole, {**watch, "daily_units_budget": None}).stopped_by is None
    for table in TABLES:
        assert content(warehouse, table) == content(whole, table), table
    dupes = count(
        warehouse,
        f"select count(*) from (select aweme_id from {DATASET}.video_stats "
        "group by aweme_id, observed_on having count(*) > 1)",
    )
    assert dupes == 0
    hits = rows(warehouse, f"select count(distinct watch_key) from {DATASET}.search_hits")
    assert hits == [(3,)] and table_counts(warehouse)["search_hits"] == 3 * 2 * sim_ed.POSTS_PAGE


def harvest_with_budget(sim, watch: ed.EnsembleDataWatch, budget: int) -> EnsembleDataReport:
    """One source run's fetching (no load) against the simulator, its day's tally reset."""
    sim.reset_faults("ensembledata")
    report = EnsembleDataReport(units_budget=budget)
    harvest = ed.Harvest(
        watch.model_copy(update={"daily_units_budget": budget}),
        ed.Observation(TODAY, sim.clock()),
        lambda: VendorClient(
            ed.PROFILE,
            sim.base_url("ensembledata"),
            sim.api_keys["ensembledata"],
            ClientSettings(requests_per_second=None),
            stats=report.requests,
        ),
        report,
    )
    harvest.rows("videos")
    return report


FAMILIES = {
    f"GET {p}"
    for p in (
        ed.HASHTAG_POSTS,
        ed.HASHTAG_RECENT_POSTS,
        ed.KEYWORD_SEARCH,
        ed.USER_INFO,
        ed.USER_POSTS,
        ed.USER_FOLLOWINGS,
        ed.USER_INFO_FROM_SECUID,
        ed.USER_POSTS_FROM_SECUID,
        ed.USER_FOLLOWERS,
        ed.POST_MULTI_INFO,
        ed.POST_INFO,
        ed.POST_COMMENTS,
        ed.MUSIC_DETAILS,
        ed.MUSIC_POSTS,
    )
}


@pytest.mark.parametrize("full_search", [False, True])
def test_the_budget_is_never_exceeded_whichever_family_it_runs_out_on(frozen, full_search):
    """Every family, each budget from too small for anything to plenty: never over budget."""
    sim = frozen
    watch = watch_for(sim)
    if full_search:  # needs 250 units of headroom: try budgets around that edge
        budgets = (1, 100, 249, 254, 255, 256, 257, 258, 1000)
    else:
        watch["keywords"] = watch["keywords"][:1]
        budgets = (*range(1, 36), 1000)
    checked = ed.validate_watch(watch)
    stops: set[str] = set()
    full_search_sent = []
    for budget in budgets:
        report = harvest_with_budget(sim, checked, budget)
        assert report.units_used_before == 0
        assert report.units_spent <= budget, (budget, report.as_metadata())
        assert report.units_over_budget == 0
        if report.stopped_by is not None:
            assert isinstance(report.stopped_by, QuotaExhausted)
            assert f"budget of {budget} reached" in str(report.stopped_by), budget
            stops.add(report.stopped_by.endpoint)
        if report.requests_by_endpoint[ed.KEYWORD_FULL_SEARCH]:
            full_search_sent.append(budget)
    assert report.stopped_by is None, "the largest budget runs the whole watch"
    if full_search:
        # sent only once 250 units were left, whatever it turned out to cost
        assert "GET /tt/keyword/full-search" in stops
        assert full_search_sent and min(full_search_sent) >= 250 + 1
        assert report.units_by_endpoint[ed.KEYWORD_FULL_SEARCH] < 250
    else:
        assert stops == FAMILIES, FAMILIES - stops  # the budget ran out on every family


def test_emptied_hashtags_and_follow_lists_remove_the_old_rows(frozen, warehouse):
    sim = frozen
    social = next(c for c in sim.world.creators if len(sim_ed._followings(c, sim.world)) > 100)
    watch = {
        "daily_units_budget": None,
        "max_pages": 1,
        "hashtags": ["skincare"],
        "users": [{"sec_uid": social.sec_uid, "posts": False, "followings": True}],
    }
    load(warehouse, watch, TODAY - timedelta(days=1))
    videos = count(warehouse, f"select count(*) from {DATASET}.videos")
    tagged = count(warehouse, f"select count(distinct aweme_id) from {DATASET}.video_hashtags")
    assert tagged == videos == sim_ed.POSTS_PAGE
    assert count(warehouse, f"select count(*) from {DATASET}.follows") == 100
    # the next day every caption lost its hashtags and the creator hid whom they follow
    sim.set_faults("ensembledata", options={"edited_captions": True, "private_follows": True})
    report = load(warehouse, watch, TODAY)
    assert report.stopped_by is None and report.rows["videos"] == videos
    assert "video_hashtags" not in report.rows and "follows" not in report.rows
    assert count(warehouse, f"select count(*) from {DATASET}.video_hashtags") == 0
    assert count(warehouse, f"select count(*) from {DATASET}.follows") == 0
    # the tombstones removed rows and were not stored themselves
    for table in ("video_hashtags", "follows"):
        stored = count(warehouse, f"select count(*) from {DATASET}.{table} where deleted")
        assert stored == 0
    assert count(warehouse, f"select count(*) from {DATASET}.videos") == videos
    assert count(warehouse, f"select count(*) from {DATASET}.users") > 0


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
    assert not any(warehouse.lake.local_files()) or bad.encode() not in lake_bytes(warehouse)


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


def test_refused_posts_of_one_creator_keep_its_profile_and_follower_rows(frozen, warehouse):
    sim, world = frozen, frozen.world
    refused = max(world.creators[:250], key=lambda c: c.followers)
    fine = max(world.creators[250:500], key=lambda c: len(sim_ed._creator_videos(c, at_now(sim))))
    watch = {
        "daily_units_budget": None,
        "max_pages": 1,
        "hashtags": ["skincare"],
        "users": [
            {"username": refused.unique_id, "followers": True},
            {"sec_uid": fine.sec_uid, "depth": 1},
        ],
    }
    sim.set_faults("ensembledata", options={"posts_unavailable": {refused.unique_id: 404}})
    before = sim.stats("ensembledata")["by_status"].get(404, 0)
    report = load(warehouse, watch)
    assert report.stopped_by is None
    assert sim.stats("ensembledata")["by_status"].get(404, 0) - before == 1
    uid = refused.user_id
    assert rows(warehouse, f"select unique_id, sec_uid from {DATASET}.users where uid = {uid}") == [
        (refused.unique_id, refused.sec_uid)
    ]
    assert rows(
        warehouse, f"select followers, observed_on from {DATASET}.user_stats where uid = {uid}"
    ) == [(refused.followers, TODAY)]
    fans = rows(warehouse, f"select other_uid from {DATASET}.follows where uid = {uid}")
    assert {u for (u,) in fans} == {c.user_id for c in sim_ed._followers(refused, world)[:100]}
    # the creator's posts are the only rows missing; the other entries landed whole
    keys = dict(
        rows(warehouse, f"select watch_key, count(*) from {DATASET}.search_hits group by 1")
    )
    assert keys == {
        "hashtag:skincare": sim_ed.POSTS_PAGE,
        f"user:{fine.sec_uid}": sim_ed.USER_POSTS_CHUNK,
    }
    assert report.failed_requests == [
        ed.FailedRequest(
            f"user:{refused.unique_id}", "GET /tt/user/posts", 404, "User posts not found"
        )
    ]
    meta = report.as_metadata()
    assert meta["failed_requests"] == 1
    assert meta["failed_request_list"] == (
        f"user:{refused.unique_id}: GET /tt/user/posts HTTP 404: User posts not found"
    )
    assert sim.api_keys["ensembledata"] not in str(meta)
    # the entry is not taken as done today: once the posts answer, a re-run buys them
    sim.reset_faults("ensembledata")
    again = load(warehouse, watch)
    assert again.entries_resumed == ["hashtag:skincare", f"user:{fine.sec_uid}"]
    assert again.failed_requests == [] and again.stopped_by is None
    posted = sim_ed._creator_videos(refused, at_now(sim))[: sim_ed.USER_POSTS_CHUNK]
    assert posted and hits(warehouse, f"user:{refused.unique_id}") == [v.video_id for v in posted]


def harvest_units(sim, watch: dict[str, Any]) -> EnsembleDataReport:
    """One source run's fetching (no load, no resume state) against the simulator."""
    report = EnsembleDataReport()
    harvest = ed.Harvest(
        ed.validate_watch(watch),
        ed.Observation(TODAY, sim.clock()),
        lambda: VendorClient(
            ed.PROFILE,
            sim.base_url("ensembledata"),
            sim.api_keys["ensembledata"],
            ClientSettings(requests_per_second=None, backoff_base=0.01),
            stats=report.requests,
        ),
        report,
    )
    harvest.rows("videos")
    return report


def test_units_counted_equal_the_units_charged_sent_when_malformed_bodies_are_retried(frozen):
    sim = frozen
    busy = max(sim.world.creators[:250], key=lambda c: len(sim_ed._creator_videos(c, at_now(sim))))
    watch = {
        "daily_units_budget": None,
        "max_pages": 2,
        "hashtags": ["skincare", "grwm"],
        "users": [{"username": busy.unique_id, "depth": 3}],  # 3 units a posts page
    }
    clean = harvest_units(sim, watch)
    assert clean.stopped_by is None and clean.requests.retries == 0
    assert clean.units_by_endpoint[ed.USER_POSTS] == 3 * clean.requests_by_endpoint[ed.USER_POSTS]
    # every answer has its body cut in half once (billed, not valid JSON), then is asked again
    sim.set_faults("ensembledata", script=["truncated", "ok"] * clean.requests.requests)
    before = sim.stats("ensembledata")
    faulty = harvest_units(sim, watch)
    after = sim.stats("ensembledata")
    sent = after["credits"] - before["credits"]  # the sum of the units_charged headers sent
    truncated = after["faults"].get("truncated", 0) - before["faults"].get("truncated", 0)
    assert faulty.stopped_by is None
    assert truncated == faulty.requests.retries == clean.requests.requests
    assert faulty.units_spent == sent == 2 * clean.units_spent
    assert faulty.units_by_endpoint == {p: 2 * u for p, u in clean.units_by_endpoint.items()}
    assert faulty.requests_by_endpoint == clean.requests_by_endpoint
