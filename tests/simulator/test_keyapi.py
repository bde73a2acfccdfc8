"""KeyAPI video ranking served over real HTTP: contract, validation, auth and faults."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from simulator.server import Simulator
from simulator.world import period_metrics
from tests.simulator.conftest import RANKING, ranking_params

# The field set of the seed's example item (seeds/000_2f879721105b6020.txt).
SEED_FIELDS = {
    "avatar",
    "category",
    "create_time",
    "created_by_ai",
    "duration",
    "nick_name",
    "product_category_list",
    "reflow_cover",
    "region",
    "sales_flag",
    "total_comments_cnt",
    "total_digg_cnt",
    "total_favorites_cnt",
    "total_shares_cnt",
    "total_video_sale_cnt",
    "total_video_sale_gmv_amt",
    "total_views_cnt",
    "unique_id",
    "user_id",
    "video_desc",
    "video_id",
    "video_products",
}
COUNTS = {f for f in SEED_FIELDS if f.startswith("total_")}


def utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def get(client: httpx.Client, **overrides: object) -> httpx.Response:
    return client.get(RANKING, params=ranking_params(**overrides))


def assert_error(response: httpx.Response, status: int, message: str) -> None:
    body = response.json()
    assert response.status_code == status
    assert (body["code"], body["data"], body["message"]) == (status, None, message)
    uuid.UUID(body["requestId"])


# -- the contract ---------------------------------------------------------------------------


def test_items_carry_exactly_the_seed_fields_with_its_json_types(keyapi: httpx.Client) -> None:
    response = get(keyapi, video_rank_field=2)
    body = response.json()
    assert response.status_code == 200
    assert (body["code"], body["message"]) == (0, "success")
    uuid.UUID(body["requestId"])
    assert len(body["data"]) == 10
    for item in body["data"]:
        assert set(item) == SEED_FIELDS
        for name in ("video_id", "user_id", "create_time"):
            assert isinstance(item[name], str) and item[name].isdigit()
        assert len(item["video_id"]) == 19 and int(item["video_id"]) > 2**53
        assert int(item["video_id"]) >> 32 == int(item["create_time"])
        assert item["created_by_ai"] in ("true", "false")
        assert all(type(item[name]) is int for name in COUNTS)
        assert type(item["duration"]) is int and item["sales_flag"] in (1, 2)
        assert item["region"] == "US"
        categories = json.loads(item["product_category_list"])
        assert categories and all(set(c) == {"category_name", "category_id"} for c in categories)
        products = json.loads(item["video_products"])
        assert products and all(type(p) is int and len(str(p)) == 19 for p in products)


def test_totals_are_what_the_video_gained_within_the_ranked_day(
    keyapi: httpx.Client, sim: Simulator
) -> None:
    items = get(keyapi).json()["data"]
    for item in items:
        video = sim.world.video(int(item["video_id"]))
        assert video is not None
        gained = period_metrics(video, utc(date(2025, 6, 10)), utc(date(2025, 6, 11)))
        assert (
            item["total_views_cnt"],
            item["total_digg_cnt"],
            item["total_comments_cnt"],
            item["total_shares_cnt"],
            item["total_favorites_cnt"],
            item["total_video_sale_cnt"],
            item["total_video_sale_gmv_amt"],
        ) == gained
        assert item["unique_id"] == video.creator.unique_id
        assert item["video_desc"] == video.description


def test_pages_follow_one_ranking_sorted_by_the_field_without_overlap(
    keyapi: httpx.Client, sim: Simulator
) -> None:
    pages = [get(keyapi, page_num=n, page_size=7).json()["data"] for n in range(1, 7)]
    items = [item for page in pages for item in page]
    ids = [item["video_id"] for item in items]
    assert len(ids) == len(set(ids)) == 42
    views = [item["total_views_cnt"] for item in items]
    assert views == sorted(views, reverse=True) and views[-1] > 0
    expected = sim.world.ranking("US", date(2025, 6, 10), date(2025, 6, 11), "views")[:42]
    assert ids == [str(r.video.video_id) for r in expected]


def test_a_page_past_the_end_is_empty_not_an_error(keyapi: httpx.Client, sim: Simulator) -> None:
    size = len(sim.world.ranking("DE", date(2025, 6, 10), date(2025, 6, 11), "views"))
    last = get(keyapi, region="DE", page_num=(size + 9) // 10).json()["data"]
    beyond = get(keyapi, region="DE", page_num=(size + 9) // 10 + 1).json()
    assert len(last) == (size - 1) % 10 + 1
    assert (beyond["code"], beyond["data"]) == (0, [])


@pytest.mark.parametrize(
    ("rank_type", "day", "end"),
    [
        (2, date(2025, 6, 2), date(2025, 6, 9)),
        (3, date(2025, 5, 1), date(2025, 6, 1)),
    ],
)
def test_weekly_and_monthly_totals_cover_the_whole_period(
    keyapi: httpx.Client, sim: Simulator, rank_type: int, day: date, end: date
) -> None:
    items = get(keyapi, rank_type=rank_type, date=day.isoformat()).json()["data"]
    assert len(items) == 10
    for item in items:
        video = sim.world.video(int(item["video_id"]))
        assert video is not None
        assert item["total_views_cnt"] == period_metrics(video, utc(day), utc(end)).views


def test_filters_keep_only_matching_videos(keyapi: httpx.Client) -> None:
    beauty = get(keyapi, product_category_id="601450", video_rank_field=2).json()["data"]
    assert len(beauty) == 10
    for item in beauty:
        ids = {c["category_id"] for c in json.loads(item["product_category_list"])}
        assert "601450" in ids
    ai = get(keyapi, created_by_ai="true").json()["data"]
    assert len(ai) == 10 and {item["created_by_ai"] for item in ai} == {"true"}


@pytest.mark.parametrize(
    ("rank_type", "day", "published"),
    [
        (1, "2025-06-29", True),  # ends 06-30, published 07-01 00:00 == now
        (1, "2025-06-30", False),
        (2, "2025-06-23", True),
        (2, "2025-06-30", False),
        (3, "2025-05-01", True),
        (3, "2025-06-01", False),  # ends 07-01, published 07-02
    ],
)
def test_a_period_is_published_one_day_after_it_ends(
    keyapi: httpx.Client, rank_type: int, day: str, published: bool
) -> None:
    body = get(keyapi, rank_type=rank_type, date=day).json()
    assert body["code"] == 0
    assert bool(body["data"]) is published


# -- validation and auth --------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["date", "region", "video_rank_field", "rank_type", "page_num", "page_size"]
)
def test_each_required_parameter_is_enforced(keyapi: httpx.Client, name: str) -> None:
    params = ranking_params()
    del params[name]
    assert_error(keyapi.get(RANKING, params=params), 400, f"Missing required parameter: {name}")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("date", "2025-6-10", "date must be a valid yyyy-MM-dd date"),
        ("date", "2025-02-30", "date must be a valid yyyy-MM-dd date"),
        ("region", "XX", "region must be one of US, GB, DE, FR, ID, BR, JP"),
        ("video_rank_field", "3", "video_rank_field must be an integer in [1, 2]"),
        ("rank_type", "day", "rank_type must be an integer in [1, 3]"),
        ("page_num", "0", "page_num must be an integer in [1, 100000]"),
        ("page_num", "100001", "page_num must be an integer in [1, 100000]"),
        ("page_size", "11", "page_size must be an integer in [1, 10]"),
        ("product_category_id", "123", "product_category_id is not a first-level category id"),
        ("created_by_ai", "yes", "created_by_ai must be true or false"),
    ],
)
def test_invalid_parameters_are_400_with_the_reason(
    keyapi: httpx.Client, name: str, value: str, message: str
) -> None:
    assert_error(get(keyapi, **{name: value}), 400, f"Invalid parameter: {message}")


@pytest.mark.parametrize(
    ("rank_type", "day", "message"),
    [
        (2, "2025-06-03", "date must be a Monday for rank_type=2 (week)"),
        (3, "2025-06-02", "date must be the first day of a month for rank_type=3 (month)"),
    ],
)
def test_weeks_are_keyed_by_monday_and_months_by_the_first(
    keyapi: httpx.Client, rank_type: int, day: str, message: str
) -> None:
    assert_error(get(keyapi, rank_type=rank_type, date=day), 400, f"Invalid parameter: {message}")


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "apiKey is null"),
        ("Bearer", "apiKey is null"),
        ("Bearer wrong-key", "apiKey is invalid"),
        ("sim-keyapi-key", "apiKey is invalid"),  # the key without the Bearer scheme
    ],
)
def test_auth_errors_are_401_with_keyapi_messages(
    sim: Simulator, authorization: str | None, message: str
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = httpx.get(sim.base_url("keyapi") + RANKING, params=ranking_params(), headers=headers)
    assert_error(response, 401, message)


def test_every_answer_has_a_fresh_request_id(keyapi: httpx.Client) -> None:
    ids = {
        get(keyapi).json()["requestId"],
        get(keyapi).json()["requestId"],
        get(keyapi, region="XX").json()["requestId"],
    }
    assert len(ids) == 3 and all(uuid.UUID(i).version == 4 for i in ids)


def test_unknown_path_is_a_keyapi_404(keyapi: httpx.Client) -> None:
    assert_error(keyapi.get("/v1/tiktok/video/ranking/nope"), 404, "Not found")


# -- faults ---------------------------------------------------------------------------------


def test_429_carries_retry_after_and_the_qps_body(keyapi: httpx.Client, sim: Simulator) -> None:
    sim.set_faults("keyapi", script=["429"], retry_after=7)
    response = get(keyapi)
    assert_error(response, 429, "qps limit exceeded")
    assert response.headers["Retry-After"] == "7"
    assert get(keyapi).status_code == 200


def test_a_script_plays_its_faults_in_order(keyapi: httpx.Client, sim: Simulator) -> None:
    sim.set_faults("keyapi", script=["500", "503", "ok", "429"])
    responses = [get(keyapi, page_num=n) for n in range(1, 6)]
    assert [r.status_code for r in responses] == [500, 503, 200, 429, 200]
    assert_error(responses[0], 500, "Internal server error")
    assert_error(responses[1], 503, "Service unavailable")


def test_a_truncated_body_is_half_a_json_document(keyapi: httpx.Client, sim: Simulator) -> None:
    complete = get(keyapi).content
    sim.set_faults("keyapi", rate_truncated=1.0)
    response = get(keyapi)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content)
    assert len(response.content) == len(complete) // 2
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_a_slow_answer_outlasts_the_client_timeout(keyapi: httpx.Client, sim: Simulator) -> None:
    sim.set_faults("keyapi", script=["slow"], slow_seconds=0.6)
    with pytest.raises(httpx.ReadTimeout):
        keyapi.get(RANKING, params=ranking_params(), timeout=0.2)
    assert get(keyapi).status_code == 200


def test_the_same_request_fails_at_most_max_consecutive_faults_times(
    keyapi: httpx.Client, sim: Simulator
) -> None:
    sim.set_faults("keyapi", rate_500=1.0, max_consecutive_faults=3)
    statuses = [get(keyapi).status_code for _ in range(8)]
    assert statuses == [500, 500, 500, 200, 500, 500, 500, 200]
    assert get(keyapi, page_num=2).status_code == 500  # another request has its own count


def test_a_client_with_five_attempts_completes_under_30pct_429_and_10pct_500(
    keyapi: httpx.Client, sim: Simulator
) -> None:
    sim.set_faults("keyapi", rate_429=0.3, rate_500=0.1, retry_after=0, seed=3)
    before = sim.stats("keyapi")["faults"]
    attempts = []
    for page in range(1, 31):
        for attempt in range(1, 6):
            response = get(keyapi, page_num=page)
            if response.status_code == 200:
                attempts.append(attempt)
                break
        assert response.status_code == 200, f"page {page} failed 5 times"
    assert len(attempts) == 30 and max(attempts) > 1
    after = sim.stats("keyapi")["faults"]
    injected = {k: after.get(k, 0) - before.get(k, 0) for k in ("429", "500")}
    assert injected["429"] > injected["500"] > 0


def test_random_faults_repeat_for_the_same_seed(keyapi: httpx.Client, sim: Simulator) -> None:
    runs = []
    for _ in range(2):
        sim.set_faults("keyapi", rate_429=0.5, seed=11, max_consecutive_faults=99)
        runs.append([get(keyapi, page_num=n).status_code for n in range(1, 21)])
    assert runs[0] == runs[1] and set(runs[0]) == {200, 429}


@pytest.mark.parametrize(
    ("drift", "check"),
    [
        (
            "added_field",
            lambda item: (
                item["new_vendor_field"] == "sim-drift"
                and set(item) == SEED_FIELDS | {"new_vendor_field"}
            ),
        ),
        ("missing_field", lambda item: set(item) == SEED_FIELDS - {"nick_name"}),
        ("type_change", lambda item: item["total_views_cnt"] == "n/a"),
    ],
)
def test_drift_changes_every_item(
    keyapi: httpx.Client, sim: Simulator, drift: str, check: Callable[[dict[str, Any]], bool]
) -> None:
    sim.set_faults("keyapi", drift=drift)
    items = get(keyapi).json()["data"]
    assert len(items) == 10 and all(check(item) for item in items)


def test_quota_after_n_billable_requests_is_402(keyapi: httpx.Client, sim: Simulator) -> None:
    sim.set_faults("keyapi", quota_after=3)
    assert get(keyapi, region="XX").status_code == 400  # not billable, not counted
    assert [get(keyapi, page_num=n).status_code for n in range(1, 4)] == [200, 200, 200]
    assert_error(get(keyapi, page_num=4), 402, "apiKey quota is not enough")


def test_auth_fail_rejects_even_the_right_key(keyapi: httpx.Client, sim: Simulator) -> None:
    sim.set_faults("keyapi", auth_fail=True)
    assert_error(get(keyapi), 401, "apiKey is invalid")


def test_only_successful_requests_spend_credits() -> None:
    with (
        Simulator(now=datetime(2025, 7, 1, tzinfo=UTC)) as sim,
        httpx.Client(
            base_url=sim.base_url("keyapi"), headers={"Authorization": "Bearer sim-keyapi-key"}
        ) as client,
    ):
        sim.set_faults("keyapi", script=["429", "ok", "truncated"])
        statuses = [get(client, region="GB").status_code for _ in range(3)]
        get(client, page_size=0)
        client.get(RANKING, headers={"Authorization": "Bearer nope"})
        stats = sim.stats("keyapi")
    assert statuses == [429, 200, 200]
    assert stats == {
        "total": 5,
        "by_status": {200: 2, 400: 1, 401: 1, 429: 1},
        "faults": {"429": 1, "truncated": 1},
        "billable": 2,
        "credits": 2,
    }


def test_a_cached_ranking_page_is_served_in_under_50_ms(keyapi: httpx.Client) -> None:
    day = (date(2025, 6, 1) - timedelta(days=1)).isoformat()  # not touched by other tests
    assert get(keyapi, date=day, region="BR").status_code == 200  # cold: builds the ranking
    elapsed = [get(keyapi, date=day, region="BR", page_num=n).elapsed for n in range(2, 12)]
    assert max(elapsed) < timedelta(milliseconds=50)


def test_text_travels_as_utf8_and_nul_as_a_json_escape(
    keyapi: httpx.Client, sim: Simulator
) -> None:
    ranked = sim.world.ranking("US", date(2025, 6, 10), date(2025, 6, 11), "views")
    position = next(i for i, r in enumerate(ranked) if "\x00" in r.video.description)
    response = get(keyapi, page_num=position // 10 + 1)
    assert b"\\u0000" in response.content and b"\x00" not in response.content
    item = response.json()["data"][position % 10]
    assert item["video_desc"] == ranked[position].video.description
    jp = get(keyapi, region="JP").content.decode()
    assert re.search(r"[\u3040-\u30ff]", jp)  # Japanese as UTF-8 text, not \u escapes
