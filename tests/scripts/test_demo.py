"""README command 1 end to end: the demo killed mid-run, then run twice, into a temporary lake.

Proves the "done when" of the foundation and of the trends layer: 7 days x 2 regions x 2 rank
fields of daily rankings, every vendor's tables, every mart with rows, and a second run that
changes no row count. The first demo is killed (-9, its whole process group) while a step holds
a pool slot: the plain re-run must fail that run, free the slot and complete.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from assets.resources import WarehouseResource
from scripts import demo

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


def kill_while_a_slot_is_held(env: dict[str, str]) -> str:
    """Start a demo, kill -9 its process group once one of its steps holds a pool slot, and
    return that run's id."""
    process = subprocess.Popen(
        [sys.executable, "scripts/demo.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    try:
        with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            while not (holders := instance.event_log_storage.get_concurrency_run_ids()):
                assert process.poll() is None, "the demo ended before any step took a slot"
                assert time.monotonic() < deadline, "no demo step took a pool slot in 300 s"
                time.sleep(0.5)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    (run_id,) = holders
    return run_id


def table_counts(path: Path) -> dict[str, int]:
    with WarehouseResource(path=str(path)).connect(read_only=True) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_catalog = 'lake' and not starts_with(table_schema, '_dlt') "
            "and not starts_with(table_name, '_dlt')"
        ).fetchall()
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for (t,) in tables}


@pytest.mark.slow
def test_a_killed_demo_reruns_plainly_loads_every_vendor_and_runs_again_unchanged(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "instance" / "dagster.yaml", home / "dagster.yaml")
    warehouse = tmp_path / "lake"
    env = {**os.environ, "DAGSTER_HOME": str(home), "WAREHOUSE_PATH": str(warehouse)}
    killed = kill_while_a_slot_is_held(env)
    first = run_demo(env)
    assert f"run {killed[:8]} of a killed demo marked failed, its slots freed" in first
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE
        assert not instance.event_log_storage.get_concurrency_run_ids()
        demo_runs = instance.get_runs(filters=dg.RunsFilter(tags=demo.DEMO_TAGS))
        assert {r.status for r in demo_runs if r.run_id != killed} == {dg.DagsterRunStatus.SUCCESS}
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


def test_a_second_demo_on_the_same_home_is_refused_and_fails_nothing(tmp_path, monkeypatch, capsys):
    """While one demo holds the home's lock its runs are live: another must not fail them."""
    shutil.copy(ROOT / "instance" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance, demo.demo_lock(instance):
        live = instance.create_run_for_job(
            demo.defs.resolve_job_def("daily_job"), tags=demo.DEMO_TAGS
        )
        instance.handle_run_event(
            live.run_id,
            dg.DagsterEvent(
                event_type_value=dg.DagsterEventType.RUN_START.value, job_name=live.job_name
            ),
        )
        assert demo.main([]) == 2
        assert instance.get_run_by_id(live.run_id).status == dg.DagsterRunStatus.STARTED
    assert f"another demo is running on {tmp_path}" in capsys.readouterr().err
