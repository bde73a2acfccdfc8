"""warehouse/analyses: the eight analyst questions, one SELECT each on the marts, on a real lake.

The lake is loaded here by the real ingest (Dagster jobs -> dlt -> DuckLake) from the simulator
over HTTP: five KeyAPI days (enough history for a hashtag breakout: the rule needs 3 earlier
days), its latest week and month, one Research day and today's snapshots. `dbt build` then builds
the marts on it and each compiled analysis runs on a read-only connection, as an analyst would.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import pytest

from assets.resources import DBT_EXECUTABLE
from tests.conftest import ROOT
from tests.warehouse.conftest import load_raw_lake

pytestmark = pytest.mark.slow

KEYAPI_DAYS = 5
ANALYSES = ROOT / "warehouse" / "analyses"
QUESTIONS = sorted(p.stem for p in ANALYSES.glob("q*.sql"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict, dict]]:
    """Every question's compiled SQL and its rows (as dicts), on a lake loaded and built here."""

    root = tmp_path_factory.mktemp("questions")
    warehouse = load_raw_lake(root, KEYAPI_DAYS, research_days=1)
    target = root / "target"
    dbt_env = {**os.environ, **warehouse.lake.dbt_env()}
    paths = ["--profiles-dir", "warehouse", "--project-dir", "warehouse"]
    paths += ["--target-path", str(target)]
    for command in (
        ["build", "--select", "staging", "marts", "--exclude-resource-type", "unit_test"],
        ["compile", "--select", "resource_type:analysis"],
    ):
        done = subprocess.run(
            [DBT_EXECUTABLE, *command, *paths],
            cwd=ROOT,
            env=dbt_env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-4000:]
    compiled = target / "compiled" / "tiktok_trends" / "analyses"
    sqls = {q: (compiled / f"{q}.sql").read_text() for q in QUESTIONS}
    found: dict[str, list[dict]] = {}
    with warehouse.connect(read_only=True) as con:
        for question, sql in sqls.items():
            cursor = con.execute(sql)
            names = [column[0] for column in cursor.description]
            found[question] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    yield sqls, found


@pytest.fixture(scope="module")
def answers(built: tuple[dict, dict]) -> dict[str, list[dict]]:
    return built[1]


def test_there_are_eight_questions_each_one_select_with_its_question_stated(built) -> None:
    sqls, _ = built
    assert len(QUESTIONS) == 8
    for question, sql in sqls.items():
        assert (ANALYSES / f"{question}.sql").read_text().startswith("-- Question "), question
        (statement,) = duckdb.extract_statements(sql)
        assert statement.type == duckdb.StatementType.SELECT, question


def test_q1_top_gainers_are_at_most_ten_of_the_region_by_views_gained(answers) -> None:
    rows = answers["q1_top_gainers_today"]
    assert 1 <= len(rows) <= 10
    gains = [r["views_gained"] for r in rows]
    assert gains == sorted(gains, reverse=True) and gains[-1] > 0
    assert {r["region"] for r in rows} == {"US"}
    assert len({r["as_of"] for r in rows}) == 1


def test_q2_breakouts_have_history_and_beat_their_baseline(answers) -> None:
    rows = answers["q2_hashtag_breakouts_this_week"]
    assert rows, "five KeyAPI days give the minimum history, so some tag breaks out"
    for row in rows:
        assert row["breakout_days"] >= 1
        assert row["best_breakout_score"] >= 2
        assert row["views_this_week"] > 0
        assert row["most_creators_in_a_day"] >= 2
    scores = [r["best_breakout_score"] for r in rows]
    assert scores == sorted(scores, reverse=True)


def test_q3_rising_creators_climbed_or_gained_followers(answers) -> None:
    rows = answers["q3_rising_creators"]
    assert 1 <= len(rows) <= 25
    for row in rows:
        assert (
            (row["rank_gained_7d"] or 0) > 0
            or (row["followers_gained_7d"] or 0) > 0
            or row["new_ranking_entries_7d"] > 0
        )
        assert row["creator_handle"]


def test_q4_top_three_products_per_category_with_category_gmv(answers) -> None:
    rows = answers["q4_top_products_gmv_by_category"]
    assert rows
    by_category: dict[str, list[dict]] = {}
    for row in rows:
        by_category.setdefault(row["product_category"], []).append(row)
    assert len(by_category) >= 3
    for products in by_category.values():
        assert [p["rank_in_category"] for p in products] == list(range(1, len(products) + 1))
        assert len(products) <= 3
        gmv = [p["gmv"] for p in products]
        assert gmv == sorted(gmv, reverse=True) and gmv[0] > 0
        assert sum(gmv) <= products[0]["category_gmv"] + 1e-6


def test_q5_compares_ads_with_organic(answers) -> None:
    rows = {r["item_type"]: r for r in answers["q5_ads_vs_organic"]}
    assert set(rows) == {"ad", "organic"}
    for row in rows.values():
        assert row["items"] > 0 and row["views"] > 0
        assert 0 < row["engagement_rate"] < 1
    assert rows["ad"]["most_active_ads_in_a_shop"] >= 1


def test_q6_one_video_seen_by_several_vendors_on_one_timeline(answers) -> None:
    rows = answers["q6_video_view_history_across_vendors"]
    assert len({r["video_id"] for r in rows}) == 1
    assert len({r["vendor"] for r in rows}) >= 2
    times = [r["observed_at"] for r in rows]
    assert times == sorted(times)


def test_q7_trending_now_ranks_every_entity_type_with_a_reason(answers) -> None:
    rows = answers["q7_trending_now"]
    assert {r["entity_type"] for r in rows} == {"video", "creator", "hashtag", "sound"}
    for entity_type in ("video", "creator", "hashtag", "sound"):
        ranks = [r["rank"] for r in rows if r["entity_type"] == entity_type]
        assert ranks == list(range(1, len(ranks) + 1)) and len(ranks) <= 10
    assert all("views gained" in r["reason"] for r in rows)


def test_q8_one_row_per_raw_source_each_loaded_today(answers) -> None:
    rows = answers["q8_source_freshness"]
    staging = ROOT / "warehouse" / "models" / "staging"
    models = {p.stem for p in staging.glob("*/stg_*.sql")}
    assert sorted(r["staging_model"] for r in rows) == sorted(models)
    assert len({r["raw_table"] for r in rows}) == len(rows)
    today = datetime.now(UTC).date()
    loaded = [r for r in rows if r["row_count"] > 0]
    assert {r["source"] for r in loaded} == {
        "raw_keyapi",
        "raw_tiktok_research",
        "raw_influtics",
        "raw_trendtrack",
        "raw_ensembledata",
    }
    for row in loaded:
        assert row["last_loaded_at"].date() == today, row["raw_table"]
    keyapi = next(r for r in rows if r["raw_table"] == "raw_keyapi.video_rankings_daily")
    assert keyapi["newest_observed_on"] < today


def test_questions_other_than_freshness_read_only_the_marts() -> None:
    for question in QUESTIONS:
        text = (ANALYSES / f"{question}.sql").read_text()
        if question == "q8_source_freshness":
            assert "ref(model)" in text
            continue
        refs = {part.split("'")[1] for part in text.split("ref(")[1:]}
        assert refs and all(not r.startswith("stg_") for r in refs), (question, refs)
