"""EnsembleData served over real HTTP: aweme shape, units header, paging, options, errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from simulator import ensembledata
from simulator.server import Simulator
from simulator.vendor import Request, Route, Vendor

from .conftest import NOW

TOKEN = "sim-ensembledata-key"


@pytest.fixture
def ed(sim: Simulator) -> Iterator[httpx.Client]:
    sim.reset_faults()
    with httpx.Client(base_url=sim.base_url("ensembledata"), params={"token": TOKEN}) as client:
        yield client
    sim.reset_faults()


def busy_creator(sim: Simulator):
    """The creator with the most posts in the 30 days before NOW."""
    videos = sim.world.videos_between((NOW - timedelta(days=29)).date(), NOW.date())
    counts: dict = {}
    for v in videos:
        counts[v.creator] = counts.get(v.creator, 0) + 1
    return max(counts, key=lambda c: (counts[c], c.unique_id))


def test_hashtag_posts_are_aweme_objects_of_the_world(sim, ed):
    response = ed.get("/tt/hashtag/posts", params={"name": "skincare"})
    assert response.status_code == 200 and response.headers["units_charged"] == "1"
    data = response.json()["data"]
    posts = data["data"]
    assert len(posts) == ensembledata.POSTS_PAGE and data["nextCursor"] == 20
    for post in posts:
        video = sim.world.video(int(post["aweme_id"]))
        assert video is not None and "skincare" in video.hashtags
        assert post["create_time"] == video.create_time <= NOW.timestamp()
        assert post["author"]["unique_id"] == video.creator.unique_id
        assert set(post["statistics"]) >= {
            "play_count", "digg_count", "comment_count", "share_count", "collect_count",
        }  # fmt: skip
        assert [t["hashtag_name"] for t in post["text_extra"]] == list(video.hashtags)
    created = [p["create_time"] for p in posts]
    assert created == sorted(created, reverse=True)


def test_some_posts_have_no_music_and_music_ids_are_exact_numbers(sim, ed):
    posts = ed.get("/tt/hashtag/recent-posts", params={"name": "fyp", "days": 3}).json()["data"]
    with_music = [p for p in posts["data"] if "music" in p]
    assert 0 < len(with_music) < len(posts["data"])
    for post in with_music:
        assert post["music"]["id"] == int(post["music"]["id_str"]) > 2**53


def test_hashtag_walk_ends_without_next_cursor(ed):
    cursor, seen = 0, []
    while cursor is not None:
        data = ed.get("/tt/hashtag/posts", params={"name": "skincare", "cursor": cursor}).json()
        seen += [p["aweme_id"] for p in data["data"]["data"]]
        cursor = data["data"].get("nextCursor")
    assert len(seen) == len(set(seen)) > ensembledata.POSTS_PAGE


def test_full_hashtag_search_charges_per_20_posts_and_honours_max_cursor(sim, ed):
    response = ed.get("/tt/hashtag/recent-posts", params={"name": "fyp", "max_cursor": 45})
    assert len(response.json()["data"]["data"]) == 45
    assert response.headers["units_charged"] == "3"
    assert sim.stats("ensembledata")["credits"] >= 3


def test_keyword_search_filters_country_and_wraps_aweme_info(ed):
    params = {"name": "honest review", "period": 7, "country": "US", "sorting": 1}
    items = ed.get("/tt/keyword/search", params=params).json()["data"]["data"]
    assert items and all(i["aweme_info"]["region"] == "US" for i in items)
    assert all("honest review" in i["aweme_info"]["desc"].lower() for i in items[:3])
    likes = [i["aweme_info"]["statistics"]["digg_count"] for i in items]
    assert likes == sorted(likes, reverse=True)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/tt/keyword/search", {"name": "x", "period": 3}, "period"),
        ("/tt/keyword/search", {"name": "x", "sorting": 5}, "sorting"),
        ("/tt/keyword/search", {"name": "x", "country": "ZZ"}, "country"),
        ("/tt/hashtag/posts", {"cursor": 0}, "name"),
        ("/tt/hashtag/posts", {"name": "x", "cursor": "abc"}, "cursor"),
        ("/tt/user/posts", {"username": "x", "depth": 0}, "depth"),
        ("/tt/post/info", {"url": "https://example.com/v/1"}, "url"),
        ("/tt/post/multi-info", {"ids": ";".join(["1"] * 101)}, "ids"),
    ],
)
def test_bad_parameters_answer_422_with_fastapi_details(ed, path, params, field):
    response = ed.get(path, params=params)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["query", field]


def test_user_info_and_posts_by_username_and_sec_uid(sim, ed):
    creator = busy_creator(sim)
    by_name = ed.get("/tt/user/info", params={"username": creator.unique_id}).json()
    by_sec = ed.get("/tt/user/info-from-secuid", params={"secUid": creator.sec_uid}).json()
    assert by_name == by_sec
    assert by_name["data"]["user"]["follower_count"] == creator.followers
    response = ed.get("/tt/user/posts", params={"username": creator.unique_id, "depth": 1})
    assert response.headers["units_charged"] == "1"
    first = response.json()["data"]
    assert len(first["data"]) == ensembledata.USER_POSTS_CHUNK
    assert first["nextCursor"] == first["data"][-1]["create_time"] * 1000
    params = {"secUid": creator.sec_uid, "depth": 2, "start_cursor": first["nextCursor"]}
    response = ed.get("/tt/user/posts-from-secuid", params=params)
    assert response.headers["units_charged"] == "2"
    older = response.json()["data"]["data"]
    assert max(p["create_time"] for p in older) < first["data"][-1]["create_time"]
    cutoff = first["data"][4]["create_time"]
    params = {"username": creator.unique_id, "depth": 5, "oldest_createtime": cutoff}
    recent = ed.get("/tt/user/posts", params=params).json()["data"]
    assert len(recent["data"]) == 5 and "nextCursor" not in recent


def test_unknown_user_is_404_with_detail(ed):
    response = ed.get("/tt/user/info", params={"username": "no_such_user_here"})
    assert response.status_code == 404 and response.json() == {"detail": "User not found"}


def test_followings_page_with_cursor_and_page_token(sim, ed):
    creator = next(
        c for c in sim.world.creators if len(ensembledata._followings(c, sim.world)) > 100
    )
    base = {"id": str(creator.user_id), "secUid": creator.sec_uid}
    first = ed.get("/tt/user/followings", params=base).json()["data"]
    assert len(first["followings"]) == 100 and first["nextCursor"] == 100
    assert first["nextPageToken"] == ensembledata.page_token(creator, 100)
    wrong = ed.get("/tt/user/followings", params={**base, "cursor": 100, "page_token": "nope"})
    assert wrong.status_code == 422
    params = {**base, "cursor": 100, "page_token": first["nextPageToken"]}
    second = ed.get("/tt/user/followings", params=params).json()["data"]
    assert second["nextCursor"] is None and second["nextPageToken"] is None
    assert len(first["followings"]) + len(second["followings"]) == second["total"]
    mismatch = ed.get("/tt/user/followers", params={**base, "id": "1"})
    assert mismatch.status_code == 422


def test_multi_info_and_post_info(sim, ed):
    videos = sim.world.videos_published_on((NOW - timedelta(days=2)).date(), "US")[:3]
    ids = [str(v.video_id) for v in videos]
    response = ed.get("/tt/post/multi-info", params={"ids": ";".join([*ids, "123"])})
    assert response.status_code == 200
    assert [p["aweme_id"] for p in response.json()["data"]] == ids
    url = f"https://www.tiktok.com/@{videos[0].creator.unique_id}/video/{ids[0]}"
    assert ed.get("/tt/post/info", params={"url": url}).json()["data"][0]["aweme_id"] == ids[0]


def test_partial_status_option_answers_a_4xx_that_still_carries_data(sim, ed):
    sim.set_faults("ensembledata", options={"partial_status": 400})
    video = sim.world.videos_published_on((NOW - timedelta(days=2)).date(), "US")[0]
    response = ed.get("/tt/post/multi-info", params={"ids": f"{video.video_id};123"})
    assert response.status_code == 400
    body = response.json()
    assert [p["aweme_id"] for p in body["data"]] == [str(video.video_id)]
    assert "1 of 2" in body["detail"]


def test_comments_and_music(sim, ed):
    video = max(
        sim.world.videos_published_on((NOW - timedelta(days=3)).date(), "US"),
        key=lambda v: v.final.comments,
    )
    first = ed.get("/tt/post/comments", params={"aweme_id": video.video_id}).json()["data"]
    assert len(first["comments"]) == ensembledata.COMMENTS_PAGE and first["nextCursor"] == 30
    assert all(c["aweme_id"] == str(video.video_id) for c in first["comments"])
    music_id = video.music.music_id
    details = ed.get("/tt/music/details", params={"id": music_id}).json()["data"]
    assert details["title"] == video.music.title and details["user_count"] >= 1
    posts = ed.get("/tt/music/posts", params={"music_id": music_id}).json()["data"]["data"]
    assert posts and all(p["music"]["id"] == music_id for p in posts)


def test_repeat_cursor_option_answers_the_same_cursor_again(sim, ed):
    sim.set_faults("ensembledata", options={"repeat_cursor": True})
    first = ed.get("/tt/hashtag/posts", params={"name": "fyp"}).json()["data"]
    again = ed.get("/tt/hashtag/posts", params={"name": "fyp", "cursor": first["nextCursor"]})
    assert again.json()["data"]["nextCursor"] == first["nextCursor"] == 20


def test_edited_captions_and_private_follows_options_empty_those_lists(sim, ed):
    creator = busy_creator(sim)
    base = {"id": str(creator.user_id), "secUid": creator.sec_uid}
    before = ed.get("/tt/hashtag/posts", params={"name": "fyp"}).json()["data"]["data"]
    assert all(p["text_extra"] for p in before)
    assert ed.get("/tt/user/followers", params=base).json()["data"]["followers"]
    sim.set_faults("ensembledata", options={"edited_captions": True, "private_follows": True})
    after = ed.get("/tt/hashtag/posts", params={"name": "fyp"}).json()["data"]["data"]
    assert [p["aweme_id"] for p in after] == [p["aweme_id"] for p in before]
    assert all(p["text_extra"] == [] for p in after)
    followers = ed.get("/tt/user/followers", params=base).json()["data"]
    assert followers == {"followers": [], "total": 0, "nextCursor": None}
    followings = ed.get("/tt/user/followings", params=base).json()["data"]
    assert followings["followings"] == [] and followings["nextPageToken"] is None


@pytest.mark.parametrize(
    ("status", "detail"),
    [(404, "User posts not found"), (422, "User posts are unavailable for this account")],
)
def test_posts_unavailable_option_refuses_only_that_creators_posts(sim, ed, status, detail):
    creator, other = busy_creator(sim), sim.world.creators[0]
    sim.set_faults("ensembledata", options={"posts_unavailable": {creator.unique_id: status}})
    for path, param in (("/tt/user/posts", "username"), ("/tt/user/posts-from-secuid", "secUid")):
        value = creator.unique_id if param == "username" else creator.sec_uid
        refused = ed.get(path, params={param: value})
        assert refused.status_code == status and refused.json() == {"detail": detail}
        assert "units_charged" not in refused.headers
    info = ed.get("/tt/user/info", params={"username": creator.unique_id})
    assert info.status_code == 200 and info.json()["data"]["user"]["uid"] == str(creator.user_id)
    base = {"id": str(creator.user_id), "secUid": creator.sec_uid}
    assert ed.get("/tt/user/followers", params=base).json()["data"]["followers"]
    assert ed.get("/tt/user/posts", params={"username": other.unique_id}).status_code == 200


def test_used_units_tallies_the_day(sim, ed):
    before = ed.get("/customer/get-used-units").json()["data"]
    ed.get("/tt/user/posts", params={"username": busy_creator(sim).unique_id, "depth": 3})
    response = ed.get("/customer/get-used-units", params={"date": NOW.date().isoformat()})
    assert response.json()["data"] == before + 3
    assert "units_charged" not in response.headers  # free
    assert ed.get("/customer/get-used-units", params={"date": "2025-13-01"}).status_code == 422


@pytest.mark.parametrize(("params", "status"), [({"token": "wrong"}, 491), ({"token": ""}, 422)])
def test_bad_or_missing_token(sim, params, status):
    with httpx.Client(base_url=sim.base_url("ensembledata")) as client:
        response = client.get("/tt/hashtag/posts", params={"name": "x", **params})
    assert response.status_code == status and "detail" in response.json()


def test_quota_fault_is_495_units_used_up(sim, ed):
    sim.set_faults("ensembledata", quota_after=1)
    assert ed.get("/tt/hashtag/posts", params={"name": "fyp"}).status_code == 200
    response = ed.get("/tt/hashtag/posts", params={"name": "fyp"})
    assert response.status_code == 495 and response.json() == {"detail": "Units used up"}


# -- the server's generic per-request headers ------------------------------------------------


def _vendor(cost_header: str | None) -> Vendor:
    def fixed(request: Request) -> tuple[int, object]:
        return 200, {"data": []}

    def priced(request: Request) -> tuple[int, object, dict[str, str]]:
        return 200, {"data": []}, {"x-cost": request.query.get("n", "1"), "x-extra": "yes"}

    def failing(request: Request) -> tuple[int, object, dict[str, str]]:
        return 400, {"error": "bad"}, {"x-extra": "still sent"}

    items = lambda body: []  # noqa: E731
    return Vendor(
        name="hdr",
        routes={
            ("GET", "/fixed"): Route(fixed, items, "a", "b", cost=2),
            ("GET", "/priced"): Route(priced, items, "a", "b", cost=1),
            ("GET", "/failing"): Route(failing, items, "a", "b", cost=1),
        },
        error=lambda kind, rid: (401, {"error": kind}),
        cost_header=cost_header,
    )


@pytest.mark.parametrize("cost_header", ["x-cost", None])
def test_handlers_may_set_headers_and_the_cost_header_follows_route_cost(cost_header):
    server = Simulator(now=NOW)
    server.register(_vendor(cost_header))
    with (
        server,
        httpx.Client(
            base_url=server.base_url("hdr"), headers={"Authorization": "Bearer sim-hdr-key"}
        ) as client,
    ):
        fixed = client.get("/fixed")
        priced = client.get("/priced", params={"n": 7})
        failing = client.get("/failing")
        stats = server.stats("hdr")
    assert priced.headers["x-extra"] == "yes" and failing.headers["x-extra"] == "still sent"
    if cost_header:
        assert fixed.headers["x-cost"] == "2" and priced.headers["x-cost"] == "7"
        assert "x-cost" not in failing.headers
        assert stats["credits"] == 2 + 7
    else:
        assert "x-cost" not in fixed.headers and priced.headers["x-cost"] == "7"
        assert stats["credits"] == 2 + 1
    assert stats["billable"] == 2


def test_clock_decides_what_is_published(sim, ed):
    sim.now = NOW - timedelta(days=400)
    try:
        posts = ed.get("/tt/hashtag/posts", params={"name": "fyp"}).json()["data"]["data"]
    finally:
        sim.now = NOW
    assert posts and all(p["create_time"] <= (NOW - timedelta(days=400)).timestamp() for p in posts)
    assert datetime.fromtimestamp(posts[0]["create_time"], UTC) > NOW - timedelta(days=408)
