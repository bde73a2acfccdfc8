"""Team mode for real: a DuckLake whose catalog is PostgreSQL, Dagster's storage on the same
server, two writer processes and two readers at once, against the simulator.

The writers are separate processes configured only through the environment (as a team's
machines would be): one runs the KeyAPI nightly for two days and today's Influtics snapshot,
the other today's Trendtrack and EnsembleData snapshots. Meanwhile two readers count rows:
one opening a connection for every read (an analyst's query), one holding its connection (a
BI tool). Afterwards the lake must hold exactly what the same runs write into an embedded
(SQLite) lake.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from assets.ensembledata import ensembledata_tiktok
from assets.influtics import influtics_video_stats
from assets.keyapi import keyapi_assets
from assets.resources import WarehouseResource, WatchlistResource
from assets.trendtrack import trendtrack_checks, trendtrack_library
from pipelines.lake import Lake, duckdb_config
from tests.conftest import ROOT, free_port, materialize, today
from tests.postgres import PostgresServer

DAYS = ["2026-03-03", "2026-03-04"]
KEYAPI_DAILY = next(a for a in keyapi_assets if next(iter(a.specs)).tags["period"] == "day")
DAILY_KEY = dg.AssetKey(["raw_keyapi", "video_rankings_daily"])
# What each team writer runs, one run per (assets, partition): the nightly's KeyAPI days and
# today's snapshots, split so both writers take about as long (None = today's partition).
WRITERS = {
    "first": [([KEYAPI_DAILY], DAYS), ([influtics_video_stats], None)],
    "second": [([trendtrack_library, trendtrack_checks, ensembledata_tiktok], None)],
}
WATCHLIST = """
keyapi:
  regions: [US, GB]
  rank_fields: [views, sales]
  pages: 2
trendtrack:
  limit: 50
  queries:
    - {name: skincare, search: [skincare], search_area: hashtag, max_pages: 2}
ensembledata:
  daily_units_budget: 200
  max_pages: 2
  hashtags: [skincare, makeup]
  keywords: [{name: honest review, period: 7}]
"""
# Every user table of the vendors' datasets (dlt's emptied merge staging left out).
TABLES_SQL = (
    "select schema_name, table_name from duckdb_tables() where database_name = 'lake' "
    "and schema_name like 'raw\\_%' escape '\\' order by all"
)
WRITER_TIMEOUT_S = 600
# Dagster's run, event and schedule storage on the team's server; the URL (with its password)
# comes from the environment, so no file holds it.
PG_STORAGE = "\nstorage:\n  postgres:\n    postgres_url:\n      env: DAGSTER_PG_URL\n"


def write(kinds: str, partition: str) -> None:
    """One writer process (`kinds` comma-separated), configured only by the environment, as a
    team member's machine would be; prints each run's id and outcome."""
    warehouse, watchlist = WarehouseResource(), WatchlistResource()
    with dg.DagsterInstance.get() as instance:
        for kind in kinds.split(","):
            for assets, days in WRITERS[kind]:
                for key in days or [partition]:
                    result = materialize(assets, warehouse, watchlist, instance, partition_key=key)
                    outcome = {"run_id": result.run_id, "success": result.success}
                    print(json.dumps(outcome), flush=True)


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per raw table, all read in one transaction (one snapshot of the lake)."""
    con.execute("begin transaction")
    try:
        return {
            f"{schema}.{table}": con.execute(
                f'select count(*) from "{schema}"."{table}"'
            ).fetchone()[0]
            for schema, table in con.execute(TABLES_SQL).fetchall()
        }
    finally:
        con.execute("rollback")


class Reader(threading.Thread):
    """Counts every raw table until stopped, then once more (so its last read comes after
    every writer finished); records each read and any failure."""

    def __init__(self, lake: Lake, reconnect: bool) -> None:
        super().__init__(daemon=True)
        self.lake, self.reconnect = lake, reconnect
        self.stop = threading.Event()
        self.reads: list[dict[str, int]] = []
        self.errors: list[str] = []

    def run(self) -> None:
        con = None
        while True:
            last = self.stop.is_set()
            try:
                if con is None:
                    con = self.lake.connect(read_only=True)
                self.reads.append(table_counts(con))
            except Exception as exc:  # every failed read is a finding, reported at the end
                self.errors.append(f"{type(exc).__name__}: {exc}")
            if con is not None and (self.reconnect or last):
                con.close()
                con = None
            if last:
                return
            self.stop.wait(0.5)

    def went_down(self) -> list[str]:
        """Tables whose count ever dropped between two reads."""
        worse = []
        for before, after in zip(self.reads, self.reads[1:], strict=False):
            worse += [t for t, n in before.items() if after.get(t, 0) < n]
        return sorted(set(worse))


def dagster_home(path: Path, storage: str = "") -> Path:
    """The repo's dagster.yaml in `path`, plus `storage` settings."""
    path.mkdir()
    (path / "dagster.yaml").write_text((ROOT / "instance" / "dagster.yaml").read_text() + storage)
    return path


def start_writer(kinds: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A writer process; its output goes to a file, as an undrained pipe would stall it once
    the pipe's buffer fills."""
    code = f"from tests.e2e.test_team_mode_postgres import write; write({kinds!r}, {today()!r})"
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )


def run_ids(out: str) -> list[str]:
    results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert results and all(r["success"] for r in results), out
    return [r["run_id"] for r in results]


def secrets_in(text: str | bytes, secrets: list[str]) -> list[str]:
    blob = text.encode() if isinstance(text, str) else text
    return [s[:4] + "..." for s in secrets if s.encode() in blob]


def test_readers_in_many_threads_open_the_team_lake_at_once(
    postgres: PostgresServer, tmp_path: Path
):
    """Two readers in one process (the test below, a BI server) open connections at once;
    each starts with `duckdb_config()`, so it is hammered too, where a race would show."""
    lake = Lake.from_settings(
        catalog=postgres.create_database("threads_lake"), data_path=str(tmp_path / "lake")
    )
    with lake.connect() as con:
        con.execute("create schema raw_x; create table raw_x.t as select range as n from range(7)")
    gate = threading.Barrier(8)
    got: list[object] = []

    def read() -> None:
        gate.wait()
        try:
            for _ in range(20):
                duckdb_config()
            with lake.connect(read_only=True) as con:
                got.append(con.execute("select count(*) from raw_x.t").fetchone()[0])
        except Exception as exc:  # collected: a failed connect is the finding
            got.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert got == [7] * 8


def unreachable(postgres: PostgresServer, tmp_path: Path) -> Lake:
    """A lake whose catalog URL has the real password but a port nothing listens on."""
    url = postgres.create_database(f"gone_{tmp_path.name[-24:].lower()}")
    url = url.replace(f":{postgres.port}/", f":{free_port()}/")
    return Lake.from_settings(catalog=url, data_path=str(tmp_path / "lake"))


def test_an_unreachable_catalog_fails_saying_where_without_its_password(
    postgres: PostgresServer, tmp_path: Path
):
    lake = unreachable(postgres, tmp_path)
    with pytest.raises(duckdb.IOException) as caught:
        lake.connect(read_only=True)
    text = "".join(traceback.format_exception(caught.value))
    assert "Connection refused" in text and "127.0.0.1" in text
    assert postgres.password not in text and "trends:***@" in text


def test_an_ingest_run_on_an_unreachable_catalog_logs_no_password(
    sim, postgres: PostgresServer, tmp_path: Path, watchlist
):
    lake = unreachable(postgres, tmp_path)
    warehouse = WarehouseResource(catalog=lake.catalog, data_path=lake.data_path)
    result = materialize([KEYAPI_DAILY], warehouse, watchlist, partition_key=DAYS[0])
    assert not result.success
    assert all(postgres.password not in str(event) for event in result.all_events)


@pytest.mark.slow
def test_two_writers_and_two_readers_share_a_postgres_catalog_lake(
    frozen, postgres: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    started = time.monotonic()
    catalog = postgres.create_database("team_lake")
    # SQLAlchemy 2.1 reads a bare postgresql:// as psycopg 3; dagster-postgres ships psycopg2.
    dagster_url = postgres.create_database("team_dagster").replace(
        "postgresql://", "postgresql+psycopg2://"
    )
    data_path = tmp_path / "lake"
    home = dagster_home(tmp_path / "dagster_home", PG_STORAGE)
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(WATCHLIST)
    base = {k: v for k, v in os.environ.items() if not k.startswith("WAREHOUSE_")}
    base["WATCHLIST_PATH"] = str(watchlist)
    # a load test, not a fault test: a busy machine must not turn into read timeouts
    base |= {f"SOURCES__{vendor.upper()}__READ_TIMEOUT": "15" for vendor in frozen.vendors}
    team = base | {
        "WAREHOUSE_CATALOG": catalog,
        "WAREHOUSE_DATA_PATH": str(data_path),
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_URL": dagster_url,
    }
    embedded = base | {
        "WAREHOUSE_PATH": str(tmp_path / "embedded"),
        "DAGSTER_HOME": str(dagster_home(tmp_path / "embedded_home")),
    }
    lake = Lake.from_settings(env=team)
    assert lake.is_postgres and lake.data_path == f"{data_path}/"
    # The lake and Dagster's tables exist (empty) before anyone runs, as a team's would.
    lake.connect().close()
    monkeypatch.setenv("DAGSTER_PG_URL", dagster_url)
    dg.DagsterInstance.from_config(str(home)).dispose()

    readers = [Reader(lake, reconnect=True), Reader(lake, reconnect=False)]
    for reader in readers:
        reader.start()
    # the two team writers, and the reference: the same runs into an embedded lake
    plan = {"first": team, "second": team, "first,second": embedded}
    logs = {kinds: tmp_path / f"{kinds.replace(',', '+')}.log" for kinds in plan}
    writers = {kinds: start_writer(kinds, env, logs[kinds]) for kinds, env in plan.items()}
    try:
        for proc in writers.values():
            proc.wait(timeout=WRITER_TIMEOUT_S)
    finally:
        for proc in writers.values():
            proc.kill()
        for reader in readers:
            reader.stop.set()
            reader.join(timeout=30)
    outputs = {kinds: log.read_text(errors="replace") for kinds, log in logs.items()}
    for kinds, proc in writers.items():
        assert proc.returncode == 0, f"{kinds} writer failed: {outputs[kinds][-3000:]}"
    ids = {kinds: run_ids(out) for kinds, out in outputs.items()}
    written = time.monotonic() - started

    with lake.connect(read_only=True) as con:
        final = table_counts(con)
    # the readers: every read succeeded, counts only grew, and the last read saw it all
    for reader in readers:
        assert reader.errors == [], reader.errors[:3]
        assert len(reader.reads) >= 3 and reader.went_down() == []
        assert reader.reads[-1] == final
    assert any(0 < sum(r.values()) < sum(final.values()) for r in readers[0].reads), (
        "the readers saw the lake while the writers were writing"
    )
    assert final["raw_keyapi.video_rankings_daily"] == len(DAYS) * 2 * 2 * 20
    reference = WarehouseResource(path=embedded["WAREHOUSE_PATH"])
    with reference.connect(read_only=True) as con:
        assert final == table_counts(con)

    # Dagster's storage is the postgres server, and it holds the team writers' runs
    team_runs = set(ids["first"]) | set(ids["second"])
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        records = {r.dagster_run.run_id: r for r in instance.get_run_records()}
        assert set(records) == team_runs
        assert {r.dagster_run.status for r in records.values()} == {dg.DagsterRunStatus.SUCCESS}
        mats = instance.fetch_materializations(DAILY_KEY, limit=10).records
        assert sorted(m.partition_key for m in mats) == DAYS
    assert postgres.sql("select count(*) from runs", "team_dagster").strip() == str(len(team_runs))
    # the two team writers overlapped: each started before the other ended
    first, second = (
        (records[ids[kind][0]].start_time, records[ids[kind][-1]].end_time)
        for kind in ("first", "second")
    )
    assert first[0] < second[1] and second[0] < first[1], (first, second)

    # no secret anywhere: Dagster's storage, the catalog, the data files, the writers' output
    secrets = [postgres.password, *frozen.api_keys.values()]
    assert secrets_in(postgres.dump("team_dagster"), secrets) == []
    assert secrets_in(postgres.dump("team_lake"), secrets) == []
    for path in [*lake.local_files(), *(p for p in home.rglob("*") if p.is_file())]:
        assert secrets_in(path.read_bytes(), secrets) == [], path
    for out in outputs.values():
        assert secrets_in(out, secrets) == []
    print(f"team mode: runs {written:.0f}s, whole test {time.monotonic() - started:.0f}s")
