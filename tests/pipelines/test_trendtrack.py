"""Trendtrack parsing on the seed's example, watch validation, and paging with a mock transport."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pyarrow as pa
import pytest

from pipelines.errors import ConfigError, InvalidRequest, MalformedResponse
from pipelines.http import ClientSettings, VendorClient
from pipelines.trendtrack import (
    LIMIT_MAX,
    PROFILE,
    SCHEMAS,
    Listing,
    fetch_item,
    fetch_listing,
    listings,
    parse_item,
    validate_watch,
)

OBSERVED = (date(2026, 3, 2), datetime(2026, 3, 2, 3, 0, tzinfo=UTC))
# The seed's example item (002_3760140e65f2a384.txt) with its "string" placeholders filled in.
SEED_ITEM: dict[str, Any] = {
    "id": "tiktok_7078586231734521093",
    "tiktokId": "7078586231734521093",
    "type": "ad",
    "status": "active",
    "isPinned": True,
    "publishedAt": "2026-02-20T10:00:00.000Z",
    "createdAt": "2026-02-20T10:10:00Z",
    "updatedAt": "2026-03-01T23:00:00+01:00",
    "daysRunning": 0,
    "media": {
        "type": "video",
        "thumbnailUrl": "https://t/1.jpg",
        "mediaUrl": "https://m/1.mp4",
        "videoUrl": "https://v/1.mp4",
        "imageUrls": ["https://i/1.jpg"],
        "medias": [{"type": "video", "url": "https://m/1.mp4", "order": 0}],
        "durationSec": 0,
        "mediaCount": 0,
        "imageCount": 0,
    },
    "content": {
        "description": "protein gummies 🍬 مرحبا",
        "language": "en",
        "category": "Health",
        "hashtags": ["gymtok", "fyp"],
        "music": {"id": "7095573217469106806", "title": "Lazy Drive", "author": "Summer Kids"},
    },
    "metrics": {
        "views": 0,
        "likes": 0,
        "comments": 0,
        "saves": 0,
        "shares": 0,
        "reposts": 0,
        "engagementRate": 0,
        "rank": 0,
        "rankPercent": 0,
        "relevanceScore": 0,
        "deltaRank3d": 0,
        "deltaRank7d": 0,
        "deltaRank14d": 0,
        "deltaRank30d": 0,
    },
    "profile": {
        "id": "6633792625097490438",
        "handle": "iamjuliocr",
        "name": "ﾌひﾚﾉの",
        "avatarUrl": "https://a/1.jpg",
        "bio": "string",
        "bioUrl": "string",
        "accountType": "business",
        "secUid": "MS4wLjABAAAA",
        "followers": 0,
        "following": 0,
        "totalTikToks": 0,
        "newTikToks": 0,
        "percentAds": 0,
        "views": 0,
        "likes": 0,
        "pageCreation": "2020-01-01T00:00:00Z",
    },
    "shop": {
        "id": "3f8aa146-6f96-46e8-9781-64db5166f9a8",
        "domain": "shop.example",
        "name": "string",
        "logoUrl": "string",
        "faviconUrl": "string",
        "countryCode": "US",
        "monthlyVisits": 0,
        "trafficGrowth30d": 0,
        "productsCount": 0,
        "googleCategoryIds": [0],
    },
    "pin": {
        "isCurrent": True,
        "firstPinnedAt": "2026-02-21T00:00:00Z",
        "lastPinnedAt": "2026-02-22T00:00:00Z",
        "lastUnpinnedAt": None,
    },
    "pageSnapshot": {
        "recordedAt": "2026-03-01T00:00:00Z",
        "adsCount": 0,
        "organicCount": 0,
        "totalTikToks": 0,
        "dailyViews": 0,
        "dailyLikes": 0,
        "dailyFollowers": 0,
    },
    "indexedAt": "2026-03-02T00:00:00Z",
}


def parse(raw: Any):
    return parse_item(raw, observed_on=OBSERVED[0], observed_at=OBSERVED[1], request_id="req_123")


def test_seed_example_flattens_into_every_table():
    parsed = parse(SEED_ITEM)
    item = parsed.item
    assert item["id"] == "tiktok_7078586231734521093"
    assert item["tiktok_id"] == 7078586231734521093, "exact, never through a float"
    assert item["updated_at"] == datetime(2026, 3, 1, 22, 0, tzinfo=UTC), "offsets become UTC"
    assert item["pin_is_current"] is True and item["pin_last_unpinned_at"] is None
    assert (item["rank"], item["delta_rank_30d"], item["rank_percent"]) == (0, 0, 0.0)
    assert item["profile_id"] == "6633792625097490438" and item["shop_id"].startswith("3f8aa146")
    assert parsed.metrics["item_id"] == item["id"] and parsed.metrics["observed_on"] == OBSERVED[0]
    assert [h["hashtag"] for h in parsed.hashtags] == ["gymtok", "fyp"]
    assert [(m["source"], m["position"]) for m in parsed.media] == [
        ("medias", 0),
        ("imageUrls", 0),
    ]
    assert parsed.profile["name"] == "ﾌひﾚﾉの" and parsed.shop["google_category_ids"] == '["0"]'
    assert parsed.page_snapshot["profile_id"] == item["profile_id"]
    tables = {
        "library_items": [item],
        "library_item_metrics": [parsed.metrics],
        "library_item_hashtags": parsed.hashtags,
        "library_item_media": parsed.media,
        "profiles": [parsed.profile],
        "shops": [parsed.shop],
        "page_snapshots": [parsed.page_snapshot],
    }
    for table, rows in tables.items():
        assert pa.Table.from_pylist(rows, schema=SCHEMAS[table]).schema == SCHEMAS[table]


def test_missing_sub_objects_give_null_columns_and_no_dimension_rows():
    raw = copy.deepcopy(SEED_ITEM)
    del raw["shop"], raw["media"], raw["pageSnapshot"], raw["profile"]
    raw["pin"] = None
    parsed = parse(raw)
    assert parsed.shop is None and parsed.profile is None and parsed.page_snapshot is None
    assert parsed.media == []
    assert parsed.item["shop_id"] is None and parsed.item["pin_is_current"] is None
    assert parsed.item["thumbnail_url"] is None


@pytest.mark.parametrize(
    ("path", "value", "words"),
    [
        (("metrics", "views"), "n/a", "'metrics.views' should be an integer"),
        (("publishedAt",), "yesterday", "'publishedAt' should be an ISO 8601 timestamp"),
        (("shop",), ["x"], "'shop' should be an object"),
        (("id",), None, "'id' is missing"),
    ],
)
def test_bad_fields_are_named(path, value, words):
    raw = copy.deepcopy(SEED_ITEM)
    target = raw
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(ValueError, match=words):
        parse(raw)


@pytest.mark.parametrize(
    ("watch", "words"),
    [
        ({"queries": [{"name": "a", "search": ["x"], "search_area": "bio"}]}, "search_area"),
        ({"queries": [{"name": "a", "search": ["x"], "sort_by": "trending"}]}, "sort_by"),
        ({"queries": [{"name": "a", "search": ["x"], "mode": "some"}]}, "mode"),
        ({"queries": [{"name": "a", "search": ["x"], "pinned": "maybe"}]}, "pinned"),
        ({"browse": [{"name": "a", "type": "video"}]}, "type"),
        ({"browse": [{"name": "a", "status": "paused"}]}, "status"),
        ({"browse": [{"name": "a", "order": "up"}]}, "order"),
        ({"limit": 51}, "limit"),
        ({"limit": 0}, "limit"),
        ({"queries": [{"name": "a", "search": []}]}, "search"),
        ({"shops": [{"name": "a", "shop_id": "x/y"}]}, "shop_id"),
        ({"items": ["video_1"]}, "items"),
        ({"browse": [{"name": "a"}], "shops": [{"name": "a", "shop_id": "s"}]}, "unique"),
        ({"queries": [{"name": "Bad Name", "search": ["x"]}]}, "name"),
        ({"searches": []}, "searches"),
    ],
)
def test_watch_values_outside_the_seed_are_refused(watch, words):
    with pytest.raises(ConfigError, match=words):
        validate_watch(watch)


def test_watch_becomes_requests_with_the_vendors_names():
    watch = validate_watch(
        {
            "queries": [
                {"name": "q", "search": ["a", "b"], "mode": "all", "min_views": 5, "pinned": "no"}
            ],
            "browse": [{"name": "b", "search": "c", "sort_by": "views", "order": "asc"}],
            "shops": [{"name": "s", "shop_id": "abc"}],
        }
    )
    query, browse, shop = listings(watch)
    assert (query.method, query.path) == ("POST", "/v1/tiktok/library/query")
    assert query.params == {
        "searchArea": "all",
        "type": "all",
        "status": "all",
        "sortBy": "newest",
        "order": "desc",
        "search": ["a", "b"],
        "mode": "all",
        "minViews": 5,
        "isPinned": "no",
    }
    assert browse.params["sortBy"] == "views" and browse.params["search"] == "c"
    assert shop.path == "/v1/shops/abc/tiktok/library" and shop.key == "shop:s"


# -- paging against a scripted vendor -----------------------------------------------------------


def item(n: int) -> dict[str, Any]:
    return {"id": f"tiktok_{7_000_000_000_000_000_000 + n}", "metrics": {"views": n}}


class Pages:
    """A scripted vendor: `result_sets[k]` is the full result set served to request k."""

    def __init__(self, *result_sets: list[dict[str, Any]], total_pages: int | None = None):
        self.result_sets = list(result_sets)
        self.total_pages = total_pages
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        current = self.result_sets[min(len(self.requests), len(self.result_sets)) - 1]
        params = request.url.params
        page, limit = int(params["page"]), int(params["limit"])
        pages = self.total_pages if self.total_pages is not None else -(-len(current) // limit)
        data = current[(page - 1) * limit : page * limit]
        body = {
            "requestId": f"req-{len(self.requests)}",
            "data": data,
            "pagination": {
                "page": page,
                "limit": limit,
                "total": len(current),
                "totalPages": pages,
            },
        }
        return httpx.Response(200, json=body)


def client(handler) -> VendorClient:
    return VendorClient(
        PROFILE,
        "https://api.trendtrack.io",
        "tt-secret",
        ClientSettings(requests_per_second=None, max_attempts=2, backoff_base=0.0),
        transport=httpx.MockTransport(handler),
    )


BROWSE = Listing("browse:x", "GET", "/v1/tiktok/library", {"search": "x"}, max_pages=100)


def fetch(handler, listing: Listing = BROWSE, limit: int = 2):
    with client(handler) as c:
        return fetch_listing(c, listing, limit=limit, observed=OBSERVED)


def test_walk_stops_at_total_pages():
    pages = Pages([item(n) for n in range(5)])
    result = fetch(pages)
    assert len(pages.requests) == 3 and result.stable and result.walks == 1
    assert [h.position for h in result.hits.values()] == [1, 2, 3, 4, 5]


def test_empty_result_set_is_one_request():
    pages = Pages([])
    result = fetch(pages)
    assert len(pages.requests) == 1 and result.hits == {} and result.stable


def test_an_empty_page_ends_the_walk_even_if_total_pages_says_more():
    pages = Pages([item(n) for n in range(2)], total_pages=50)
    fetch(pages)
    assert len(pages.requests) == 2


def test_max_pages_caps_the_walk():
    pages = Pages([item(n) for n in range(20)])
    listing = Listing("browse:x", "GET", "/v1/tiktok/library", {}, max_pages=3)
    result = fetch(pages, listing)
    assert len(pages.requests) == 3 and len(result.hits) == 6 and result.truncated


def test_insert_on_top_mid_walk_is_walked_again_without_loss_or_doubles():
    before = [item(n) for n in range(1, 6)]
    after = [item(0), *before]  # a new item on top once page 1 was served
    pages = Pages(before, after)
    result = fetch(pages)
    assert result.walks == 2 and result.stable
    assert sorted(result.hits) == sorted(i["id"] for i in after)
    assert len(pages.requests) == 3 + 3


def test_removal_mid_walk_is_walked_again_without_loss():
    before = [item(n) for n in range(6)]
    after = before[1:]  # the top item leaves: page 2 would skip one
    result = fetch(Pages(before, after))
    assert result.walks == 2
    assert set(result.hits) == {i["id"] for i in before}, "union of walks: nothing lost"


def test_limit_outside_the_documented_bounds_is_refused_before_any_request():
    pages = Pages([item(1)])
    with client(pages) as c, pytest.raises(ConfigError, match=f"1..{LIMIT_MAX}"):
        BROWSE.request(c, page=1, limit=LIMIT_MAX + 1)
    with client(pages) as c, pytest.raises(ConfigError, match="page"):
        BROWSE.request(c, page=0, limit=10)
    assert pages.requests == []


def test_post_query_sends_paging_in_the_body():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        body = {"data": [], "pagination": {"page": 1, "limit": 50, "total": 0, "totalPages": 0}}
        return httpx.Response(200, json=body)

    query = Listing("query:q", "POST", "/v1/tiktok/library/query", {"search": ["a"]}, 5)
    fetch(handler, query, limit=50)
    assert seen == [{"search": ["a"], "page": 1, "limit": 50}]


def test_missing_pagination_names_page_and_request_id():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"requestId": "req_9", "data": [item(1)]})

    with pytest.raises(MalformedResponse) as failure:
        fetch(handler)
    text = str(failure.value)
    assert "pagination" in text and "page 1" in text and "req_9" in text


def test_bad_item_names_field_page_and_request_id():
    bad = {**item(3), "metrics": {"views": "n/a"}}
    with pytest.raises(MalformedResponse) as failure:
        fetch(Pages([item(1), item(2), bad]))
    text = str(failure.value)
    assert "metrics.views" in text and "page 2" in text and "req-2" in text


def test_validation_error_reaches_the_user_with_field_and_expectation():
    def handler(request: httpx.Request) -> httpx.Response:
        body = {
            "error": {
                "code": "validation_error",
                "message": "Request validation failed.",
                "requestId": "5d93d8de",
                "details": {
                    "validationErrors": [
                        {
                            "field": "query-string.limit",
                            "location": "query-string",
                            "expected": ["limit must not be greater than 100"],
                        }
                    ]
                },
            }
        }
        return httpx.Response(400, json=body)

    with pytest.raises(InvalidRequest) as failure:
        fetch(handler)
    text = str(failure.value)
    assert "query-string.limit: limit must not be greater than 100" in text
    assert "validation_error" in text and "5d93d8de" in text and "HTTP 400" in text
    assert "tt-secret" not in text


def test_detail_falls_back_from_composite_id_to_tiktok_id():
    asked = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        if request.url.path.endswith("/tiktok_7000000000000000001"):
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "no"}})
        return httpx.Response(200, json={"requestId": "r", "data": item(1)})

    with client(handler) as c:
        parsed = fetch_item(c, "tiktok_7000000000000000001", OBSERVED)
    assert parsed is not None and parsed.item["tiktok_id"] == 7000000000000000001
    assert asked == [
        "/v1/tiktok/library/tiktok_7000000000000000001",
        "/v1/tiktok/library/7000000000000000001",
    ]


def test_an_item_without_media_or_hashtags_gives_tombstones_not_rows():
    from pipelines.trendtrack import tombstone

    raw = copy.deepcopy(SEED_ITEM)
    del raw["media"]
    raw["content"]["hashtags"] = []
    parsed = parse_item(raw, observed_on=OBSERVED[0], observed_at=OBSERVED[1], request_id="r")
    assert parsed.media == [] and parsed.hashtags == []
    media = tombstone("library_item_media", parsed.item["id"], OBSERVED[0])
    assert media == {
        "item_id": "tiktok_7078586231734521093",
        "observed_on": OBSERVED[0],
        "deleted": True,
        "source": "",
        "position": -1,
    }
    assert pa.Table.from_pylist([media], schema=SCHEMAS["library_item_media"]).num_rows == 1
    assert tombstone("library_item_hashtags", "tiktok_1", OBSERVED[0])["position"] == -1
    with pytest.raises(ValueError, match="no tombstones"):
        tombstone("library_items", "tiktok_1", OBSERVED[0])
