"""Run every measure, write bench/results/<date>-<commit>.json and plots, print the targets.

    python -m bench [--quick] [--results DIR]

`--quick` shrinks every size (one day, one page, thousands of rows) for the test; its
numbers say nothing about the targets.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.limits import LimitedSimulator
from bench.load import run_case
from bench.vendors import Nightly, compare_vendor, rate_efficiency, vendor_env
from pipelines.watchlist import Watchlist, load_watchlist

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 6, 1, tzinfo=UTC)  # the simulator's pinned clock
FULL = {
    "sizes": [100_000, 1_000_000, 5_000_000],
    "keyapi_days": 7,
    "rate_days": (5, 10),
    "startup_runs": 3,
}
# One start-up each instead of a median of 3: ~25 s less of the test suite on 2 cores.
QUICK = {"sizes": [2_000, 6_000], "keyapi_days": 1, "rate_days": (1, 1), "startup_runs": 1}


def quick_watchlist(watchlist: Watchlist) -> Watchlist:
    """One page of one entry per vendor list: the same code paths at a test's size."""
    tt, ed = watchlist.trendtrack, watchlist.ensembledata
    query = tt.queries[0].model_copy(update={"max_pages": 1})
    return watchlist.model_copy(
        update={
            "keyapi": watchlist.keyapi.model_copy(update={"pages": 1}),
            "trendtrack": tt.model_copy(update={"queries": (query,), "browse": (), "shops": ()}),
            "ensembledata": ed.model_copy(
                update={"max_pages": 1, "hashtag_full_searches": (), "keywords": (), "users": ()}
            ),
        }
    )


# What the definitions cannot load without: the libraries alone, the floor of the start-up.
LIBRARIES = "import dagster, dagster_dbt, dagster_dlt, dlt, duckdb, httpx, pyarrow"


def startup_seconds(code: str = "import assets.definitions", runs: int = 3) -> float:
    """`code` in a fresh interpreter, the median of `runs`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def growth(results_dir: Path) -> dict[str, Any] | None:
    """The growth row from the newest `bench.models` result (`python -m bench.models`, which
    `bench/run.sh` runs first): the nightly with models at 365 against 7 days of history."""
    found = sorted(results_dir.glob("models-*.json"), key=lambda p: p.stat().st_mtime)
    if not found:
        return None
    models = json.loads(found[-1].read_text())
    measured = models.get("growth")
    if not measured:
        return None
    points = [
        {"days": measured["short_days"], "seconds": measured["short_nightly"]["wall_s"]},
        {"days": models["days"], "seconds": models["nightly"]["wall_s"]},
    ]
    return {
        "ratio": measured["nightly_ratio_long_vs_short"],
        "points": points,
        "file": str(found[-1]),
    }


def run(quick: bool, results_dir: Path) -> dict[str, Any]:
    sizes = QUICK if quick else FULL
    watchlist = load_watchlist(ROOT / "watchlist.yaml")
    if quick:
        watchlist = quick_watchlist(watchlist)
    nightly = Nightly.ending(watchlist, NOW.date(), sizes["keyapi_days"], 1 if quick else 3)
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": report.commit(),
        "quick": quick,
        "sizes": sizes["sizes"],
    }
    with LimitedSimulator(now=NOW).start() as sim:
        undo = vendor_env(sim)
        try:
            results["vendors"] = []
            for vendor in sim.vendors:
                print(f"==> {vendor}: pipeline vs baseline at {sim.rps[vendor]:g} rps", flush=True)
                results["vendors"].append(compare_vendor(sim, nightly, vendor, warmup=not quick))
            results["rate_efficiency"] = []
            for rps, days in zip((5.0, 20.0), sizes["rate_days"], strict=True):
                print(f"==> rate-limit efficiency at {rps:g} rps", flush=True)
                results["rate_efficiency"].append(rate_efficiency(sim, rps, days))
        finally:
            undo()
    results["load"] = []
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        for rows in sizes["sizes"]:
            for path in ("sql", "dlt"):
                print(f"==> load path {path}: {rows:,} rows, first load and re-load", flush=True)
                results["load"].append(run_case(path, rows, Path(tmp) / f"{path}-{rows}"))
    print("==> definitions start-up", flush=True)
    runs = sizes["startup_runs"]
    results["startup_s"] = round(startup_seconds(runs=runs), 3)
    results["startup_libraries_s"] = round(startup_seconds(LIBRARIES, runs=runs), 3)
    results["growth"] = None if quick else growth(results_dir)
    results["targets"] = report.evaluate(results)
    paths = report.files(report.results_stem(results_dir), results)
    results["files"] = {name: str(path) for name, path in paths.items()}
    report.write(results, paths)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test")
    parser.add_argument("--results", type=Path, default=report.RESULTS, help="results directory")
    args = parser.parse_args(argv)
    results = run(args.quick, args.results)
    print()
    print(report.table(results["targets"]))
    if results["growth"] is None:
        print("growth: no bench/results/models-*.json yet (python -m bench.models writes it)")
    print(
        f"start-up floor: importing the libraries alone takes {results['startup_libraries_s']} s "
        f"of the definitions' {results['startup_s']} s"
    )
    print(f"\nresults: {results['files']['json']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
