"""warehouse/analyses: the eight analyst questions, one SELECT each on the marts, on a real lake.

The lake is loaded here by the real ingest (Dagster jobs -> dlt -> DuckLake) from the simulator
over HTTP: five KeyAPI days (enough history for a hashtag breakout: the rule needs 3 earlier
days), its latest week and month, one Research day and today's snapshots. `dbt build` then builds
the marts on it and each compiled analysis runs on a read-only connection, as an analyst would.

The answers are checked against the simulator's world (`simulator/world.py`): its curves say
what each video had at any instant, so a gain, a view history or a ranking is known exactly.
The simulator's clock is today 00:00 UTC: the snapshot vendors report the counts at that
instant (stamped with the wall-clock pull time), Influtics its points at their own instants.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from assets.resources import DBT_EXECUTABLE, WarehouseResource
from simulator.world import Video, World, metrics_at, period_metrics
from tests.conftest import ROOT
from tests.warehouse.conftest import load_raw_lake

pytestmark = pytest.mark.slow

KEYAPI_DAYS = 5
ANALYSES = ROOT / "warehouse" / "analyses"
QUESTIONS = sorted(p.stem for p in ANALYSES.glob("q*.sql"))
WORLD = World()
# What each vendor's lifetime counts are taken at: its own instant, or the simulator's clock.
SNAPSHOT_VENDORS = ("tiktok_research", "ensembledata", "trendtrack")
# fct_video_daily takes a day's counters from the most trusted vendor that knew them.
COUNTER_PRIORITY = ("tiktok_research", "ensembledata", "trendtrack", "influtics")


def simulator_now() -> datetime:
    """The clock `load_raw_lake` gives the simulator."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def world_video(video_id: int) -> Video:
    video = WORLD.video(video_id)
    assert video is not None, f"{video_id} is not a video of the simulator's world"
    return video


def world_views(video_id: int, vendor: str, observed_at: datetime) -> int:
    """The lifetime views the world gives the vendor's observation at `observed_at`."""
    instant = simulator_now() if vendor in SNAPSHOT_VENDORS else observed_at
    return metrics_at(world_video(video_id), instant).views


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict, dict, WarehouseResource]]:
    """Every question's compiled SQL, its rows (as dicts) and the lake, loaded and built here."""

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
    yield sqls, found, warehouse


@pytest.fixture(scope="module")
def answers(built: tuple[dict, dict, WarehouseResource]) -> dict[str, list[dict]]:
    return built[1]


@pytest.fixture(scope="module")
def lake(built: tuple[dict, dict, WarehouseResource]) -> WarehouseResource:
    return built[2]


def query(lake: WarehouseResource, sql: str, params: list) -> list[tuple]:
    with lake.connect(read_only=True) as con:
        return con.execute(sql, params).fetchall()


def world_gain(lake: WarehouseResource, video_id: int, day: date) -> int | None:
    """The views the world says `video_id` gained on `day`, within the series the warehouse
    takes the gain from: the most trusted vendor that observed it on that day and the day
    before (its last observation of each), else KeyAPI's daily ranking of that day."""
    found = query(
        lake,
        "select vendor, observed_on, max(observed_at) from marts.fct_video_observations "
        "where video_id = ? and counter_kind = 'total' and observed_on in (?, ?) "
        "group by vendor, observed_on",
        [video_id, day - timedelta(days=1), day],
    )
    last = {(vendor, on): at for vendor, on, at in found}
    for vendor in COUNTER_PRIORITY:
        if (vendor, day) in last and (vendor, day - timedelta(days=1)) in last:
            now, before = last[vendor, day], last[vendor, day - timedelta(days=1)]
            return world_views(video_id, vendor, now) - world_views(video_id, vendor, before)
    (ranked,) = query(
        lake,
        "select count(*) from marts.fct_video_observations where video_id = ? "
        "and counter_kind = 'gained' and period = 'day' and observed_on = ?",
        [video_id, day],
    )[0]
    if not ranked:
        return None
    start = day_start(day)
    return period_metrics(world_video(video_id), start, start + timedelta(days=1)).views


def test_there_are_eight_questions_each_one_select_with_its_question_stated(built) -> None:
    sqls, _, _ = built
    assert len(QUESTIONS) == 8
    for question, sql in sqls.items():
        assert (ANALYSES / f"{question}.sql").read_text().startswith("-- Question "), question
        (statement,) = duckdb.extract_statements(sql)
        assert statement.type == duckdb.StatementType.SELECT, question


def test_q1_top_gainers_are_the_worlds_top_ten_us_gainers_among_observed_videos(
    answers, lake
) -> None:
    """Only a vendor that reports a region (KeyAPI, Research, EnsembleData) can place a video
    in one: a video only Influtics tracks has no region, so q1 cannot rank it."""
    found = answers["q1_top_gainers_today"]
    assert 1 <= len(found) <= 10
    (as_of,) = {r["as_of"] for r in found}
    observed = query(
        lake,
        "select distinct observations.video_id, videos.region "
        "from marts.fct_video_observations as observations "
        "inner join marts.dim_video as videos using (video_id) "
        "where observations.observed_on = ? and videos.region is not null",
        [as_of],
    )
    assert observed
    assert all(world_video(video_id).region == region for video_id, region in observed)
    gains = {video_id: world_gain(lake, video_id, as_of) for video_id, _ in observed}
    expected = sorted(
        (-gain, video_id)
        for video_id, gain in gains.items()
        if gain is not None and world_video(video_id).region == "US"
    )[:10]
    assert [(r["video_id"], r["views_gained"]) for r in found] == [
        (video_id, -gain) for gain, video_id in expected
    ]
    assert {r["region"] for r in found} == {"US"}


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


def test_q4_top_products_per_category_are_the_worlds_gmv_of_the_ranked_videos(
    answers, lake
) -> None:
    """KeyAPI counts a video's GMV, split evenly here among its products (the world's own
    products); a product is placed in its world category when a listing names it (first
    product, or as many categories as products), else it stays 'unknown'."""
    found = answers["q4_top_products_gmv_by_category"]
    ((as_of,),) = query(lake, "select max(observed_on) from marts.fct_product_sales_daily", [])
    listed = query(
        lake,
        "select distinct observed_on, video_id from staging.stg_keyapi__video_rankings_daily "
        "where rank_field = 'sales' and len(product_ids) > 0 and observed_on > ?",
        [as_of - timedelta(days=7)],
    )
    # every period's listings name products: a monthly one may place a product a daily one cannot
    listings = " union all ".join(
        f"select product_ids, product_category_names from staging.stg_keyapi__video_rankings_{p}"
        for p in ("daily", "weekly", "monthly")
    )
    placed = {
        product_id
        for (product_id,) in query(
            lake,
            "select distinct product_ids[position] from (select product_ids, "
            "product_category_names as names, unnest(range(1, len(product_ids) + 1)) as position "
            f"from ({listings})) where position = 1 or len(names) = len(product_ids)",
            [],
        )
    }
    gmv: dict[int, float] = {}
    category: dict[int, str] = {}
    for day, video_id in listed:
        video = world_video(video_id)
        start = day_start(day)
        gained = period_metrics(video, start, start + timedelta(days=1)).gmv
        for product in video.products:
            gmv[product.product_id] = gmv.get(product.product_id, 0) + gained / len(video.products)
            placeable = product.product_id in placed
            category[product.product_id] = product.category.name if placeable else "unknown"
    expected: dict[str, list[tuple[int, float]]] = {}
    for product_id, total in sorted(gmv.items(), key=lambda p: (-round(p[1], 6), p[0])):
        expected.setdefault(category[product_id], []).append((product_id, round(total, 6)))
    got: dict[str, list[tuple[int, float]]] = {}
    for row in found:
        got.setdefault(row["product_category"], []).append(
            (row["product_id"], round(row["gmv"], 6))
        )
        assert row["category_gmv"] == pytest.approx(
            sum(total for _, total in expected[row["product_category"]])
        )
    assert len(got) >= 3
    assert got == {name: products[:3] for name, products in expected.items()}


def test_q5_compares_ads_with_organic(answers) -> None:
    rows = {r["item_type"]: r for r in answers["q5_ads_vs_organic"]}
    assert set(rows) == {"ad", "organic"}
    for row in rows.values():
        assert row["items"] > 0 and row["views"] > 0
        assert 0 < row["engagement_rate"] < 1
    assert rows["ad"]["most_active_ads_in_a_shop"] >= 1


def test_q6_view_history_is_the_worlds_curve_as_each_vendor_saw_it(answers) -> None:
    found = answers["q6_video_view_history_across_vendors"]
    (video_id,) = {r["video_id"] for r in found}
    assert len({r["vendor"] for r in found}) >= 3
    times = [r["observed_at"] for r in found]
    assert times == sorted(times)
    for row in found:
        if row["counter_kind"] == "total":
            expected = world_views(video_id, row["vendor"], row["observed_at"])
        else:
            assert row["period"] == "day", row
            start = row["observed_at"] - timedelta(days=1)
            expected = period_metrics(world_video(video_id), start, row["observed_at"]).views
        assert row["views"] == expected, row


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
