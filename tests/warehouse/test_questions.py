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
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from assets.resources import DBT_EXECUTABLE, WarehouseResource
from simulator.tiktok_research import username
from simulator.trendtrack import has_page_snapshot, library, shop_id
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


@pytest.fixture(scope="module")
def observed(lake: WarehouseResource) -> dict[int, set[str]]:
    """Which vendors observed each video: the lake says who looked, the world what they saw."""
    found: dict[int, set[str]] = {}
    for video_id, vendor in query(
        lake, "select distinct video_id, vendor from marts.fct_video_observations", []
    ):
        found.setdefault(video_id, set()).add(vendor)
    return found


@pytest.fixture(scope="module")
def gains(lake: WarehouseResource) -> dict[tuple[int, date], int]:
    """The views the world says each observed video gained on each observed day, within the
    series the warehouse takes the gain from: the most trusted vendor that observed it on that
    day and the day before (its last observation of each), else KeyAPI's daily ranking of it."""
    last = {
        (video_id, vendor, on): at
        for video_id, vendor, on, at in query(
            lake,
            "select video_id, vendor, observed_on, max(observed_at) "
            "from marts.fct_video_observations where counter_kind = 'total' group by all",
            [],
        )
    }
    ranked = set(
        query(
            lake,
            "select distinct video_id, observed_on from marts.fct_video_observations "
            "where counter_kind = 'gained' and period = 'day'",
            [],
        )
    )
    found = {}
    for video_id, day in {(video_id, day) for video_id, _, day in last} | ranked:
        before = day - timedelta(days=1)
        vendor = next(
            (
                v
                for v in COUNTER_PRIORITY
                if (video_id, v, day) in last and (video_id, v, before) in last
            ),
            None,
        )
        if vendor is not None:
            now, then = last[video_id, vendor, day], last[video_id, vendor, before]
            found[video_id, day] = world_views(video_id, vendor, now) - world_views(
                video_id, vendor, then
            )
        elif (video_id, day) in ranked:
            start = day_start(day)
            found[video_id, day] = period_metrics(
                world_video(video_id), start, start + timedelta(days=1)
            ).views
    return found


def world_tags(video_id: int, vendors: set[str]) -> tuple[str, ...]:
    """The world's hashtags of a video, known once a vendor other than Influtics saw it
    (Influtics sends no caption or tag list)."""
    return world_video(video_id).hashtags if vendors - {"influtics"} else ()


def creator_named(video_id: int, vendors: set[str]) -> str:
    """The handle the warehouse knows a video's creator by: the world's, once a vendor that sends
    creator ids saw the video, else the username Research sent (staging drops a NUL inside it;
    for a few accounts it carries the nickname too, so they stand apart)."""
    video = world_video(video_id)
    if vendors & {"keyapi", "ensembledata", "trendtrack"} or "tiktok_research" not in vendors:
        return video.creator.unique_id
    return username(video).replace("\x00", "").lower()


def tag_days(gains: dict, observed: dict) -> dict[tuple[str, date], tuple[int, set[str]]]:
    """Per (hashtag, day) with a known gain: the views its videos gained, and their creators."""
    days: dict[tuple[str, date], tuple[int, set[str]]] = {}
    for (video_id, day), gained in gains.items():
        named = creator_named(video_id, observed[video_id])
        for tag in world_tags(video_id, observed[video_id]):
            views, creators = days.get((tag, day), (0, set()))
            days[tag, day] = (views + gained, creators | {named})
    return days


def descending(value: float | None) -> tuple[bool, float]:
    """A sort key for `value desc nulls last`."""
    return (value is None, -(value or 0))


def test_there_are_eight_questions_each_one_select_with_its_question_stated(built) -> None:
    sqls, _, _ = built
    assert len(QUESTIONS) == 8
    for question, sql in sqls.items():
        assert (ANALYSES / f"{question}.sql").read_text().startswith("-- Question "), question
        (statement,) = duckdb.extract_statements(sql)
        assert statement.type == duckdb.StatementType.SELECT, question


def test_q1_top_gainers_are_the_worlds_top_ten_us_gainers_among_observed_videos(
    answers, lake, gains
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
    expected = sorted(
        (-gains[video_id, as_of], video_id)
        for video_id, region in observed
        if (video_id, as_of) in gains and region == "US"
    )[:10]
    assert [(r["video_id"], r["views_gained"]) for r in found] == [
        (video_id, -gain) for gain, video_id in expected
    ]
    assert {r["region"] for r in found} == {"US"}


def test_q2_breakouts_are_the_worlds_tags_that_doubled_their_trailing_average(
    answers, gains, observed
) -> None:
    """fct_hashtag_daily's rule on the world's gains: a day's views over the average of the
    tag's earlier known days (28 back, at least 3 of them), 2 or more with 2+ creators gaining.
    Five KeyAPI days give the three days of history, so the last two days can break out."""
    days = tag_days(gains, observed)
    as_of = max(day for _, day in days)
    week = [as_of - timedelta(days=n) for n in range(7)]
    expected = []
    for tag in sorted({tag for tag, _ in days}):
        scored = []
        for day in (d for d in week if (tag, d) in days):
            earlier = [(tag, day - timedelta(days=n)) for n in range(1, 29)]
            history = [days[key][0] for key in earlier if key in days]
            if len(history) >= 3 and sum(history) > 0:
                score = days[tag, day][0] / (sum(history) / len(history))
                scored.append((score, len(days[tag, day][1])))
        breakouts = sum(1 for score, creators in scored if score >= 2 and creators >= 2)
        if breakouts:
            this_week = [days[tag, d] for d in week if (tag, d) in days]
            posts = sum(
                1
                for video_id, vendors in observed.items()
                if tag in world_tags(video_id, vendors)
                and as_of - timedelta(days=7)
                < datetime.fromtimestamp(world_video(video_id).create_time, UTC).date()
                <= as_of
            )
            best = max(score for score, _ in scored)
            views = sum(v for v, _ in this_week)
            creators = max(len(c) for _, c in this_week)
            expected.append((tag, breakouts, pytest.approx(best), views, posts, creators))
    expected.sort(key=lambda row: (-row[2].expected, row[0]))
    found = answers["q2_hashtag_breakouts_this_week"]
    assert len(expected) >= 3
    assert [
        (
            r["hashtag"],
            r["breakout_days"],
            r["best_breakout_score"],
            r["views_this_week"],
            r["posts_this_week"],
            r["most_creators_in_a_day"],
        )
        for r in found
    ] == expected
    # every known gain is this week: last week has none to compare with
    assert {(r["as_of"], r["views_last_week"], r["week_over_week_growth"]) for r in found} == {
        (as_of, None, None)
    }


def test_q3_rising_creators_are_the_worlds_ranking_climbers_and_follower_gainers(
    answers, lake, gains, observed
) -> None:
    """The world's US daily rankings (top 20 of views and units sold, as KeyAPI serves them)
    give each creator's rank gains and new entries; the world's follower count is the one
    EnsembleData or Trendtrack reports, and the only follower gain known on a single snapshot
    day is Trendtrack's page snapshot (followers // 500), never EnsembleData's."""
    ranking_days = [
        d
        for (d,) in query(
            lake, "select distinct ranking_date from raw_keyapi.video_rankings_daily", []
        )
    ]
    profiled = {
        handle
        for (handle,) in query(
            lake, "select distinct creator_handle from staging.stg_trendtrack__profiles", []
        )
    }
    (stats_on,) = {
        d for (d,) in query(lake, "select observed_on from staging.stg_trendtrack__profiles", [])
    }
    stats = {
        int(user_id)
        for (user_id,) in query(
            lake, "select distinct creator_user_id from staging.stg_ensembledata__user_stats", []
        )
    }
    as_of = max(*ranking_days, stats_on)
    window = {as_of - timedelta(days=n) for n in range(7)}
    creators: dict[str, dict] = {}

    def creator(handle: str) -> dict:
        empty = {"rank": None, "new": 0, "listed": 0, "best": None, "views": None}
        return creators.setdefault(handle, {**empty, "followers": None, "gained": None})

    for metric in ("views", "sales_units"):
        lists = {
            d: [r.video for r in WORLD.ranking("US", d, d + timedelta(days=1), metric)[:20]]
            for d in ranking_days
        }
        for day, videos in lists.items():
            before = lists.get(day - timedelta(days=1))
            ranks = {v.video_id: n for n, v in enumerate(before or [], start=1)}
            for n, video in enumerate(videos, start=1):
                entry = creator(video.creator.unique_id)
                entry["listed"] += 1
                entry["best"] = min(n, entry["best"] or n)
                if video.video_id in ranks:
                    entry["rank"] = (entry["rank"] or 0) + ranks[video.video_id] - n
                elif before is not None:
                    entry["new"] += 1
    for (video_id, day), gained in gains.items():
        if day in window and observed[video_id] != {"influtics"}:
            entry = creator(creator_named(video_id, observed[video_id]))
            entry["views"] = (entry["views"] or 0) + gained
    for world_creator in WORLD.creators:
        if world_creator.user_id in stats or world_creator.unique_id in profiled:
            entry = creator(world_creator.unique_id)
            entry["followers"] = world_creator.followers
            if world_creator.user_id not in stats and has_page_snapshot(world_creator):
                entry["gained"] = world_creator.followers // 500
    rising = [
        (
            handle,
            e["rank"],
            e["new"],
            e["listed"],
            e["best"],
            e["views"],
            e["followers"],
            e["gained"],
        )
        for handle, e in creators.items()
        if (e["rank"] or 0) > 0 or (e["gained"] or 0) > 0 or e["new"] > 0
    ]
    rising.sort(
        key=lambda r: (
            *descending(r[1]),
            *descending(r[7]),
            *descending(r[5]),
            str(WORLD.creator(r[0]).user_id),
        )
    )
    found = answers["q3_rising_creators"]
    assert {r["as_of"] for r in found} == {as_of}
    assert [
        (
            r["creator_handle"],
            r["rank_gained_7d"],
            r["new_ranking_entries_7d"],
            r["ranking_appearances_7d"],
            r["best_rank_7d"],
            r["views_gained_7d"],
            r["followers"],
            r["followers_gained_7d"],
        )
        for r in found
    ] == rising[:25]
    assert sum(1 for r in rising[:25] if r[7]) >= 3


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


def test_q5_ads_and_organic_are_the_worlds_counts_of_the_library_items_loaded(
    answers, lake
) -> None:
    """Trendtrack's library at the simulator's clock: an ad is a video that links products, its
    shop the first product's category in its region; active while the video still grows."""
    ((day,),) = query(lake, "select max(observed_on) from marts.fct_ads_library_daily", [])
    loaded = query(
        lake, "select video_id from marts.fct_ads_library_daily where observed_on = ?", [day]
    )
    entries = {e.video.video_id: e for e in library(WORLD, simulator_now())}
    items = {"ad": [], "organic": []}
    for (video_id,) in loaded:
        items["ad" if entries[video_id].is_ad else "organic"].append(entries[video_id])
    shop = {
        e.video.video_id: shop_id(e.video.products[0].category.category_id, e.video.region)
        for e in items["ad"]
    }
    active_ads = Counter(shop[e.video.video_id] for e in items["ad"] if e.active)
    expected = []
    for item_type, entries_of_type in items.items():
        views = sum(e.views for e in entries_of_type)
        shops = {shop[e.video.video_id] for e in entries_of_type if e.video.video_id in shop}
        expected.append(
            {
                "item_type": item_type,
                "observed_on": day,
                "items": len(entries_of_type),
                "active_items": sum(e.active for e in entries_of_type),
                "shops": len(shops),
                "views": views,
                "views_per_item": round(views / len(entries_of_type)),
                "engagement_rate": pytest.approx(
                    sum(e.likes + e.comments + e.shares for e in entries_of_type) / views
                ),
                # one snapshot day: no day before to take a gain from
                "views_gained": None,
                "avg_days_running": pytest.approx(
                    sum(e.days_running for e in entries_of_type) / len(entries_of_type)
                ),
                "pinned_items": sum(bool(e.pinned) for e in entries_of_type),
                "most_active_ads_in_a_shop": max((active_ads[s] for s in shops), default=None),
            }
        )
    assert day == simulator_now().date()
    assert all(row["items"] >= 100 for row in expected)
    assert answers["q5_ads_vs_organic"] == expected


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


def test_q7_trending_now_is_the_worlds_top_ten_of_each_type_by_views_gained(
    answers, lake, gains, observed
) -> None:
    """Every entity's views gained on the newest day with a gain, then over the 7 days to it,
    from the world's gains of its observed videos: a hashtag needs a vendor that sends tags, a
    creator one that names them, a sound one that reported it (KeyAPI and Influtics do not)."""
    sounds = {
        video_id
        for video_id, music_id in query(
            lake, "select video_id, music_id from marts.dim_video where music_id is not null", []
        )
        if world_video(video_id).music.music_id == music_id
    }
    as_of = max(day for _, day in gains)
    velocity: dict[tuple[str, str], list] = {}
    for (video_id, day), gained in gains.items():
        if not as_of - timedelta(days=6) <= day <= as_of:
            continue
        video, vendors = world_video(video_id), observed[video_id]
        keys = [("video", str(video_id))]
        keys += [("hashtag", tag) for tag in world_tags(video_id, vendors)]
        keys += [("sound", str(video.music.music_id))] if video_id in sounds else []
        if vendors != {"influtics"}:
            keys.append(("creator", f"@{creator_named(video_id, vendors)}"))
        for key in keys:
            known = velocity.setdefault(key, [None, 0])
            known[0] = (known[0] or 0) + gained if day == as_of else known[0]
            known[1] += gained
    expected: dict[str, list[tuple]] = {}
    ordered = sorted(velocity.items(), key=lambda e: (*descending(e[1][0]), -e[1][1], e[0][1]))
    for (entity_type, entity), (day_gain, week_gain) in ordered:
        expected.setdefault(entity_type, []).append((entity, day_gain, week_gain))
    found: dict[str, list[tuple]] = {}
    for r in answers["q7_trending_now"]:
        entity = r["label"] if r["entity_type"] == "creator" else r["entity_id"]
        found.setdefault(r["entity_type"], []).append((entity, r["velocity_24h"], r["velocity_7d"]))
        assert r["as_of"] == as_of and f"{r['velocity_24h']:,} views gained" in r["reason"]
    assert found == {entity_type: top[:10] for entity_type, top in expected.items()}
    assert all(len(top) == 10 for top in found.values())
    for entity_type in found:
        ranks = [r["rank"] for r in answers["q7_trending_now"] if r["entity_type"] == entity_type]
        assert ranks == list(range(1, 11))


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
