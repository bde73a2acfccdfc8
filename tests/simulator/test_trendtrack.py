"""Trendtrack TikTok library served over real HTTP: shape, filters, paging, errors, shifting."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from simulator import trendtrack
from simulator.server import Simulator
from simulator.trendtrack import shop_id

KEY = "sim-trendtrack-key"
LIBRARY = "/v1/tiktok/library"
QUERY = "/v1/tiktok/library/query"
SEED_ITEM_FIELDS = {
    "id", "tiktokId", "type", "status", "isPinned", "publishedAt", "createdAt", "updatedAt",
    "daysRunning", "content", "metrics", "profile", "indexedAt",
}  # fmt: skip
SEED_METRICS = {
    "views", "likes", "comments", "saves", "shares", "reposts", "engagementRate", "rank",
    "rankPercent", "relevanceScore", "deltaRank3d", "deltaRank7d", "deltaRank14d", "deltaRank30d",
}  # fmt: skip


@pytest.fixture
def tt(sim: Simulator) -> Iterator[httpx.Client]:
    sim.reset_faults()
    with httpx.Client(
        base_url=sim.base_url("trendtrack"), headers={"Authorization": f"Bearer {KEY}"}
    ) as client:
        yield client
    sim.reset_faults()


def assert_validation(response: httpx.Response, field: str, expected: str) -> None:
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    uuid.UUID(error["requestId"])
    problems = {p["field"]: p["expected"] for p in error["details"]["validationErrors"]}
    assert expected in problems[field], problems


def test_items_follow_the_seed_shape_with_optional_sub_objects(tt):
    body = tt.get(LIBRARY, params={"limit": 100, "page": 2}).json()
    assert set(body) == {"requestId", "data", "pagination"}
    items = body["data"]
    assert len(items) == 100
    for item in items:
        assert set(item) >= SEED_ITEM_FIELDS
        assert item["id"] == f"tiktok_{item['tiktokId']}" and item["tiktokId"].isdigit()
        assert set(item["metrics"]) == SEED_METRICS
        assert item["type"] in ("ad", "organic") and item["status"] in ("active", "inactive")
        assert ("shop" in item) == (item["type"] == "ad")
        assert item["isPinned"] == bool(item["pin"] and item["pin"]["isCurrent"])
    assert any(i["pin"] is None for i in items) and any(i["pin"] for i in items)
    assert any("media" not in i for i in items) and any("media" in i for i in items)
    assert any("pageSnapshot" not in i for i in items)
    assert any("music" not in i["content"] for i in items)
    assert any("music" in i["content"] for i in items)
    assert body["pagination"]["page"] == 2 and body["pagination"]["limit"] == 100


def test_optional_sub_objects_follow_the_published_rules(sim, tt):
    items = tt.get(LIBRARY, params={"limit": 100}).json()["data"]
    for item in items:
        video = sim.world.video(int(item["tiktokId"]))
        assert ("media" in item) == trendtrack.has_media(video)
        assert ("music" in item["content"]) == trendtrack.has_music(video)
        assert ("pageSnapshot" in item) == trendtrack.has_page_snapshot(video.creator)
    # a music search never finds an item whose sound was removed
    mute = next(i for i in items if "music" not in i["content"])
    title = sim.world.video(int(mute["tiktokId"])).music.title
    found = tt.get(LIBRARY, params={"search": title, "searchArea": "music", "limit": 100})
    assert found.status_code == 200
    assert mute["id"] not in {i["id"] for i in found.json()["data"]}


def test_bare_items_option_strips_media_and_hashtags(sim, tt):
    item = next(i for i in tt.get(LIBRARY, params={"limit": 20}).json()["data"] if "media" in i)
    sim.set_faults("trendtrack", options={"bare_items": True})
    listed = tt.get(LIBRARY, params={"limit": 20}).json()["data"]
    detail = tt.get(f"{LIBRARY}/{item['id']}").json()["data"]
    for bare in (next(i for i in listed if i["id"] == item["id"]), detail):
        assert "media" not in bare and bare["content"]["hashtags"] == []
        assert bare["metrics"] == item["metrics"] and bare["profile"] == item["profile"]


def test_pagination_covers_the_result_set_once(tt):
    params = {"search": "skincare", "searchArea": "hashtag", "limit": 20}
    first = tt.get(LIBRARY, params=params).json()["pagination"]
    assert first["totalPages"] == -(-first["total"] // 20) > 1
    ids = []
    for page in range(1, first["totalPages"] + 2):
        ids += [i["id"] for i in tt.get(LIBRARY, params={**params, "page": page}).json()["data"]]
    assert len(ids) == len(set(ids)) == first["total"]


def test_query_filters_and_sorts(tt):
    body = {
        "search": ["skincare", "makeup"],
        "mode": "any",
        "searchArea": "hashtag",
        "type": "ad",
        "minViews": 100,
        "sortBy": "views",
        "order": "desc",
        "limit": 50,
    }
    items = tt.post(QUERY, json=body).json()["data"]
    assert items
    views = [i["metrics"]["views"] for i in items]
    assert views == sorted(views, reverse=True) and min(views) >= 100
    assert all(i["type"] == "ad" for i in items)
    assert all({"skincare", "makeup"} & set(i["content"]["hashtags"]) for i in items)
    pinned = tt.post(QUERY, json={**body, "isPinned": "yes"}).json()["data"]
    assert all(i["isPinned"] for i in pinned)


def test_invalid_parameters_name_field_and_expectation(tt):
    assert_validation(
        tt.get(LIBRARY, params={"limit": 101}),
        "query-string.limit",
        "limit must not be greater than 100",
    )
    assert_validation(
        tt.get(LIBRARY, params={"sortBy": "trending"}),
        "query-string.sortBy",
        "sortBy must be one of the following values: relevance, newest, updatedAt, views, "
        "likes, comments, shares, saves, engagementRate, daysRunning, followers",
    )
    assert_validation(
        tt.post(QUERY, json={"search": "x", "bogus": 1}),
        "body.search",
        "search must be an array of strings",
    )
    assert_validation(
        tt.post(QUERY, json={"bogus": 1}), "body.bogus", "property bogus should not exist"
    )
    assert tt.get(LIBRARY, params={"limit": 100}).status_code == 200, "laxer than the doc"


def test_detail_by_composite_id_or_tiktok_id(tt):
    item = tt.get(LIBRARY, params={"limit": 1}).json()["data"][0]
    by_id = tt.get(f"{LIBRARY}/{item['id']}").json()["data"]
    by_tiktok = tt.get(f"{LIBRARY}/{item['tiktokId']}").json()["data"]
    assert by_id == by_tiktok and by_id["id"] == item["id"]
    assert by_id["links"]["tiktokUrl"].endswith(item["tiktokId"])
    missing = tt.get(f"{LIBRARY}/tiktok_123")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_shop_library_holds_only_that_shops_items(tt):
    sid = shop_id("601450", "US")
    body = tt.get(f"/v1/shops/{sid}/tiktok/library", params={"limit": 50}).json()
    assert body["data"] and all(i["shop"]["id"] == sid for i in body["data"])
    empty = tt.get("/v1/shops/unknown/tiktok/library").json()
    assert empty["data"] == [] and empty["pagination"]["totalPages"] == 0


def test_shift_option_inserts_on_top_after_the_first_page(sim, tt):
    params = {"search": "skincare", "searchArea": "hashtag", "limit": 10}
    page1 = tt.get(LIBRARY, params=params).json()
    sim.set_faults("trendtrack", options={"shift_after_page": 1})
    assert tt.get(LIBRARY, params=params).json()["data"] == page1["data"], "page 1: no shift"
    page2 = tt.get(LIBRARY, params={**params, "page": 2}).json()
    assert page2["pagination"]["total"] == page1["pagination"]["total"] + 1
    assert page2["data"][0]["id"] == page1["data"][-1]["id"], "the last of page 1 repeats"
    again = tt.get(LIBRARY, params=params).json()["data"]
    assert again[0]["id"] not in {i["id"] for i in page1["data"]}, "the new item is on top"


def test_errors_follow_the_seed_shape(sim, tt):
    anonymous = httpx.get(sim.base_url("trendtrack") + LIBRARY)
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "missing_api_key"
    sim.set_faults("trendtrack", quota_after=0)
    quota = tt.get(LIBRARY)
    assert quota.status_code == 402 and set(quota.json()["error"]) == {
        "code",
        "message",
        "requestId",
    }
