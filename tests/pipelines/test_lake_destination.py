"""pipelines/lake_destination.py: dlt's load jobs open DuckDBs that skip a signature check this
process already made; capabilities are resolved once; a delete-insert merge reads its Parquet
load files in place, keeps dlt's semantics (keys, nested tables, schema evolution), and a crash
before it loses nothing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import dlt
import pytest
from dlt.common.normalizers.naming.snake_case import NamingConvention as SnakeCaseNaming

from pipelines import lake_destination
from pipelines.lake import Lake, extension_directory


def _lake_pipeline(tmp_path: Path, name: str) -> tuple[Lake, dlt.Pipeline]:
    """A dlt pipeline into a new embedded lake, through the lake's own destination."""
    lake = Lake.from_settings(root=str(tmp_path / "lake"))
    lake.prepare()
    pipeline = dlt.pipeline(
        f"lake_{name}",
        destination=lake.dlt_destination("_dlt_staging_%s"),
        dataset_name=f"raw_{name}",
        pipelines_dir=str(tmp_path / "dlt"),
    )
    return lake, pipeline


def test_dlt_load_jobs_get_fresh_duckdbs_set_up_by_dlt_and_a_merge_stays_exact(
    tmp_path: Path,
) -> None:
    lake, pipeline = _lake_pipeline(tmp_path, "pool")
    # Named and typed as dlt's own ducklake: pipeline state and config sections unchanged.
    assert pipeline.destination.destination_type == "dlt.destinations.ducklake"
    assert pipeline.destination.destination_name == "ducklake"
    with pipeline.destination_client() as client:
        pool = client.config.credentials.conn_pool
    assert isinstance(pool, lake_destination._VerifiedOncePool)

    # A second borrow while one is out still gets dlt's settings (a new DuckDB each time).
    first, second = pool.borrow_conn(), pool.borrow_conn()
    for con in (first, second):
        settings = con.execute(
            "select current_setting('extension_directory'), "
            "current_setting('allow_unsigned_extensions')"
        ).fetchone()
        assert settings == (str(extension_directory()), True)
    first.execute("create table only_here (x int)")
    assert second.execute("select count(*) from duckdb_tables() where table_name = 'only_here'")
    assert second.fetchone() == (0,)
    pool.return_conn(first)
    pool.return_conn(second)
    assert pool._conn_borrows == 0 and pool._conn is None

    rows = [{"id": i, "day": "2026-12-01", "views": i * 10} for i in range(50)]
    resource = dlt.resource(rows, name="stats", write_disposition="merge", primary_key="id")
    for _ in range(2):  # a re-run replaces, never duplicates
        pipeline.run(resource, loader_file_format="parquet")
    with lake.connect(read_only=True) as con:
        assert con.execute("select count(*), sum(views) from raw_pool.stats").fetchone() == (
            50,
            12_250,
        )


def test_capabilities_are_resolved_once_and_each_caller_gets_its_own_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake, pipeline = _lake_pipeline(tmp_path, "caps")
    destination = lake.dlt_destination("_dlt_staging_%s")
    resolved: list[bool] = []
    resolve = type(destination).configuration

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        resolved.append(True)
        return resolve(self, *args, **kwargs)

    monkeypatch.setattr(type(destination), "configuration", counting)
    first = destination.capabilities()
    first.preferred_loader_file_format = "edited by this caller"
    again = destination.capabilities()
    assert len(resolved) == 1
    assert again.preferred_loader_file_format != "edited by this caller"
    assert again.supported_merge_strategies == first.supported_merge_strategies
    naming = SnakeCaseNaming()  # a naming convention adjusts the answer: its own entry
    destination.capabilities(naming=naming)
    destination.capabilities(naming=SnakeCaseNaming())
    assert len(resolved) == 2

    # A run loads through the kept answers.
    rows = [{"id": i, "views": i} for i in range(10)]
    pipeline.run(dlt.resource(rows, name="stats", write_disposition="merge", primary_key="id"))
    with lake.connect(read_only=True) as con:
        assert con.execute("select count(*), sum(views) from raw_caps.stats").fetchone() == (10, 45)


def test_delete_insert_deletes_by_each_key_and_keeps_dlt_semantics(tmp_path: Path) -> None:
    """Primary and merge key both set: a staged row replaces every stored row that shares its
    primary key or its merge key; rows whose key part is NULL never match (as in dlt)."""
    lake, pipeline = _lake_pipeline(tmp_path, "merge")

    def load(rows: list[dict]) -> None:
        resource = dlt.resource(
            rows,
            name="items",
            write_disposition={"disposition": "merge", "strategy": "delete-insert"},
            primary_key="id",
            merge_key=["day", "region"],
            columns={"region": {"data_type": "text", "nullable": True}},
        )
        pipeline.run(resource, loader_file_format="parquet")

    load(
        [
            {"id": 1, "day": "d1", "region": "US", "v": 1},
            {"id": 2, "day": "d1", "region": "US", "v": 2},
            {"id": 3, "day": "d2", "region": "US", "v": 3},
            {"id": 4, "day": "d3", "region": None, "v": 4},
        ]
    )
    # slice (d1, US) restated with one row; id 3 moved to slice (d4, GB); a NULL region again
    load(
        [
            {"id": 1, "day": "d1", "region": "US", "v": 10},
            {"id": 3, "day": "d4", "region": "GB", "v": 30},
            {"id": 5, "day": "d3", "region": None, "v": 5},
        ]
    )
    with lake.connect(read_only=True) as con:
        stored = con.execute("select id, v from raw_merge.items order by id").fetchall()
    assert stored == [(1, 10), (3, 30), (4, 4), (5, 5)]
    # one delete per key, the merge key's through its distinct values, none an OR
    deletes = [
        statement
        for statement in lake_destination._LakeMergeJob.gen_merge_sql(
            [pipeline.default_schema.get_table("items")],
            pipeline.destination_client().sql_client,
        )
        if statement.startswith('DELETE FROM "raw_merge"')
    ]
    assert len(deletes) == 2 and not any(" OR " in statement for statement in deletes)
    assert lake_destination.MERGE_KEYS_TABLE in deletes[1]


def _staging_writes(lake: Lake, staging_schema: str) -> int:
    """How many of the lake's snapshots wrote rows into a data table of `staging_schema`
    (dlt's own `_dlt_version` there is written on every schema change)."""
    with lake.connect(read_only=True) as con:
        ids = {
            str(table_id)
            for (table_id,) in con.execute(
                "select t.table_id from __ducklake_metadata_lake.ducklake_table t "
                "join __ducklake_metadata_lake.ducklake_schema s using (schema_id) "
                "where s.schema_name = ? and t.table_name <> '_dlt_version'",
                [staging_schema],
            ).fetchall()
        }
        changes = [c for (c,) in con.execute("select changes from lake.snapshots()").fetchall()]
    # rows go to Parquet files, or into the catalog itself when few (DuckLake's inlining)
    written = [
        table_id
        for change in changes
        for kind in ("tables_inserted_into", "inlined_insert")
        for table_id in change.get(kind, [])
    ]
    return sum(1 for table_id in written if table_id in ids)


def test_a_merge_reads_its_parquet_files_in_place_and_a_re_run_replaces(tmp_path: Path) -> None:
    lake, pipeline = _lake_pipeline(tmp_path, "files")
    first = [{"id": i, "day": "d1", "views": i, "old": "x"} for i in range(100)]
    # the re-pull drops the column `old` and brings `new`; ids 50-99 are not re-pulled
    second = [{"id": i, "day": "d1", "views": 10 * i, "new": i} for i in range(50)]
    for rows in (first, second):
        resource = dlt.resource(rows, name="stats", write_disposition="merge", primary_key="id")
        pipeline.run(resource, loader_file_format="parquet")
    with lake.connect(read_only=True) as con:
        stored = con.execute(
            "select count(*), count(distinct id), sum(views), count(old), count(new) "
            "from raw_files.stats"
        ).fetchone()
    assert stored == (100, 100, 10 * sum(range(50)) + sum(range(50, 100)), 50, 50)
    assert _staging_writes(lake, "_dlt_staging_raw_files") == 0


def test_nested_rows_and_jsonl_files_still_go_through_staging_and_stay_exact(
    tmp_path: Path,
) -> None:
    """A nested table is merged from its staging table, its root from the files; a JSONL load
    is dlt's own path throughout."""
    lake, pipeline = _lake_pipeline(tmp_path, "nested")
    for views, file_format in ((1, "parquet"), (2, "parquet"), (3, "jsonl")):
        rows = [{"id": i, "views": views, "tags": [f"t{i}", f"u{i}"]} for i in range(20)]
        resource = dlt.resource(rows, name="posts", write_disposition="merge", primary_key="id")
        pipeline.run(resource, loader_file_format=file_format)
        with lake.connect(read_only=True) as con:
            assert con.execute("select count(*), sum(views) from raw_nested.posts").fetchone() == (
                20,
                20 * views,
            )
            assert con.execute("select count(*) from raw_nested.posts__tags").fetchone() == (40,)
    assert _staging_writes(lake, "_dlt_staging_raw_nested") > 0  # the nested rows and JSONL


CRASH_AT_MERGE = """
import os, sys
from pathlib import Path
import dlt
from dlt.destinations import job_client_impl
from pipelines.lake import Lake, extension_directory

real_run = job_client_impl.SqlLoadJob.run

def crash_on_merge(job):
    if "_lake_staged" in Path(job._file_path).read_text():
        os._exit(9)  # killed: the load files ran, their merge did not
    return real_run(job)

job_client_impl.SqlLoadJob.run = crash_on_merge
root = Path(sys.argv[1])
lake = Lake.from_settings(root=str(root / "lake"))
lake.prepare()
pipeline = dlt.pipeline("lake_crash", destination=lake.dlt_destination("_dlt_staging_%s"),
    dataset_name="raw_crash", pipelines_dir=str(root / "dlt"))
rows = [{"id": i, "views": int(sys.argv[2])} for i in range(30)]
pipeline.run(dlt.resource(rows, name="stats", write_disposition="merge", primary_key="id"),
    loader_file_format="parquet")
"""


def test_a_crash_before_the_merge_loses_nothing_and_a_plain_re_run_completes(
    tmp_path: Path,
) -> None:
    lake, pipeline = _lake_pipeline(tmp_path, "crash")
    rows = [{"id": i, "views": 1} for i in range(30)]
    resource = dlt.resource(rows, name="stats", write_disposition="merge", primary_key="id")
    pipeline.run(resource, loader_file_format="parquet")

    crashed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CRASH_AT_MERGE), str(tmp_path), "7"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert crashed.returncode == 9, crashed.stderr[-2000:]
    with lake.connect(read_only=True) as con:  # the stored rows are untouched
        assert con.execute("select count(*), sum(views) from raw_crash.stats").fetchone() == (
            30,
            30,
        )

    assert pipeline.has_pending_data
    pipeline.run()  # the pending package: its merge reads the files the crashed run left
    with lake.connect(read_only=True) as con:
        assert con.execute("select count(*), sum(views) from raw_crash.stats").fetchone() == (
            30,
            210,
        )
