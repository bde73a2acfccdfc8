"""The benchmark script runs end to end at a tiny size and both paths land the same rows.

Its timings are printed, never asserted: only the row counts are checked here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARGS = ["--days", "1", "--pages", "2", "--load-rows", "3000", "--repeat", "1"]


def test_the_benchmark_compares_paths_that_land_the_same_rows() -> None:
    run = subprocess.run(
        [sys.executable, "scripts/benchmark.py", *ARGS],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    rows = [int(n) for n in re.findall(r"^  (?:baseline|pipeline) +(\d+) rows", run.stdout, re.M)]
    assert rows == [80, 80, 3000, 3000]  # 1 day x 2 regions x 2 fields x 2 pages x 10
    assert run.stdout.count("pipeline / baseline time:") == 2
