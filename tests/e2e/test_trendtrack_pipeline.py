"""Trendtrack end to end without Dagster: simulator -> real HTTP -> dlt -> DuckDB."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from pipelines.errors import AuthError, InvalidRequest, QuotaExhausted
from pipelines.http import ClientSettings, VendorClient
from pipelines.report import RunReport
from pipelines.trendtrack import LIBRARY_PATH, PROFILE, TABLES, trendtrack_source
from simulator import trendtrack as sim_tt
from simulator.trendtrack import shop_id
from tests.conftest import count, lake_bytes, rows

DAY1 = date(2026, 3, 2)
DAY2 = DAY1 + timedelta(days=1)
SHOP = shop_id("601450", "US")
WATCH = {
    "queries": [
        {"name": "skincare", "search": ["skincare", "grwm"], "search_area": "hashtag"},
    ],
    "shops": [{"name": "beauty-us", "shop_id": SHOP, "max_pages": 3}],
    "browse": [{"name": "pinned-free", "search": "recipe", "search_area": "caption"}],
    "limit": 50,
}


UNKNOWN = "tiktok_7000000000000000001"


def library(sim) -> tuple[sim_tt.Entry, ...]:
    return sim_tt.library(sim.world, sim_tt.index_hour(sim.clock()))


def listed(entry: sim_tt.Entry) -> bool:
    """Whether one of WATCH's listings finds the entry (query, browse, shop)."""
    video = entry.video
    return (
        bool({"skincare", "grwm"} & {h.casefold() for h in video.hashtags})
        or "recipe" in video.description.casefold()
        or sim_tt._shop_of(video) == SHOP
    )


def watch_with_items(sim) -> dict[str, Any]:
    """WATCH plus `items`: one only the detail finds (no media, no music) by composite id,
    one a listing also finds, given by its bare TikTok id, and one the vendor does not have."""
    entries = library(sim)
    alone = next(
        e
        for e in entries
        if not listed(e) and not sim_tt.has_media(e.video) and not sim_tt.has_music(e.video)
    )
    both = next(e for e in entries if "skincare" in e.video.hashtags)
    return {**WATCH, "items": [alone.item_id, str(both.video.video_id), UNKNOWN]}


def load(warehouse, watch=WATCH, observed_on=DAY1) -> RunReport:
    report = RunReport()
    pipeline = warehouse.dlt_pipeline("trendtrack_library", "raw_trendtrack")
    source = trendtrack_source(watch=watch, observed_on=observed_on, report=report)
    pipeline.run(source, loader_file_format="parquet")
    return report


def test_nested_items_land_flat_with_children_and_dimensions(frozen, warehouse):
    sim = frozen
    report = load(warehouse, watch_with_items(sim))
    assert report.stopped_by is None
    items = count(warehouse, "select count(*) from raw_trendtrack.library_items")
    assert items == report.rows["library_items"] > 100
    assert count(warehouse, "select count(*) from raw_trendtrack.library_item_metrics") == items
    hits = rows(
        warehouse,
        "select watch_key, count(*), count(distinct item_id), min(position) "
        "from raw_trendtrack.library_search_hits group by 1 order by 1",
    )
    assert [(k, n == d, p) for k, n, d, p in hits] == [
        ("browse:pinned-free", True, 1),
        ("query:skincare", True, 1),
        ("shop:beauty-us", True, 1),
    ]
    assert (
        count(
            warehouse,
            "select count(distinct item_id) from raw_trendtrack.library_search_hits "
            "where item_id not in (select id from raw_trendtrack.library_items)",
        )
        == 0
    )
    types = dict(
        rows(
            warehouse,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_trendtrack' and table_name = 'library_items'",
        )
    )
    assert types["tiktok_id"] == "BIGINT" and types["published_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["delta_rank_3d"] == "BIGINT" and types["rank_percent"] == "DOUBLE"
    assert rows(
        warehouse,
        "select bool_and(id = 'tiktok_' || tiktok_id::varchar), min(tiktok_id) > 9007199254740992 "
        "from raw_trendtrack.library_items",
    ) == [(True, True)]
    # organic items have no shop, ads have theirs, unpinned items no pin
    by_type = dict(
        rows(
            warehouse,
            "select type, count(*) filter (where shop_id is null) = 0 "
            "from raw_trendtrack.library_items group by 1",
        )
    )
    assert by_type == {"ad": True, "organic": False}
    assert (
        count(
            warehouse,
            "select count(*) from raw_trendtrack.library_items where type = 'organic' "
            "and shop_id is not null",
        )
        == 0
        < count(
            warehouse, "select count(*) from raw_trendtrack.library_items where type = 'organic'"
        )
    )
    assert (
        count(
            warehouse,
            "select count(*) from raw_trendtrack.library_items where pin_is_current is null",
        )
        > 0
    )
    # every optional sub-object is absent exactly where the vendor left it out
    loaded = rows(
        warehouse,
        "select i.tiktok_id, i.media_type is not null, count(m.item_id), i.music_id, "
        "i.music_title, i.profile_id from raw_trendtrack.library_items i "
        "left join raw_trendtrack.library_item_media m on m.item_id = i.id group by all",
    )
    missing = {"media": 0, "music": 0, "page_snapshot": 0}
    for tiktok_id, has_media, media_rows, music_id, music_title, profile_id in loaded:
        video = sim.world.video(tiktok_id)
        assert has_media == sim_tt.has_media(video) and media_rows == (3 if has_media else 0)
        if sim_tt.has_music(video):
            assert (music_id, music_title) == (str(video.music.music_id), video.music.title)
        else:
            assert music_id is None and music_title is None
        assert profile_id == str(video.creator.user_id)
        missing["media"] += not has_media
        missing["music"] += not sim_tt.has_music(video)
        missing["page_snapshot"] += not sim_tt.has_page_snapshot(video.creator)
    assert all(n > 0 for n in missing.values()), missing
    snapshots = {
        p for (p,) in rows(warehouse, "select profile_id from raw_trendtrack.page_snapshots")
    }
    assert snapshots == {
        str(sim.world.video(t).creator.user_id)
        for t, *_ in loaded
        if sim_tt.has_page_snapshot(sim.world.video(t).creator)
    }
    assert count(
        warehouse,
        f"select count(*) from raw_trendtrack.library_items where shop_id = '{SHOP}'",
    ) >= count(
        warehouse,
        "select count(*) from raw_trendtrack.library_search_hits "
        "where watch_key = 'shop:beauty-us'",
    )
    orphans = count(
        warehouse,
        "select count(*) from raw_trendtrack.library_items i left join raw_trendtrack.shops s "
        "using (shop_id) where i.shop_id is not null and s.shop_id is null",
    )
    assert orphans == 0
    hashtags = count(
        warehouse,
        "select count(*) from raw_trendtrack.library_item_hashtags where hashtag in "
        "('skincare', 'grwm') and item_id in (select item_id from raw_trendtrack."
        "library_search_hits where watch_key = 'query:skincare')",
    )
    assert hashtags >= hits[1][1], "every query hit carries one of its hashtags"
    # the unknown item's two 404s (composite id, then TikTok id) are not billed
    assert report.requests.statuses["404"] == 2
    assert report.requests.credits == report.requests.requests - 2


def test_item_details_land_merge_into_listed_items_and_fall_back_to_the_tiktok_id(
    frozen, warehouse
):
    sim = frozen
    watch = watch_with_items(sim)
    alone_id, both_bare, unknown = watch["items"]
    entries = {e.item_id: e for e in library(sim)}
    alone, both = entries[alone_id], entries[f"tiktok_{both_bare}"]
    before = sim.stats("trendtrack")["by_status"]
    report = load(warehouse, watch)
    assert report.stopped_by is None
    assert report.empty_slices == [f"item:{unknown} (not found)"]
    after = sim.stats("trendtrack")["by_status"]
    statuses = {k: after[k] - before.get(k, 0) for k in after}
    assert statuses[404] == 2, "the unknown composite id was retried as a bare TikTok id"
    # the detail-only item (asked by composite id): every detail field, no search hit
    columns = (
        "id, tiktok_id, type, status, views, rank, media_type, music_id, tiktok_url, "
        "profile_url, source_network, source_type, source_tiktok_page_id, source_website_id"
    )
    handle = alone.video.creator.unique_id
    assert rows(
        warehouse, f"select {columns} from raw_trendtrack.library_items where id = '{alone_id}'"
    ) == [
        (
            alone_id,
            alone.video.video_id,
            "ad" if alone.is_ad else "organic",
            "active" if alone.active else "inactive",
            alone.views,
            alone.rank,
            None,  # no media object
            None,  # no content.music
            f"https://www.tiktok.com/@{handle}/video/{alone.video.video_id}",
            f"https://www.tiktok.com/@{handle}",
            "tiktok",
            "ad" if alone.is_ad else "organic",
            str(alone.video.creator.user_id),
            sim_tt._shop_of(alone.video),
        )
    ]
    assert rows(
        warehouse,
        "select views, observed_on from raw_trendtrack.library_item_metrics "
        f"where item_id = '{alone_id}'",
    ) == [(alone.views, DAY1)]
    for table in ("library_search_hits", "library_item_media"):
        where = f"item_id = '{alone_id}'"
        assert count(warehouse, f"select count(*) from raw_trendtrack.{table} where {where}") == 0
    # the listed item asked by bare TikTok id: the vendor's fallback finds it, and the
    # detail's fields merge into the one row its listing gave (keyed by composite id)
    merged = rows(
        warehouse,
        "select id, views, tiktok_url, source_type, request_id is not null "
        f"from raw_trendtrack.library_items where tiktok_id = {both_bare}",
    )
    assert merged == [
        (
            both.item_id,
            both.views,
            f"https://www.tiktok.com/@{both.video.creator.unique_id}/video/{both_bare}",
            "ad" if both.is_ad else "organic",
            True,
        )
    ]
    hit = rows(
        warehouse,
        "select watch_key from raw_trendtrack.library_search_hits "
        f"where item_id = '{both.item_id}'",
    )
    assert ("query:skincare",) in hit
    assert (
        count(
            warehouse,
            "select count(*) from raw_trendtrack.library_items where tiktok_url is not null",
        )
        == 2
    ), "only the two details carry links"


def test_second_day_adds_exactly_one_snapshot_per_item_and_same_day_replaces(sim, warehouse):
    load(warehouse, observed_on=DAY1)
    items = count(warehouse, "select count(*) from raw_trendtrack.library_items")
    load(warehouse, observed_on=DAY1)
    assert count(warehouse, "select count(*) from raw_trendtrack.library_item_metrics") == items
    load(warehouse, observed_on=DAY2)
    assert count(warehouse, "select count(*) from raw_trendtrack.library_items") == items
    per_day = rows(
        warehouse,
        "select observed_on, count(*), count(distinct item_id) "
        "from raw_trendtrack.library_item_metrics group by 1 order by 1",
    )
    assert per_day == [(DAY1, items, items), (DAY2, items, items)]
    assert rows(warehouse, "select distinct observed_on from raw_trendtrack.library_items") == [
        (DAY2,)
    ], "current state holds the newest observation"
    for table in TABLES:
        key = {
            "library_items": "id",
            "library_item_metrics": "item_id, observed_on",
            "library_item_hashtags": "item_id, position",
            "library_item_media": "item_id, source, position",
            "profiles": "profile_id",
            "shops": "shop_id",
            "page_snapshots": "profile_id",
            "library_search_hits": "watch_key, observed_on, item_id",
        }[table]
        dupes = count(
            warehouse,
            f"select count(*) from (select {key} from raw_trendtrack.{table} "
            "group by all having count(*) > 1)",
        )
        assert dupes == 0, table


def test_items_that_lost_their_media_and_hashtags_lose_those_rows(frozen, warehouse):
    sim = frozen
    watch = {"queries": WATCH["queries"], "limit": 50}
    load(warehouse, watch, observed_on=DAY1)
    items = count(warehouse, "select count(*) from raw_trendtrack.library_items")
    for table in ("library_item_hashtags", "library_item_media"):
        assert count(warehouse, f"select count(distinct item_id) from raw_trendtrack.{table}") > 0
    sim.set_faults("trendtrack", options={"bare_items": True})
    report = load(warehouse, watch, observed_on=DAY2)
    assert report.stopped_by is None and report.rows["library_items"] == items
    assert "library_item_hashtags" not in report.rows and "library_item_media" not in report.rows
    for table in ("library_item_hashtags", "library_item_media"):
        assert count(warehouse, f"select count(*) from raw_trendtrack.{table}") == 0, table
    assert count(warehouse, "select count(*) from raw_trendtrack.library_items") == items
    assert (
        count(
            warehouse, "select count(*) from raw_trendtrack.library_items where media_type is null"
        )
        == items
    )


def test_result_set_shifting_between_pages_neither_loses_nor_doubles(sim, warehouse, tmp_path):
    watch = {"queries": [{**WATCH["queries"][0], "max_pages": 100}], "limit": 50}
    clean = load(warehouse, watch)
    expected = {i for (i,) in rows(warehouse, "select id from raw_trendtrack.library_items")}
    sim.set_faults("trendtrack", options={"shift_after_page": 1})
    shifted_wh = type(warehouse)(path=str(tmp_path / "shifted.duckdb"))
    shifted = load(shifted_wh, watch)
    got = [i for (i,) in rows(shifted_wh, "select item_id from raw_trendtrack.library_search_hits")]
    assert len(got) == len(set(got)), "no item doubled"
    assert expected < set(got) and len(set(got) - expected) == 1, "nothing lost, the new one kept"
    assert shifted.requests.requests > clean.requests.requests, "the moved set was walked again"


def test_validation_errors_name_the_field_through_the_taxonomy(sim):
    with (
        VendorClient(
            PROFILE,
            sim.base_url("trendtrack"),
            sim.api_keys["trendtrack"],
            ClientSettings(requests_per_second=None),
        ) as client,
        pytest.raises(InvalidRequest) as failure,
    ):
        client.get(LIBRARY_PATH, params={"limit": 101, "searchArea": "bio"})
    text = str(failure.value)
    assert "query-string.limit: limit must not be greater than 100" in text
    assert "query-string.searchArea: searchArea must be one of the following values" in text
    assert "HTTP 400" in text and "request id" in text


def test_invalid_watch_is_refused_before_any_request(sim, warehouse):
    before = sim.stats("trendtrack")["total"]
    with pytest.raises(Exception, match="sort_by"):
        load(warehouse, {"queries": [{"name": "x", "search": ["a"], "sort_by": "hot"}]})
    assert sim.stats("trendtrack")["total"] == before


def test_expired_key_stops_before_anything_lands(sim, warehouse):
    sim.set_faults("trendtrack", auth_fail=True)
    report = load(warehouse)
    assert isinstance(report.stopped_by, AuthError)
    assert "SOURCES__TRENDTRACK__API_KEY" in str(report.stopped_by)
    assert report.rows == {}
    sim.reset_faults()
    assert load(warehouse).stopped_by is None


def test_quota_hit_keeps_whole_watch_entries_and_a_rerun_completes(sim, warehouse, tmp_path):
    probe = load(
        type(warehouse)(path=str(tmp_path / "probe.duckdb")), {"queries": WATCH["queries"]}
    )
    sim.set_faults("trendtrack", quota_after=probe.requests.requests + 1)
    report = load(warehouse)
    assert isinstance(report.stopped_by, QuotaExhausted) and "quota" in str(report.stopped_by)
    keys = rows(warehouse, "select distinct watch_key from raw_trendtrack.library_search_hits")
    assert keys == [("query:skincare",)], "only the whole first entry landed"
    landed = count(warehouse, "select count(*) from raw_trendtrack.library_search_hits")
    assert landed == probe.rows["library_search_hits"]
    sim.reset_faults()
    assert load(warehouse).stopped_by is None
    dupes = count(
        warehouse,
        "select count(*) from (select id from raw_trendtrack.library_items "
        "group by 1 having count(*) > 1)",
    )
    assert dupes == 0


def test_the_key_is_never_in_the_warehouse(sim, warehouse):
    load(warehouse)
    assert sim.api_keys["trendtrack"].encode() not in lake_bytes(warehouse)
