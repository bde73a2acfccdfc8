"""KeyAPI parsing on the seed's own example, slicing, and paging with a mock transport."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import httpx
import pytest

from pipelines.errors import MalformedResponse
from pipelines.http import ClientSettings, VendorClient
from pipelines.keyapi import (
    ALL_CATEGORIES,
    PROFILE,
    RANKING_SCHEMA,
    RankingSlice,
    fetch_slice,
    parse_ranking_item,
    ranking_slices,
    rows_to_table,
    seed_shape,
)
from pipelines.report import RunReport

# The example response of ../shared/seeds/000_2f879721105b6020.txt, verbatim.
SEED_ITEM = {
    "avatar": "https://echosell-images.tos-ap-southeast-1.volces.com/user-avatar/853/MS4wLjABAAAAJN3v63JkTkZW72ae9hb2Wlb70uzhU8H3AZEKxIVTg38lwBGTx0tSNH7IBcrocdKd.jpg",
    "category": "Other",
    "create_time": "1769838405",
    "created_by_ai": "false",
    "duration": 15,
    "nick_name": "ﾌひﾚﾉの",
    "product_category_list": '[{ "category_name":"Beauty & Personal Care","category_id":"601450"}]',
    "reflow_cover": "https://echosell-images.tos-ap-southeast-1.volces.com/video-cover/422/7601397977986501919.jpg",
    "region": "US",
    "sales_flag": 1,
    "total_comments_cnt": 0,
    "total_digg_cnt": 0,
    "total_favorites_cnt": 0,
    "total_shares_cnt": 0,
    "total_video_sale_cnt": 5508,
    "total_video_sale_gmv_amt": 44613,
    "total_views_cnt": 0,
    "unique_id": "iamjuliocr",
    "user_id": "6633792625097490438",
    "video_desc": "W huzz magnet 🧲 #fyp #ttshopfinds #seasaltspray #level3 #barbertok ",
    "video_id": "7601397977986501919",
    "video_products": "[1729436418527695003]",
}
SLICE = RankingSlice("day", date(2026, 1, 31), "US", "sales")


def test_seed_example_parses_every_field_to_its_type():
    row = parse_ranking_item(SEED_ITEM, SLICE, rank=3, request_id="b9ff3078")
    assert row["video_id"] == 7601397977986501919
    assert row["user_id"] == 6633792625097490438
    assert row["create_time"] == datetime(2026, 1, 31, 5, 46, 45, tzinfo=UTC)
    assert row["created_by_ai"] is False
    assert row["duration"] == 15 and row["sales_flag"] == 1
    assert row["total_video_sale_cnt"] == 5508 and row["total_video_sale_gmv_amt"] == 44613
    assert row["total_views_cnt"] == 0
    assert row["nick_name"] == "ﾌひﾚﾉの" and "🧲" in row["video_desc"]
    assert json.loads(row["product_category_list"]) == [
        {"category_name": "Beauty & Personal Care", "category_id": "601450"}
    ]
    assert row["video_products"] == '["1729436418527695003"]', "ids kept exact, as strings"
    assert (row["rank"], row["region"], row["rank_field"], row["rank_type"]) == (
        3,
        "US",
        "sales",
        "day",
    )
    assert row["product_category_id"] == ALL_CATEGORIES
    assert row["request_id"] == "b9ff3078"
    table = rows_to_table([row])
    assert table.schema == RANKING_SCHEMA
    assert table.column("video_id").to_pylist() == [7601397977986501919]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"video_id": None}, "required field 'video_id'"),
        ({"total_views_cnt": "n/a"}, "'total_views_cnt' should be an integer"),
        ({"created_by_ai": "maybe"}, "'created_by_ai' should be true/false"),
        ({"video_products": "[1729436418527695003"}, "not valid JSON"),
        ({"nick_name": 12}, "'nick_name' should be a string"),
    ],
)
def test_bad_fields_are_named(patch, message):
    with pytest.raises(ValueError, match=message):
        parse_ranking_item({**SEED_ITEM, **patch}, SLICE, 1, None)


def test_numbers_as_strings_and_big_ids_never_pass_a_float():
    item = {**SEED_ITEM, "total_views_cnt": "123", "video_id": 9223372036854775807}
    row = parse_ranking_item(item, SLICE, 1, None)
    assert row["total_views_cnt"] == 123 and row["video_id"] == 2**63 - 1
    with pytest.raises(ValueError):
        parse_ranking_item({**SEED_ITEM, "video_id": 7.601397977986502e18}, SLICE, 1, None)


def test_schema_drift_is_named_per_slice_and_new_fields_land_as_text():
    item = {**SEED_ITEM, "new_vendor_field": {"x": 1}, "rank": 99, "duration": "15"}
    del item["nick_name"]
    tally = seed_shape("day").tally()
    tally.add(item)
    tally.add({**item, "region": None})
    found = {(d.vendor, d.table, d.field, d.kind, d.partition) for d in tally.drift("2026-01-31")}
    assert found == {
        ("keyapi", "video_rankings_daily", "new_vendor_field", "added", "2026-01-31"),
        ("keyapi", "video_rankings_daily", "rank", "added", "2026-01-31"),
        ("keyapi", "video_rankings_daily", "nick_name", "missing", "2026-01-31"),
        ("keyapi", "video_rankings_daily", "duration", "type_change", "2026-01-31"),
    }
    clean = seed_shape("day").tally()
    clean.add({k: v for k, v in SEED_ITEM.items() if k != "region"})
    assert clean.drift("2026-01-31") == set(), "the seed itself, without its optional region"
    row = parse_ranking_item(item, SLICE, 1, None)
    assert row["nick_name"] is None
    assert row["rank"] == 1 and row["vendor_rank"] == "99", "vendor fields never clobber ours"
    table = rows_to_table([row])
    assert table.column("new_vendor_field").to_pylist() == ['{"x": 1}']


def test_slices_cover_dates_regions_fields_and_categories():
    slices = ranking_slices(
        "week", [date(2026, 1, 5)], ["US", "GB"], ["views", "sales"], ["601450"]
    )
    assert len(slices) == 2 * 2 * 2
    assert {s.product_category_id for s in slices} == {ALL_CATEGORIES, "601450"}
    params = RankingSlice("week", date(2026, 1, 5), "US", "sales", "601450").params(2, 10, True)
    assert params == {
        "date": "2026-01-05",
        "region": "US",
        "video_rank_field": 2,
        "rank_type": 2,
        "page_num": 2,
        "page_size": 10,
        "product_category_id": "601450",
        "created_by_ai": "true",
    }
    with pytest.raises(ValueError, match="period"):
        ranking_slices("year", [], [], [])


def _client(pages: dict[int, list]) -> tuple[VendorClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        page = int(request.url.params["page_num"])
        body = {
            "code": 0,
            "message": "success",
            "data": pages.get(page, []),
            "requestId": f"r{page}",
        }
        return httpx.Response(200, json=body)

    settings = ClientSettings(requests_per_second=None, max_attempts=1)
    return VendorClient(
        PROFILE, "http://k", "key-1234", settings, transport=httpx.MockTransport(handler)
    ), seen


def _items(n: int, start: int) -> list[dict]:
    return [{**SEED_ITEM, "video_id": str(7601397977986501919 + start + i)} for i in range(n)]


def test_rank_is_page_order_and_a_short_page_ends_the_list():
    client, seen = _client({1: _items(10, 0), 2: _items(4, 10)})
    report = RunReport()
    rows = fetch_slice(client, SLICE, pages=5, report=report)
    assert [r["rank"] for r in rows] == list(range(1, 15))
    assert [r["request_id"] for r in rows[9:11]] == ["r1", "r2"]
    assert len(seen) == 2, "page 2 was short: page 3 is never asked for"
    assert client.stats.credits == 2


def test_a_field_is_missing_only_when_no_item_of_the_whole_slice_carries_it():
    def without_nick(items: list[dict]) -> list[dict]:
        return [{k: v for k, v in item.items() if k != "nick_name"} for item in items]

    client, _ = _client({1: _items(10, 0), 2: without_nick(_items(4, 10))})
    report = RunReport()
    fetch_slice(client, SLICE, pages=5, report=report)
    assert report.schema_drift == set(), "page 1 carried nick_name: no drift"
    client, _ = _client({1: without_nick(_items(10, 0)), 2: without_nick(_items(4, 10))})
    fetch_slice(client, SLICE, pages=5, report=report)
    (drift,) = report.schema_drift
    assert (drift.table, drift.field, drift.kind, drift.partition, drift.column) == (
        "video_rankings_daily",
        "nick_name",
        "missing",
        "2026-01-31",
        "nick_name",
    )
    assert dict(drift.where) == {
        "ranking_date": date(2026, 1, 31),
        "region": "US",
        "rank_field": "sales",
        "product_category_id": ALL_CATEGORIES,
    }


def test_a_value_that_fails_to_parse_is_still_named_as_drift():
    client, _ = _client({1: [*_items(9, 0), {**SEED_ITEM, "total_views_cnt": "n/a"}]})
    report = RunReport()
    with pytest.raises(MalformedResponse):
        fetch_slice(client, SLICE, pages=1, report=report)
    assert {(d.field, d.kind, d.detail) for d in report.schema_drift} == {
        ("total_views_cnt", "type_change", "number -> string")
    }


def test_pages_setting_caps_the_depth():
    client, seen = _client({p: _items(10, p * 10) for p in range(1, 10)})
    assert len(fetch_slice(client, SLICE, pages=3)) == 30
    assert len(seen) == 3


def test_malformed_item_names_page_and_slice():
    client, _ = _client({1: [*_items(9, 0), {**SEED_ITEM, "total_views_cnt": "n/a"}]})
    with pytest.raises(MalformedResponse) as info:
        fetch_slice(client, SLICE, pages=1)
    message = str(info.value)
    assert "item 10 of page 1" in message and "2026-01-31 US sales" in message
    assert info.value.request_id == "r1"


def test_data_that_is_not_a_list_is_malformed():
    def handler(request):
        return httpx.Response(200, json={"code": 0, "data": {"oops": 1}, "requestId": "x"})

    settings = ClientSettings(requests_per_second=None, max_attempts=1)
    client = VendorClient(
        PROFILE, "http://k", "key-1234", settings, transport=httpx.MockTransport(handler)
    )
    with pytest.raises(MalformedResponse, match="`data` should be a list"):
        fetch_slice(client, SLICE, pages=1)
