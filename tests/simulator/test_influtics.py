"""Influtics video stats served over real HTTP: contract, filters, bad data, drift, errors."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from simulator.influtics import observations, tracked_videos
from simulator.server import Simulator
from simulator.world import metrics_at

PATH = "/v1/videos/stats"
SEED_FIELDS = {
    "video_id",
    "external_video_id",
    "stats",
    "views",
    "likes",
    "comments",
    "reposts",
    "platform",
    "created_at",
    "title",
    "thumbnail_url",
    "cpm",
    "er",
    "stats_last_updated",
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PG_STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?\+00")


@pytest.fixture
def influtics(sim: Simulator) -> Iterator[httpx.Client]:
    sim.reset_faults()
    with httpx.Client(
        base_url=sim.base_url("influtics"),
        headers={"Authorization": "Bearer sim-influtics-key"},
        timeout=5.0,
    ) as client:
        yield client
    sim.reset_faults()


def everything(client: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    body = client.get(PATH, params={"limit": 100, "offset": 0, **params}).json()
    items = body["data"]["data"]
    offset = 100
    while body["data"]["pagination"]["has_more"]:
        body = client.get(PATH, params={"limit": 100, "offset": offset, **params}).json()
        items += body["data"]["data"]
        offset += 100
    return items


def test_page_has_the_seed_shape_and_types(sim, influtics):
    response = influtics.get(PATH, params={"limit": 2, "platform": "TikTok"})
    body = response.json()
    assert response.status_code == 200 and body["success"] is True
    assert set(body["data"]["pagination"]) == {"total", "limit", "offset", "has_more"}
    assert body["data"]["pagination"]["limit"] == 2 and body["data"]["pagination"]["has_more"]
    uuid.UUID(body["meta"]["request_id"])
    assert isinstance(body["meta"]["processing_time_ms"], int)
    for item in body["data"]["data"]:
        assert set(item) == SEED_FIELDS
        uuid.UUID(item["video_id"])
        assert isinstance(item["external_video_id"], str) and item["platform"] == "TikTok"
        video = sim.world.video(int(item["external_video_id"]))
        assert video is not None and int(item["external_video_id"]) > 2**53
        assert set(item["stats"]) == {"likes", "views", "reposts", "comments"}
        assert all(PG_STAMP.fullmatch(ts) for series in item["stats"].values() for ts in series)
        assert isinstance(item["views"], int) and isinstance(item["er"], float)


def test_totals_are_the_world_counts_at_the_last_observation(sim, influtics):
    entries = {e.video_id: e for e in tracked_videos(sim.world, sim.now, {})}
    items = everything(influtics, platform="TikTok")
    checked = 0
    for item in items[:20]:
        entry = entries[item["video_id"]]
        times = observations(entry, sim.now)
        if not times:
            continue
        last = metrics_at(entry.video, EPOCH + timedelta(microseconds=times[-1]))
        assert (item["views"], item["likes"], item["reposts"]) == (
            last.views,
            last.likes,
            last.shares,
        )
        checked += 1
    assert checked >= 10


def test_platform_filter_and_every_platform(influtics):
    tiktok = everything(influtics, platform="TikTok")
    every = everything(influtics)
    youtube = everything(influtics, platform="YouTube")
    assert {i["platform"] for i in tiktok} == {"TikTok"}
    assert {i["platform"] for i in every} == {"TikTok", "YouTube", "Instagram"}
    assert len(tiktok) > 100, "more than one page at the maximum limit"
    assert len(every) > len(tiktok) and all(not i["external_video_id"].isdigit() for i in youtube)


def test_seed_style_bad_data_is_there_by_default_and_switchable(sim, influtics):
    def bad(items: list[dict[str, Any]]) -> tuple[int, int]:
        stamps = values = 0
        for item in items:
            for series in item["stats"].values():
                for ts, value in series.items():
                    try:
                        date.fromisoformat(ts[:10])
                    except ValueError:
                        stamps += 1
                    values += not isinstance(value, int)
        return stamps, values

    stamps, values = bad(everything(influtics, platform="TikTok"))
    assert stamps > 0 and values > 0
    sim.set_faults("influtics", options={"bad_timestamps": False, "bad_values": False})
    assert bad(everything(influtics, platform="TikTok")) == (0, 0)


def test_sorting_by_created_at_is_total_and_reversible(influtics):
    asc = everything(influtics, sort="created_at", order="asc")
    desc = everything(influtics)  # the default: created_at desc
    assert [i["video_id"] for i in asc] == [i["video_id"] for i in reversed(desc)]
    assert [i["created_at"] for i in asc] == sorted(i["created_at"] for i in asc)


def crawl_ids(client: httpx.Client, **params: Any) -> list[str]:
    ids, offset = [], 0
    while True:
        body = client.get(PATH, params={"limit": 50, "offset": offset, **params}).json()
        ids += [i["video_id"] for i in body["data"]["data"]]
        offset += len(body["data"]["data"])
        if not body["data"]["pagination"]["has_more"]:
            return ids


def test_videos_inserted_mid_crawl_shift_desc_offsets_but_not_asc(sim, influtics):
    before = set(crawl_ids(influtics, platform="TikTok"))
    drift = {"insert_videos": 5, "insert_after_requests": 1}
    sim.set_faults("influtics", options=drift)
    desc = crawl_ids(influtics, platform="TikTok")
    after = set(crawl_ids(influtics, platform="TikTok"))
    assert len(after - before) == 5 and before < after
    assert len(desc) - len(set(desc)) == 5, "the default order repeats rows across pages"
    assert set(desc) != after, "and misses the newly tracked videos"
    sim.set_faults("influtics", options=drift)
    asc = crawl_ids(influtics, platform="TikTok", sort="created_at", order="asc")
    assert len(asc) == len(set(asc)) and set(asc) == after


@pytest.mark.parametrize(
    ("params", "message", "details"),
    [
        ({"sort": "trending"}, "Invalid sort parameter", "valid_sort_options"),
        ({"order": "up"}, "Invalid order parameter", "valid_order_options"),
        ({"status": "paused"}, "Invalid status parameter", "valid_status_options"),
        ({"platform": "tiktok"}, "Invalid platform parameter", "valid_platform_options"),
        ({"limit": 101}, "Invalid limit parameter", "max"),
        ({"offset": -1}, "Invalid offset parameter", "min"),
    ],
)
def test_invalid_parameters_are_400_with_details(influtics, params, message, details):
    response = influtics.get(PATH, params=params)
    body = response.json()
    assert response.status_code == 400
    assert (body["success"], body["error"], body["code"]) == (False, message, "INVALID_PARAMETER")
    assert details in body["details"]


def test_invalid_sort_is_the_seeds_400_body_exactly(influtics):
    response = influtics.get(PATH, params={"sort": "trending"})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Invalid sort parameter",
        "code": "INVALID_PARAMETER",
        "details": {"valid_sort_options": ["created_at", "views", "likes", "updated_at"]},
    }


def test_wrong_key_is_401_invalid_api_key(sim):
    response = httpx.get(sim.base_url("influtics") + PATH, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json() == {
        "success": False,
        "error": "Invalid API key",
        "code": "INVALID_API_KEY",
    }


def test_free_endpoint_spends_no_credits(sim, influtics):
    before = sim.stats("influtics")
    influtics.get(PATH)
    after = sim.stats("influtics")
    assert after["total"] == before["total"] + 1 and after["credits"] == before["credits"] == 0


def test_vendor_options_must_be_a_json_object(sim):
    with pytest.raises(ValueError, match="options must be a JSON object"):
        sim.set_faults("influtics", options=["insert_videos"])
