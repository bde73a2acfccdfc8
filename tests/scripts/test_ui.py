"""scripts/ui.sh left running unattended (`nohup bash scripts/ui.sh &`, so the schedules fire)
must stop on one SIGTERM, whole: a shell started in the background hands its children SIGINT
ignored, and dagster dev maps SIGTERM to SIGINT's handler. The `--simulator` path is stopped the
same way by tests/e2e/test_dagster_ui.py."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port, session_pids, wait_for_dagster

START_TIMEOUT = 120
STOP_TIMEOUT = 30


@pytest.mark.slow
def test_ui_started_with_sigint_ignored_stops_whole_on_one_sigterm(tmp_path: Path) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "instance" / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "WAREHOUSE_PATH": str(tmp_path / "lake")}
    port = free_port()
    output = tmp_path / "ui.log"
    with output.open("wb") as log:
        # `trap "" INT` then exec: ui.sh starts with SIGINT ignored, as under `nohup ... &`.
        process = subprocess.Popen(
            ["bash", "-c", 'trap "" INT; exec bash scripts/ui.sh -h 127.0.0.1 -p "$0"', str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_dagster(f"http://127.0.0.1:{port}", process, output, START_TIMEOUT)
        assert len(session_pids(process.pid)) >= 3  # dagster dev, its webserver and daemon
        os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT)
        deadline = time.monotonic() + 15
        while session_pids(process.pid):
            assert time.monotonic() < deadline, f"left behind: {session_pids(process.pid)}"
            time.sleep(0.2)
    finally:
        for pid in session_pids(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert process.returncode == 0, output.read_text()[-2000:]
