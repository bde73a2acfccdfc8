"""TikTok Research pipeline pieces: validation, request building, parsing, token, crawl, tasks."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import httpx
import pytest
from dagster._core.errors import DagsterExecutionInterruptedError

from pipelines.errors import (
    ConfigError,
    InvalidRequest,
    MalformedResponse,
    QuotaExhausted,
    ServerError,
)
from pipelines.http import ClientSettings, VendorClient
from pipelines.redaction import Secret
from pipelines.tiktok_research import (
    PROFILE,
    QUERY_FIELDS,
    TASK_FIELDS,
    TOKEN_PROFILE,
    VIDEO_SCHEMA,
    MeteredAuth,
    OAuthToken,
    QueryTaskError,
    RequestBudget,
    ResearchQuery,
    TaskLimitReached,
    TaskSettings,
    Window,
    crawl_window,
    parse_video,
    query_body,
    rows_to_table,
    run_task,
    split_windows,
    task_body,
    tiktok_research_source,
    validate_watch,
)

FAST = ClientSettings(max_attempts=3, backoff_base=0.0, requests_per_second=None)
PULLED = datetime(2026, 11, 23, 3, tzinfo=UTC)
BIG_ID = 7_601_397_977_986_501_919  # > 2**53: a float would round it
QUERY = ResearchQuery(name="skincare", hashtags=("skincare",), regions=("US",))
WINDOW = Window(date(2026, 11, 1), date(2026, 11, 2))


def envelope(data, code="ok", message=""):
    return {"data": data, "error": {"code": code, "message": message, "log_id": "log-1"}}


def video(n: int, **extra):
    return {"id": BIG_ID + n, "create_time": 1_762_000_000 + n, **extra}


class Vendor:
    """A fake Research API: token endpoint plus scripted research answers."""

    def __init__(self, answers, token_ttl=7200):
        self.answers = list(answers)
        self.token_ttl = token_ttl
        self.tokens = 0
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token/"):
            self.tokens += 1
            return httpx.Response(
                200,
                json={"access_token": f"tok-{self.tokens}", "expires_in": self.token_ttl},
            )
        self.requests.append(request)
        item = self.answers.pop(0)
        return item(request) if callable(item) else item

    def bodies(self):
        return [json.loads(r.content) for r in self.requests]


def clients(vendor: Vendor, clock=lambda: 0.0, budget: RequestBudget | None = None):
    """The source's wiring: a token client, and a research client metered by `budget`."""
    transport = httpx.MockTransport(vendor)
    token_client = VendorClient(TOKEN_PROFILE, "http://r.test", None, FAST, transport=transport)
    token = OAuthToken(token_client, Secret("client-key-1"), Secret("client-secret-1"), clock)
    metered = MeteredAuth(token, budget if budget is not None else RequestBudget())
    client = VendorClient(
        PROFILE, "http://r.test", None, FAST, transport=transport, auth_provider=metered,
        sleep=lambda s: None,
    )  # fmt: skip
    return client, token


def page(videos, *, cursor, has_more, search_id="s1"):
    return httpx.Response(
        200,
        json=envelope(
            {"videos": videos, "cursor": cursor, "has_more": has_more, "search_id": search_id}
        ),
    )


# -- validation and request building ---------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "named"),
    [
        ({"field": "hashtag_names", "operator": "EQ", "field_values": ["x"]}, "'hashtag_names'"),
        ({"field": "video_description", "operator": "GT", "field_values": ["x"]},
         "'video_description'"),
        ({"field": "region", "operator": "EQ", "field_values": ["US"]}, "'region'"),
        ({"field": "like_count", "operator": "GTE", "field_values": ["many"]}, "'like_count'"),
        ({"field": "view_count", "operator": "GT", "field_values": ["1", "2"]}, "'view_count'"),
    ],
)  # fmt: skip
def test_a_condition_the_seed_does_not_allow_is_refused_naming_the_field(condition, named):
    watch = {"queries": [{"name": "q", "condition_groups": [
        {"operator": "and", "conditions": [condition]}]}]}  # fmt: skip
    with pytest.raises(ConfigError) as info:
        validate_watch(watch)
    assert named in str(info.value)


def test_operators_are_case_insensitive_as_in_the_seed_example():
    watch = validate_watch({"mode": "task", "queries": [{"name": "q", "condition_groups": [
        {"operator": "and", "conditions": [
            {"field": "like_count", "operator": "gte", "field_values": ["1000"]},
            {"field": "hashtag_names", "operator": "CONTAINs", "field_values": ["tiktok"]},
        ]}]}]})  # fmt: skip
    body = task_body(watch.queries[0].groups("task"), WINDOW, 100)
    ops = [c["operator"] for c in body["condition_groups"][1]["conditions"]]
    assert ops == ["GTE", "CONTAINS"]


@pytest.mark.parametrize(
    ("field", "operator", "instead"),
    [
        ("video_description", "LIKE", "'keyword'"),
        ("hashtag_names", "CONTAINS", "'hashtag_name'"),
        ("effect_ids", "contains", "mode: task"),
    ],
)
def test_like_and_contains_are_refused_in_query_mode_naming_field_and_operator(
    field, operator, instead
):
    group = {"operator": "and", "conditions": [
        {"field": field, "operator": operator, "field_values": ["%x%"]}]}  # fmt: skip
    watch = {"queries": [{"name": "q", "regions": ["US"], "condition_groups": [group]}]}
    with pytest.raises(ConfigError) as info:
        validate_watch(watch)  # mode query is the default
    text = str(info.value)
    assert f"operator {operator.upper()} is not allowed for field {field!r} in mode: query" in text
    assert "query 'q'" in text and "EQ, GT, GTE, IN, LT, LTE" in text and instead in text
    # the request builder refuses it too, before anything could be sent
    task_watch = validate_watch({**watch, "mode": "task"})
    with pytest.raises(ConfigError, match=f"operator {operator.upper()} .*{field!r}"):
        query_body(task_watch.queries[0].groups("task"), WINDOW, 10)
    # the seed allows it in the query task
    assert task_watch.queries[0].groups("task")[-1].conditions[0].op == operator.upper()


def test_video_query_fields_are_refused_in_task_mode():
    group = {"operator": "and", "conditions": [
        {"field": "keyword", "operator": "EQ", "field_values": ["hello world"]}]}  # fmt: skip
    watch = {"queries": [{"name": "q", "condition_groups": [group]}]}
    assert validate_watch(watch).mode == "query"
    with pytest.raises(ConfigError) as info:
        validate_watch({**watch, "mode": "task"})
    assert "operator EQ is not allowed for field 'keyword' in mode: task (allowed: none)" in str(
        info.value
    )
    assert "video_description LIKE" in str(info.value)


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"max_count": 101}, "max_count"),
        ({"window_days": 31}, "window_days"),
        ({"task_limit": 100_001}, "task_limit"),
        ({"lookback_days": 0}, "lookback_days"),
    ],
)
def test_limits_over_the_seed_maxima_are_refused(override, named):
    with pytest.raises(ConfigError, match=named):
        validate_watch(override)


def test_invalid_watch_fails_when_the_source_is_built_before_any_client_exists():
    with pytest.raises(ConfigError, match="'username'"):
        tiktok_research_source(
            watch={"queries": [{"name": "q", "condition_groups": [{"operator": "and",
                   "conditions": [{"field": "username", "operator": "LIKE",
                                   "field_values": ["a%"]}]}]}]},
            days=[WINDOW.start], client_key="k", client_secret="s", base_url="http://r.test",
        )  # fmt: skip


def test_shortcuts_become_one_or_group_and_one_and_group():
    query = ResearchQuery(
        name="food", hashtags=("#Recipe", "easyrecipe"), keywords=("air fryer",),
        regions=("US", "GB"), usernames=("chef",), music_ids=(BIG_ID,), min_views=1000,
    )  # fmt: skip
    window = Window(date(2026, 10, 1), date(2026, 10, 30))
    body = query_body(query.groups("query"), window, 50, 100, "s9")
    assert body == {
        "query": {
            "or": [
                {"operation": "IN", "field_name": "hashtag_name",
                 "field_values": ["recipe", "easyrecipe"]},
                {"operation": "IN", "field_name": "keyword", "field_values": ["air fryer"]},
            ],
            "and": [
                {"operation": "IN", "field_name": "region_code", "field_values": ["US", "GB"]},
                {"operation": "IN", "field_name": "username", "field_values": ["chef"]},
                {"operation": "IN", "field_name": "music_id", "field_values": [str(BIG_ID)]},
                {"operation": "GTE", "field_name": "view_count", "field_values": ["1000"]},
            ],
        },
        "start_date": "20261001",
        "end_date": "20261030",
        "max_count": 50,
        "cursor": 100,
        "search_id": "s9",
    }  # fmt: skip
    # the query task keeps the seed's CONTAINS per hashtag and LIKE per keyword
    either = task_body(query.groups("task"), window, 10)["condition_groups"][1]
    assert either == {"operator": "or", "conditions": [
        {"field": "hashtag_names", "operator": "CONTAINS", "field_values": ["recipe"]},
        {"field": "hashtag_names", "operator": "CONTAINS", "field_values": ["easyrecipe"]},
        {"field": "video_description", "operator": "LIKE", "field_values": ["%air fryer%"]},
    ]}  # fmt: skip


def test_a_query_without_conditions_or_with_two_or_groups_in_query_mode_is_refused():
    with pytest.raises(ConfigError, match="every video"):
        validate_watch({"queries": [{"name": "all"}]})
    two_ors = {"name": "q", "hashtags": ["a"], "condition_groups": [
        {"operator": "or", "conditions": [{"field": "region_code", "operator": "EQ",
                                           "field_values": ["US"]}]}]}  # fmt: skip
    with pytest.raises(ConfigError, match="mode: task"):
        validate_watch({"queries": [two_ors]})
    assert validate_watch({"mode": "task", "queries": [two_ors]}).mode == "task"


def test_task_body_bounds_create_time_to_the_window_in_utc_seconds():
    body = task_body(QUERY.groups("task"), WINDOW, 200)
    assert body["category"] == "video" and body["limit"] == 200
    bounds = body["condition_groups"][0]
    assert bounds == {
        "operator": "and",
        "conditions": [
            {"field": "create_time", "operator": "GTE", "field_values": ["1793491200"]},
            {"field": "create_time", "operator": "LT", "field_values": ["1793664000"]},
        ],
    }
    assert body["fields"].startswith("id,create_time,")


def test_windows_split_to_the_30_day_limit_and_at_gaps():
    days = [date(2026, 1, 1).fromordinal(date(2026, 1, 1).toordinal() + n) for n in range(45)]
    days += [date(2026, 3, 1)]
    windows = split_windows(days)
    assert [(w.start, w.end) for w in windows] == [
        (date(2026, 1, 1), date(2026, 1, 30)),
        (date(2026, 1, 31), date(2026, 2, 14)),
        (date(2026, 3, 1), date(2026, 3, 1)),
    ]
    assert [len(w.days) for w in split_windows(days[:5], 2)] == [2, 2, 1]


# -- parsing -------------------------------------------------------------------------------------


def test_parse_video_keeps_64_bit_ids_text_and_lists_and_nulls_missing_fields():
    raw = json.loads(
        json.dumps(
            {
                "id": BIG_ID,
                "create_time": 1_762_000_000,
                "username": "ab\x00c نور",
                "region_code": "NL",
                "video_description": "W huzz magnet 🧲 #fyp",
                "music_id": BIG_ID - 1,
                "like_count": 1000,
                "hashtag_names": ["fyp", "fypシ"],
                "is_stem_verified": False,
            }
        )
    )
    row = parse_video(raw, "q", PULLED, "log-9")
    assert row["id"] == BIG_ID and row["music_id"] == BIG_ID - 1
    assert row["create_time"] == datetime(2025, 11, 1, 12, 26, 40, tzinfo=UTC)
    assert row["create_day"] == date(2025, 11, 1)
    assert row["username"] == "ab\x00c نور"
    assert row["video_description"] == "W huzz magnet 🧲 #fyp"
    assert row["hashtag_names"] == ["fyp", "fypシ"]
    assert row["effect_ids"] is None and row["view_count"] is None and row["voice_to_text"] is None
    assert row["is_stem_verified"] is False and row["log_id"] == "log-9"
    assert row["hashtag_info_list"] is None and row["video_label"] is None
    assert row["video_mention_list"] is None and row["video_duration"] is None


HASHTAG_ID = 7_000_000_000_123_456_789  # > 2**53


def seed_payload(**fields):
    """A video as the query task returns it: the seed's field list (`duration_type`,
    `stem_verified`) plus the names its SDK example asks for."""
    return {
        "id": BIG_ID, "create_time": 1_762_000_000, "username": "creator_nl",
        "region_code": "NL", "video_description": "tiktok #tiktok", "music_id": 12,
        "like_count": 1000, "comment_count": 5, "share_count": 2, "view_count": 40_000,
        "favorites_count": 9, "effect_ids": ["1000001"], "hashtag_names": ["tiktok"],
        "playlist_id": 77, "voice_to_text": "tiktok", "duration_type": 1, "stem_verified": True,
        "hashtag_info_list": [{"hashtag_id": HASHTAG_ID, "hashtag_name": "tiktok",
                               "hashtag_description": "Vidéos 🎵"}],
        "video_mention_list": ["friend_a", "friend_b"],
        "video_label": {"content": "Get info on the U.S. elections"},
        **fields,
    }  # fmt: skip


def test_the_seeds_task_payload_and_the_http_payload_fill_one_column_per_meaning():
    task = parse_video(json.loads(json.dumps(seed_payload())), "q", PULLED)
    http = seed_payload(video_duration=42, is_stem_verified=True)
    del http["duration_type"], http["stem_verified"]
    query = parse_video(json.loads(json.dumps(http)), "q", PULLED)
    assert set(task) == set(query) == set(VIDEO_SCHEMA.names)
    # the same flag under either name lands in one column
    assert task["is_stem_verified"] is True and query["is_stem_verified"] is True
    # a bucket and seconds are two meanings: each mode fills its own column
    assert (task["duration_type"], task["video_duration"]) == (1, None)
    assert (query["duration_type"], query["video_duration"]) == (None, 42)
    for row in (task, query):
        assert json.loads(row["hashtag_info_list"]) == [
            {"hashtag_id": str(HASHTAG_ID), "hashtag_name": "tiktok",
             "hashtag_description": "Vidéos 🎵"}]  # fmt: skip
        assert "Vidéos 🎵" in row["hashtag_info_list"], "JSON text keeps the characters"
        assert row["video_mention_list"] == ["friend_a", "friend_b"]
        assert json.loads(row["video_label"]) == {"content": "Get info on the U.S. elections"}
        assert row["playlist_id"] == 77 and row["favorites_count"] == 9
    table = rows_to_table([task, query])
    assert table.num_rows == 2
    assert table.column("video_duration").to_pylist() == [None, 42]
    assert table.column("is_stem_verified").to_pylist() == [True, True]


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"hashtag_info_list": [{"hashtag_id": float(HASHTAG_ID)}]}, "hashtag_id"),
        ({"hashtag_info_list": ["tiktok"]}, "'hashtag_info_list'"),
        ({"video_label": "election"}, "'video_label'"),
        ({"video_mention_list": "friend_a"}, "'video_mention_list'"),
        ({"stem_verified": "yes"}, "'stem_verified'"),
        ({"is_stem_verified": 1}, "'is_stem_verified'"),
        ({"video_duration": 12.5}, "'video_duration'"),
    ],
)
def test_a_bad_new_field_names_itself(fields, named):
    with pytest.raises(ValueError, match=named):
        parse_video(seed_payload(**fields), "q", PULLED)


def test_each_mode_asks_only_for_the_field_names_its_endpoint_knows():
    vendor = Vendor([page([video(1)], cursor=1, has_more=False)])
    client, _ = clients(vendor)
    crawl_window(client, QUERY, WINDOW, max_count=10)
    asked = vendor.requests[0].url.params["fields"].split(",")
    assert asked == list(QUERY_FIELDS) and len(asked) == 20
    assert {"video_duration", "is_stem_verified", "hashtag_info_list", "video_mention_list",
            "video_label"} <= set(asked)  # fmt: skip
    assert not {"duration_type", "stem_verified"} & set(asked)
    task_fields = task_body(QUERY.groups("task"), WINDOW, 10)["fields"].split(",")
    assert task_fields == list(TASK_FIELDS)
    assert {"duration_type", "stem_verified"} <= set(task_fields)
    assert not {"video_duration", "is_stem_verified"} & set(task_fields)


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"create_time": 1}, "'id'"),
        ({"id": float(BIG_ID), "create_time": 1}, "'id'"),
        ({"id": 1, "create_time": 1, "like_count": "lots"}, "'like_count'"),
        ({"id": 1, "create_time": 1, "hashtag_names": "fyp"}, "'hashtag_names'"),
        ({"id": 1}, "'create_time'"),
    ],
)
def test_a_bad_video_names_its_field(item, field):
    with pytest.raises(ValueError, match=field):
        parse_video(item, "q", PULLED)


# -- token -----------------------------------------------------------------------------------------


def test_token_is_cached_then_refreshed_before_it_expires():
    now = [0.0]
    vendor = Vendor([page([], cursor=0, has_more=False)] * 3)
    client, token = clients(vendor, clock=lambda: now[0])
    for at in (0.0, 6000.0, 7000.0):  # 7000 s is inside the 300 s refresh margin
        now[0] = at
        client.post("/v2/research/video/query/", {})
    auth = [r.headers["authorization"] for r in vendor.requests]
    assert auth == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2"]
    assert token.fetched == 2


def test_a_401_refreshes_the_token_once_then_succeeds():
    refused = httpx.Response(401, json=envelope({}, "access_token_invalid", "expired"))
    vendor = Vendor([refused, page([video(1)], cursor=1, has_more=False)])
    client, _ = clients(vendor)
    response = client.post("/v2/research/video/query/", {})
    assert response.body["data"]["videos"][0]["id"] == BIG_ID + 1
    assert [r.headers["authorization"] for r in vendor.requests] == ["Bearer tok-1", "Bearer tok-2"]


def test_a_second_401_is_an_auth_error_without_the_secrets():
    refused = httpx.Response(401, json=envelope({}, "access_token_invalid", "tok-2 refused"))
    vendor = Vendor([refused, refused])
    client, _ = clients(vendor)
    with pytest.raises(Exception) as info:
        client.post("/v2/research/video/query/", {})
    assert info.type.__name__ == "AuthError"
    text = str(info.value)
    assert "tok-2" not in text and "client-secret-1" not in text


# -- crawl -----------------------------------------------------------------------------------------


def test_short_pages_do_not_end_the_crawl_only_has_more_does():
    vendor = Vendor([
        page([video(1), video(2)], cursor=2, has_more=True),
        page([], cursor=5, has_more=True),
        page([video(3)], cursor=6, has_more=False),
    ])  # fmt: skip
    client, _ = clients(vendor)
    rows = crawl_window(client, QUERY, WINDOW, max_count=100)
    assert sorted(r["id"] for r in rows) == [BIG_ID + 1, BIG_ID + 2, BIG_ID + 3]
    bodies = vendor.bodies()
    assert [b.get("cursor") for b in bodies] == [None, 2, 5]
    assert [b.get("search_id") for b in bodies] == [None, "s1", "s1"]


@pytest.mark.parametrize(
    "broken",
    [
        httpx.Response(
            400, json=envelope({}, "invalid_params", "Search Id s1 is invalid or expired")
        ),
        httpx.Response(500, json=envelope({}, "internal_error", "oops")),
    ],
)  # fmt: skip
def test_a_broken_search_restarts_the_window_without_losing_or_doubling(broken):
    retries = [broken] * (1 if broken.status_code == 400 else FAST.max_attempts)
    vendor = Vendor([
        page([video(1), video(2)], cursor=2, has_more=True),
        *retries,
        page([video(1), video(2)], cursor=2, has_more=True, search_id="s2"),
        page([video(3)], cursor=3, has_more=False, search_id="s2"),
    ])  # fmt: skip
    budget = RequestBudget()
    client, _ = clients(vendor, budget=budget)
    rows = crawl_window(client, QUERY, WINDOW, max_count=2)
    assert sorted(r["id"] for r in rows) == [BIG_ID + 1, BIG_ID + 2, BIG_ID + 3]
    restart = vendor.bodies()[len(retries) + 1]
    assert "cursor" not in restart and "search_id" not in restart
    # every request the vendor saw counts against the quota, retries included
    assert budget.spent == len(vendor.requests) == 3 + len(retries)
    assert budget.left == 1000 - budget.spent


def test_an_invalid_request_that_is_not_about_search_id_is_not_retried():
    vendor = Vendor([httpx.Response(400, json=envelope({}, "invalid_params", "bad field x"))])
    client, _ = clients(vendor)
    with pytest.raises(InvalidRequest, match="bad field x"):
        crawl_window(client, QUERY, WINDOW, max_count=10)
    assert len(vendor.requests) == 1


def test_a_search_that_keeps_breaking_gives_up_with_a_server_error():
    vendor = Vendor([httpx.Response(500, json=envelope({}, "internal_error", "down"))] * 12)
    client, _ = clients(vendor)
    with pytest.raises(ServerError):
        crawl_window(client, QUERY, WINDOW, max_count=10)


def test_daily_quota_429_is_quota_exhausted_and_not_retried():
    quota = httpx.Response(
        429, json=envelope({}, "daily_quota_limit_exceeded", "The daily quota limit is reached")
    )
    vendor = Vendor([quota])
    client, _ = clients(vendor)
    with pytest.raises(QuotaExhausted):
        crawl_window(client, QUERY, WINDOW, max_count=10)
    assert len(vendor.requests) == 1


def test_the_run_budget_stops_before_the_request_that_would_exceed_it():
    vendor = Vendor([page([video(n)], cursor=n, has_more=True) for n in range(1, 10)])
    budget = RequestBudget(limit=3)
    client, _ = clients(vendor, budget=budget)
    with pytest.raises(QuotaExhausted, match="budget of 3"):
        crawl_window(client, QUERY, WINDOW, max_count=1)
    assert len(vendor.requests) == 3 and budget.left == 0


def test_rate_limit_retries_and_the_401_resend_count_and_the_cap_holds_mid_retry():
    slow = httpx.Response(429, json=envelope({}, "rate_limit_exceeded", "slow down"))
    refused = httpx.Response(401, json=envelope({}, "access_token_invalid", "expired"))
    vendor = Vendor([slow, slow, page([video(1)], cursor=1, has_more=True),
                     refused, page([video(2)], cursor=2, has_more=False)])  # fmt: skip
    budget = RequestBudget()
    client, token = clients(vendor, budget=budget)
    rows = crawl_window(client, QUERY, WINDOW, max_count=1)
    assert len(rows) == 2 and len(vendor.requests) == 5
    assert budget.spent == 5, "two 429 retries and the resend after the 401 count"
    assert token.fetched == 2, "token requests are free and not counted"
    # a cap reached between two retries stops before the next attempt leaves
    vendor = Vendor([slow] * 5)
    budget = RequestBudget(limit=2)
    client, _ = clients(vendor, budget=budget)
    with pytest.raises(QuotaExhausted, match="budget of 2"):
        crawl_window(client, QUERY, WINDOW, max_count=1)
    assert len(vendor.requests) == 2 and budget.spent == 2


# -- query tasks ----------------------------------------------------------------------


def answer(data):
    return httpx.Response(200, json=envelope(data))


def test_task_is_polled_with_backoff_until_completed_then_every_result_page_is_read():
    vendor = Vendor([
        answer({"task_id": 42}),
        answer({"status": "Created"}),
        answer({"status": "Validating"}),
        answer({"status": "Processing"}),
        answer({"status": "Completed"}),
        answer({"videos": [video(1)], "cursor": 1, "has_more": True}),
        answer({"videos": [video(2)], "cursor": 2, "has_more": False}),
    ])  # fmt: skip
    client, _ = clients(vendor)
    sleeps: list[float] = []
    rows = run_task(client, QUERY, WINDOW, settings=TaskSettings(poll_initial=1, poll_max=3),
                    sleep=sleeps.append)  # fmt: skip
    assert [r["id"] for r in rows] == [BIG_ID + 1, BIG_ID + 2]
    assert sleeps == [1, 2, 3]
    paths = [r.url.path.rsplit("/", 2)[-2] for r in vendor.requests]
    assert paths == ["create", "status", "status", "status", "status", "result", "result"]
    assert vendor.bodies()[-1] == {"task_id": 42, "cursor": 1, "max_count": 1000}


@pytest.mark.parametrize("outcome", ["AnalysisFailed", "Cancelled"])
def test_a_task_ending_failed_or_cancelled_at_the_vendor_is_a_clear_error_and_no_cancel(outcome):
    vendor = Vendor([answer({"task_id": 7}), answer({"status": outcome})])
    client, _ = clients(vendor)
    with pytest.raises(QueryTaskError) as info:
        run_task(client, QUERY, WINDOW, settings=TaskSettings(), sleep=lambda s: None)
    text = str(info.value)
    assert f"query task 7 (skincare 2026-11-01..2026-11-02) ended {outcome}" in text
    assert "re-run the partition" in text
    assert len(vendor.requests) == 2, "nothing left to cancel"


def test_a_result_as_long_as_the_task_limit_is_refused_not_truncated():
    vendor = Vendor([
        answer({"task_id": 11}),
        answer({"status": "Completed"}),
        answer({"videos": [video(n) for n in range(3)], "cursor": 3, "has_more": False}),
    ])  # fmt: skip
    client, _ = clients(vendor)
    with pytest.raises(TaskLimitReached) as info:
        run_task(client, QUERY, WINDOW, settings=TaskSettings(limit=3), sleep=lambda s: None)
    text = str(info.value)
    assert "query task 11 (skincare 2026-11-01..2026-11-02) returned 3 videos" in text
    assert "tiktok_research.task_limit" in text and "tiktok_research.window_days" in text
    assert isinstance(info.value, QueryTaskError)
    assert len(vendor.requests) == 3, "a completed task is not cancelled"
    # one video fewer than the limit is a complete result
    vendor = Vendor([answer({"task_id": 12}), answer({"status": "Completed"}),
                     answer({"videos": [video(n) for n in range(2)], "cursor": 2,
                             "has_more": False})])  # fmt: skip
    client, _ = clients(vendor)
    rows = run_task(client, QUERY, WINDOW, settings=TaskSettings(limit=3), sleep=lambda s: None)
    assert len(rows) == 2


def test_a_result_cursor_that_does_not_advance_stops_instead_of_spending_the_quota():
    vendor = Vendor([
        answer({"task_id": 13}),
        answer({"status": "Completed"}),
        answer({"videos": [video(1)], "cursor": 1, "has_more": True}),
        answer({"videos": [video(1)], "cursor": 1, "has_more": True}),
        answer({"success": True}),
    ])  # fmt: skip
    client, _ = clients(vendor)
    with pytest.raises(MalformedResponse, match=r"`cursor` did not advance \(1 -> 1\)"):
        run_task(client, QUERY, WINDOW, settings=TaskSettings(), sleep=lambda s: None)
    assert len(vendor.requests) == 5 and vendor.requests[-1].url.path.endswith("/cancel/")


def test_a_task_that_outlives_its_timeout_is_cancelled():
    now = [0.0]
    vendor = Vendor([answer({"task_id": 8})] + [answer({"status": "Processing"})] * 10
                    + [answer({"success": True})])  # fmt: skip
    client, _ = clients(vendor)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(QueryTaskError, match="still Processing after 10s; cancelled"):
        run_task(client, QUERY, WINDOW, settings=TaskSettings(timeout_seconds=10, poll_initial=2),
                 sleep=sleep, clock=lambda: now[0])  # fmt: skip
    assert vendor.requests[-1].url.path.endswith("/query_task/cancel/")
    assert vendor.bodies()[-1] == {"task_id": 8}


def interrupt(*_: object) -> None:
    raise DagsterExecutionInterruptedError  # what a terminated Dagster step raises


def test_an_interrupted_run_cancels_its_task():
    vendor = Vendor([answer({"task_id": 9}), answer({"status": "Processing"}),
                     answer({"success": True})])  # fmt: skip
    client, _ = clients(vendor)
    with pytest.raises(DagsterExecutionInterruptedError):
        run_task(client, QUERY, WINDOW, settings=TaskSettings(), sleep=interrupt)
    assert vendor.requests[-1].url.path.endswith("/query_task/cancel/")
    assert vendor.bodies()[-1] == {"task_id": 9}


def test_an_interrupt_right_after_create_before_the_first_poll_cancels_the_task():
    vendor = Vendor([answer({"task_id": 10}), answer({"success": True})])
    client, _ = clients(vendor)
    with pytest.raises(DagsterExecutionInterruptedError):
        run_task(client, QUERY, WINDOW, settings=TaskSettings(), clock=interrupt)
    paths = [r.url.path.rsplit("/", 2)[-2] for r in vendor.requests]
    assert paths == ["create", "cancel"] and vendor.bodies()[-1] == {"task_id": 10}


def test_an_interrupt_during_create_has_no_task_to_cancel():
    vendor = Vendor([interrupt])
    client, _ = clients(vendor)
    with pytest.raises(DagsterExecutionInterruptedError):
        run_task(client, QUERY, WINDOW, settings=TaskSettings())
    assert len(vendor.requests) == 1
