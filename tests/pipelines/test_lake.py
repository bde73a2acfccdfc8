"""pipelines/lake.py: relative settings name paths from where the process was launched; dlt's
load jobs open DuckDBs that skip a signature check this process already made."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import dlt
import duckdb
import pytest

from assets.resources import DBT_EXECUTABLE, WAREHOUSE_PROJECT_DIR
from pipelines import lake as lake_module
from pipelines.lake import Lake


def test_relative_warehouse_path_reaches_dbt_resolved_against_the_launch_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch = tmp_path / "launch"
    launch.mkdir()
    monkeypatch.setattr(lake_module, "LAUNCH_DIR", launch)
    # read where dagster-dbt reads it: inside warehouse/, not where the user launched
    monkeypatch.chdir(WAREHOUSE_PROJECT_DIR)
    env = {"WAREHOUSE_PATH": "my/lake", "WAREHOUSE_DATA_PATH": "my/files"}

    lake = Lake.from_settings(env=env)

    assert lake.sqlite_file == launch / "my" / "lake" / "warehouse.sqlite"
    assert lake.data_path == f"{launch / 'my' / 'files'}/"
    catalog = Lake.from_settings(
        env={"WAREHOUSE_CATALOG": "sqlite:///team/catalog.sqlite", **env}
    ).sqlite_file
    assert catalog == launch / "team" / "catalog.sqlite"
    # dbt, run in warehouse/, opens (and so creates) the lake there and nowhere else
    lake.prepare()
    debug = subprocess.run(
        [DBT_EXECUTABLE, "debug", "--profiles-dir", "."],
        cwd=WAREHOUSE_PROJECT_DIR,
        env={**os.environ, **lake.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert debug.returncode == 0, debug.stdout + debug.stderr
    assert lake.sqlite_file.exists()
    assert not (WAREHOUSE_PROJECT_DIR / "my").exists()


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
    assert isinstance(pool, lake_module._VerifiedOncePool)

    # A second borrow while one is out still gets dlt's settings (a new DuckDB each time).
    first, second = pool.borrow_conn(), pool.borrow_conn()
    for con in (first, second):
        settings = con.execute(
            "select current_setting('extension_directory'), "
            "current_setting('allow_unsigned_extensions')"
        ).fetchone()
        assert settings == (str(lake_module.extension_directory()), True)
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


def test_a_writer_stores_the_lake_row_group_size_and_its_files_use_it(tmp_path: Path) -> None:
    lake = Lake.from_settings(root=str(tmp_path / "lake"))
    con = lake.connect()
    stored = "select value from ducklake_options('lake') where option_name = ?"
    assert con.execute(stored, ["parquet_row_group_size"]).fetchone() == ("20000",)
    con.execute("create schema s")
    con.execute("create table s.t as select range as x from range(50000)")
    files = con.execute("select data_file from ducklake_list_files('lake', 't', schema => 's')")
    (path,) = files.fetchone()
    groups = duckdb.sql(f"select count(*) from parquet_metadata('{path}')").fetchone()
    assert groups == (3,)  # 20,000 + 20,000 + 10,000 rows


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
        for statement in lake_module._LakeMergeJob.gen_merge_sql(
            [pipeline.default_schema.get_table("items")],
            pipeline.destination_client().sql_client,
        )
        if statement.startswith('DELETE FROM "raw_merge"')
    ]
    assert len(deletes) == 2 and not any(" OR " in statement for statement in deletes)
    assert lake_module._MERGE_KEYS_TABLE in deletes[1]


def test_an_extension_file_that_is_not_the_signed_one_fails_the_check_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUCKDB_EXTENSION_DIRECTORY", str(tmp_path))
    copied = next(lake_module.ensure_extensions().rglob("ducklake.duckdb_extension"))
    data = bytearray(copied.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, so ensure_extensions keeps this copy
    copied.write_bytes(bytes(data))
    lake_module.verify_extension_signatures.cache_clear()
    try:
        with pytest.raises(duckdb.Error, match="ducklake"):
            lake_module.verify_extension_signatures()
    finally:
        lake_module.verify_extension_signatures.cache_clear()
