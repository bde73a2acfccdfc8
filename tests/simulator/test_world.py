"""The synthetic world: deterministic, 64-bit ids, monotone growth curves, enough volume."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from simulator.server import Simulator
from simulator.world import REGIONS, Video, World, metrics_at, period_metrics
from tests.simulator.conftest import NOW, RANKING, ranking_params

DAY = date(2025, 6, 10)
NEXT_DAY = DAY + timedelta(days=1)


@pytest.fixture(scope="module")
def world() -> World:
    return World(42)


def at(day: date, hours: float = 0.0) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hours)


def published(video: Video, seconds: float = 0.0) -> datetime:
    return datetime.fromtimestamp(video.create_time + seconds, UTC)


def daily_gains(video: Video, days: int) -> list[int]:
    start = published(video)
    return [
        period_metrics(video, start + timedelta(days=d), start + timedelta(days=d + 1)).views
        for d in range(days)
    ]


def test_the_same_seed_builds_the_same_world_and_another_seed_does_not(world: World) -> None:
    again, other = World(42), World(7)
    assert again.videos_published_on(DAY) == world.videos_published_on(DAY)
    assert again.creators == world.creators and again.products == world.products
    assert {v.video_id for v in other.videos_published_on(DAY)}.isdisjoint(
        v.video_id for v in world.videos_published_on(DAY)
    )


def test_two_simulators_serve_identical_pages() -> None:
    bodies = []
    for _ in range(2):
        with Simulator(now=NOW) as sim:
            response = httpx.get(
                sim.base_url("keyapi") + RANKING,
                params=ranking_params(region="FR", video_rank_field=2),
                headers={"Authorization": "Bearer sim-keyapi-key"},
            )
            body = response.json()
            del body["requestId"]
            bodies.append(body)
    assert bodies[0] == bodies[1] and len(bodies[0]["data"]) == 10


def test_ids_are_unique_19_digit_integers_beyond_float_precision(world: World) -> None:
    videos = [v for d in range(3) for v in world.videos_published_on(DAY + timedelta(days=d))]
    ids = [v.video_id for v in videos]
    assert len(ids) == len(set(ids)) > 1000
    for video in videos:
        assert len(str(video.video_id)) == 19 and video.video_id > 2**53
        assert video.video_id >> 32 == video.create_time  # TikTok's own id layout
    for id_list in (
        [c.user_id for c in world.creators],
        [p.product_id for p in world.products],
        [m.music_id for m in world.music],
    ):
        assert len(id_list) == len(set(id_list))
        assert all(len(str(i)) == 19 and i > 2**53 for i in id_list)


def test_any_day_2024_to_2028_has_videos_published_within_it(world: World) -> None:
    for day in (date(2024, 1, 1), date(2026, 2, 28), date(2028, 12, 31)):
        videos = world.videos_published_on(day)
        assert len(videos) > 300
        assert all(at(day) <= published(v) < at(day + timedelta(days=1)) for v in videos)
        assert [v.create_time for v in videos] == sorted(v.create_time for v in videos)


def test_a_video_is_found_by_its_id_alone(world: World) -> None:
    video = world.videos_published_on(DAY, "JP")[17]
    assert World(42).video(video.video_id) == video
    assert world.video(video.video_id + 1) is None
    assert world.video(2**64) is None and world.video(-1) is None


def test_metrics_are_zero_before_publish_monotone_and_final_after_the_lifetime(
    world: World,
) -> None:
    videos = world.videos_published_on(DAY, "US")[:120]
    for video in videos:
        assert metrics_at(video, published(video, -1)) == (0,) * 7
        previous = metrics_at(video, published(video))
        for hour in range(1, 24 * 31, 5):
            current = metrics_at(video, published(video, hour * 3600))
            assert all(c >= p for c, p in zip(current, previous, strict=True))
            previous = current
        assert previous == video.final
        assert video.sales_flag or video.final.sales_units == video.final.gmv == 0


def test_period_metrics_is_the_difference_of_two_instants(world: World) -> None:
    video = world.videos_published_on(DAY, "DE")[3]
    start, end = at(DAY, 20), at(DAY, 50)
    gained = period_metrics(video, start, end)
    assert gained == tuple(
        b - a for a, b in zip(metrics_at(video, start), metrics_at(video, end), strict=True)
    )
    assert gained.views > 0


def test_naive_datetimes_are_refused(world: World) -> None:
    with pytest.raises(ValueError, match="naive"):
        metrics_at(world.videos_published_on(DAY, "US")[0], datetime(2025, 6, 10))


def test_growth_shapes_viral_spikes_late_steady_is_even_decaying_front_loaded(
    world: World,
) -> None:
    videos = world.videos_published_on(DAY, "US")
    by_shape = {
        shape: [v for v in videos if v.curve.shape == shape][:5]
        for shape in ("viral", "steady", "decaying")
    }
    for video in by_shape["viral"]:
        gains = daily_gains(video, video.curve.lifetime // 86_400)
        peak = gains.index(max(gains))
        assert peak >= 2 and gains[0] * 3 < max(gains)  # slow start, then a spike
    for video in by_shape["steady"]:
        gains = daily_gains(video, video.curve.lifetime // 86_400)
        assert max(gains[1:-1]) < 3 * min(gains[1:-1])  # near-linear
    for video in by_shape["decaying"]:
        gains = daily_gains(video, video.curve.lifetime // 86_400)
        assert gains[0] == max(gains) and gains[-1] * 3 < gains[0]  # big first day, plateau


@pytest.mark.parametrize("region", REGIONS)
def test_every_daily_ranking_has_300_viewed_and_100_selling_videos(
    world: World, region: str
) -> None:
    views = world.ranking(region, DAY, NEXT_DAY, "views")
    sales = world.ranking(region, DAY, NEXT_DAY, "sales_units")
    assert len(views) >= 300 and len(sales) >= 100
    assert all(r.metrics.views > 0 for r in views)
    assert all(r.metrics.sales_units > 0 and r.metrics.gmv > 0 for r in sales)
    assert [r.metrics.views for r in views] == sorted(
        (r.metrics.views for r in views), reverse=True
    )


def test_ranks_move_day_to_day_viral_videos_climb_and_decaying_ones_fall(world: World) -> None:
    today = {r.video.video_id: i for i, r in enumerate(world.ranking("US", DAY, NEXT_DAY, "views"))}
    tomorrow = {
        r.video.video_id: i
        for i, r in enumerate(world.ranking("US", NEXT_DAY, NEXT_DAY + timedelta(days=1), "views"))
    }
    moves: dict[str, list[int]] = {"viral": [], "decaying": []}
    for video_id, rank in today.items():
        video = world.video(video_id)
        if rank < 200 and video_id in tomorrow and video and video.curve.shape in moves:
            moves[video.curve.shape].append(rank - tomorrow[video_id])  # > 0: climbed
    assert sum(move >= 10 for move in moves["viral"]) >= 10
    falls = sum(move <= -10 for move in moves["decaying"])
    assert falls >= 0.7 * len(moves["decaying"]) and falls >= 20


def test_filters_narrow_the_cached_ranking(world: World) -> None:
    full = world.ranking("BR", DAY, NEXT_DAY, "sales_units")
    pets = world.ranking("BR", DAY, NEXT_DAY, "sales_units", category_id="602118")
    ai = world.ranking("BR", DAY, NEXT_DAY, "sales_units", created_by_ai=True)
    assert 0 < len(pets) < len(full) and 0 < len(ai) < len(full)
    assert all(any(c.category_id == "602118" for c in r.video.categories) for r in pets)
    assert all(r.video.created_by_ai for r in ai)
    wanted = set(pets)
    assert [r for r in full if r in wanted] == list(pets)  # same order as the full ranking


def test_a_repeated_ranking_is_a_cache_hit(world: World) -> None:
    world.ranking("GB", date(2025, 3, 1), date(2025, 4, 1), "views")
    started = time.perf_counter()
    world.ranking("GB", date(2025, 3, 1), date(2025, 4, 1), "views")
    assert time.perf_counter() - started < 0.005


def test_text_has_emoji_rtl_scripts_nul_bytes_and_non_latin_names(world: World) -> None:
    videos = [v for d in range(5) for v in world.videos_published_on(DAY + timedelta(days=d))]
    descriptions = "".join(v.description for v in videos)
    assert re.search("[\U0001f300-\U0001faff]", descriptions)  # emoji
    assert re.search("[\u0590-\u06ff]", descriptions)  # Hebrew / Arabic
    assert "\x00" in descriptions
    nicknames = {c.nickname for c in world.creators}
    assert any(re.search("[\u3040-\u30ff\uff65-\uff9f]", n) for n in nicknames)  # Japanese
    assert any(ord(ch) > 0xFFFF for n in nicknames for ch in n)  # astral plane characters
    handles = [c.unique_id for c in world.creators]
    assert len(handles) == len(set(handles))
    assert all(re.fullmatch(r"[a-z0-9._]+", h) for h in handles)


def test_ids_do_not_depend_on_the_process_hash_seed(world: World) -> None:
    """random.Random(str) hashes with SHA-512, unlike hash(): another process agrees."""
    code = (
        "from datetime import date; from simulator.world import World; "
        "print(World(42).videos_published_on(date(2025, 6, 10), 'DE')[0].video_id)"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert int(result.stdout) == world.videos_published_on(DAY, "DE")[0].video_id


def test_creators_are_found_by_handle_or_sec_uid_and_videos_by_window() -> None:
    world = World()
    creator = world.creators[3]
    assert world.creator(creator.unique_id) is creator
    assert world.creator(creator.sec_uid) is creator
    assert world.creator("nobody-here") is None
    videos = world.videos_between(date(2026, 3, 1), date(2026, 3, 3), "US")
    assert len(videos) == len(world.videos_published_on(date(2026, 3, 1), "US")) + len(
        world.videos_published_on(date(2026, 3, 2), "US")
    )
    assert [v.create_time for v in videos] == sorted(v.create_time for v in videos)
