"""bench/models.py at a tiny size: the synthetic history builds, a nightly recomputes the new
day exactly as a full rebuild does, and the JSON holds every number the closing note quotes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bench import models

pytestmark = pytest.mark.slow

OBSERVATIONS = 20_000
DAYS = 10


def live_videos(per_day: int) -> list[tuple[int, int]]:
    """(day, video number) of every video alive on each day: the generator's own grid."""
    lifetime = models.LIFETIME_DAYS
    return [
        (n, (n - age + lifetime) * per_day + j)
        for n in range(DAYS)
        for age in range(lifetime)
        for j in range(per_day)
    ]


def test_synthetic_history_has_the_requested_observations(tmp_path: Path) -> None:
    per_day = models.videos_per_day(OBSERVATIONS, DAYS)
    lake, raw = models.history(tmp_path / "lake", DAYS, per_day)
    live = live_videos(per_day)
    assert raw["raw_keyapi.video_rankings_daily"] == len(live)
    assert raw["raw_ensembledata.video_stats"] == sum(v % 2 == 0 for _, v in live)
    assert raw["raw_influtics.stats_points"] == 4 * sum(v % 3 == 0 for _, v in live)
    assert raw["raw_influtics.video_stats"] == len({v for _, v in live if v % 3 == 0})
    assert raw["raw_trendtrack.library_item_metrics"] == sum(v % 5 == 0 for _, v in live)
    con = lake.connect(read_only=True)
    days = con.execute(
        "select min(ranking_date), max(ranking_date), count(distinct ranking_date) "
        "from raw_keyapi.video_rankings_daily"
    ).fetchone()
    assert days == (models.FIRST_DAY, models.FIRST_DAY + timedelta(days=DAYS - 1), DAYS)
    # a video's daily gains add up to its lifetime views on the last day
    (gap,) = con.execute(
        "select count(*) from (select video_id, sum(total_views_cnt) as gained "
        "from raw_keyapi.video_rankings_daily group by video_id) g "
        "join raw_ensembledata.videos v on v.aweme_id = g.video_id "
        "join (select aweme_id, max(plays) as plays from raw_ensembledata.video_stats "
        "group by 1) s using (aweme_id) where g.gained <> s.plays and v.create_time >= ?",
        [models.FIRST_DAY],
    ).fetchone()
    assert gap == 0


def test_nightly_equals_full_rebuild_and_the_json_has_the_numbers(tmp_path: Path) -> None:
    argv = ["--observations", str(OBSERVATIONS), "--days", str(DAYS), "--growth-days", "0"]
    assert models.main([*argv, "--no-tests", "--results", str(tmp_path)]) == 0
    (path,) = tmp_path.glob("models-*.json")
    result = json.loads(path.read_text())
    assert result["incremental_equals_full"] is True
    new_day = result["nightly"]["day"]
    assert new_day == f"{models.FIRST_DAY + timedelta(days=DAYS)}"
    rows = result["new_day_rows"]
    assert rows["incremental"] == rows["full_refresh"] > 0
    assert result["new_day_hash"]["incremental"] == result["new_day_hash"]["full_refresh"]
    assert 0.9 * OBSERVATIONS < result["fct_video_observations_rows"] < 1.1 * OBSERVATIONS
    for step in ("full_build", "nightly", "full_refresh"):
        assert result[step]["wall_s"] > result[step]["nodes_s"] > result[step]["facts_s"] > 0
    assert result["command"].startswith("python -m bench.models --observations 20000")
