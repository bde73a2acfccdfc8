"""Analysts read while runs write: no failed run, no failed read, and only committed states seen.

A reader keeps one connection open for the whole load and a second reconnects every 0.3 s,
while two vendors load at once and a partition is re-pulled (a delete-insert that must never
show half-done). A run killed with SIGKILL mid-load leaves a readable lake, and the plain
re-run ends with exactly the rows of an uninterrupted run.
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from assets.influtics import influtics_video_stats
from assets.keyapi import keyapi_assets
from assets.resources import WarehouseResource
from tests.conftest import ROOT, materialize, rows, today

DAILY = keyapi_assets[0]
DAYS = 4
TABLES = ("raw_keyapi.video_rankings_daily", "raw_influtics.video_stats")
KEY = "ranking_date, region, rank_field, product_category_id, rank, video_id, total_views_cnt"


class Readers:
    """One long-lived connection plus one that reconnects, both counting every table."""

    def __init__(self, warehouse: WarehouseResource) -> None:
        self.warehouse, self.stop = warehouse, threading.Event()
        self.errors: list[str] = []
        self.seen: dict[str, list[tuple[int, ...]]] = {"held": [], "polling": []}
        self.threads = [
            threading.Thread(target=self._held, daemon=True),
            threading.Thread(target=self._polling, daemon=True),
        ]

    def _counts(self, con) -> tuple[int, ...]:
        present = {
            f"{s}.{t}"
            for s, t in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = 'lake'"
            ).fetchall()
        }
        return tuple(
            con.execute(f"select count(*) from {t}").fetchone()[0] if t in present else 0
            for t in TABLES
        )

    def _held(self) -> None:
        con = self.warehouse.connect(read_only=True)
        while not self.stop.is_set():
            try:
                self.seen["held"].append(self._counts(con))
            except Exception as exc:  # every failed read is a finding, not a crash
                self.errors.append(f"held: {exc}")
            time.sleep(0.3)
        con.close()

    def _polling(self) -> None:
        while not self.stop.is_set():
            try:
                with self.warehouse.connect(read_only=True) as con:
                    self.seen["polling"].append(self._counts(con))
            except Exception as exc:
                self.errors.append(f"polling: {exc}")
            time.sleep(0.3)

    def __enter__(self) -> Readers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


@pytest.mark.slow
def test_readers_never_fail_nor_see_a_half_done_load(frozen, warehouse, watchlist):
    assert materialize([DAILY], warehouse, watchlist, partition_key="2026-03-03").success
    results: list[bool] = []
    with Readers(warehouse) as readers:
        writers = [
            threading.Thread(
                target=lambda: results.append(
                    materialize(
                        [DAILY],
                        warehouse,
                        watchlist,
                        tags={
                            "dagster/asset_partition_range_start": "2026-03-03",
                            "dagster/asset_partition_range_end": "2026-03-06",
                        },
                    ).success
                )
            ),
            threading.Thread(
                target=lambda: results.append(
                    materialize(
                        [influtics_video_stats], warehouse, watchlist, partition_key=today()
                    ).success
                )
            ),
        ]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        time.sleep(1)
    assert results == [True, True]
    assert readers.errors == []
    for name, seen in readers.seen.items():
        assert len(seen) > 5, name
        for before, after in itertools.pairwise(seen):
            # the re-pulled day is deleted and re-inserted in one commit: never a dip
            assert all(a >= b for a, b in zip(after, before, strict=True)), (name, before, after)
    final = readers.seen["polling"][-1]
    assert final[0] == 4 * 80 and final[1] > 0


def _load(root: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.load_keyapi", str(root), "2026-03-02", str(DAYS)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def uninterrupted(simulator, tmp_path_factory) -> list[tuple]:
    """The rows of one clean load of the same days (past days: the world holds them still)."""
    clean = WarehouseResource(path=str(tmp_path_factory.mktemp("clean")))
    assert _load(Path(clean.path), _env(simulator)).wait(timeout=300) == 0
    expected = rows(clean, f"select {KEY} from raw_keyapi.video_rankings_daily order by all")
    assert len(expected) == DAYS * 2 * 2 * 30
    return expected


def _env(simulator) -> dict[str, str]:
    return {
        **os.environ,
        **simulator.source_env(),
        "SOURCES__KEYAPI__REQUESTS_PER_SECOND": "40",
        "SOURCES__KEYAPI__BACKOFF_BASE": "0.01",
    }


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_load_killed_mid_run_leaves_a_readable_lake_and_a_rerun_completes(
    simulator, uninterrupted, tmp_path, seed
):
    env, expected = _env(simulator), uninterrupted
    crashed = WarehouseResource(path=str(tmp_path / "crashed"))
    process = _load(Path(crashed.path), env)
    time.sleep(random.Random(seed).uniform(1.0, 4.0))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    if any(crashed.lake.local_files()):
        with crashed.connect(read_only=True) as con:  # readable, whatever the kill interrupted
            con.execute("select count(*) from duckdb_tables()").fetchall()
    assert _load(Path(crashed.path), env).wait(timeout=300) == 0
    assert rows(crashed, f"select {KEY} from raw_keyapi.video_rankings_daily order by all") == (
        expected
    )
