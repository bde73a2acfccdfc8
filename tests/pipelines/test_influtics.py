"""Influtics parsing and pagination, on the seed's own example and on scripted pages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from pipelines.errors import AuthError, InvalidRequest, MalformedResponse
from pipelines.http import ClientSettings, VendorClient
from pipelines.influtics import (
    PROFILE,
    BadValue,
    InfluticsReport,
    crawl,
    parse_count,
    parse_timestamp,
    parse_video,
)

DAY = date(2025, 7, 1)
# The first item of the seed's example response (seeds/003_17c5e2e6fb64804c.txt), verbatim.
SEED_ITEM = json.loads(
    """{
  "video_id": "77168374-dd2c-496a-b1ae-3d4944f48ccb",
  "external_video_id": "7489443966908189959",
  "stats": {
    "likes": {"2025-06-30 08:26:03.730104+00": 56500, "2025-06-31 08:26:03.730104+00": 56501},
    "views": {"2025-06-30 08:26:03.730104+00": 1900000, "2025-06-31 08:26:03.730104+00": 2000000},
    "reposts": {"2025-06-30 08:26:03.730104+00": 6472, "2025-06-31 08:26:03.730104+00": 6892},
    "comments": {"2025-06-30 08:26:03.730104+00": 483, "2025-06-31 08:26:03.730104+00": 526}
  },
  "views": 2000000, "likes": 56501, "comments": 526, "reposts": 6892,
  "platform": "TikTok",
  "created_at": "2025-06-30T08:25:29.97727+00:00",
  "title": "Untitled",
  "thumbnail_url": "https://xhrjtpcqcdqwcdiqrhfw.supabase.co/storage/v1/object/public/thumbnails/tiktok/7489443966908189959.webp",
  "cpm": 0,
  "er": 3.339736842105263,
  "stats_last_updated": "2025-06-30T08:26:03.730104+00:00"
}"""
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-06-30 08:26:03.730104+00", datetime(2025, 6, 30, 8, 26, 3, 730104, tzinfo=UTC)),
        ("2025-06-30T08:25:29.97727+00:00", datetime(2025, 6, 30, 8, 25, 29, 977270, tzinfo=UTC)),
        ("2025-06-30 08:26:03+00", datetime(2025, 6, 30, 8, 26, 3, tzinfo=UTC)),
        ("2025-06-30T08:26:03Z", datetime(2025, 6, 30, 8, 26, 3, tzinfo=UTC)),
        ("2025-06-30 10:26:03.5+02", datetime(2025, 6, 30, 8, 26, 3, 500000, tzinfo=UTC)),
        ("2025-06-30 02:56:03.123456789-0530", datetime(2025, 6, 30, 8, 26, 3, 123456, tzinfo=UTC)),
    ],
)
def test_timestamps_parse_to_utc(raw, expected):
    parsed = parse_timestamp(raw)
    assert parsed == expected and parsed.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2025-06-31 08:26:03.730104+00", "impossible date"),  # the seed's own
        ("2025-02-29 00:00:00+00", "impossible date"),
        ("2025-06-30 24:00:01+00", "impossible date"),
        ("2025-06-30 08:26:03", "no UTC offset"),
        ("30/06/2025 08:26", "unparseable"),
        ("", "unparseable"),
        (1751272000, "not a string"),
    ],
)
def test_bad_timestamps_say_why(raw, reason):
    with pytest.raises(BadValue, match=reason):
        parse_timestamp(raw)


def test_counts_accept_integers_only():
    assert parse_count(56500) == 56500 and parse_count(2.0e6) == 2_000_000
    for raw, reason in [
        ("N/A", "non-numeric"),
        ("56500", "non-numeric"),
        (True, "non-numeric"),
        (None, "missing"),
        (1.5, "non-integer"),
        (-3, "negative"),
    ]:
        with pytest.raises(BadValue, match=reason):
            parse_count(raw)


def test_seed_item_splits_into_video_points_and_quarantine():
    parsed = parse_video(SEED_ITEM, DAY, "req-1")
    video = parsed.video
    assert video["video_id"] == "77168374-dd2c-496a-b1ae-3d4944f48ccb"
    assert video["external_video_id"] == "7489443966908189959"  # the vendor's id as sent
    assert video["tiktok_video_id"] == 7489443966908189959  # exact: never via a float
    assert {p["tiktok_video_id"] for p in [*parsed.points, *parsed.quarantine]} == {
        7489443966908189959
    }
    assert (video["views"], video["likes"], video["comments"], video["reposts"]) == (
        2000000,
        56501,
        526,
        6892,
    )
    assert video["er"] == pytest.approx(3.339736842105263) and video["cpm"] == 0.0
    assert video["created_at"] == datetime(2025, 6, 30, 8, 25, 29, 977270, tzinfo=UTC)
    assert video["observed_on"] == DAY and video["request_id"] == "req-1"
    good = datetime(2025, 6, 30, 8, 26, 3, 730104, tzinfo=UTC)
    assert sorted((p["metric"], p["value"]) for p in parsed.points) == [
        ("comments", 483),
        ("likes", 56500),
        ("reposts", 6472),
        ("views", 1900000),
    ]
    assert {p["observed_at"] for p in parsed.points} == {good}
    assert sorted((q["metric"], q["raw_value"]) for q in parsed.quarantine) == [
        ("comments", "526"),
        ("likes", "56501"),
        ("reposts", "6892"),
        ("views", "2000000"),
    ]
    assert {q["raw_timestamp"] for q in parsed.quarantine} == {"2025-06-31 08:26:03.730104+00"}
    assert all("impossible date" in q["reason"] for q in parsed.quarantine)


def test_non_numeric_value_and_bad_video_timestamp_are_quarantined_not_fatal():
    item = {**SEED_ITEM, "stats": {"views": {"2025-06-30 08:26:03+00": "1.2K"}}}
    item["created_at"] = "2025-13-01T00:00:00+00:00"
    parsed = parse_video(item, DAY, None)
    assert parsed.points == [] and parsed.video["created_at"] is None
    assert sorted((q["metric"], q["raw_value"], q["reason"]) for q in parsed.quarantine) == [
        ("created_at", None, "impossible date or time (month must be in 1..12)"),
        ("views", "1.2K", "non-numeric value"),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"external_video_id": {"id": "7489443966908189959"}}, "external_video_id"),
        ({"video_id": None}, "video_id"),
        ({"views": "2M"}, "views"),
        ({"er": "3.3"}, "er"),
        ({"stats": {"views": [1, 2]}}, "stats"),
    ],
)
def test_contract_breaks_name_the_field(change, field):
    with pytest.raises(ValueError, match=field):
        parse_video({**SEED_ITEM, **change}, DAY, None)


@pytest.mark.parametrize(
    ("platform", "raw", "text", "tiktok"),
    [
        ("YouTube", "oDXC4evUUc2", "oDXC4evUUc2", None),
        ("Instagram", "C8kPq2xsT1z", "C8kPq2xsT1z", None),
        ("YouTube", "12345678901", "12345678901", None),  # digits, but not a TikTok id
        ("TikTok", "7489443966908189959", "7489443966908189959", 7489443966908189959),
        ("TikTok", 7489443966908189959, "7489443966908189959", 7489443966908189959),
        ("TikTok", "7489443966908189959.0", "7489443966908189959.0", None),
        ("TikTok", "9223372036854775808", "9223372036854775808", None),  # 2**63: not 64-bit
        ("TikTok", "٧٤٨٩", "٧٤٨٩", None),  # Unicode digits are not an id
        ("TikTok", None, None, None),
    ],
)
def test_every_platform_keeps_its_text_id_and_tiktok_its_bigint(platform, raw, text, tiktok):
    parsed = parse_video({**SEED_ITEM, "platform": platform, "external_video_id": raw}, DAY, None)
    assert parsed.video["external_video_id"] == text
    assert parsed.video["tiktok_video_id"] == tiktok
    assert parsed.points and all(p["external_video_id"] == text for p in parsed.points)
    assert all(p["tiktok_video_id"] == tiktok for p in parsed.points)


# -- pagination against scripted pages ---------------------------------------------------


def item(n: int) -> dict[str, Any]:
    return {
        **SEED_ITEM,
        "video_id": f"00000000-0000-4000-8000-{n:012d}",
        "external_video_id": str(7489443966908189959 + n),
        "stats": {"views": {"2025-06-30 08:26:03+00": n}},
    }


def page(ids: list[int], has_more: bool, offset: int = 0) -> dict[str, Any]:
    return {
        "success": True,
        "data": {
            "data": [item(n) for n in ids],
            "pagination": {"total": 99, "limit": 3, "offset": offset, "has_more": has_more},
        },
        "meta": {"processing_time_ms": 5, "request_id": f"req-{offset}"},
    }


def scripted(*answers: tuple[int, Any]) -> tuple[VendorClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = queue.pop(0)
        return httpx.Response(status, json=body)

    client = VendorClient(
        PROFILE,
        "https://api.influtics.test",
        "k3y",
        ClientSettings(requests_per_second=None, max_attempts=1),
        transport=httpx.MockTransport(handler),
    )
    return client, seen


def test_crawl_follows_has_more_by_offset_in_a_stable_order():
    client, seen = scripted(
        (200, page([1, 2, 3], True)), (200, page([4, 5], True, 3)), (200, page([6], False, 5))
    )
    report = InfluticsReport()
    pages = list(crawl(client, DAY, page_size=3, report=report))
    assert [p.videos.num_rows for p in pages] == [3, 2, 1]
    params = [dict(r.url.params) for r in seen]
    # a short page while has_more is true: the next offset follows what was received
    assert [p["offset"] for p in params] == ["0", "3", "5"]
    assert {(p["sort"], p["order"], p["limit"], p["platform"]) for p in params} == {
        ("created_at", "asc", "3", "TikTok")
    }
    assert report.pages == 3 and report.rows["video_stats"] == 6


def test_rows_repeated_across_pages_are_kept_once():
    client, _ = scripted((200, page([1, 2, 3], True)), (200, page([3, 4], False, 3)))
    report = InfluticsReport()
    pages = list(crawl(client, DAY, page_size=3, report=report))
    ids = [v for p in pages for v in p.videos.column("video_id").to_pylist()]
    assert len(ids) == len(set(ids)) == 4 and report.duplicates_skipped == 1
    assert sum(p.points.num_rows for p in pages) == 4


def test_an_empty_page_that_claims_more_stops_instead_of_looping():
    client, seen = scripted((200, page([1], True)), (200, page([], True, 1)))
    with pytest.raises(MalformedResponse, match=r"has_more.*empty.*page 2"):
        list(crawl(client, DAY, page_size=3))
    assert len(seen) == 2


def test_missing_pagination_names_the_field_page_and_request_id():
    body = page([1], True)
    del body["data"]["pagination"]
    client, _ = scripted((200, body))
    with pytest.raises(MalformedResponse) as caught:
        list(crawl(client, DAY))
    text = str(caught.value)
    assert "pagination.has_more" in text and "page 1" in text and "req-0" in text


def test_bad_item_names_field_item_and_page():
    bad = page([1, 2], False)
    bad["data"]["data"][1]["views"] = "lots"
    client, _ = scripted((200, bad))
    with pytest.raises(MalformedResponse, match=r"'views'.*item 2.*page 1"):
        list(crawl(client, DAY))


def test_vendor_errors_map_onto_the_taxonomy_with_the_vendor_message():
    invalid = {
        "success": False,
        "error": "Invalid sort parameter",
        "code": "INVALID_PARAMETER",
        "details": {"valid_sort_options": ["created_at", "views", "likes", "updated_at"]},
    }
    client, _ = scripted((400, invalid))
    with pytest.raises(InvalidRequest) as caught:
        list(crawl(client, DAY))
    text = str(caught.value)
    # the code and the details (`valid_sort_options` is only in the body's details)
    assert "Invalid sort parameter (INVALID_PARAMETER; details " in text
    assert '{"valid_sort_options":["created_at","views","likes","updated_at"]}' in text
    unauthorized = {"success": False, "error": "Invalid API key", "code": "INVALID_API_KEY"}
    client, _ = scripted((401, unauthorized))
    with pytest.raises(AuthError) as caught:
        list(crawl(client, DAY))
    text = str(caught.value)
    assert "Invalid API key (INVALID_API_KEY)" in text and "SOURCES__INFLUTICS__API_KEY" in text
    # an HTTP 200 that says success: false is an error too, with its code and details
    client, _ = scripted((200, {**invalid, "code": "INVALID_API_KEY", "error": "Invalid API key"}))
    with pytest.raises(AuthError, match=r"INVALID_API_KEY; details \{\"valid_sort_options"):
        list(crawl(client, DAY))
    client, _ = scripted((200, invalid))
    with pytest.raises(InvalidRequest, match=r"INVALID_PARAMETER; details \{\"valid_sort_options"):
        list(crawl(client, DAY))
