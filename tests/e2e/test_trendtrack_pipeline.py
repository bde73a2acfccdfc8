"""Trendtrack end to end without Dagster: simulator -> real HTTP -> dlt -> DuckDB."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from pipelines.errors import AuthError, InvalidRequest, QuotaExhausted
from pipelines.http import ClientSettings, VendorClient
from pipelines.report import RunReport
from pipelines.trendtrack import LIBRARY_PATH, PROFILE, TABLES, trendtrack_source
from simulator.trendtrack import shop_id
from tests.conftest import count

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


def load(warehouse, watch=WATCH, observed_on=DAY1) -> RunReport:
    report = RunReport()
    pipeline = warehouse.dlt_pipeline("trendtrack_library", "raw_trendtrack")
    source = trendtrack_source(watch=watch, observed_on=observed_on, report=report)
    pipeline.run(source, loader_file_format="parquet")
    return report


def rows(warehouse, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse.file), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_nested_items_land_flat_with_children_and_dimensions(sim, warehouse):
    report = load(warehouse)
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
    # organic items have no shop, unpinned items no pin, and the dimension tables stay whole
    assert (
        count(
            warehouse,
            "select count(*) from raw_trendtrack.library_items where type = 'organic' "
            "and shop_id is not null",
        )
        == 0
    )
    assert (
        count(
            warehouse,
            "select count(*) from raw_trendtrack.library_items where pin_is_current is null",
        )
        > 0
    )
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
    assert report.requests.credits == report.requests.requests


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
    assert sim.api_keys["trendtrack"].encode() not in warehouse.file.read_bytes()
