"""TikTok Research API served over real HTTP: OAuth, the video query, query tasks, knobs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from simulator import tiktok_research as research
from simulator.server import Simulator
from simulator.world import metrics_at

DAY = date(2025, 6, 10)  # published well before the module simulator's clock (2025-07-01)
QUERY = "/v2/research/video/query/"
FIELDS = ",".join(research.QUERY_FIELDS)


@pytest.fixture
def api(sim: Simulator) -> Iterator[httpx.Client]:
    """A client holding a fresh access token; faults are cleared around each test."""
    sim.reset_faults()
    with httpx.Client(base_url=sim.base_url("tiktok_research"), timeout=5.0) as client:
        client.headers["Authorization"] = f"Bearer {token(client)}"
        yield client
    sim.reset_faults()


def configure(sim: Simulator, api: httpx.Client, **faults: Any) -> None:
    """Set faults; they reset the vendor's state (tokens included), so fetch a new token."""
    sim.set_faults("tiktok_research", **faults)
    api.headers["Authorization"] = f"Bearer {token(api)}"


def token(client: httpx.Client, secret: str = research.CLIENT_SECRET) -> str:
    response = client.post(
        "/v2/oauth/token/",
        data={
            "client_key": research.CLIENT_KEY,
            "client_secret": secret,
            "grant_type": "client_credentials",
        },
        headers={"Authorization": ""},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    return body["access_token"]


def query(client: httpx.Client, fields: str = FIELDS, **body: Any) -> httpx.Response:
    payload = {
        "query": {"and": [{"operation": "IN", "field_name": "region_code",
                           "field_values": ["US"]}]},
        "start_date": DAY.strftime("%Y%m%d"),
        "end_date": DAY.strftime("%Y%m%d"),
        "max_count": 100,
        **body,
    }  # fmt: skip
    return client.post(QUERY, params={"fields": fields}, json=payload)


def test_token_needs_the_client_credentials(sim, api):
    bad = api.post(
        "/v2/oauth/token/",
        data={"client_key": research.CLIENT_KEY, "client_secret": "wrong",
              "grant_type": "client_credentials"},
    )  # fmt: skip
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"


def test_research_calls_need_a_live_token(sim, api):
    api.headers["Authorization"] = "Bearer not-a-token"
    refused = query(api)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "access_token_invalid"


def test_a_token_expires_after_its_ttl(sim, api):
    assert api.post("/v2/oauth/token/", data={"client_key": research.CLIENT_KEY,
        "client_secret": research.CLIENT_SECRET, "grant_type": "client_credentials"},
    ).json()["expires_in"] == 7200  # fmt: skip
    configure(sim, api, options={"token_ttl": 60})
    assert query(api).status_code == 200
    saved = sim.now
    sim.now = saved + timedelta(seconds=61)
    try:
        assert query(api).status_code == 401
    finally:
        sim.now = saved


def test_the_query_returns_the_world_videos_with_ids_as_json_integers(sim, api):
    response = query(api)
    assert response.status_code == 200
    body = response.json()
    assert body["error"]["code"] == "ok"
    expected = sim.world.videos_published_on(DAY, "US")
    videos = body["data"]["videos"]
    assert [v["id"] for v in videos] == [v.video_id for v in expected][:100]
    assert re.search(rb'"id":\d{19}[,}]', response.content), "ids are bare integers"
    first = videos[0]
    counts = metrics_at(expected[0], sim.now)
    assert first["view_count"] == counts.views and first["like_count"] == counts.likes
    assert first["create_time"] == expected[0].create_time
    assert all(v["region_code"] == "US" for v in videos)


def test_missing_fields_are_omitted_and_fields_select(sim, api):
    videos = query(api).json()["data"]["videos"]
    assert any("playlist_id" not in v for v in videos)
    assert any("effect_ids" not in v for v in videos)
    assert all(None not in v.values() for v in videos)
    only = query(api, fields="id,view_count").json()["data"]["videos"]
    assert {tuple(sorted(v)) for v in only} == {("id", "view_count")}
    bad = query(api, fields="id,likes")
    assert bad.status_code == 400 and "likes" in bad.json()["error"]["message"]


def test_the_video_query_refuses_the_seeds_task_field_names_listing_them(sim, api):
    refused = query(api, fields="id,create_time,duration_type,view_count,stem_verified")
    assert refused.status_code == 400
    body = refused.json()
    assert body["data"] == {} and set(body["error"]) == {"code", "message", "log_id"}
    assert body["error"]["code"] == "invalid_params"
    assert body["error"]["message"] == "Invalid fields: duration_type,stem_verified"
    assert body["error"]["log_id"]


def test_the_video_query_serves_the_public_apis_fields(sim, api):
    videos = query(api).json()["data"]["videos"]
    world = {v.video_id: v for v in sim.world.videos_published_on(DAY, "US")}
    assert videos and {v["id"] for v in videos} <= set(world)
    handles = {c.unique_id for c in sim.world.creators}
    for v in videos:
        assert "duration_type" not in v and "stem_verified" not in v
        assert v["video_duration"] == world[v["id"]].duration
        assert isinstance(v["is_stem_verified"], bool)
        infos = v["hashtag_info_list"]
        assert [i["hashtag_name"] for i in infos] == v["hashtag_names"]
        assert all(i["hashtag_id"] == research.hashtag_id(i["hashtag_name"]) for i in infos)
        assert set(v.get("video_mention_list", [])) <= handles
        assert set(v.get("video_label", {"content": "x"})) == {"content"}
    assert any(v["is_stem_verified"] for v in videos)
    assert any("video_mention_list" in v for v in videos)
    assert any("video_mention_list" not in v for v in videos)
    assert any("video_label" in v for v in videos)
    assert any("hashtag_description" in i for v in videos for i in v["hashtag_info_list"])
    ids = re.findall(rb'"hashtag_id":(\d+)[,}]', query(api).content)
    assert ids and all(int(i) > 2**53 for i in ids), "hashtag ids are bare 64-bit integers"
    only = query(api, fields="id,video_label").json()["data"]["videos"]
    assert {tuple(sorted(v)) for v in only} == {("id",), ("id", "video_label")}


def test_conditions_filter_and_or_not(sim, api):
    expected = [
        v.video_id
        for v in sim.world.videos_between(DAY, DAY + timedelta(days=2))
        if ("skincare" in v.hashtags or "makeup" in v.hashtags) and v.region != "GB"
    ]
    ids, cursor, search_id = [], 0, None
    while True:
        body = {"query": {
            "or": [{"operation": "IN", "field_name": "hashtag_name",
                    "field_values": ["skincare", "MakeUp"]}],
            "not": [{"operation": "EQ", "field_name": "region_code", "field_values": ["GB"]}]},
            "end_date": (DAY + timedelta(days=1)).strftime("%Y%m%d"), "cursor": cursor}  # fmt: skip
        if search_id:
            body["search_id"] = search_id
        data = query(api, **body).json()["data"]
        ids += [v["id"] for v in data["videos"]]
        if not data["has_more"]:
            break
        cursor, search_id = data["cursor"], data["search_id"]
    assert sorted(ids) == sorted(expected) and len(expected) > 20


@pytest.mark.parametrize(
    ("condition", "named"),
    [
        ({"operation": "EQ", "field_name": "hashtag_names", "field_values": ["x"]},
         "hashtag_names"),
        ({"operation": "IN", "field_name": "region", "field_values": ["US"]}, "region"),
    ],
)  # fmt: skip
def test_an_operator_the_seed_does_not_allow_is_invalid_params(sim, api, condition, named):
    response = query(api, query={"and": [condition]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_params" and named in error["message"]


@pytest.mark.parametrize(
    ("field", "operation", "value"),
    [
        ("video_description", "LIKE", "%skincare%"),
        ("hashtag_names", "CONTAINS", "skincare"),
        ("effect_ids", "CONTAINS", "1000001"),
    ],
)
def test_the_video_query_refuses_like_and_contains_with_the_vendors_400(
    sim, api, field, operation, value
):
    condition = {"operation": operation, "field_name": field, "field_values": [value]}
    response = query(api, query={"and": [condition]})
    assert response.status_code == 400
    body = response.json()
    assert body["data"] == {} and set(body["error"]) == {"code", "message", "log_id"}
    assert body["error"]["code"] == "invalid_params"
    message = body["error"]["message"]
    assert operation in message and field in message


def test_the_video_query_keyword_matches_description_words(sim, api):
    expected = [
        v.video_id
        for v in sim.world.videos_published_on(DAY, "US")
        if "routine" in v.description.lower() or "recipe" in v.description.lower()
    ]
    condition = {"operation": "IN", "field_name": "keyword", "field_values": ["Routine", "recipe"]}
    response = query(api, query={"and": [condition, {"operation": "EQ", "field_name":
                                 "region_code", "field_values": ["US"]}]})  # fmt: skip
    assert response.status_code == 200
    assert [v["id"] for v in response.json()["data"]["videos"]] == expected[:100] and expected


def test_the_query_task_keeps_the_seeds_like_and_contains(sim, api):
    like = {"field": "video_description", "operator": "LIKE", "field_values": ["%routine%"]}
    tags = {"field": "hashtag_names", "operator": "CONTAINS", "field_values": ["skincare"]}
    body = task_body()
    body["condition_groups"].append({"operator": "or", "conditions": [like, tags]})
    task_id = post(api, "create", body)["task_id"]
    for _ in range(3):
        post(api, "status", {"task_id": task_id})
    result = post(api, "result", {"task_id": task_id, "max_count": 1000})
    expected = [
        v.video_id
        for v in sim.world.videos_published_on(DAY, "GB")
        if "routine" in v.description.lower() or "skincare" in v.hashtags
    ]
    assert [v["id"] for v in result["videos"]] == expected and expected
    refused = api.post("/v2/research/query_task/create/", json=task_body(condition_groups=[
        *task_body()["condition_groups"],
        {"operator": "and", "conditions": [
            {"field": "keyword", "operator": "EQ", "field_values": ["x"]}]}]))  # fmt: skip
    assert refused.status_code == 400 and "keyword" in refused.json()["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"end_date": (DAY + timedelta(days=30)).strftime("%Y%m%d")},
        {"max_count": 101},
        {"start_date": "2025-06-10"},
    ],
)
def test_windows_over_30_days_and_pages_over_100_are_refused(sim, api, body):
    assert query(api, **body).status_code == 400


def test_short_pages_keep_has_more_and_a_search_id_replays(sim, api):
    configure(sim, api, options={"short_page": 7})
    first = query(api).json()["data"]
    assert len(first["videos"]) == 7 and first["has_more"] and first["cursor"] == 7
    second = query(api, cursor=7, search_id=first["search_id"]).json()["data"]
    expected = [v.video_id for v in sim.world.videos_published_on(DAY, "US")]
    assert [v["id"] for v in first["videos"] + second["videos"]] == expected[:14]


def test_the_first_search_expires_after_n_pages_once(sim, api):
    configure(sim, api, options={"expire_search_after_pages": 1})
    first = query(api, max_count=10).json()["data"]
    expired = query(api, max_count=10, cursor=10, search_id=first["search_id"])
    assert expired.status_code == 400
    assert "invalid or expired" in expired.json()["error"]["message"]
    fresh = query(api, max_count=10).json()["data"]
    assert query(api, max_count=10, cursor=10, search_id=fresh["search_id"]).status_code == 200


def test_daily_quota_is_a_429_with_its_code(sim, api):
    configure(sim, api, quota_after=1)
    assert query(api).status_code == 200
    refused = query(api)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "daily_quota_limit_exceeded"


def task_body(**overrides: Any) -> dict[str, Any]:
    start = int(datetime(2025, 6, 10, tzinfo=UTC).timestamp())
    return {
        "category": "video",
        "condition_groups": [
            {"operator": "and", "conditions": [
                {"field": "create_time", "operator": "GTE", "field_values": [str(start)]},
                {"field": "create_time", "operator": "LT", "field_values": [str(start + 86400)]},
                {"field": "region_code", "operator": "eq", "field_values": ["GB"]}]},
        ],
        "fields": "id,create_time,view_count",
        "limit": 1000,
        **overrides,
    }  # fmt: skip


def post(api: httpx.Client, action: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/v2/research/query_task/{action}/", json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_task_lifecycle_runs_created_to_completed_then_serves_the_result(sim, api):
    task_id = post(api, "create", task_body())["task_id"]
    statuses = [post(api, "status", {"task_id": task_id})["status"] for _ in range(4)]
    assert statuses == ["Validating", "Processing", "Completed", "Completed"]
    result = post(api, "result", {"task_id": task_id, "max_count": 1000})
    expected = [v.video_id for v in sim.world.videos_published_on(DAY, "GB")]
    assert [v["id"] for v in result["videos"]] == expected and not result["has_more"]


def test_the_query_task_keeps_the_seeds_field_names_and_refuses_the_http_ones(sim, api):
    fields = "id,duration_type,stem_verified,hashtag_info_list,video_mention_list,video_label"
    task_id = post(api, "create", task_body(fields=fields))["task_id"]
    for _ in range(3):
        post(api, "status", {"task_id": task_id})
    videos = post(api, "result", {"task_id": task_id, "max_count": 1000})["videos"]
    world = {v.video_id: v for v in sim.world.videos_published_on(DAY, "GB")}
    assert [v["id"] for v in videos] == list(world)
    for v in videos:
        duration = world[v["id"]].duration
        assert v["duration_type"] == (0 if duration < 15 else 1 if duration < 60 else 2)
        assert isinstance(v["stem_verified"], bool) and v["hashtag_info_list"]
        assert "video_duration" not in v and "is_stem_verified" not in v
    refused = api.post("/v2/research/query_task/create/",
                       json=task_body(fields="id,video_duration,is_stem_verified"))  # fmt: skip
    assert refused.status_code == 400
    assert refused.json()["error"] == {
        "code": "invalid_params",
        "message": "Invalid fields: video_duration,is_stem_verified",
        "log_id": refused.json()["error"]["log_id"],
    }


@pytest.mark.parametrize("outcome", ["AnalysisFailed", "never"])
def test_task_outcomes_are_switchable_and_cancel_works(sim, api, outcome):
    configure(sim, api, options={"task_outcome": outcome, "task_polls": 1})
    task_id = post(api, "create", task_body())["task_id"]
    status = post(api, "status", {"task_id": task_id})["status"]
    assert status == ("AnalysisFailed" if outcome == "AnalysisFailed" else "Validating")
    cancelled = post(api, "cancel", {"task_id": task_id})
    assert cancelled["success"] is (outcome == "never")
    refused = api.post("/v2/research/query_task/result/", json={"task_id": task_id})
    assert refused.status_code == 400 and "not Completed" in refused.json()["error"]["message"]


def test_a_task_must_bound_create_time(sim, api):
    groups = [{"operator": "and", "conditions": [
        {"field": "region_code", "operator": "EQ", "field_values": ["GB"]}]}]  # fmt: skip
    response = api.post("/v2/research/query_task/create/", json=task_body(condition_groups=groups))
    assert response.status_code == 400 and "create_time" in response.json()["error"]["message"]


def test_some_usernames_and_descriptions_carry_emoji_rtl_and_nul(sim, api):
    text = []
    for day in range(20):
        start = (DAY + timedelta(days=day)).strftime("%Y%m%d")
        payload = json.loads(query(api, start_date=start, end_date=start).content)
        text += [(v["username"], v["video_description"]) for v in payload["data"]["videos"]]
    names = [name for name, _ in text]
    assert any("\x00" in name for name in names)
    assert any(not name.isascii() for name in names)
    assert any("\u0590" <= ch <= "\u06ff" for _, desc in text for ch in desc), "RTL text"
    assert any(not desc.isascii() for _, desc in text)
