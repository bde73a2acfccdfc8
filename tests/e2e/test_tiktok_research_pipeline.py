"""TikTok Research end to end without Dagster: simulator -> OAuth + real HTTP -> dlt -> DuckDB."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from dagster._core.errors import DagsterExecutionInterruptedError

import pipelines.tiktok_research as research
from bench.limits import LimitedSimulator
from pipelines.errors import AuthError, QuotaExhausted
from pipelines.report import RunReport
from pipelines.tiktok_research import (
    QueryTaskError,
    RequestBudget,
    TaskLimitReached,
    tiktok_research_source,
)
from simulator import tiktok_research as sim_research
from tests.conftest import count, rows

TABLE = "raw_tiktok_research.videos"
DAYS = [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
US_QUERY = {"name": "us", "regions": ["US"]}
PREFIX = "SOURCES__TIKTOK_RESEARCH__"


def load(warehouse, days=DAYS, **watch: Any) -> tuple[RunReport, RequestBudget]:
    report, budget = RunReport(), RequestBudget()
    spec = {"queries": [US_QUERY], "max_count": 50, **watch}
    source = tiktok_research_source(
        watch=spec, days=days, task_poll_seconds=0.01, report=report, budget=budget
    )
    pipeline = warehouse.dlt_pipeline("tiktok_research_videos", "raw_tiktok_research")
    pipeline.run(source, loader_file_format="parquet")
    return report, budget


def world_ids(sim, days=DAYS, region="US") -> set[int]:
    return {v.video_id for day in days for v in sim.world.videos_published_on(day, region)}


def no_duplicates(warehouse) -> bool:
    dupes = f"select count(*) from (select query_name, id from {TABLE} group by all having count(*) > 1)"  # noqa: E501
    return count(warehouse, dupes) == 0


def test_videos_land_typed_complete_and_counted_against_the_quota(sim, warehouse):
    report, budget = load(warehouse)
    assert report.stopped_by is None
    expected = world_ids(sim)
    assert {r[0] for r in rows(warehouse, f"select id from {TABLE}")} == expected
    assert count(warehouse, f"select count(*) from {TABLE}") == len(expected)
    pages = -(-len(expected) // 50)
    assert budget.spent == pages and budget.left == 1000 - pages
    assert report.requests.requests == pages + 1  # plus one token request
    assert report.requests.credits == pages
    types = dict(rows(warehouse, "select column_name, data_type from information_schema.columns "
                                 "where table_schema = 'raw_tiktok_research' "
                                 "and table_name = 'videos'"))  # fmt: skip
    assert types["id"] == types["music_id"] == types["view_count"] == "BIGINT"
    assert types["create_time"] == "TIMESTAMP WITH TIME ZONE" and types["create_day"] == "DATE"
    assert types["hashtag_names"] == types["hashtag_info_list"] == types["video_label"] == "JSON"
    assert types["video_mention_list"] == "JSON" and types["is_stem_verified"] == "BOOLEAN"
    assert types["video_duration"] == types["duration_type"] == "BIGINT"
    assert "stem_verified" not in types
    # ids exact to the last digit: as text they are the world's ids, all of them above 2**53
    as_text = {r[0] for r in rows(warehouse, f"select id::varchar from {TABLE}")}
    assert as_text == {str(i) for i in expected} and min(expected) > 2**53


def test_a_query_mode_crawl_lands_the_public_apis_fields_in_their_columns(sim, warehouse):
    report, _ = load(warehouse, days=DAYS[:1])
    assert report.stopped_by is None
    got = {
        r[0]: r[1:]
        for r in rows(warehouse, f"select id, video_duration, duration_type, is_stem_verified, "
                                 f"hashtag_info_list::varchar, video_mention_list::varchar, "
                                 f"video_label::varchar from {TABLE}")
    }  # fmt: skip
    world = {v.video_id: v for v in sim.world.videos_published_on(DAYS[0], "US")}
    assert set(got) == set(world)
    at = datetime(2026, 3, 5, tzinfo=UTC)  # the fields compared do not depend on the clock
    served = {v.video_id: sim_research.research_video(v, at, sim.world) for v in world.values()}
    for video_id, (seconds, bucket, verified, infos, mentions, label) in got.items():
        item = served[video_id]
        assert seconds == world[video_id].duration and bucket is None
        assert verified is item["is_stem_verified"]
        assert json.loads(infos) == [
            {**i, "hashtag_id": str(i["hashtag_id"])} for i in item["hashtag_info_list"]
        ]
        assert (None if mentions is None else json.loads(mentions)) == item.get(
            "video_mention_list"
        )
        assert (None if label is None else json.loads(label)) == item.get("video_label")
    # every column filled somewhere, and NULL where the API omitted the field
    filled = rows(warehouse, f"select count(video_duration), count(is_stem_verified), "
                             f"count_if(is_stem_verified), count(hashtag_info_list), "
                             f"count(video_mention_list), count(video_label), count(*) "
                             f"from {TABLE}")[0]  # fmt: skip
    total = filled[-1]
    assert filled[0] == filled[1] == filled[3] == total > 0
    assert 0 < filled[2] < total and 0 < filled[4] < total and 0 < filled[5] < total
    # hashtag ids come out of the warehouse exact, as text and through a BIGINT cast
    ids = rows(warehouse, f"select (hashtag_info_list->>'$[0].hashtag_id')::bigint, "
                          f"hashtag_info_list->>'$[0].hashtag_name' from {TABLE} "
                          f"where json_array_length(hashtag_info_list) > 0")  # fmt: skip
    assert ids and all(i == sim_research.hashtag_id(name) > 2**53 for i, name in ids)


def test_text_ids_and_lists_survive_the_round_trip_exactly(sim, warehouse):
    # a US day holding a NUL username, an RTL description and emoji
    def text(v):
        return sim_research.username(v) + v.description

    def us(day):
        return sim.world.videos_published_on(day, "US")

    day = next(
        d
        for d in (date(2026, 3, 1) + timedelta(days=n) for n in range(60))
        if any("\x00" in sim_research.username(v) for v in us(d))
        and any(any("\u0590" <= c <= "\u06ff" for c in text(v)) for v in us(d))
    )  # fmt: skip
    load(warehouse, days=[day])
    got = {
        r[0]: r[1:]
        for r in rows(warehouse, f"select id, username, video_description, hashtag_names, "
                                 f"epoch(create_time)::bigint, music_id from {TABLE}")
    }  # fmt: skip
    videos = sim.world.videos_published_on(day, "US")
    assert set(got) == {v.video_id for v in videos}
    for v in videos:
        username, description, hashtags, created, music_id = got[v.video_id]
        assert username == sim_research.username(v)
        assert description == v.description
        assert json.loads(hashtags) == list(v.hashtags)
        assert created == v.create_time and music_id == v.music.music_id
    assert any("\x00" in row[0] for row in got.values())
    assert any("🔥" in row[1] or "✨" in row[1] for row in got.values())


def test_missing_fields_are_null_not_zero_or_empty(sim, warehouse):
    load(warehouse, days=DAYS[:1])
    nulls = rows(warehouse, f"select count(*) - count(playlist_id), count(playlist_id), "
                            f"count(*) - count(effect_ids) from {TABLE}")[0]  # fmt: skip
    assert nulls[0] > 0 and nulls[1] > 0 and nulls[2] > 0


@pytest.mark.parametrize(
    "options",
    [{"expire_search_after_pages": 2}, {"fail_search_after_pages": 2}, {"short_page": 7}],
)
def test_a_crawl_survives_expired_searches_500s_and_short_pages(sim, warehouse, options):
    sim.set_faults("tiktok_research", options=options)
    before = sim.stats("tiktok_research")
    report, budget = load(warehouse, max_count=20)
    after = sim.stats("tiktok_research")
    assert report.stopped_by is None
    # every research request the vendor saw counts against the quota, retries included
    assert budget.spent == after["total"] - before["total"] - 1  # -1: the (free) token
    assert budget.spent == report.requests.requests - 1
    expected = world_ids(sim)
    assert {r[0] for r in rows(warehouse, f"select id from {TABLE}")} == expected
    assert count(warehouse, f"select count(*) from {TABLE}") == len(expected)
    faulted = {
        code: after["by_status"].get(code, 0) - before["by_status"].get(code, 0)
        for code in (400, 500)
    }
    if "short_page" not in options:
        assert faulted[400] + faulted[500] > 0, "the fault really happened"
    if "fail_search_after_pages" in options:
        assert faulted[500] == report.requests.statuses["500"] == report.requests.retries + 1


def test_the_daily_quota_setting_caps_the_run_even_with_a_callers_budget(sim, warehouse):
    report, budget = RunReport(), RequestBudget()
    source = tiktok_research_source(
        watch={"queries": [US_QUERY], "max_count": 10},
        days=DAYS,
        daily_quota=2,
        report=report,
        budget=budget,
    )
    before = sim.stats("tiktok_research")["total"]
    pipeline = warehouse.dlt_pipeline("tiktok_research_videos", "raw_tiktok_research")
    pipeline.run(source, loader_file_format="parquet")
    assert isinstance(report.stopped_by, QuotaExhausted)
    assert "budget of 2 research requests" in str(report.stopped_by)
    assert budget.limit == 2 and budget.spent == 2 and budget.left == 0
    assert sim.stats("tiktok_research")["total"] - before == 1 + 2, "the token, two pages"


def test_query_mode_hashtags_and_keywords_use_the_video_query_fields(sim, warehouse):
    hashtag, word = "skincare", "routine"
    report, _ = load(
        warehouse, queries=[{"name": "mixed", "hashtags": [hashtag], "keywords": [word],
                             "regions": ["US"]}])  # fmt: skip
    assert report.stopped_by is None
    expected = {
        v.video_id
        for day in DAYS
        for v in sim.world.videos_published_on(day, "US")
        if hashtag in [t.lower() for t in v.hashtags] or word in v.description.lower()
    }
    got = {r[0] for r in rows(warehouse, f"select id from {TABLE}")}
    assert got == expected and expected
    assert any(
        word in d.lower()
        for (d,) in rows(
            warehouse,
            f"select video_description "
            f"from {TABLE} where not list_contains(hashtag_names::varchar[], '{hashtag}')",
        )
    )


def test_daily_quota_hit_keeps_complete_days_and_the_next_run_fills_the_rest(sim, warehouse):
    clean = world_ids(sim)
    first = world_ids(sim, DAYS[:1])
    pages = -(-len(first) // 20)
    sim.set_faults("tiktok_research", quota_after=pages + 1)  # dies on day 2, page 2
    report, budget = load(warehouse, max_count=20, window_days=1)
    assert isinstance(report.stopped_by, QuotaExhausted)
    assert "daily_quota_limit_exceeded" in str(report.stopped_by)
    landed = rows(warehouse, f"select create_day, count(*) from {TABLE} group by 1 order by 1")
    assert landed == [(DAYS[0], len(first))], "only the complete first day landed"
    assert budget.spent == pages + 2
    sim.reset_faults()  # the next day: quota back
    report, _ = load(warehouse, max_count=20, window_days=1)
    assert report.stopped_by is None
    assert {r[0] for r in rows(warehouse, f"select id from {TABLE}")} == clean
    assert count(warehouse, f"select count(*) from {TABLE}") == len(clean)
    assert no_duplicates(warehouse)


def test_a_rerun_replaces_the_days_it_pulls(sim, warehouse):
    load(warehouse)
    before = rows(warehouse, f"select max(pulled_at) from {TABLE}")[0][0]
    load(warehouse, days=DAYS[1:])
    assert count(warehouse, f"select count(*) from {TABLE}") == len(world_ids(sim))
    assert no_duplicates(warehouse)
    newer = rows(warehouse, f"select create_day, min(pulled_at) > '{before}' from {TABLE} "
                            "group by 1 order by 1")  # fmt: skip
    assert newer == [(DAYS[0], False), (DAYS[1], True), (DAYS[2], True)]


def test_task_mode_lands_the_same_rows_as_the_http_query(sim, warehouse):
    report, budget = load(warehouse, mode="task")
    assert report.stopped_by is None
    assert {r[0] for r in rows(warehouse, f"select id from {TABLE}")} == world_ids(sim)
    assert budget.spent == 1 + 3 + 1  # create, polls until Completed, one result page


def test_both_modes_fill_the_same_columns_per_meaning(sim, warehouse):
    select = (f"select id, is_stem_verified, video_duration, duration_type, "
              f"hashtag_info_list::varchar, video_mention_list::varchar, video_label::varchar "
              f"from {TABLE} order by id")  # fmt: skip
    load(warehouse, days=DAYS[:1])
    by_query = rows(warehouse, select)
    load(warehouse, days=DAYS[:1], mode="task")  # replaces the day's rows
    by_task = rows(warehouse, select)
    assert [r[0] for r in by_task] == [r[0] for r in by_query] and by_task
    world = {v.video_id: v for v in sim.world.videos_published_on(DAYS[0], "US")}
    for q, t in zip(by_query, by_task, strict=True):
        assert q[1] is t[1] is not None, "is_stem_verified / stem_verified: one column"
        assert q[4:] == t[4:], "hashtag_info_list, video_mention_list, video_label"
        duration = world[q[0]].duration
        assert (q[2], q[3]) == (duration, None), "mode query: seconds"
        assert (t[2], t[3]) == (None, 0 if duration < 15 else 1 if duration < 60 else 2)


def task_status(sim, task_id: int) -> str:
    with httpx.Client(base_url=sim.base_url("tiktok_research")) as client:
        token = client.post("/v2/oauth/token/", data={
            "client_key": sim_research.CLIENT_KEY, "client_secret": sim_research.CLIENT_SECRET,
            "grant_type": "client_credentials"}).json()["access_token"]  # fmt: skip
        answer = client.post(
            "/v2/research/query_task/status/",
            json={"task_id": task_id},
            headers={"Authorization": f"Bearer {token}"},
        )
        return answer.json()["data"]["status"]


def test_a_task_result_cut_off_at_task_limit_replaces_no_complete_day(sim, warehouse):
    queries = [US_QUERY, {"name": "gb", "regions": ["GB"]}]
    report, _ = load(warehouse, mode="task", window_days=1, queries=queries)
    assert report.stopped_by is None

    def landed(query: str) -> list[tuple]:
        return rows(warehouse, f"select create_day, count(*), max(pulled_at) from {TABLE} "
                               f"where query_name = '{query}' group by 1 order by 1")  # fmt: skip

    us, gb = landed("us"), landed("gb")
    limit = min(n for _, n, _ in us)  # every US day reaches it
    assert max(n for _, n, _ in gb) < limit, "no GB day does"
    report, _ = load(warehouse, mode="task", window_days=1, task_limit=limit, queries=queries)
    assert isinstance(report.stopped_by, TaskLimitReached)
    text = str(report.stopped_by)
    window = f"{DAYS[0]}..{DAYS[0]}"
    assert f"(us {window}) returned {limit} videos, its limit of {limit}" in text
    assert "tiktok_research.task_limit" in text and "tiktok_research.window_days" in text
    assert landed("us") == us, "no complete day was replaced by a partial one"
    # the other query went on: its days were re-pulled whole
    assert report.rows == {"videos": sum(n for _, n, _ in gb)}
    assert [(d, n) for d, n, _ in landed("gb")] == [(d, n) for d, n, _ in gb]
    assert all(new > old for (_, _, new), (_, _, old) in zip(landed("gb"), gb, strict=True))


def with_task(monkeypatch, **kwargs: Any) -> None:
    """Run every query task of the source with these run_task arguments (e.g. a sleep)."""
    real = research.run_task
    monkeypatch.setattr(research, "run_task", lambda *a, **kw: real(*a, **kw, **kwargs))


def interrupt(*_: object) -> None:
    raise DagsterExecutionInterruptedError  # what Dagster raises in a terminated step


@pytest.mark.parametrize("moment", ["sleep", "clock"])
def test_a_terminated_run_cancels_its_running_task_at_the_vendor(
    sim, warehouse, monkeypatch, moment
):
    # "sleep": while polling; "clock": right after create, before the first poll
    sim.set_faults("tiktok_research", options={"task_outcome": "never"})
    with_task(monkeypatch, **{moment: interrupt})
    with pytest.raises(DagsterExecutionInterruptedError):  # through dlt, unwrapped
        load(warehouse, mode="task")
    assert task_status(sim, 10_000) == "Cancelled"


def test_a_task_cancelled_at_the_vendor_stops_the_source_clearly(sim, warehouse):
    sim.set_faults("tiktok_research", options={"task_outcome": "Cancelled"})
    report, _ = load(warehouse, mode="task")
    assert isinstance(report.stopped_by, QueryTaskError)
    text = str(report.stopped_by)
    assert f"query task 10000 (us {DAYS[0]}..{DAYS[-1]}) ended Cancelled" in text
    assert "cancelled it at the vendor" in text
    assert report.rows == {} and task_status(sim, 10_000) == "Cancelled"


def test_a_task_that_fails_analysis_stops_the_source_clearly(sim, warehouse):
    sim.set_faults("tiktok_research", options={"task_outcome": "AnalysisFailed"})
    report, _ = load(warehouse, mode="task")
    assert isinstance(report.stopped_by, QueryTaskError)
    assert "ended AnalysisFailed" in str(report.stopped_by)
    assert task_status(sim, 10_000) == "AnalysisFailed"


def test_a_task_that_never_completes_is_cancelled_on_timeout(sim, warehouse):
    sim.set_faults("tiktok_research", options={"task_outcome": "never"})
    report, _ = load(warehouse, mode="task", task_timeout_seconds=0.05)
    assert isinstance(report.stopped_by, QueryTaskError)
    assert "cancelled" in str(report.stopped_by)
    assert task_status(sim, 10_000) == "Cancelled"


def test_missing_client_credentials_stop_before_any_request(sim, warehouse, monkeypatch):
    monkeypatch.delenv(f"{PREFIX}CLIENT_KEY", raising=False)
    monkeypatch.delenv(f"{PREFIX}CLIENT_SECRET", raising=False)
    before = sim.stats("tiktok_research")["total"]
    report, _ = load(warehouse)
    assert isinstance(report.stopped_by, AuthError)
    assert "CLIENT_KEY" in str(report.stopped_by)
    assert sim.stats("tiktok_research")["total"] == before


def test_a_token_revoked_mid_run_is_refreshed_once_and_the_crawl_goes_on(sim, warehouse):
    sim.set_faults("tiktok_research", options={"revoke_tokens_after": 2})
    report, _ = load(warehouse, max_count=20)
    assert report.stopped_by is None
    assert count(warehouse, f"select count(*) from {TABLE}") == len(world_ids(sim))
    statuses = report.requests.statuses
    assert statuses["401"] == 1 and report.requests.requests == statuses["200"] + 1


def test_wrong_client_secret_fails_once_naming_the_setting_not_the_secret(
    sim, warehouse, monkeypatch
):
    monkeypatch.setenv(f"{PREFIX}CLIENT_SECRET", "wrong-secret-123")
    before = sim.stats("tiktok_research")["total"]
    report, _ = load(warehouse)
    assert isinstance(report.stopped_by, AuthError)
    text = str(report.stopped_by)
    assert "invalid_client" in text and "__CLIENT_SECRET" in text
    assert "wrong-secret-123" not in text
    assert sim.stats("tiktok_research")["total"] == before + 1, "one token request, no retry"


def test_the_token_request_counts_against_the_vendors_one_rate_limit(warehouse, monkeypatch):
    """The OAuth token and the queries share one `requests_per_second`: a vendor refusing
    anything faster than 1 a second serves every request the first time."""
    with LimitedSimulator(rps={"tiktok_research": 1.0}).start() as limited:
        for name, value in limited.source_env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv(f"{PREFIX}REQUESTS_PER_SECOND", "1")
        monkeypatch.setenv(f"{PREFIX}BACKOFF_BASE", "0.01")
        report, budget = load(warehouse, days=DAYS[:1])
        served = [s.target for s in limited.served["tiktok_research"]]
        refused = limited.refused["tiktok_research"]
    assert report.stopped_by is None
    assert refused == 0
    assert served[0].startswith("/tiktok_research/v2/oauth/token/")
    assert len(served) == budget.spent + 1 >= 2
