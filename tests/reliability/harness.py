"""What the crash trials, the Dagster kill trials and the soak share.

- `Worker`: a process started in its own session, watched through its events file and killed
  with SIGKILL as a whole process group (a dbt child dies with it).
- `Fingerprints`: row count and content hash of each table of a lake, read through one
  read-only DuckDB connection that attaches each lake in turn (extensions load once).
- `record`: one section of `tests/artifacts/reliability/summary.json` (or
  `$RELIABILITY_ARTIFACTS_DIR`), written whatever `-s` says, for the closing note to quote.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from pipelines.lake import Lake, duckdb_config
from tests.conftest import ROOT

ARTIFACTS = Path(
    os.environ.get("RELIABILITY_ARTIFACTS_DIR") or ROOT / "tests" / "artifacts" / "reliability"
)
# Columns that differ between two loads of the same data: the vendor's per-answer request id
# and dlt's load ids. Everything else must match to the byte.
VOLATILE = ("request_id", "_dlt_load_id", "_dlt_id")
# Doubles are compared to this many decimals: two uninterrupted `dbt run`s on one lake differ
# in the last bits of the marts' double sums (DuckDB adds in thread order), crash or not.
DOUBLE_DIGITS = 6
RAW = ("raw_keyapi.video_rankings_daily",)
MARTS = ("marts.fct_product_sales_daily", "marts.fct_video_ranking_movement")
STAGING_LEFTOVER = "_dlt_staging_raw_keyapi.video_rankings_daily"


class Worker:
    """A `python -m <module>` process in a session of its own, with an events file."""

    def __init__(self, module: str, args: Sequence[str], events: Path, env: dict[str, str]):
        self.events = events
        self.started = time.monotonic()
        with self._stderr_path.open("wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )

    @property
    def _stderr_path(self) -> Path:
        return self.events.with_name(f"{self.events.name}.stderr")

    def lines(self) -> list[str]:
        """Every event so far, without its timestamp."""
        if not self.events.exists():
            return []
        return [line.split(" ", 1)[1] for line in self.events.read_text().splitlines() if line]

    def wait_for(self, seen: Callable[[list[str]], bool], timeout: float = 120) -> list[str]:
        """Poll the events every 5 ms until `seen(lines)`; fail if the process ends first."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if seen(lines):
                return lines
            if self.process.poll() is not None:
                raise AssertionError(f"exited {self.process.returncode} first:\n{self.stderr()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not seen within {timeout} s; last events {lines[-3:]}")
            time.sleep(0.005)

    def kill(self) -> float:
        """SIGKILL the whole process group; seconds since start. Waits until none is left."""
        at = time.monotonic() - self.started
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        deadline = time.monotonic() + 10
        while group_alive(self.process.pid):
            assert time.monotonic() < deadline, "a process of the killed group survived"
            time.sleep(0.05)
        return at

    def wait(self, timeout: float = 300) -> int:
        return self.process.wait(timeout=timeout)

    def stderr(self) -> str:
        return self._stderr_path.read_text()[-3000:]


def group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process of process group `pgid` remains."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class Fingerprints:
    """(rows, md5 of the sorted rows without `VOLATILE` columns) per table of a lake."""

    def __init__(self) -> None:
        self.con = duckdb.connect(config=duckdb_config())
        self.attached = 0

    def __call__(self, root: Path, tables: Sequence[str]) -> dict[str, tuple[int, str]]:
        """Opens the lake read-only; a table that does not exist is (0, "")."""
        self.attached += 1
        alias = f"lake_{self.attached}"
        self.con.execute(Lake.from_settings(str(root)).attach_sql(alias, read_only=True))
        try:
            return {table: self._table(alias, table) for table in tables}
        finally:
            self.con.execute(f"DETACH {alias}")

    def _table(self, alias: str, table: str) -> tuple[int, str]:
        schema, name = table.split(".")
        columns = [
            f"round({column}, {DOUBLE_DIGITS})" if kind in ("DOUBLE", "FLOAT") else column
            for column, kind in self.con.execute(
                "select column_name, data_type from duckdb_columns() where database_name = ? "
                "and schema_name = ? and table_name = ? order by column_index",
                [alias, schema, name],
            ).fetchall()
            if column not in VOLATILE
        ]
        if not columns:
            return 0, ""
        row = f"row({', '.join(columns)})::varchar"
        rows, digest = self.con.execute(
            f"select count(*), md5(coalesce(string_agg({row}, chr(10) order by {row}), '')) "
            f"from {alias}.{table}"
        ).fetchone()
        return rows, digest

    def close(self) -> None:
        self.con.close()


def record(section: str, value: Any) -> Path:
    """Write `value` as `section` of summary.json, keeping the other sections."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "summary.json"
    summary = json.loads(path.read_text()) if path.exists() else {}
    summary[section] = value
    path.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    return path
