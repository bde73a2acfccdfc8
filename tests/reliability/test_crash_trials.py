"""Seeded kill -9 trials of the KeyAPI nightly, at every kind of point, each then re-run plainly.

The nightly (`tests/reliability/nightly.py`, a real process over real HTTP to the simulator)
re-pulls 2026-11-01 (a delete-insert merge replacing rows the lake holds) and adds 2026-11-02,
then `dbt run`s the KeyAPI models. Each trial starts from a copy of one uninterrupted lake,
SIGKILLs the process group at a point chosen by its seed and reached by an event (a request
held in flight by the simulator, a trap inside dlt's steps or between them, dbt's own line
for a model), proves the point was hit, checks a read-only connection still answers, re-runs
the same command with nothing cleaned by hand, and compares every table the trial touched
with the uninterrupted run: row count and a hash of the rows. The seed list is fixed, so a
run repeats; `summary.json` (harness.record) keeps each trial's record.
"""

from __future__ import annotations

import os
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from simulator.server import Simulator
from tests.reliability.harness import (
    MARTS,
    RAW,
    STAGING_LEFTOVER,
    Fingerprints,
    Worker,
    record,
)

pytestmark = pytest.mark.slow

NOW = datetime(2026, 11, 4, 3, tzinfo=UTC)  # the simulator's clock: both days published
BASE = ["--load", "week:2026-10-26", "--load", "month:2026-10-01", "--load", "day:2026-11-01"]
NIGHTLY = ["--load", "day:2026-11-01,2026-11-02"]
MODELS = ["--models"]
# The nightly's requests: 2 days x 2 regions x 2 rank fields x 2 pages.
REQUESTS = 16
# How long the simulator holds the request a trial kills during: ample on 2 busy cores (the
# kill comes well within it); the server's thread sleeps on while the re-run goes ahead.
HOLD_SECONDS = 6.0
POINTS = ("extract", "normalize", "load", "between", "models")
SEEDS = range(1, 21)


@dataclass
class Trial:
    """What one trial did and found (a row of summary.json)."""

    seed: int
    point: str
    command: list[str]
    killed_at: str = ""
    killed_after_s: float = 0.0
    readable_after_kill: bool = False
    rows_after_kill: dict[str, int] = field(default_factory=dict)
    rerun_exit: int | None = None
    rows_compared: int = 0
    mismatches: list[str] = field(default_factory=list)
    recovered: bool = False


@dataclass
class References:
    """The uninterrupted runs' lakes and fingerprints."""

    base: Path  # week, month and 2026-11-01 loaded, models built
    loaded: Path  # base + the nightly's load, models not rebuilt
    expected_load: dict[str, tuple[int, str]]  # raw after the load, marts as in base
    expected_all: dict[str, tuple[int, str]]  # raw and marts after the whole nightly


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(now=NOW).start() as simulator:
        yield simulator


@pytest.fixture(scope="module")
def fingerprints() -> Iterator[Fingerprints]:
    prints = Fingerprints()
    yield prints
    prints.close()


@pytest.fixture(scope="module")
def env(sim: Simulator) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k != "CRASH_TRAP"}
    return {
        **inherited,
        **sim.source_env(),
        "SOURCES__KEYAPI__REQUESTS_PER_SECOND": "0",
        "SOURCES__KEYAPI__BACKOFF_BASE": "0.01",
    }


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One dbt target dir for the module: parsed once, then partial parsing."""
    return tmp_path_factory.mktemp("dbt-target")


def nightly(root: Path, events: Path, target: Path, args: list[str], env: dict[str, str]) -> Worker:
    """The nightly worker on the lake at `root`, reporting to `events`."""
    argv = [str(root), str(events), str(target), *args]
    return Worker("tests.reliability.nightly", argv, events, env)


@pytest.fixture(scope="module")
def references(
    tmp_path_factory: pytest.TempPathFactory,
    env: dict[str, str],
    dbt_target: Path,
    fingerprints: Fingerprints,
) -> References:
    """One uninterrupted run of each command, shared by every trial."""
    tmp = tmp_path_factory.mktemp("reference")
    base, loaded, built = tmp / "base", tmp / "loaded", tmp / "built"
    assert nightly(base, tmp / "base.events", dbt_target, [*BASE, *MODELS], env).wait() == 0
    shutil.copytree(base, loaded)
    assert nightly(loaded, tmp / "loaded.events", dbt_target, NIGHTLY, env).wait() == 0
    shutil.copytree(loaded, built)
    assert nightly(built, tmp / "built.events", dbt_target, MODELS, env).wait() == 0
    before = fingerprints(base, (*RAW, *MARTS))
    expected_load = {**fingerprints(loaded, RAW), **{t: before[t] for t in MARTS}}
    expected_all = fingerprints(built, (*RAW, *MARTS))
    assert before[RAW[0]][0] == 80 and expected_all[RAW[0]][0] == 160
    # the nightly changes every table compared, or a trial could pass on a stale lake
    assert all(before[t] != expected_all[t] and expected_all[t][0] > 0 for t in (*RAW, *MARTS))
    return References(base, loaded, expected_load, expected_all)


@pytest.fixture(scope="module")
def trials() -> list[Trial]:
    return []


@dataclass(frozen=True)
class Plan:
    """What a trial's seed chose: the command, where it starts, and where it is killed."""

    command: list[str]
    start: str  # "base" or "loaded"
    trap: str | None = None  # CRASH_TRAP for the killed run
    answered: int = 0  # extract: requests answered before the simulator holds the rest
    model: int = 0  # models: the n-th model dbt starts
    jitter: float = 0.0  # seconds between the event and the kill, for free-running kills


def plan(point: str, rng: random.Random) -> Plan:
    if point == "extract":
        answered, jitter = rng.randrange(REQUESTS), rng.uniform(0.05, 0.5)
        return Plan(NIGHTLY, "base", answered=answered, jitter=jitter)
    if point == "normalize":
        return Plan(NIGHTLY, "base", trap=rng.choice(["normalize:1", "normalize-commit:1"]))
    if point == "load":
        return Plan(NIGHTLY, "base", trap=rng.choice(["load:1", "load:2", "load-complete:1"]))
    if point == "between":
        return Plan([*NIGHTLY, *MODELS], "base", trap=f"between:{rng.randint(1, 3)}")
    return Plan(MODELS, "loaded", model=rng.randint(1, 5), jitter=rng.uniform(0, 0.2))


def _kill_with_request_in_flight(worker: Worker, sim: Simulator, how: Plan, trial: Trial) -> None:
    """The simulator answers `answered` requests and holds every later one (a scripted slow
    answer; pages are fetched concurrently, so more than one may be held): kill meanwhile."""
    before = sim.stats("keyapi")["total"]
    worker.wait_for(
        lambda lines: (
            "extract day" in lines and sim.stats("keyapi")["total"] - before >= how.answered
        )
    )
    time.sleep(how.jitter)
    assert sim.stats("keyapi")["total"] - before == how.answered, "a held request was answered"
    trial.killed_after_s = worker.kill()
    trial.killed_at = f"extract: {how.answered} of {REQUESTS} requests answered, the next held"
    assert "extracted day" not in worker.lines()


def _kill_at_trap(worker: Worker, trial: Trial) -> None:
    """The trap reports its point and waits: kill it there, and check it is the trial's."""
    lines = worker.wait_for(lambda lines: any(line.startswith("trap ") for line in lines))
    trial.killed_after_s = worker.kill()
    trap = next(line for line in lines if line.startswith("trap "))
    trial.killed_at = trap.removeprefix("trap ")
    assert trial.killed_at.split()[0].split("-")[0] == trial.point, trap


def _kill_in_model(worker: Worker, how: Plan, trial: Trial) -> None:
    """Kill as dbt starts the seed's model (after a jitter, so its SQL is running)."""
    worker.wait_for(lambda lines: sum(" START sql " in line for line in lines) >= how.model)
    time.sleep(how.jitter)
    trial.killed_after_s = worker.kill()
    lines = worker.lines()
    started = [line for line in lines if " START sql " in line]
    trial.killed_at = "models: dbt " + started[-1].split("  ", 1)[-1].split(" ..")[0].strip()
    assert "models start" in lines and "models done" not in lines


@pytest.mark.parametrize(
    "seed, point",
    [(seed, POINTS[(seed - 1) % len(POINTS)]) for seed in SEEDS],
    ids=lambda value: str(value),
)
def test_a_nightly_killed_at_a_seeded_point_recovers_on_a_plain_rerun(
    seed: int,
    point: str,
    sim: Simulator,
    env: dict[str, str],
    dbt_target: Path,
    references: References,
    fingerprints: Fingerprints,
    trials: list[Trial],
    tmp_path: Path,
) -> None:
    how = plan(point, random.Random(f"crash-trial:{seed}"))
    trial = Trial(seed, point, how.command)
    trials.append(trial)
    root = tmp_path / "lake"
    shutil.copytree(references.base if how.start == "base" else references.loaded, root)
    sim.reset_faults()
    if point == "extract":
        script = ["ok"] * how.answered + ["slow"] * (REQUESTS - how.answered)
        sim.set_faults("keyapi", script=script, slow_seconds=HOLD_SECONDS)
    slow_before = sim.stats("keyapi")["faults"].get("slow", 0)
    killed_env = {**env, "CRASH_TRAP": how.trap} if how.trap else env
    worker = nightly(root, tmp_path / "killed.events", dbt_target, how.command, killed_env)
    try:
        if point == "extract":
            _kill_with_request_in_flight(worker, sim, how, trial)
        elif point == "models":
            _kill_in_model(worker, how, trial)
        else:
            _kill_at_trap(worker, trial)
    finally:
        if worker.process.poll() is None:
            worker.kill()
    assert worker.process.returncode == -9
    sim.reset_faults()

    tables = (*RAW, *MARTS)
    after_kill = fingerprints(root, tables)  # raises if the lake cannot be read
    trial.readable_after_kill = True
    trial.rows_after_kill = {t: rows for t, (rows, _) in after_kill.items()}

    rerun = nightly(root, tmp_path / "rerun.events", dbt_target, how.command, env)
    trial.rerun_exit = rerun.wait()
    expected = references.expected_all if MODELS[0] in how.command else references.expected_load
    found = fingerprints(root, (*tables, STAGING_LEFTOVER))
    trial.rows_compared = sum(rows for rows, _ in expected.values())
    trial.mismatches = [
        f"{t}: {found[t][0]} rows (hash {found[t][1][:8]}), expected {rows} ({digest[:8]})"
        for t, (rows, digest) in expected.items()
        if found[t] != (rows, digest)
    ]
    if found[STAGING_LEFTOVER][0]:
        trial.mismatches.append(f"{STAGING_LEFTOVER} kept {found[STAGING_LEFTOVER][0]} rows")
    trial.recovered = trial.rerun_exit == 0 and not trial.mismatches
    _write_summary(trials)
    assert trial.rerun_exit == 0, rerun.stderr()
    assert trial.mismatches == []
    if point == "extract":  # held requests had reached the simulator before the kill
        time.sleep(
            max(0.0, worker.started + trial.killed_after_s + HOLD_SECONDS - time.monotonic())
        )
        held = sim.stats("keyapi")["faults"].get("slow", 0) - slow_before
        trial.killed_at += f" ({held} in flight)"
        _write_summary(trials)
        assert held >= 1, "no request was in flight at the kill"


def _write_summary(trials: list[Trial]) -> None:
    by_point: dict[str, dict[str, Any]] = {}
    for trial in trials:
        entry = by_point.setdefault(trial.point, {"trials": 0, "recovered": 0})
        entry["trials"] += 1
        entry["recovered"] += trial.recovered
    record(
        "crash_trials",
        {
            "trials": len(trials),
            "recovered": sum(t.recovered for t in trials),
            "rows_compared": sum(t.rows_compared for t in trials),
            "by_point": by_point,
            "records": [asdict(t) for t in trials],
        },
    )
