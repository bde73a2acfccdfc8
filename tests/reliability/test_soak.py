"""A bounded soak: 30 simulated nights of the KeyAPI nightly under a low rate of vendor faults.

The simulator's clock moves one night at a time (03:00 UTC, October 3 to November 1, 2026); each
night one long-lived loading process (`soak_loader.py`) loads the newest published day, while
KeyAPI answers about 6 % of requests with a 429, 500, 503 or a truncated body. The lake then
holds exactly the rows of one clean, fault-free load of the same 30 days, and the loader's peak
RSS per night stays flat: the last nights are no more than half again the early ones.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from simulator.server import Simulator
from tests.conftest import ROOT
from tests.reliability.harness import RAW, Fingerprints, Worker, record

pytestmark = pytest.mark.slow

NIGHTS = 30
FIRST_DAY = date(2026, 10, 1)
FAULTS = {
    "rate_429": 0.02,
    "retry_after": 0,
    "rate_500": 0.02,
    "rate_503": 0.01,
    "rate_truncated": 0.01,
    "seed": 30,
}
ROWS_PER_NIGHT = 80  # 2 regions x 2 rank fields x 2 pages of 10


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(now=datetime(2026, 10, 3, 3, tzinfo=UTC)).start() as simulator:
        yield simulator


def _env(sim: Simulator) -> dict[str, str]:
    return {
        **os.environ,
        **sim.source_env(),
        "SOURCES__KEYAPI__REQUESTS_PER_SECOND": "0",
        "SOURCES__KEYAPI__BACKOFF_BASE": "0.01",
    }


def test_thirty_faulty_nights_end_equal_to_a_clean_month_with_flat_memory(
    sim: Simulator, tmp_path: Path
) -> None:
    days = [FIRST_DAY + timedelta(days=i) for i in range(NIGHTS)]
    sim.set_faults("keyapi", **FAULTS)
    soak = tmp_path / "soak"
    loader = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.soak_loader", str(soak)],
        cwd=ROOT,
        env=_env(sim),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert loader.stdin is not None and loader.stdout is not None
    nights = []
    try:
        for day in days:
            # the night after the day is published (a day D on D+2 00:00 UTC)
            sim.now = datetime.combine(day + timedelta(days=2), time(3), tzinfo=UTC)
            loader.stdin.write(f"{day}\n")
            loader.stdin.flush()
            line = loader.stdout.readline()
            assert line, f"the loader died on the night of {sim.now:%Y-%m-%d}"
            nights.append(json.loads(line))
    finally:
        loader.stdin.close()
        loader.wait(timeout=60)
    faults = sim.stats("keyapi")["faults"]

    sim.reset_faults()
    clean = tmp_path / "clean"
    month = ",".join(d.isoformat() for d in days)
    worker = Worker(
        "tests.reliability.nightly",
        [
            str(clean),
            str(tmp_path / "clean.events"),
            str(tmp_path / "dbt"),
            "--load",
            f"day:{month}",
        ],
        tmp_path / "clean.events",
        _env(sim),
    )
    assert worker.wait() == 0, worker.stderr()

    prints = Fingerprints()
    try:
        found, expected = prints(soak, RAW), prints(clean, RAW)
    finally:
        prints.close()
    peaks = [night["peak_rss_mb"] for night in nights]
    early, late = max(peaks[1:6]), max(peaks[-5:])
    record(
        "soak",
        {
            "nights": len(nights),
            "faults_injected": faults,
            "rows": found[RAW[0]][0],
            "equal_to_clean_month": found == expected,
            "peak_rss_mb_per_night": peaks,
            "peak_rss_mb_nights_2_6": early,
            "peak_rss_mb_last_5": late,
            "seconds_per_night": [night["seconds"] for night in nights],
        },
    )
    print(f"\nsoak: faults {faults}; peak RSS MB per night {peaks}")
    assert sum(faults.values()) >= 5, faults  # the nights really ran through faults
    assert found == expected
    assert found[RAW[0]][0] == NIGHTS * ROWS_PER_NIGHT
    assert late <= early * 1.5, (early, late)
