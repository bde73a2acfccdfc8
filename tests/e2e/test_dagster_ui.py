"""The engineer's path: `dagster dev` from the repo root, its GraphQL API, a UI backfill.

Starts the real webserver and daemon (as `scripts/ui.sh` does) against the simulator,
reads what the UI shows, launches a two-day backfill the way the UI's Materialize
dialog does, and checks the rows it lands and that the key appears nowhere in the logs.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

from simulator.server import Simulator

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BACKFILL_DAYS = ["2026-03-02", "2026-03-03"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DagsterUI:
    def __init__(self, url: str, warehouse: Path, home: Path, key: str) -> None:
        self.url, self.warehouse, self.home, self.key = url, warehouse, home, key

    def graphql(self, query: str, **variables: object) -> dict:
        response = httpx.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=30
        )
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterUI]:
    tmp = tmp_path_factory.mktemp("ui")
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    watchlist = tmp / "watchlist.yaml"
    watchlist.write_text("keyapi:\n  regions: [US]\n  rank_fields: [views]\n  pages: 2\n")
    port = _free_port()
    with Simulator().start() as sim:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "WAREHOUSE_PATH": str(tmp / "warehouse.duckdb"),
            "WATCHLIST_PATH": str(watchlist),
            "SOURCES__KEYAPI__BASE_URL": sim.base_url("keyapi"),
            "SOURCES__KEYAPI__API_KEY": sim.api_keys["keyapi"],
            "SOURCES__KEYAPI__REQUESTS_PER_SECOND": "0",
        }
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster"),
                "dev",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # one signal to the group stops webserver, daemon, code server
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, "dagster dev exited during start-up"
                assert time.monotonic() < deadline, "dagster dev did not start within 120 s"
                time.sleep(1)
            yield DagsterUI(url, tmp / "warehouse.duckdb", home, sim.api_keys["keyapi"])
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


ASSETS = """
{ assetNodes { assetKey { path } groupName isPartitioned
    partitionDefinition { description }
    assetChecksOrError { ... on AssetChecks { checks { name } } } } }
"""
SCHEDULES = """
{ repositoriesOrError { ... on RepositoryConnection { nodes { name
    schedules { name cronSchedule executionTimezone scheduleState { status } } } } } }
"""


def test_ui_shows_assets_partitions_checks_and_schedules(ui: DagsterUI) -> None:
    nodes = {"/".join(n["assetKey"]["path"]): n for n in ui.graphql(ASSETS)["assetNodes"]}
    daily = nodes["raw_keyapi/video_rankings_daily"]
    assert daily["groupName"] == "keyapi" and daily["isPartitioned"]
    assert "Daily" in daily["partitionDefinition"]["description"]
    assert nodes["raw_keyapi/video_rankings_weekly"]["isPartitioned"]
    checks = {
        c["name"] for c in nodes["marts/fct_video_ranking_movement"]["assetChecksOrError"]["checks"]
    }
    assert any(name.startswith("unique_combination__") for name in checks)
    assert nodes["staging/stg_keyapi__video_rankings"]["groupName"] == "staging"
    (repo,) = ui.graphql(SCHEDULES)["repositoriesOrError"]["nodes"]
    schedules = {s["name"]: s for s in repo["schedules"]}
    assert schedules["daily_schedule"]["cronSchedule"] == "0 3 * * *"
    assert schedules["daily_schedule"]["executionTimezone"] == "UTC"
    assert schedules["daily_schedule"]["scheduleState"]["status"] == "RUNNING"


LAUNCH = """
mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }
"""
STATUS = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) {
  ... on PartitionBackfill { status runs(limit: 10) { runId status } } } }
"""
LOGS = """
query($id: ID!) {
  logsForRun(runId: $id) {
    ... on EventConnection { events { ... on MessageEvent { message } } }
  }
}
"""


def test_backfill_launched_from_the_ui_lands_every_partition(ui: DagsterUI) -> None:
    params = {
        "assetSelection": [{"path": ["raw_keyapi", "video_rankings_daily"]}],
        "partitionNames": BACKFILL_DAYS,
    }
    launched = ui.graphql(LAUNCH, params=params)["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    deadline = time.monotonic() + 240
    while True:
        backfill = ui.graphql(STATUS, id=launched["backfillId"])["partitionBackfillOrError"]
        if backfill["status"] not in ("REQUESTED", "CANCELING", "FAILING"):
            break
        assert time.monotonic() < deadline, f"backfill still {backfill['status']} after 240 s"
        time.sleep(2)
    assert backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), backfill
    assert len(backfill["runs"]) == 1, "a time-window range backfills as one run"
    with duckdb.connect(str(ui.warehouse), read_only=True) as con:
        rows = con.execute(
            "select ranking_date::varchar, count(*) from raw_keyapi.video_rankings_daily "
            "group by 1 order by 1"
        ).fetchall()
    assert rows == [(day, 20) for day in BACKFILL_DAYS]
    events = ui.graphql(LOGS, id=backfill["runs"][0]["runId"])["logsForRun"]["events"]
    text = " ".join(e.get("message") or "" for e in events)
    assert "requests" in text, "the run reports what it spent"
    assert ui.key not in text
    stored = [p for p in ui.home.rglob("*") if p.is_file()]
    assert stored, "the run left its storage under DAGSTER_HOME"
    assert not [p for p in stored if ui.key.encode() in p.read_bytes()], "key in Dagster storage"
    assert ui.key.encode() not in ui.warehouse.read_bytes()
