"""kill -9 of the whole Dagster process tree mid-run; started again, the next run completes alone.

`dagster dev` (webserver, daemon, code server and the run worker they spawn) runs in a session
of its own, with a temporary DAGSTER_HOME holding the repo's dagster.yaml as it is, and a
temporary lake. A run of `daily_job` (the KeyAPI ranking only) is killed with the whole tree
while its step holds the `vendor_keyapi` pool slot and a request is in flight (the simulator
holds it). Nobody is left to mark that run failed, so its slot would block every later KeyAPI
run forever; run monitoring ends it once past its run timeout (the killed run carries a 20 s
`dagster/max_runtime_seconds` so the trial does not wait for the instance's default) and frees
its slot `free_slots_after_run_end_seconds` later. The test measures how long the next
launched run takes from the restart to success, with nothing done by hand.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster_graphql import DagsterGraphQLClient

from assets.resources import WarehouseResource
from simulator.server import Simulator
from tests.conftest import FAST_CLIENT, ROOT, free_port, session_pids, wait_for_dagster
from tests.reliability.harness import group_alive, record

pytestmark = pytest.mark.slow

DAY = "2026-11-02"
RANKING = dg.AssetKey(["raw_keyapi", "video_rankings_daily"])
POOL = "vendor_keyapi"
START_TIMEOUT = 180
RECOVERY_TIMEOUT = 420
DAGSTER = str(Path(sys.executable).with_name("dagster"))
KILLED_RUN_TIMEOUT = "20"  # dagster/max_runtime_seconds of the run that gets killed


class DagsterDev:
    """`dagster dev` on a loopback port, in its own session (so its whole tree is found)."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.process = env, log, None
        self.port = free_port()

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    DAGSTER,
                    "dev",
                    "-m",
                    "assets.definitions",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                ],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for_dagster(f"http://127.0.0.1:{self.port}", self.process, self.log, START_TIMEOUT)

    def launch(self, tags: dict[str, str]) -> str:
        """A run of daily_job's KeyAPI ranking for DAY, once the code location answers."""
        client = DagsterGraphQLClient("127.0.0.1", port_number=self.port)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                return client.submit_job_execution(
                    "daily_job", tags={"dagster/partition": DAY, **tags}, asset_selection=[RANKING]
                )
            except Exception:
                assert time.monotonic() < deadline, "the code location never took the run"
                time.sleep(1)

    def pids(self) -> list[int]:
        assert self.process is not None
        return session_pids(self.process.pid)

    def kill_tree(self) -> int:
        """SIGKILL every process of the session; how many there were."""
        pids = self.pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait(timeout=30)
        deadline = time.monotonic() + 15
        while group_alive(self.process.pid) or any(_alive(pid) for pid in pids):
            assert time.monotonic() < deadline, "a Dagster process survived SIGKILL"
            time.sleep(0.1)
        return len(pids)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while self.pids() and any(_alive(pid) for pid in self.pids()):
            assert time.monotonic() < deadline, "dagster dev left processes behind"
            time.sleep(0.2)


def _alive(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(now=datetime(2026, 11, 4, 3, tzinfo=UTC)).start() as simulator:
        yield simulator


def _wait_for(what: str, check, timeout: float) -> float:
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.5)
    return time.monotonic() - started


def test_the_next_run_completes_by_itself_after_the_whole_tree_is_killed(
    sim: Simulator, tmp_path: Path
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "instance" / "dagster.yaml", home / "dagster.yaml")
    watchlist = yaml.safe_load((ROOT / "watchlist.yaml").read_text())
    watchlist["keyapi"].update(regions=["US"], rank_fields=["views"], pages=2)
    (tmp_path / "watchlist.yaml").write_text(yaml.safe_dump(watchlist))
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("SOURCES__")}
    env = {
        **inherited,
        **sim.source_env(),
        **{f"SOURCES__KEYAPI__{k}": v for k, v in FAST_CLIENT.items()},
        "SOURCES__KEYAPI__READ_TIMEOUT": "600",  # the held request must stay in flight
        "DAGSTER_HOME": str(home),
        "WAREHOUSE_PATH": str(tmp_path / "lake"),
        "WATCHLIST_PATH": str(tmp_path / "watchlist.yaml"),
    }
    dev = DagsterDev(env, tmp_path / "dagster-dev.log")
    instance = None
    try:
        dev.start()
        sim.set_faults("keyapi", script=["ok", "slow"], slow_seconds=600)
        killed = dev.launch({"dagster/max_runtime_seconds": KILLED_RUN_TIMEOUT})
        instance = dg.DagsterInstance.from_config(str(home))

        def holds_slot_mid_request() -> bool:
            info = instance.event_log_storage.get_concurrency_info(POOL)
            return killed in info.active_run_ids and sim.stats("keyapi")["total"] >= 1

        _wait_for("the run's step holding its slot mid-request", holds_slot_mid_request, 240)
        time.sleep(0.5)
        processes = dev.kill_tree()
        assert instance.get_run_by_id(killed).status == dg.DagsterRunStatus.STARTED
        sim.reset_faults()

        restarted = time.monotonic()
        dev.start()
        following = dev.launch({})

        def finished() -> bool:
            return instance.get_run_by_id(following).is_finished

        _wait_for("the next run", finished, RECOVERY_TIMEOUT)
        recovery = time.monotonic() - restarted
        killed_status = instance.get_run_by_id(killed).status
        following_status = instance.get_run_by_id(following).status
        with dg.DagsterInstance.from_config(str(home)) as fresh:
            slots = fresh.event_log_storage.get_concurrency_info(POOL).active_slot_count
        with WarehouseResource(path=str(tmp_path / "lake")).connect(read_only=True) as con:
            rows = con.execute(
                "select count(*), count(distinct rank), min(ranking_date)::varchar "
                f"from raw_keyapi.{RANKING.path[1]}"
            ).fetchone()
        record(
            "dagster_tree",
            {
                "trials": 1,
                "processes_killed": processes,
                "killed_run_status_after": str(killed_status),
                "next_run_status": str(following_status),
                "recovery_seconds_from_restart": round(recovery, 1),
                "rows": rows[0],
            },
        )
        print(
            f"\ntree of {processes} processes killed; next run {following_status} after "
            f"{recovery:.0f} s from the restart"
        )
        assert killed_status == dg.DagsterRunStatus.FAILURE
        assert following_status == dg.DagsterRunStatus.SUCCESS
        assert slots == 0
        assert rows == (20, 20, DAY)
    finally:
        if instance is not None:
            instance.dispose()
        dev.stop()
