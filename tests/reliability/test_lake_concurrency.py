"""Analysts read while runs write: no failed run, no failed read, and only committed states seen.

A reader keeps one connection open for the whole load and a second reconnects every 0.3 s,
while two vendors load at once and a partition is re-pulled (a delete-insert that must never
show half-done). Runs killed with SIGKILL are tests/reliability/test_crash_trials.py.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from assets.influtics import influtics_video_stats
from assets.keyapi import keyapi_assets
from assets.resources import WarehouseResource
from tests.conftest import materialize, today

DAILY = keyapi_assets[0]
DAYS = 4
TABLES = ("raw_keyapi.video_rankings_daily", "raw_influtics.video_stats")


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
