"""KeyAPI end to end without Dagster: simulator -> real HTTP -> dlt -> DuckDB."""

from __future__ import annotations

from datetime import date

import pytest

from pipelines.errors import AuthError, MalformedResponse, QuotaExhausted
from pipelines.keyapi import SEED_FIELDS, keyapi_source
from pipelines.report import RunReport
from tests.conftest import count, rows

DAYS = [date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)]
TABLE = "raw_keyapi.video_rankings_daily"


def load(warehouse, dates=DAYS, pages=2, **kwargs) -> RunReport:
    report = RunReport()
    pipeline = warehouse.dlt_pipeline("keyapi_video_rankings_daily", "raw_keyapi")
    source = keyapi_source(
        period="day",
        dates=dates,
        regions=["US", "GB"],
        rank_fields=["views", "sales"],
        pages=pages,
        report=report,
        **kwargs,
    )
    pipeline.run(source, loader_file_format="parquet")
    return report


def test_rankings_land_typed_and_complete(sim, warehouse):
    report = load(warehouse)
    assert report.stopped_by is None
    assert count(warehouse, f"select count(*) from {TABLE}") == 3 * 2 * 2 * 20
    assert report.requests.requests == 3 * 2 * 2 * 2
    assert report.requests.credits == report.requests.requests
    types = dict(
        rows(
            warehouse,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_keyapi' and table_name = 'video_rankings_daily'",
        )
    )
    assert types["video_id"] == "BIGINT" and types["create_time"] == "TIMESTAMP WITH TIME ZONE"
    assert types["created_by_ai"] == "BOOLEAN" and types["ranking_date"] == "DATE"
    ranks = rows(
        warehouse,
        f"select region, rank_field, ranking_date, min(rank), max(rank), "
        f"count(distinct rank), count(distinct video_id) from {TABLE} group by all",
    )
    assert all(r[3:] == (1, 20, 20, 20) for r in ranks), ranks
    assert rows(warehouse, f"select min(video_id) > 9007199254740992 from {TABLE}") == [(True,)]
    # views rankings are sorted by the period's views, as the vendor ranks them
    ordered = rows(
        warehouse,
        f"select total_views_cnt from {TABLE} where region = 'US' "
        f"and rank_field = 'views' and ranking_date = '2026-03-02' order by rank",
    )
    assert [v for (v,) in ordered] == sorted((v for (v,) in ordered), reverse=True)


def test_rerun_of_partition_replaces_rows(sim, warehouse):
    counts = (
        f"select ranking_date, region, rank_field, count(*) from {TABLE} group by all order by all"
    )
    loads = (
        "select ranking_date, count(distinct _dlt_load_id), max(_dlt_load_id) "
        f"from {TABLE} group by 1"
    )
    load(warehouse)
    before = rows(warehouse, counts)
    first = {day: load_id for day, _, load_id in rows(warehouse, loads)}
    assert len(before) == 3 * 2 * 2 and {n for *_, n in before} == {20}
    load(warehouse, dates=DAYS[1:2])
    assert rows(warehouse, counts) == before, "row counts per slice are unchanged"
    after = rows(warehouse, loads)
    assert sorted((day, n) for day, n, _ in after) == [(day, 1) for day in DAYS], (
        "each day holds exactly one load: the re-pulled day only its newest"
    )
    latest = {day: load_id for day, _, load_id in after}
    repulled = latest.pop(DAYS[1])
    assert latest == {day: first[day] for day in (DAYS[0], DAYS[2])}, "other days untouched"
    assert all(float(repulled) > float(other) for other in latest.values()), (repulled, latest)


def test_rate_limits_and_server_errors_give_the_same_rows_as_a_clean_run(sim, warehouse, tmp_path):
    clean = load(warehouse)
    expected = rows(
        warehouse,
        f"select ranking_date, region, rank_field, rank, video_id from {TABLE} order by all",
    )
    sim.set_faults("keyapi", rate_429=0.3, rate_500=0.1, retry_after=0, seed=7)
    faulty_wh = type(warehouse)(path=str(tmp_path / "faulty.duckdb"))
    faulty = load(faulty_wh)
    assert faulty.stopped_by is None
    assert faulty.requests.retries > 0
    assert faulty.requests.statuses["429"] > 0 and faulty.requests.statuses["500"] > 0
    assert (
        rows(
            faulty_wh,
            f"select ranking_date, region, rank_field, rank, video_id from {TABLE} order by all",
        )
        == expected
    )
    assert faulty.requests.credits == clean.requests.credits, "failed attempts are not billed"


def test_timeouts_and_truncated_bodies_are_retried(sim, warehouse):
    sim.set_faults("keyapi", script=["slow", "truncated", "503"], slow_seconds=9)
    report = load(warehouse, dates=DAYS[:1])
    assert report.stopped_by is None
    assert report.requests.statuses["timeout"] == 1
    assert count(warehouse, f"select count(*) from {TABLE}") == 2 * 2 * 20


@pytest.mark.parametrize(
    ("faults", "error", "words", "slices"),
    [
        ({"auth_fail": True}, AuthError, "SOURCES__KEYAPI__API_KEY", 0),
        # 5 requests = two whole slices of two pages, the third slice's first page
        ({"quota_after": 5}, QuotaExhausted, "quota", 2),
        ({"drift": "type_change"}, MalformedResponse, "total_views_cnt", 0),
    ],
)
def test_unrecoverable_errors_stop_cleanly_and_keep_complete_slices(
    sim, warehouse, faults, error, words, slices
):
    load(warehouse, dates=DAYS[:1])
    first_day = rows(warehouse, f"select * exclude (_dlt_load_id) from {TABLE} order by all")
    sim.set_faults("keyapi", **faults)
    report = load(warehouse, dates=DAYS[1:])
    assert isinstance(report.stopped_by, error)
    assert words in str(report.stopped_by)
    assert (
        rows(
            warehouse,
            f"select * exclude (_dlt_load_id) from {TABLE} "
            f"where ranking_date = '{DAYS[0]}' order by all",
        )
        == first_day
    )
    landed = rows(
        warehouse,
        f"select ranking_date, region, rank_field, count(*) from {TABLE} "
        f"where ranking_date > '{DAYS[0]}' group by all",
    )
    assert [n for *_, n in landed] == [20] * slices, "only whole slices land"
    sim.reset_faults()
    assert load(warehouse, dates=DAYS[1:]).stopped_by is None
    assert count(warehouse, f"select count(*) from {TABLE}") == 3 * 2 * 2 * 20


def drifted(report: RunReport) -> set[tuple[str, str, str, str, str]]:
    return {(d.vendor, d.table, d.field, d.kind, d.partition) for d in report.schema_drift}


def test_added_field_is_kept_and_reported(sim, warehouse):
    sim.set_faults("keyapi", drift="added_field")
    report = load(warehouse, dates=DAYS[:1])
    assert report.stopped_by is None
    assert drifted(report) == {
        ("keyapi", "video_rankings_daily", "new_vendor_field", "added", str(DAYS[0]))
    }
    assert len(report.schema_drift) == 2 * 2, "named once per slice"
    assert count(warehouse, f"select count(new_vendor_field) from {TABLE}") == 2 * 2 * 20
    assert report.as_metadata()["schema_drift"] == (
        f"keyapi.video_rankings_daily.new_vendor_field added @ {DAYS[0]}"
    )


def test_missing_field_is_reported_and_a_first_load_has_no_value_for_it(sim, warehouse):
    sim.set_faults("keyapi", drift="missing_field")
    report = load(warehouse, dates=DAYS[:1])
    assert report.stopped_by is None
    assert drifted(report) == {
        ("keyapi", "video_rankings_daily", "nick_name", "missing", str(DAYS[0]))
    }
    assert count(warehouse, f"select count(*) from {TABLE}") == 2 * 2 * 20
    assert count(warehouse, f"select count(nick_name) from {TABLE}") == 0


def test_retyped_field_that_still_reads_is_reported_and_kept(sim, warehouse):
    sim.set_faults("keyapi", options={"counts_as_strings": True})
    report = load(warehouse, dates=DAYS[:1])
    assert report.stopped_by is None
    retyped = {field for _, _, field, kind, _ in drifted(report) if kind == "type_change"}
    assert retyped == {name for name in SEED_FIELDS if name.startswith("total_")}
    assert count(warehouse, f"select count(*) from {TABLE} where total_views_cnt > 0") > 0


def test_shorter_repull_replaces_the_whole_ranking_list(sim, warehouse):
    load(warehouse, dates=DAYS[:1], pages=2)
    load(warehouse, dates=DAYS[:1], pages=1)
    counts = rows(warehouse, f"select max(rank), count(*) from {TABLE} group by region, rank_field")
    assert counts == [(10, 10)] * 4, "positions 11-20 of the old pull are gone"
