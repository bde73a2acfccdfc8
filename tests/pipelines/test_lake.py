"""pipelines/lake.py: relative settings name paths from where the process was launched."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

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
