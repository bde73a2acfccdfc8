"""The benchmark runs end to end at its quick sizes and its results file holds every measure.

Timings are never asserted (the machine is shared): only that each measure is there, the
two paths of each comparison landed what they should, and the values are physically sane.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.__main__ import QUICK

ROOT = Path(__file__).resolve().parents[2]
VENDORS = {"keyapi", "influtics", "trendtrack", "ensembledata", "tiktok_research"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("bench")
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--results", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    [path] = out.glob("*.json")
    data = json.loads(path.read_text())
    data["_stdout"] = run.stdout
    return data


@pytest.mark.slow
def test_every_vendor_is_compared_on_the_same_requests_under_its_limit(results: dict) -> None:
    vendors = {v["vendor"]: v for v in results["vendors"]}
    assert set(vendors) == VENDORS
    for v in vendors.values():
        assert v["requests"] >= 1 and v["pipeline_s"] > 0 and v["baseline_s"] > 0
        assert v["ratio"] == pytest.approx(v["baseline_s"] / v["pipeline_s"], rel=0.01)
        assert v["refused_by_limit"]["baseline"] == 0  # the bare loop paces itself
        assert v["pipeline_rows"] == v["baseline_rows"] > 0  # the same rows on both sides
    # 1 day x 2 regions x 2 fields x 1 page of 10 ranking rows.
    assert vendors["keyapi"]["requests"] == 4
    assert vendors["keyapi"]["pipeline_rows"] == 40
    assert vendors["tiktok_research"]["requests_per_second"] == 1.0


@pytest.mark.slow
def test_rate_efficiency_is_measured_at_5_and_20_rps(results: dict) -> None:
    runs = {r["limit_rps"]: r for r in results["rate_efficiency"]}
    assert set(runs) == {5.0, 20.0}
    for rps, run in runs.items():
        assert run["requests"] == 20 and run["rows"] == 200
        assert run["refused_by_limit"] == 0
        # never faster than the limit (beyond a few % of jitter over 20 requests)
        assert 0 < run["achieved_rps"] <= rps * 1.05
        assert run["efficiency"] == pytest.approx(run["achieved_rps"] / rps, rel=0.01)


@pytest.mark.slow
def test_load_path_lands_every_row_on_first_load_and_reload(results: dict) -> None:
    cases = {(c["path"], c["rows"]): c for c in results["load"]}
    assert set(cases) == {(p, n) for p in ("dlt", "sql") for n in QUICK["sizes"]}
    for (_, rows), case in cases.items():
        assert case["input_mib"] > 0
        for label in ("first", "reload"):
            load = case[label]
            assert load["rows_stored"] == rows  # a re-load replaces, never duplicates
            assert load["rows_per_s"] == pytest.approx(rows / load["seconds"], rel=0.01)
            assert 0 <= load["peak_above_input_mib"] < 4096


@pytest.mark.slow
def test_targets_table_names_every_target_and_files_are_written(results: dict) -> None:
    # two timings (one run each at quick sizes) on a shared box: bounded, never compared
    assert 0 < results["startup_libraries_s"] < 120 and 0 < results["startup_s"] < 120
    targets = results["targets"]
    assert len(targets) == 7
    for row in targets:
        assert row["met"] in (True, False, None)
        assert (row["value"] is None) == (row["met"] is None)
    [growth] = [t for t in targets if t["measure"].startswith("growth")]
    if results["growth"] is None:  # bench.models measures it when it is there
        assert growth["met"] is None
    for name in ("json", "memory_png"):
        path = Path(results["files"][name])
        assert path.exists() and path.stat().st_size > 1000
    assert Path(results["files"]["memory_png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    stdout = results["_stdout"]
    assert "measure" in stdout and "target" in stdout
    assert all(t["measure"] in stdout for t in targets)
    text = json.dumps(results)
    assert not [v for v in VENDORS if f"sim-{v}-key" in text]  # no key reaches the results
