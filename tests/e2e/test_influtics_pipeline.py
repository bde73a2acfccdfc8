"""Influtics end to end without Dagster: simulator -> real HTTP -> dlt -> DuckDB."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pipelines.errors import AuthError, InvalidRequest
from pipelines.influtics import InfluticsReport, influtics_source
from simulator.influtics import observations, tracked_videos
from tests.conftest import count, rows

NOW = datetime(2026, 3, 4, 6, 30, tzinfo=UTC)
DAY = NOW.date()
VIDEOS, POINTS, QUARANTINE = (
    "raw_influtics.video_stats",
    "raw_influtics.stats_points",
    "raw_influtics.stats_quarantine",
)


@pytest.fixture
def frozen_now():
    """`frozen` holds the simulator's clock at NOW, so every pull in a test sees the same list."""
    return NOW


def load(warehouse, day: date = DAY, **kwargs) -> InfluticsReport:
    report = InfluticsReport()
    pipeline = warehouse.dlt_pipeline("influtics_video_stats", "raw_influtics")
    pipeline.run(
        influtics_source(observed_on=day, report=report, **kwargs), loader_file_format="parquet"
    )
    return report


def expected(sim, platform: str = "TikTok") -> tuple[set[int], int]:
    """The TikTok ids the simulator tracks now, and how many stats entries they carry."""
    entries = [e for e in tracked_videos(sim.world, sim.now, {}) if e.platform == platform]
    entries_count = sum(4 * len(observations(e, sim.now)) for e in entries)
    return {e.video.video_id for e in entries}, entries_count


def test_snapshot_lands_typed_complete_and_with_exact_ids(frozen, warehouse):
    report = load(warehouse)
    ids, entries = expected(frozen)
    assert report.stopped_by is None and report.requests.requests == report.pages == 2
    assert report.requests.credits == 0
    got = {i for (i,) in rows(warehouse, f"select tiktok_video_id from {VIDEOS}")}
    assert got == ids, "every tracked TikTok video, ids exact above 2**53"
    as_text = rows(warehouse, f"select count(*) from {VIDEOS} where external_video_id is null")
    assert as_text == [(0,)] and count(
        warehouse, f"select count(*) from {VIDEOS} where external_video_id = tiktok_video_id::text"
    ) == len(ids)
    assert min(got) > 2**53
    assert count(warehouse, f"select count(*) from {VIDEOS}") == len(ids)
    assert (
        count(warehouse, f"select count(*) from {POINTS}")
        + count(warehouse, f"select count(*) from {QUARANTINE}")
        == entries
    ), "every stats entry lands as a point or in the quarantine"
    types = dict(
        rows(
            warehouse,
            "select table_name || '.' || column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_influtics'",
        )
    )
    for table in ("video_stats", "stats_points", "stats_quarantine"):
        assert types[f"{table}.external_video_id"] == "VARCHAR", table
        assert types[f"{table}.tiktok_video_id"] == "BIGINT", table
    assert types["video_stats.views"] == types["stats_points.value"] == "BIGINT"
    assert types["video_stats.er"] == types["video_stats.cpm"] == "DOUBLE"
    assert types["video_stats.created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["stats_points.observed_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["video_stats.video_id"] == "VARCHAR"
    assert rows(warehouse, f"select distinct platform, observed_on from {VIDEOS}") == [
        ("TikTok", DAY)
    ]
    # the latest totals equal the latest point of each metric; where the newest entry was
    # quarantined (the simulator's impossible date is always the newest), its raw value
    for metric in ("views", "likes", "comments", "reposts"):
        newest_quarantined = f"""select video_id, raw_value::bigint as last from {QUARANTINE}
            where metric = '{metric}' and reason like 'impossible date%'"""
        assert count(warehouse, f"select count(*) from ({newest_quarantined})") > 0
        last = f"""select video_id, arg_max(value, observed_at) as last from {POINTS}
            where metric = '{metric}'
              and video_id not in (select video_id from ({newest_quarantined}))
            group by 1
            union all {newest_quarantined}"""
        compared = rows(
            warehouse,
            f"""select count(*), count(*) filter (where v.{metric} is distinct from p.last)
                from {VIDEOS} v join ({last}) p using (video_id)""",
        )
        assert compared == [(len(ids), 0)], metric


def test_youtube_and_instagram_videos_land_with_their_text_id_and_a_null_bigint(frozen, warehouse):
    report = load(warehouse, platform=None)
    assert report.stopped_by is None
    tracked = tracked_videos(frozen.world, frozen.now, {})
    others = {(e.video_id, e.platform, e.external_id) for e in tracked if e.platform != "TikTok"}
    assert {p for _, p, _ in others} == {"YouTube", "Instagram"}
    assert all(not x.isdigit() for _, _, x in others)  # e.g. oDXC4evUUc2
    landed = rows(
        warehouse,
        f"select video_id, platform, external_video_id, tiktok_video_id from {VIDEOS} "
        "where platform <> 'TikTok'",
    )
    assert {(v, p, x) for v, p, x, _ in landed} == others and len(landed) == len(others)
    assert {t for *_, t in landed} == {None}
    # their stats points carry the same text id; the TikTok rows keep their exact BIGINT
    points = rows(
        warehouse,
        f"select count(distinct video_id), count(*) filter (where external_video_id is null "
        f"or tiktok_video_id is not null) from {POINTS} where video_id in "
        f"(select video_id from {VIDEOS} where platform <> 'TikTok')",
    )
    assert points == [(len(others), 0)]
    tiktok = {e.video.video_id for e in tracked if e.platform == "TikTok"}
    got = rows(warehouse, f"select tiktok_video_id from {VIDEOS} where platform = 'TikTok'")
    assert {i for (i,) in got} == tiktok and len(got) == len(tiktok)
    assert count(warehouse, f"select count(*) from {VIDEOS}") == len(tracked)


def test_bad_timestamps_and_values_are_quarantined_and_the_rest_loads(frozen, warehouse):
    report = load(warehouse)
    reasons = dict(rows(warehouse, f"select reason, count(*) from {QUARANTINE} group by 1"))
    impossible = sum(n for r, n in reasons.items() if r.startswith("impossible date"))
    assert impossible > 0 and reasons["non-numeric value"] > 0
    assert report.as_metadata()["quarantined"] == sum(reasons.values())
    assert rows(warehouse, f"select count(*) from {QUARANTINE} where raw_value is null") == [(0,)]
    # the quarantined videos' other points and their video rows still landed
    assert count(
        warehouse,
        f"select count(*) from (select distinct video_id from {QUARANTINE}) q "
        f"join {VIDEOS} using (video_id)",
    ) == count(warehouse, f"select count(distinct video_id) from {QUARANTINE}")
    loads = rows(warehouse, f"select count(distinct _dlt_load_id) from {QUARANTINE}")
    assert loads == [(1,)]


def test_clean_data_lands_no_quarantine_table_rows(frozen, warehouse):
    frozen.set_faults("influtics", options={"bad_timestamps": False, "bad_values": False})
    report = load(warehouse)
    _, entries = expected(frozen)
    assert report.rows.get("stats_quarantine", 0) == 0
    assert count(warehouse, f"select count(*) from {POINTS}") == entries


def test_videos_inserted_mid_crawl_are_neither_skipped_nor_doubled(frozen, warehouse):
    ids, _ = expected(frozen)
    frozen.set_faults("influtics", options={"insert_videos": 7, "insert_after_requests": 1})
    report = load(warehouse, page_size=40)
    assert report.pages >= 4 and report.duplicates_skipped == 0
    got = [i for (i,) in rows(warehouse, f"select tiktok_video_id from {VIDEOS}")]
    assert len(got) == len(set(got)) == len(ids) + 7 and ids < set(got)
    # the newly tracked videos have no observation yet: a row with null totals, no points
    assert count(warehouse, f"select count(*) from {VIDEOS} where views is null") == 7


def test_second_overlapping_pull_adds_only_new_points(frozen, warehouse, monkeypatch):
    load(warehouse)
    first = rows(warehouse, f"select count(*), count(distinct _dlt_load_id) from {POINTS}")
    quarantined = count(warehouse, f"select count(*) from {QUARANTINE}")
    load(warehouse)  # the same answer again: nothing new
    assert rows(warehouse, f"select count(*) from {POINTS}")[0][0] == first[0][0]
    assert count(warehouse, f"select count(*) from {QUARANTINE}") == quarantined
    monkeypatch.setattr(frozen, "now", NOW + timedelta(hours=12))
    report = load(warehouse, day=DAY)
    dupes = count(
        warehouse,
        f"select count(*) from (select video_id, metric, observed_at from {POINTS} "
        "group by all having count(*) > 1)",
    )
    assert dupes == 0
    new_points = count(warehouse, f"select count(*) from {POINTS}") - first[0][0]
    assert 0 < new_points < report.rows["stats_points"], "overlapping points merged"
    assert count(warehouse, f"select count(*) from {VIDEOS}") == len(expected(frozen)[0])


def test_invalid_parameter_maps_to_invalid_request_with_the_vendor_message(frozen, warehouse):
    report = load(warehouse, status="paused")
    assert isinstance(report.stopped_by, InvalidRequest)
    text = str(report.stopped_by)
    assert "HTTP 400" in text and "Invalid status parameter (INVALID_PARAMETER; details " in text
    # `valid_status_options` is only in the vendor's details, never in our own hint
    assert '{"valid_status_options":["active","completed","failed"]}' in text
    assert report.rows == {}


def test_rejected_key_maps_to_auth_error_with_the_vendor_message(frozen, warehouse):
    frozen.set_faults("influtics", auth_fail=True)
    report = load(warehouse)
    assert isinstance(report.stopped_by, AuthError)
    text = str(report.stopped_by)
    assert "HTTP 401" in text and "Invalid API key (INVALID_API_KEY)" in text
    assert "SOURCES__INFLUTICS__API_KEY" in text
    assert frozen.api_keys["influtics"] not in text


def test_failure_mid_crawl_keeps_complete_pages(frozen, warehouse):
    frozen.set_faults("influtics", script=["ok", "500", "500", "500"], max_consecutive_faults=3)
    report = load(warehouse, page_size=50, max_attempts=3)
    assert report.stopped_by is not None and "HTTP 500" in str(report.stopped_by)
    assert count(warehouse, f"select count(*) from {VIDEOS}") == 50
    frozen.reset_faults()
    assert load(warehouse).stopped_by is None
    assert count(warehouse, f"select count(*) from {VIDEOS}") == len(expected(frozen)[0])
