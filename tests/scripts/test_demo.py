"""README command 1 end to end: the demo run, twice, into a temporary lake.

Proves the "done when" of the foundation and of the trends layer: 7 days x 2 regions x 2 rank
fields of daily rankings, every vendor's tables, every mart with rows, and a second run that
changes no row count.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assets.resources import WarehouseResource

ROOT = Path(__file__).resolve().parents[2]
# Every model issue 11 names: each must hold rows for the demo window.
MARTS = (
    "dim_video",
    "dim_creator",
    "dim_hashtag",
    "dim_music",
    "fct_video_observations",
    "fct_video_daily",
    "fct_video_ranking_movement",
    "fct_hashtag_daily",
    "fct_music_daily",
    "fct_creator_daily",
    "fct_product_sales_daily",
    "fct_ads_library_daily",
    "trending_now",
)


def run_demo(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "scripts/demo.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def table_counts(path: Path) -> dict[str, int]:
    with WarehouseResource(path=str(path)).connect(read_only=True) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_catalog = 'lake' and not starts_with(table_schema, '_dlt') "
            "and not starts_with(table_name, '_dlt')"
        ).fetchall()
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for (t,) in tables}


@pytest.mark.slow
def test_the_demo_loads_every_vendor_and_a_second_run_changes_no_row_count(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "instance" / "dagster.yaml", home / "dagster.yaml")
    warehouse = tmp_path / "lake"
    env = {**os.environ, "DAGSTER_HOME": str(home), "WAREHOUSE_PATH": str(warehouse)}
    first = run_demo(env)
    counts = table_counts(warehouse)
    assert counts["raw_keyapi.video_rankings_daily"] == 7 * 2 * 2 * 50  # days x regions x fields
    with WarehouseResource(path=str(warehouse)).connect(read_only=True) as con:
        [(days, regions, fields)] = con.execute(
            "select count(distinct ranking_date), count(distinct region), "
            "count(distinct rank_field) from raw_keyapi.video_rankings_daily"
        ).fetchall()
    assert (days, regions, fields) == (7, 2, 2)
    for schema in ("raw_tiktok_research", "raw_influtics", "raw_trendtrack", "raw_ensembledata"):
        assert any(t.startswith(schema) and n > 0 for t, n in counts.items()), schema
    assert {m: counts.get(f"marts.{m}", 0) > 0 for m in MARTS} == dict.fromkeys(MARTS, True)
    assert counts["staging.stg_keyapi__video_rankings_daily"] == 7 * 2 * 2 * 50
    assert "Top 5 videos by rank gain" in first
    top = first.split("Top 5 videos by rank gain")[1].split("\n\n")[0].splitlines()
    assert len([line for line in top if line.strip().endswith(tuple("0123456789"))]) == 5
    run_demo(env)
    assert table_counts(warehouse) == counts
