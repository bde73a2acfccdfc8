"""EnsembleData pipeline units: parsing, watch validation, error mapping, paging, budget.

HTTP is faked with httpx.MockTransport; the simulator round trip is in tests/e2e.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from pipelines import ensembledata as ed
from pipelines.errors import (
    AuthError,
    ConfigError,
    InvalidRequest,
    MalformedResponse,
    QuotaExhausted,
    RateLimited,
    ServerError,
)
from pipelines.http import ClientSettings, VendorClient, VendorProfile

TOKEN = "ed-unit-secret-token-123"
AT = ed.Observation(date(2026, 11, 20), datetime(2026, 11, 20, 9, 30, tzinfo=UTC))
BIG = 7165262254722534698  # the guide's example post id, > 2**53

# The guide's post-info example names these fields: author, music, desc, statistics.*
SEED_POST: dict[str, Any] = {
    "aweme_id": str(BIG),
    "desc": "magic 🪄 مرحبا \x00 #magic",
    "create_time": 1668096000,
    "author": {
        "uid": "6784819479778378757",
        "unique_id": "daviddobrik",
        "sec_uid": "MS4wLjABAAAAQ45",
        "nickname": "David Dobrik",
    },
    "statistics": {
        "play_count": 1_234_567,
        "digg_count": 89_012,
        "comment_count": 345,
        "share_count": 67,
        "collect_count": 8,
    },
    "text_extra": [{"hashtag_name": "Magic"}, {"hashtag_name": ""}, {"hashtag_name": "magic"}],
    "music": {"id": 7104367250254116626, "title": "original sound", "author": "David"},
}

Route = Callable[[httpx.Request], httpx.Response]


def ok(data: Any, units: int = 1, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"data": data}, headers={"units_charged": str(units)})


def fail(status: int, detail: Any) -> httpx.Response:
    return httpx.Response(status, json={"detail": detail})


def client(handler: Route, report: ed.EnsembleDataReport | None = None, **kw) -> VendorClient:
    settings = ClientSettings(requests_per_second=None, max_attempts=kw.pop("attempts", 3))
    return VendorClient(
        kw.pop("profile", ed.PROFILE),
        "https://ensembledata.test/apis",
        TOKEN,
        settings,
        stats=(report or ed.EnsembleDataReport()).requests,
        transport=httpx.MockTransport(handler),
        sleep=lambda _: None,
    )


def fetcher(handler: Route, budget: int | None = None) -> ed.Fetcher:
    report = ed.EnsembleDataReport(units_budget=budget)
    return ed.Fetcher(client(handler, report), report)


# -- parsing --------------------------------------------------------------------------------


def test_seed_post_parses_into_every_table_with_exact_ids():
    parsed = ed.parse_post(SEED_POST, AT)
    assert parsed.video["aweme_id"] == BIG and isinstance(parsed.video["aweme_id"], int)
    assert parsed.video["create_time"] == datetime(2022, 11, 10, 16, 0, tzinfo=UTC)
    assert parsed.video["description"] == SEED_POST["desc"]
    assert parsed.video["author_uid"] == 6784819479778378757
    assert parsed.video["music_id"] == 7104367250254116626
    assert parsed.stats == {
        "aweme_id": BIG,
        "observed_on": AT.observed_on,
        "observed_at": AT.observed_at,
        "plays": 1_234_567,
        "likes": 89_012,
        "comments": 345,
        "shares": 67,
        "saves": 8,
    }
    # lower-cased, empty names dropped, duplicates once, positions from 1
    assert parsed.hashtags == [{"aweme_id": BIG, "position": 1, "hashtag": "magic"}]
    assert parsed.author["unique_id"] == "daviddobrik"
    assert parsed.music["title"] == "original sound"


def test_missing_sub_objects_give_no_rows_not_errors():
    bare = {"aweme_id": str(BIG), "desc": "x", "create_time": 1668096000}
    parsed = ed.parse_post(bare, AT)
    assert parsed.music is None and parsed.author is None and parsed.stats is None
    assert parsed.hashtags == []
    assert parsed.video["music_id"] is None and parsed.video["author_uid"] is None


def test_keyword_hits_are_unwrapped_from_aweme_info():
    assert ed.parse_post({"aweme_info": SEED_POST}, AT).video["aweme_id"] == BIG


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"aweme_id": None}, "'aweme_id' is missing"),
        ({"aweme_id": 7.1e18}, "'aweme_id' should be an integer"),
        ({"music": "x"}, "'music' should be an object"),
        ({"statistics": {"play_count": "many"}}, "'statistics.play_count'"),
        ({"text_extra": {"hashtag_name": "x"}}, "'text_extra' should be a list"),
        ({"desc": 5}, "'desc' should be a string"),
    ],
)
def test_bad_fields_are_named(patch, message):
    with pytest.raises(ValueError, match=message):
        ed.parse_post({**SEED_POST, **patch}, AT)


def test_user_info_gives_identity_and_a_follower_snapshot():
    user, stats = ed.parse_user_info(
        {**SEED_POST["author"], "follower_count": 1000, "aweme_count": 5, "verified": True}, AT
    )
    assert user["uid"] == 6784819479778378757 and user["sec_uid"] == "MS4wLjABAAAAQ45"
    assert stats["followers"] == 1000 and stats["videos"] == 5 and stats["verified"] is True
    assert stats["observed_on"] == AT.observed_on and stats["uid"] == user["uid"]


def test_comment_parses_with_its_author():
    row, author = ed.parse_comment(
        {"cid": str(BIG + 1), "aweme_id": str(BIG), "text": "wow", "user": SEED_POST["author"]},
        AT,
    )
    assert row["comment_id"] == BIG + 1 and row["aweme_id"] == BIG
    assert row["user_uid"] == author["uid"] == 6784819479778378757


# -- watch validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("watch", "key", "message"),
    [
        ({"users": [{"username": "a", "sec_uid": "b"}]}, "users.0", "exactly one of username"),
        ({"users": [{"posts": True}]}, "users.0", "exactly one of username or sec_uid"),
        ({"users": [{"username": "a", "depth": 0}]}, "users.0.depth", "greater than or equal"),
        ({"keywords": [{"name": "x", "period": 3}]}, "keywords.0.period", "Input should be"),
        ({"keywords": [{"name": "x", "sorting": "views"}]}, "keywords.0.sorting", "relevance"),
        ({"keywords": [{"name": "x", "country": "usa"}]}, "keywords.0.country", "two-letter"),
        ({"keywords": [{"name": "  "}]}, "keywords.0.name", "must not be empty"),
        ({"hashtag_full_searches": [{"name": "x", "days": 0}]}, "hashtag_full_searches.0.days",
         "greater than or equal to 1"),
        ({"hashtag_full_searches": [{"name": "x", "max_cursor": 0}]},
         "hashtag_full_searches.0.max_cursor", "greater than or equal to 1"),
        ({"post_ids": ["71x"]}, "post_ids", "ids are numeric"),
        ({"post_ids": [True]}, "post_ids", "ids are numeric"),
        ({"post_urls": ["https://example.com/a"]}, "post_urls", "tiktok.com"),
        ({"daily_units_budget": 0}, "daily_units_budget", "greater than or equal to 1"),
        ({"max_pages": 0}, "max_pages", "greater than or equal to 1"),
        ({"hashtag": ["x"]}, "hashtag", "Extra inputs are not permitted"),
    ],
)  # fmt: skip
def test_watch_validation_is_a_config_error_naming_the_watchlist_key(watch, key, message):
    with pytest.raises(ConfigError) as caught:
        ed.validate_watch(watch)
    text = str(caught.value)
    assert text.startswith("ensembledata watch is invalid: ")
    assert f"ensembledata.{key}: " in text and message in text


def test_an_invalid_watch_fails_the_source_before_any_request():
    with pytest.raises(ConfigError, match=r"ensembledata\.max_pages"):
        ed.ensembledata_source(watch={"max_pages": 0}, api_key="x")


def test_watch_accepts_yaml_ints_as_ids_and_strips_hashes():
    watch = ed.validate_watch({"post_ids": [BIG], "hashtags": ["#magic"]})
    assert watch.post_ids == (str(BIG),) and watch.hashtags == ("magic",)


def test_keyword_params_map_sorting_and_flags():
    entry = ed.KeywordWatch(name="magic", period=30, sorting="likes", country="US")
    assert ed.keyword_params(entry) == {
        "name": "magic",
        "period": 30,
        "sorting": 1,
        "match_exactly": "false",
        "country": "US",
    }
    assert "country" not in ed.keyword_params(ed.KeywordWatch(name="m"))


def test_multi_info_batches_hold_at_most_100_unique_ids():
    ids = (*(str(BIG + n) for n in range(250)), str(BIG))
    got = ed.batches(ids)
    assert [len(b) for b in got] == [100, 100, 50]
    assert sum(got, ()) == ids[:250]
    with pytest.raises(ValueError, match=r"1\.\.100"):
        ed.batches(ids, 101)


# -- errors and the data-on-error hook ------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "detail", "error", "text"),
    [
        (491, "Token not found", AuthError, "SOURCES__ENSEMBLEDATA__API_KEY"),
        (492, "Token expired", AuthError, "Token expired"),
        (493, "Max daily units reached", QuotaExhausted, "quota"),
        (495, "Units used up", QuotaExhausted, "re-run"),
        (
            422,
            [{"loc": ["query", "period"], "msg": "not a valid period", "type": "value_error"}],
            InvalidRequest,
            "period: not a valid period",
        ),
        (404, "User not found", InvalidRequest, "User not found"),
    ],
)
def test_error_statuses_map_onto_the_taxonomy_without_retry(status, detail, error, text):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return fail(status, detail)

    with pytest.raises(error) as caught, client(handler) as c:
        c.get(ed.HASHTAG_POSTS, {"name": "magic"})
    assert len(calls) == 1
    assert text in str(caught.value) and f"HTTP {status}" in str(caught.value)
    assert TOKEN not in str(caught.value)
    assert calls[0].url.params["token"] == TOKEN  # the token travels as a query parameter


@pytest.mark.parametrize(
    ("status", "detail", "error"),
    [
        (429, "Too many requests", RateLimited),
        (500, "Internal server error", ServerError),
        (520, "Unknown error, please retry", ServerError),
    ],
)
def test_transient_statuses_are_retried_then_raised_with_the_vendors_detail(status, detail, error):
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return fail(status, detail)

    with pytest.raises(error) as caught, client(handler, attempts=3) as c:
        c.get(ed.HASHTAG_POSTS, {"name": "magic"})
    assert len(calls) == 3
    text = str(caught.value)
    assert detail in text and f"HTTP {status}" in text and TOKEN not in text


def test_a_4xx_carrying_data_is_data_and_its_units_count():
    report = ed.EnsembleDataReport()
    body = {"data": [SEED_POST], "detail": "1 of 2 posts were not found"}
    with client(
        lambda r: httpx.Response(400, json=body, headers={"units_charged": "2"}), report
    ) as c:
        response = c.get(ed.POST_MULTI_INFO, {"ids": f"{BIG};1"})
    assert response.status == 400 and response.body["data"][0]["aweme_id"] == str(BIG)
    assert report.requests.credits == 2 and report.requests.statuses == {"400": 1}


def test_a_4xx_without_data_stays_an_error_and_5xx_with_data_is_not_data():
    with pytest.raises(InvalidRequest), client(lambda r: fail(400, "bad")) as c:
        c.get(ed.POST_MULTI_INFO, {"ids": "1"})
    with pytest.raises(InvalidRequest), client(lambda r: ok(None, status=400)) as c:
        c.get(ed.POST_MULTI_INFO, {"ids": "1"})
    with pytest.raises(ServerError), client(lambda r: ok([1], status=500), attempts=1) as c:
        c.get(ed.POST_MULTI_INFO, {"ids": "1"})


def test_profiles_without_the_hook_are_unchanged():
    plain = VendorProfile(name="plain", auth="query")
    with pytest.raises(InvalidRequest), client(lambda r: ok([1], status=400), profile=plain) as c:
        c.get("/x")


def test_the_token_never_reaches_logs_or_transport_errors(caplog):
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    caplog.set_level(logging.DEBUG)
    with client(lambda r: ok({"data": []})) as c:
        c.get(ed.HASHTAG_POSTS, {"name": "magic"})
    with pytest.raises(ServerError) as caught, client(broken, attempts=2) as c:
        c.get(ed.HASHTAG_POSTS, {"name": "magic"})
    assert "token=***" in str(caught.value) and TOKEN not in str(caught.value)
    assert "token=***" in caplog.text  # httpx logged the URL, masked
    assert TOKEN not in caplog.text


# -- pagination -----------------------------------------------------------------------------


def pager(pages: dict[Any, dict[str, Any]], seen: list[dict[str, str]]) -> Route:
    """Answers the page registered for the request's cursor (absent cursor = 0)."""

    def handler(request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        seen.append(params)
        cursor = params.get("cursor", params.get("start_cursor", "0"))
        return ok(pages[cursor])

    return handler


def test_walk_stops_at_the_end_marker_missing_or_null():
    for end in ({}, {"nextCursor": None}):
        seen: list[dict[str, str]] = []
        pages = {"0": {"data": [1, 2], "nextCursor": 2}, "2": {"data": [3], **end}}
        result = ed.walk(fetcher(pager(pages, seen)), ed.HASHTAG_POSTS, {"name": "m"},
                         list_key="data", max_pages=10)  # fmt: skip
        assert result.stopped == "end"
        assert [items for items, _ in result.pages] == [[1, 2], [3]]
        assert [p.get("cursor") for p in seen] == [None, "2"]


def test_walk_stops_at_the_configured_depth():
    seen: list[dict[str, str]] = []
    pages = {str(n): {"data": [n], "nextCursor": n + 1} for n in range(10)}
    result = ed.walk(fetcher(pager(pages, seen)), ed.HASHTAG_POSTS, {"name": "m", "cursor": 0},
                     list_key="data", max_pages=3)  # fmt: skip
    assert result.stopped == "depth" and len(seen) == 3
    with pytest.raises(ValueError, match="max_pages"):
        ed.walk(fetcher(pager(pages, [])), ed.HASHTAG_POSTS, {}, list_key="data", max_pages=0)


@pytest.mark.parametrize("repeat", ["20", "0"])
def test_walk_stops_on_a_repeated_cursor_instead_of_looping(repeat):
    seen: list[dict[str, str]] = []
    pages = {"0": {"data": [1], "nextCursor": 20}, "20": {"data": [2], "nextCursor": int(repeat)}}
    result = ed.walk(fetcher(pager(pages, seen)), ed.HASHTAG_POSTS, {"name": "m", "cursor": 0},
                     list_key="data", max_pages=50)  # fmt: skip
    assert result.stopped == "repeated_cursor" and len(seen) == 2


def test_followings_walk_passes_page_token_and_ends_without_one():
    seen: list[dict[str, str]] = []
    pages = {
        "0": {"followings": [1], "nextCursor": 100, "nextPageToken": "tok-a"},
        "100": {"followings": [2], "nextCursor": 200, "nextPageToken": "tok-b"},
        "200": {"followings": [3], "nextCursor": 300, "nextPageToken": None},
    }
    result = ed.walk(fetcher(pager(pages, seen)), ed.USER_FOLLOWINGS,
                     {"id": "1", "secUid": "s", "cursor": 0}, list_key="followings",
                     max_pages=10, page_token=True)  # fmt: skip
    assert result.stopped == "end" and len(result.pages) == 3
    assert [(p["cursor"], p.get("page_token")) for p in seen] == [
        ("0", None),
        ("100", "tok-a"),
        ("200", "tok-b"),
    ]


def test_user_posts_walk_on_start_cursor():
    seen: list[dict[str, str]] = []
    pages = {"0": {"data": [1], "nextCursor": 1700000000000}, "1700000000000": {"data": [2]}}
    result = ed.walk(fetcher(pager(pages, seen)), ed.USER_POSTS, {"username": "u", "depth": 2},
                     list_key="data", max_pages=5, cursor_param="start_cursor")  # fmt: skip
    assert result.stopped == "end" and seen[1]["start_cursor"] == "1700000000000"


@pytest.mark.parametrize(
    ("data", "message"),
    [([1], "`data` should be an object"), ({"data": 5}, "`data.data` should be a list")],
)
def test_walk_rejects_pages_of_the_wrong_shape(data, message):
    with pytest.raises(MalformedResponse, match=message):
        ed.walk(fetcher(lambda r: ok(data)), ed.HASHTAG_POSTS, {}, list_key="data", max_pages=2)


# -- budget ---------------------------------------------------------------------------------


def test_budget_stops_before_the_request_that_would_exceed_it():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return ok({"data": []}, units=2)

    f = fetcher(handler, budget=5)
    f.report.units_used_before = 1
    f.get(ed.HASHTAG_POSTS, {"name": "a"})  # expected 1, spends 2 -> 3 used
    with pytest.raises(QuotaExhausted) as caught:
        f.get(ed.HASHTAG_POSTS, {"name": "b"})  # last seen price 2 -> would reach 5: allowed
        f.get(ed.HASHTAG_POSTS, {"name": "c"})  # 5 + 2 > 5: refused before sending
    assert len(calls) == 2
    text = str(caught.value)
    assert "budget of 5" in text and "1 units were used earlier today" in text
    assert "4 by this run" in text and "daily_units_budget" in text
    assert f.report.units_spent == 4 and f.report.units_by_endpoint[ed.HASHTAG_POSTS] == 4


def test_expected_units_scale_with_depth_ids_and_full_search_worst_case():
    f = fetcher(lambda r: ok({}))
    assert f.expected_units(ed.USER_POSTS, {"depth": 4}) == 4
    assert f.expected_units(ed.POST_MULTI_INFO, {"ids": ";".join(["1"] * 25)}) == 3
    # full searches: one unit per page of 20 posts they may walk
    assert f.expected_units(ed.HASHTAG_RECENT_POSTS, {"max_cursor": 100}) == 5
    assert f.expected_units(ed.HASHTAG_RECENT_POSTS, {"max_cursor": 2001}) == 101
    assert f.expected_units(ed.KEYWORD_FULL_SEARCH, {"name": "x"}) == 5_000 / 20 == 250
    assert f.expected_units(ed.USED_UNITS, {}) == 0
    assert f.expected_units(ed.HASHTAG_POSTS, {}) == 1
    assert f.expected_units("/tt/some/new-path", {}) == 1


def test_the_highest_charge_seen_for_a_path_raises_its_estimate_per_step():
    charges = {ed.HASHTAG_POSTS: [3, 1], ed.USER_POSTS: [6]}

    def handler(request: httpx.Request) -> httpx.Response:
        return ok({"data": []}, units=charges[request.url.path.removeprefix("/apis")].pop(0))

    f = fetcher(handler, budget=1000)
    f.get(ed.HASHTAG_POSTS, {"name": "a"})
    f.get(ed.HASHTAG_POSTS, {"name": "b"})  # cheaper this time: the highest charge stays
    assert f.expected_units(ed.HASHTAG_POSTS, {}) == 3
    f.get(ed.USER_POSTS, {"username": "u", "depth": 2})  # 6 units for 2 steps
    assert f.expected_units(ed.USER_POSTS, {"depth": 1}) == 3
    assert f.expected_units(ed.USER_POSTS, {"depth": 5}) == 15
    assert f.expected_units(ed.KEYWORD_SEARCH, {}) == 1  # other paths keep their price


def test_a_full_search_is_only_sent_with_headroom_for_its_worst_case():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return ok({"data": []}, units=3)

    f = fetcher(handler, budget=260)
    f.report.units_used_before = 11
    with pytest.raises(QuotaExhausted) as caught:
        f.get(ed.KEYWORD_FULL_SEARCH, {"name": "magic"})  # 11 + 250 > 260
    assert calls == [] and f.report.units_spent == 0
    assert "may cost up to 250 (its worst case" in str(caught.value)
    f.report.units_used_before = 10
    f.get(ed.KEYWORD_FULL_SEARCH, {"name": "magic"})  # 10 + 250 <= 260: sent, charged 3
    assert len(calls) == 1 and f.report.units_spent == 3


def test_a_charge_past_the_budget_stops_at_once_and_says_by_how_much():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path.removeprefix("/apis"))
        if request.url.path.endswith(ed.USED_UNITS):
            return ok(0, units=0)
        return ok({"data": [SEED_POST]}, units=7)  # priced 1, charged 7

    report = ed.EnsembleDataReport(units_budget=5)
    watch = ed.validate_watch({"hashtags": ["magic", "later"]})
    harvest = ed.Harvest(watch, AT, lambda: client(handler, report), report)
    assert harvest.rows("videos") == [], "the entry that overspent is not kept"
    assert calls == [ed.USED_UNITS, ed.HASHTAG_POSTS]  # `later` was never asked
    error = report.stopped_by
    assert isinstance(error, QuotaExhausted)
    text = str(error)
    assert "daily units budget of 5 exceeded by 2 units" in text
    assert "charged 7 units where at most 1 were expected" in text and "stopped at once" in text
    assert report.units_used_before == 0 and report.units_spent == 7
    meta = report.as_metadata()
    assert meta["units_over_budget"] == 2 and meta["units_left"] == -2
    assert "exceeded by 2 units" in meta["stopped_by"]


def test_no_budget_means_no_check():
    f = fetcher(lambda r: ok({"data": []}, units=1000), budget=None)
    for _ in range(3):
        f.get(ed.HASHTAG_POSTS, {"name": "a"})
    assert f.report.units_spent == 3000


# -- every endpoint family from the source --------------------------------------------------


def fake_vendor(calls: list[tuple[str, dict[str, str]]]) -> Route:
    """One canned answer per path; records (path, params without the token)."""
    user = {**SEED_POST["author"], "follower_count": 10}
    answers: dict[str, Any] = {
        ed.USED_UNITS: 0,
        ed.HASHTAG_POSTS: {"data": [SEED_POST]},
        ed.HASHTAG_RECENT_POSTS: {"data": [SEED_POST]},
        ed.KEYWORD_SEARCH: {"data": [{"aweme_info": SEED_POST}]},
        ed.KEYWORD_FULL_SEARCH: {"data": [{"aweme_info": SEED_POST}]},
        ed.USER_INFO_FROM_SECUID: {"user": user},
        ed.USER_POSTS_FROM_SECUID: {"data": [SEED_POST]},
        ed.USER_FOLLOWERS: {"followers": [SEED_POST["author"]], "nextCursor": None},
        ed.USER_FOLLOWINGS: {"followings": [], "nextCursor": None, "nextPageToken": None},
        ed.POST_INFO: [SEED_POST],
        ed.POST_MULTI_INFO: [SEED_POST],
        ed.POST_COMMENTS: {"comments": [{"cid": "1", "aweme_id": str(BIG), "text": "hi"}]},
        ed.MUSIC_DETAILS: {"id": 5, "title": "song", "user_count": 7},
        ed.MUSIC_POSTS: {"data": [SEED_POST]},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/apis")
        params = {k: v for k, v in request.url.params.items() if k != "token"}
        calls.append((path, params))
        return ok(answers[path])

    return handler


def test_every_endpoint_family_is_called_with_its_parameters():
    calls: list[tuple[str, dict[str, str]]] = []
    report = ed.EnsembleDataReport(units_budget=1000)
    watch = ed.validate_watch(
        {
            "max_pages": 2,
            "hashtags": ["magic"],
            "hashtag_full_searches": [{"name": "magic", "days": 7, "max_cursor": 2000}],
            "keywords": [
                {"name": "magic trick", "period": 30, "sorting": "likes", "country": "US"},
                {"name": "magic", "full": True, "match_exactly": True},
            ],
            "users": [
                {
                    "sec_uid": "MS4wLjABAAAAQ45",
                    "depth": 3,
                    "oldest_createtime": 1700000000,
                    "followers": True,
                    "followings": True,
                }
            ],
            "post_ids": [str(BIG + n) for n in range(150)],
            "post_urls": ["https://www.tiktok.com/@daviddobrik/video/7165262254722534698"],
            "comments": [str(BIG)],
            "music_ids": ["5"],
        }
    )
    harvest = ed.Harvest(watch, AT, lambda: client(fake_vendor(calls), report), report)
    assert len(harvest.rows("videos")) == 1
    assert report.stopped_by is None
    by_path: dict[str, list[dict[str, str]]] = {}
    for path, params in calls:
        by_path.setdefault(path, []).append(params)
    assert by_path[ed.USED_UNITS] == [{"date": "2026-11-20"}]
    assert by_path[ed.HASHTAG_POSTS] == [{"name": "magic", "cursor": "0"}]
    assert by_path[ed.HASHTAG_RECENT_POSTS] == [
        {"name": "magic", "days": "7", "max_cursor": "2000"}
    ]
    assert by_path[ed.KEYWORD_SEARCH] == [
        {"name": "magic trick", "period": "30", "sorting": "1", "match_exactly": "false",
         "country": "US", "cursor": "0"}
    ]  # fmt: skip
    assert by_path[ed.KEYWORD_FULL_SEARCH] == [
        {"name": "magic", "period": "7", "sorting": "0", "match_exactly": "true"}
    ]
    assert by_path[ed.USER_INFO_FROM_SECUID] == [{"secUid": "MS4wLjABAAAAQ45"}]
    assert by_path[ed.USER_POSTS_FROM_SECUID] == [
        {"secUid": "MS4wLjABAAAAQ45", "depth": "3", "oldest_createtime": "1700000000"}
    ]
    follow = {"id": "6784819479778378757", "secUid": "MS4wLjABAAAAQ45", "cursor": "0"}
    assert by_path[ed.USER_FOLLOWERS] == [follow] and by_path[ed.USER_FOLLOWINGS] == [follow]
    assert [len(p["ids"].split(";")) for p in by_path[ed.POST_MULTI_INFO]] == [100, 50]
    assert by_path[ed.POST_INFO] == [{"url": watch.post_urls[0]}]
    assert by_path[ed.POST_COMMENTS] == [{"aweme_id": str(BIG), "cursor": "0"}]
    assert by_path[ed.MUSIC_DETAILS] == [{"id": "5"}]
    assert by_path[ed.MUSIC_POSTS] == [{"music_id": "5", "cursor": "0"}]
    assert harvest.rows("music_stats") == [
        {"music_id": 5, "observed_on": AT.observed_on, "posts": 7}
    ]
    assert [r["relation"] for r in harvest.rows("follows")] == ["follower"]
    assert len(harvest.rows("comments")) == 1 and len(harvest.rows("user_stats")) == 1
    hits = {r["watch_key"] for r in harvest.rows("search_hits")}
    assert hits == {
        "hashtag:magic",
        "hashtag_full:magic",
        "keyword:magic trick",
        "keyword:magic",
        "user:MS4wLjABAAAAQ45",
        "music:5",
    }


def test_a_malformed_post_names_field_page_and_request_and_keeps_complete_entries():
    calls: list[tuple[str, dict[str, str]]] = []
    good = fake_vendor(calls)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("name") == "broken":
            return ok({"data": [{**SEED_POST, "aweme_id": "x"}]})
        return good(request)

    report = ed.EnsembleDataReport(units_budget=None)
    watch = ed.validate_watch({"hashtags": ["magic", "broken", "later"]})
    harvest = ed.Harvest(watch, AT, lambda: client(handler, report), report)
    assert len(harvest.rows("search_hits")) == 1  # magic landed; later was never asked
    assert isinstance(report.stopped_by, MalformedResponse)
    assert "'aweme_id'" in str(report.stopped_by) and "page 1" in str(report.stopped_by)
    assert [p.get("name") for _, p in calls] == ["magic"]


def test_a_missing_user_is_an_empty_slice_not_a_stop():
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tt/user/info"):
            return fail(404, "User not found")
        return ok({"data": [SEED_POST]})

    report = ed.EnsembleDataReport(units_budget=None)
    watch = ed.validate_watch({"users": [{"username": "gone"}], "hashtags": ["magic"]})
    harvest = ed.Harvest(watch, AT, lambda: client(handler, report), report)
    assert len(harvest.rows("videos")) == 1 and report.stopped_by is None
    assert report.empty_slices == ["user:gone (not found)"]


# -- resume and emptied child lists ---------------------------------------------------------


def hashtag_vendor(calls: list[str], units: int = 1) -> Route:
    """One post per hashtag page, its aweme id derived from the tag; records the tags asked."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(ed.USED_UNITS):
            return ok(0, units=0)
        tag = request.url.params["name"]
        calls.append(tag)
        return ok({"data": [{**SEED_POST, "aweme_id": str(BIG + len(tag))}]}, units=units)

    return handler


def harvest(watch: dict[str, Any], state: dict[str, Any], calls: list[str], at=AT, **kw):
    report = ed.EnsembleDataReport(units_budget=kw.pop("budget", None))
    h = ed.Harvest(
        ed.validate_watch(watch),
        at,
        lambda: client(hashtag_vendor(calls), report),
        report,
        state=lambda: state,
    )
    h.rows("videos")
    return h, report


def test_a_same_day_rerun_skips_entries_completed_today_and_a_new_day_starts_fresh():
    state: dict[str, Any] = {}
    calls: list[str] = []
    watch = {"hashtags": ["a", "bb"]}
    first, _ = harvest(watch, state, calls)
    assert calls == ["a", "bb"] and len(first.rows("search_hits")) == 2
    assert state["completed"]["observed_on"] == "2026-11-20"
    assert set(state["completed"]["entries"]) == {"hashtag:a", "hashtag:bb"}
    again, report = harvest({"hashtags": ["a", "bb", "ccc"]}, state, calls)
    assert calls == ["a", "bb", "ccc"], "only the new entry was bought"
    assert report.entries_resumed == ["hashtag:a", "hashtag:bb"]
    assert [r["watch_key"] for r in again.rows("search_hits")] == ["hashtag:ccc"]
    assert report.as_metadata()["entries_resumed"] == 2
    # a changed entry (deeper walk) is not taken as done
    harvest({"hashtags": ["a"], "max_pages": 5}, state, calls)
    assert calls[-1] == "a" and len(calls) == 4
    # the next day buys everything again, and forgets the day before
    next_day = ed.Observation(date(2026, 11, 21), datetime(2026, 11, 21, 9, 30, tzinfo=UTC))
    harvest(watch, state, calls, at=next_day)
    assert calls[4:] == ["a", "bb"]
    assert state["completed"]["observed_on"] == "2026-11-21"
    assert set(state["completed"]["entries"]) == {"hashtag:a", "hashtag:bb"}


def test_a_stopped_run_records_only_the_entries_whose_rows_it_keeps():
    state: dict[str, Any] = {}
    calls: list[str] = []
    first, report = harvest({"hashtags": ["a", "bb", "ccc"]}, state, calls, budget=2)
    assert isinstance(report.stopped_by, QuotaExhausted) and calls == ["a", "bb"]
    assert set(state["completed"]["entries"]) == {"hashtag:a", "hashtag:bb"}
    assert {r["watch_key"] for r in first.rows("search_hits")} == {"hashtag:a", "hashtag:bb"}


def test_an_emptied_child_list_becomes_one_tombstone_never_a_row():
    bare = {k: v for k, v in SEED_POST.items() if k != "text_extra"}
    user = {**SEED_POST["author"], "follower_count": 10}

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/apis")
        if path == ed.HASHTAG_POSTS:
            return ok({"data": [bare]})
        if path == ed.USER_INFO:
            return ok({"user": user})
        return ok({"followers": [], "total": 0, "nextCursor": None})

    report = ed.EnsembleDataReport(units_budget=None)
    watch = {"hashtags": ["magic"], "users": [{"username": "u", "posts": False, "followers": True}]}
    h = ed.Harvest(ed.validate_watch(watch), AT, lambda: client(handler, report), report)
    assert h.rows("video_hashtags") == [] and h.rows("follows") == []
    assert h.tombstone_rows("video_hashtags") == [{"aweme_id": BIG, "position": 0, "deleted": True}]
    uid = 6784819479778378757
    assert h.tombstone_rows("follows") == [
        {"uid": uid, "relation": "follower", "other_uid": 0, "deleted": True}
    ]
    assert "video_hashtags" not in report.rows  # a tombstone is not a row fetched
    # the same post seen again with hashtags replaces the tombstone
    unit = ed._Unit()
    unit.post(ed.parse_post(SEED_POST, AT))
    h._commit(unit)
    assert h.tombstone_rows("video_hashtags") == []
    assert [r["hashtag"] for r in h.rows("video_hashtags")] == ["magic"]


# -- a refused sub-request keeps the rest of its entry ---------------------------------------


def refusing_vendor(refuse: dict[str, httpx.Response]) -> Route:
    """`fake_vendor`, except the paths in `refuse` answer their canned refusal."""
    good = fake_vendor([])

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/apis")
        return refuse[path] if path in refuse else good(request)

    return handler


def harvest_with(handler: Route, watch: dict[str, Any], state: dict[str, Any]):
    report = ed.EnsembleDataReport(units_budget=None)
    h = ed.Harvest(
        ed.validate_watch(watch), AT, lambda: client(handler, report), report, state=lambda: state
    )
    h.rows("videos")
    return h, report


CREATOR = {"sec_uid": "MS4wLjABAAAAQ45", "followers": True}


@pytest.mark.parametrize(
    ("status", "detail"), [(404, "User posts not found"), (422, "User posts are unavailable")]
)
def test_refused_posts_keep_the_profile_follower_snapshot_and_follows(status, detail):
    state: dict[str, Any] = {}
    refuse = {ed.USER_POSTS_FROM_SECUID: fail(status, f"{detail} for {TOKEN}")}
    h, report = harvest_with(refusing_vendor(refuse), {"users": [CREATOR]}, state)
    assert report.stopped_by is None
    assert [r["uid"] for r in h.rows("users")] == [6784819479778378757]
    assert [(r["uid"], r["followers"]) for r in h.rows("user_stats")] == [(6784819479778378757, 10)]
    assert [(r["relation"], r["other_uid"]) for r in h.rows("follows")] == [
        ("follower", 6784819479778378757)
    ]
    assert h.rows("search_hits") == [] and h.rows("videos") == []
    assert report.failed_requests == [
        ed.FailedRequest(
            "user:MS4wLjABAAAAQ45", f"GET {ed.USER_POSTS_FROM_SECUID}", status, f"{detail} for ***"
        )
    ]
    meta = report.as_metadata()
    assert meta["failed_requests"] == 1 and TOKEN not in str(meta)
    assert meta["failed_request_list"] == (
        f"user:MS4wLjABAAAAQ45: GET {ed.USER_POSTS_FROM_SECUID} HTTP {status}: {detail} for ***"
    )
    assert report.empty_slices == []
    # not taken as done: a same-day re-run asks again
    assert "user:MS4wLjABAAAAQ45" not in state["completed"]["entries"]


def test_a_refused_first_request_is_listed_and_the_later_entries_still_run():
    refuse = {
        ed.HASHTAG_POSTS: fail(422, [{"loc": ["query", "name"], "msg": "bad tag"}]),
        ed.MUSIC_POSTS: fail(404, "Music not found"),
    }
    state: dict[str, Any] = {}
    watch = {"hashtags": ["magic"], "music_ids": ["5"], "post_ids": [str(BIG)]}
    h, report = harvest_with(refusing_vendor(refuse), watch, state)
    assert report.stopped_by is None
    assert [str(f) for f in report.failed_requests] == [
        f"hashtag:magic: GET {ed.HASHTAG_POSTS} HTTP 422: Unprocessable Entity (name: bad tag)",
        f"music:5: GET {ed.MUSIC_POSTS} HTTP 404: Music not found",
    ]
    # the music details landed without its posts; the later multi-info entry ran
    assert [(r["music_id"], r["posts"]) for r in h.rows("music_stats")] == [(5, 7)]
    assert [r["aweme_id"] for r in h.rows("videos")] == [BIG]
    assert set(state["completed"]["entries"]) == {"posts:batch1"}


@pytest.mark.parametrize(
    ("status", "error"), [(491, AuthError), (495, QuotaExhausted), (493, QuotaExhausted)]
)
def test_auth_and_quota_on_a_sub_request_still_stop_the_run(status, error):
    refuse = {ed.USER_POSTS_FROM_SECUID: fail(status, "no")}
    h, report = harvest_with(
        refusing_vendor(refuse), {"users": [CREATOR], "hashtags": ["magic"]}, {}
    )
    assert isinstance(report.stopped_by, error) and report.failed_requests == []
    assert h.rows("user_stats") == [], "the stopped entry is not kept half-done"
    assert [r["watch_key"] for r in h.rows("search_hits")] == ["hashtag:magic"]  # ran before


def test_units_of_a_billed_answer_that_failed_count_per_endpoint():
    answers = iter(
        [
            httpx.Response(200, content=b'{"data": {"da', headers={"units_charged": "2"}),
            ok({"data": [SEED_POST]}, units=2),
        ]
    )
    f = fetcher(lambda request: next(answers), budget=None)
    f.get(ed.HASHTAG_POSTS, {"name": "magic", "cursor": 0})
    assert f.report.units_spent == 4 and f.report.units_by_endpoint[ed.HASHTAG_POSTS] == 4
    assert f.report.requests.billed == 2 and f.report.requests.retries == 1
    # the price per answer is what it was: the retry does not double the estimate
    assert f.expected_units(ed.HASHTAG_POSTS, {"name": "magic"}) == 2
