"""Fixtures that own the real parts: the simulator, a temporary lake, a Dagster home."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import pytest
from dagster_dlt import DagsterDltResource

from assets.partitions import add_snapshot_day, snapshot_partitions
from assets.resources import WarehouseResource, WatchlistResource
from simulator.server import Simulator

ROOT = Path(__file__).resolve().parents[1]
FAST_CLIENT = {
    "REQUESTS_PER_SECOND": "0",
    "BACKOFF_BASE": "0.01",
    # Loopback answers in milliseconds, but two test workers share 2 cores: a tighter
    # timeout turns a starved simulator thread into a retry and an exact request count off.
    "READ_TIMEOUT": "8",
    "MAX_ATTEMPTS": "6",
}


@pytest.fixture(scope="session")
def simulator() -> Iterator[Simulator]:
    """One real HTTP simulator for the session; faults are reset around every test."""
    with Simulator().start() as sim:
        yield sim


@pytest.fixture
def sim(simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """The simulator with every vendor's base URL and key in dlt's env config."""
    simulator.reset_faults()
    for name, value in simulator.source_env().items():
        monkeypatch.setenv(name, value)
    for vendor in simulator.vendors:
        for name, value in FAST_CLIENT.items():
            monkeypatch.setenv(f"SOURCES__{vendor.upper()}__{name}", value)
    yield simulator
    simulator.reset_faults()


@pytest.fixture
def frozen_now() -> datetime:
    """The instant `frozen` stops the simulator's clock at: real now, so snapshots are today's.

    A module whose tests need a fixed day overrides this fixture."""
    return datetime.now(UTC)


@pytest.fixture
def frozen(sim: Simulator, frozen_now: datetime, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    """The simulator with its clock held still: every pull in a test sees the same world."""
    monkeypatch.setattr(sim, "now", frozen_now)
    return sim


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseResource:
    """A temporary embedded lake (SQLite catalog + Parquet files) under `tmp_path`."""
    return WarehouseResource(path=str(tmp_path / "warehouse"))


@pytest.fixture
def watchlist(tmp_path: Path) -> WatchlistResource:
    """A small watchlist: two regions, both rank fields, two pages per list."""
    path = tmp_path / "watchlist.yaml"
    path.write_text("keyapi:\n  regions: [US, GB]\n  rank_fields: [views, sales]\n  pages: 2\n")
    return WatchlistResource(path=str(path))


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dg.DagsterInstance]:
    """A real instance configured by the repo's dagster.yaml, in a temporary home."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "instance" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as instance:
        yield instance


def count(warehouse: WarehouseResource, sql: str) -> int:
    with warehouse.connect(read_only=True) as con:
        return con.execute(sql).fetchone()[0]


def rows(warehouse: WarehouseResource, sql: str) -> list[tuple]:
    with warehouse.connect(read_only=True) as con:
        return con.execute(sql).fetchall()


def lake_bytes(warehouse: WarehouseResource) -> bytes:
    """Every byte the lake holds on disk (catalog and Parquet), to prove no secret landed."""
    return b"".join(path.read_bytes() for path in warehouse.lake.local_files())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_dagster(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    """Until the Dagster webserver at `url` answers; fails with the log's tail if `process`
    (what serves it) exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/server_info", timeout=2).is_success:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, f"exited during start-up:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no Dagster UI at {url} within {timeout} s"
        time.sleep(0.5)


def session_pids(session: int) -> list[int]:
    """Every live process of `session` (a script started as its leader, start_new_session)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == session:
                found.append(int(entry.name))
        except ProcessLookupError:
            continue
    return found


def today() -> str:
    """Today's UTC date as a daily partition key; call it inside the test, not at import."""
    return datetime.now(UTC).date().isoformat()


def materialize(
    assets: Sequence[Any],
    warehouse: WarehouseResource,
    watchlist: WatchlistResource,
    instance: dg.DagsterInstance | None = None,
    **kwargs: Any,
) -> dg.ExecuteInProcessResult:
    """One in-process run of ingest `assets` with the real dlt, warehouse and watchlist
    resources; failures are returned, not raised. `kwargs` go to `dg.materialize`
    (`partition_key`, `tags`). A snapshot day is added first, as the schedule does."""
    key = kwargs.get("partition_key")
    if key and any(getattr(a, "partitions_def", None) == snapshot_partitions for a in assets):
        instance = instance or dg.DagsterInstance.ephemeral()
        add_snapshot_day(instance, key)
    return dg.materialize(
        assets,
        resources={"dlt": DagsterDltResource(), "warehouse": warehouse, "watchlist": watchlist},
        instance=instance,
        raise_on_error=False,
        **kwargs,
    )


def drift_of(result: dg.ExecuteInProcessResult) -> tuple[list[dict], dict[str, Any]]:
    """A run's `schema_drift` metadata rows and its `schema_drift` check evaluations by table,
    from the materialization or, for a failed run, from the step failure."""
    checks = {
        e.asset_key.path[-1]: e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "schema_drift"
    }
    mats = result.get_asset_materialization_events()
    if mats:
        meta = mats[0].materialization.metadata
    else:
        (failure,) = result.get_step_failure_events()
        meta = failure.step_failure_data.user_failure_data.metadata
    return meta["schema_drift"].value, checks


def one_drift_of(result: dg.ExecuteInProcessResult) -> tuple[list[dict], Any]:
    """`drift_of` for a run of one raw table: its rows and its one check evaluation."""
    drifted, checks = drift_of(result)
    (check,) = checks.values()
    return drifted, check


def named(drifted: list[dict]) -> set[tuple[str, str, str, str, str]]:
    """Drift rows as (vendor, table, field, kind, partition)."""
    return {(d["vendor"], d["table"], d["field"], d["kind"], d["partition"]) for d in drifted}
