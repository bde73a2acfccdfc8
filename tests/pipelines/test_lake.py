"""pipelines/lake.py: relative settings name paths from where the process was launched; a
writer stores the lake's row group size; a tampered extension fails the signature check."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

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
