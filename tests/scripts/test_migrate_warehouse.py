"""`scripts/migrate_warehouse.py`: an old single-file warehouse moves into the lake intact.

The old files are written by DuckDB 2.0.0 itself, in a venv made once per session (it is
pip-installed, hence `slow`), exactly as the previous version left them; DuckDB 1.5.5
cannot open them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import dlt
import duckdb
import pytest

from assets.keyapi import keyapi_assets
from assets.resources import STAGING_DATASET_LAYOUT
from pipelines.config import configured_source
from pipelines.keyapi import keyapi_source
from tests.conftest import count, materialize, rows

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "migrate_warehouse", ROOT / "scripts/migrate_warehouse.py"
)
migrate_warehouse = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(migrate_warehouse)

IDS = [7412345678901234567, 7412345678901234568, 9223372036854775807]
OLD_FILE_SQL = f"""
create schema raw_keyapi;
create table raw_keyapi.video_rankings_daily (
    ranking_date date not null, region varchar not null, rank_field varchar not null,
    product_category_id varchar not null, rank bigint not null, video_id bigint not null,
    user_id bigint, create_time timestamptz, _dlt_load_id varchar not null);
insert into raw_keyapi.video_rankings_daily values
    ('2026-03-03', 'US', 'views', '', 1, {IDS[0]}, {IDS[2]}, '2026-03-01 23:30:00+02', '1.5'),
    ('2026-03-03', 'US', 'views', '', 2, {IDS[1]}, null, '2026-03-02 08:00:00+00', '1.5'),
    ('2026-03-03', 'GB', 'sales', '', 1, {IDS[2]}, {IDS[0]}, null, '1.5');
create table raw_keyapi._dlt_loads (
    load_id varchar not null, schema_name varchar, status bigint not null,
    inserted_at timestamptz not null, schema_version_hash varchar);
insert into raw_keyapi._dlt_loads values ('1.5', 'keyapi', 0, '2026-03-05 03:00:00+00', 'h1');
create schema staging;
create view staging.stg_keyapi__video_rankings as select * from raw_keyapi.video_rankings_daily;
create schema marts;
create table marts.fct_video_ranking_movement as select 1 as video_id;
create schema _dlt_staging_raw_keyapi;
create table _dlt_staging_raw_keyapi.video_rankings_daily as
    select * from raw_keyapi.video_rankings_daily;
"""


@pytest.fixture(scope="session")
def old_duckdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the DuckDB that wrote the old files, made once for the session."""
    venv = tmp_path_factory.mktemp("duckdb-old") / "venv"
    started = time.monotonic()
    migrate_warehouse.old_duckdb_python(venv, migrate_warehouse.OLD_DUCKDB_VERSION)
    print(
        f"duckdb {migrate_warehouse.OLD_DUCKDB_VERSION} venv in {time.monotonic() - started:.1f} s"
    )
    return venv


def old_sql(venv: Path, path: Path, sql: str) -> None:
    """Run `sql` on the database file `path` with the old DuckDB."""
    code = "import duckdb, sys; duckdb.connect(sys.argv[1]).execute(sys.argv[2])"
    subprocess.run([venv / "bin" / "python", "-c", code, str(path), sql], check=True)


def migrate(warehouse_dir: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAREHOUSE_")}
    done = subprocess.run(
        [sys.executable, "scripts/migrate_warehouse.py", *map(str, args)],
        cwd=ROOT,
        env={**env, "WAREHOUSE_PATH": str(warehouse_dir)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(done.stdout, done.stderr)
    return done


def line_of(stdout: str, table: str) -> tuple[int, int, str]:
    """(rows old, rows new, match) of one table in the script's report."""
    found = re.search(rf"^{re.escape(table)} +(\d+) +(\d+) +(\w+) ", stdout, re.M)
    assert found, stdout
    return int(found[1]), int(found[2]), found[3]


@pytest.mark.slow
def test_an_old_2_0_file_moves_with_every_id_and_a_second_run_changes_nothing(
    tmp_path, old_duckdb, warehouse
):
    old = tmp_path / "warehouse.duckdb"
    old_sql(old_duckdb, old, OLD_FILE_SQL)
    with pytest.raises(duckdb.IOException, match="version number"):
        duckdb.connect(str(old), read_only=True)
    lake_dir = Path(warehouse.path)
    old_bytes = old.read_bytes()

    first = migrate(lake_dir, old, "--old-duckdb-venv", old_duckdb)
    assert first.returncode == 0
    assert "with DuckDB 2.0.0 in a separate venv" in first.stdout
    assert line_of(first.stdout, "raw_keyapi.video_rankings_daily") == (3, 3, "yes")
    assert line_of(first.stdout, "raw_keyapi._dlt_loads") == (1, 1, "yes")
    assert "not moved: staging.stg_keyapi__video_rankings (view, dbt rebuilds it)" in first.stdout
    assert rows(
        warehouse,
        "select region, rank, video_id, user_id, create_time from "
        "raw_keyapi.video_rankings_daily order by region desc, rank",
    ) == [
        ("US", 1, IDS[0], IDS[2], datetime(2026, 3, 1, 21, 30, tzinfo=UTC)),
        ("US", 2, IDS[1], None, datetime(2026, 3, 2, 8, 0, tzinfo=UTC)),
        ("GB", 1, IDS[2], IDS[0], None),
    ]
    assert rows(
        warehouse,
        "select column_name, data_type, is_nullable from duckdb_columns() "
        "where database_name = 'lake' and table_name = 'video_rankings_daily' "
        "and column_name in ('video_id', 'user_id', 'create_time') order by column_index",
    ) == [
        ("video_id", "BIGINT", False),
        ("user_id", "BIGINT", True),
        ("create_time", "TIMESTAMP WITH TIME ZONE", True),
    ]
    assert rows(warehouse, "select load_id, status from raw_keyapi._dlt_loads") == [("1.5", 0)]
    schemas = rows(
        warehouse,
        "select distinct schema_name from duckdb_tables() where database_name = 'lake'",
    )
    assert schemas == [("raw_keyapi",)], "no staging, marts or dlt merge staging"

    second = migrate(lake_dir, old, "--old-duckdb-venv", old_duckdb)
    assert second.returncode == 0
    assert "everything is already in the lake: 2 tables match" in second.stdout
    assert count(warehouse, "select count(*) from raw_keyapi.video_rankings_daily") == 3

    with warehouse.connect() as con:
        con.execute("delete from raw_keyapi.video_rankings_daily where rank = 2")
    refused = migrate(lake_dir, old, "--old-duckdb-venv", old_duckdb)
    assert refused.returncode == 1
    assert line_of(refused.stdout, "raw_keyapi.video_rankings_daily") == (3, 2, "NO")
    assert "refused: the lake holds 2 other rows (--replace)" in refused.stdout
    assert count(warehouse, "select count(*) from raw_keyapi.video_rankings_daily") == 2

    replaced = migrate(lake_dir, old, "--old-duckdb-venv", old_duckdb, "--replace")
    assert replaced.returncode == 0
    assert line_of(replaced.stdout, "raw_keyapi.video_rankings_daily") == (3, 3, "yes")
    assert (
        sorted(
            v for (v,) in rows(warehouse, "select video_id from raw_keyapi.video_rankings_daily")
        )
        == IDS
    )
    assert old.read_bytes() == old_bytes, "the old file is only read"


def previous_version_load(path: Path) -> None:
    """What the previous version did: KeyAPI's 2026-03-03 rankings via dlt into one file."""
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
    pipeline = dlt.pipeline(
        pipeline_name="keyapi_video_rankings_daily",
        pipelines_dir=tempfile.mkdtemp(prefix="dlt-old-"),
        destination=dlt.destinations.duckdb(
            str(path), staging_dataset_name_layout=STAGING_DATASET_LAYOUT
        ),
        dataset_name="raw_keyapi",
    )
    source = configured_source(
        keyapi_source,
        period="day",
        dates=[date(2026, 3, 3)],
        regions=["US", "GB"],
        rank_fields=["views", "sales"],
        pages=2,
    )
    pipeline.run(source)


@pytest.mark.slow
def test_dlt_merges_a_repull_into_the_migrated_lake_without_duplicates(
    sim, tmp_path, old_duckdb, warehouse, watchlist
):
    readable = tmp_path / "loaded.duckdb"
    previous_version_load(readable)
    old = tmp_path / "warehouse.duckdb"
    old_sql(
        old_duckdb,
        old,
        f"attach '{readable}' as src (read_only); copy from database src to warehouse",
    )
    moved = migrate(Path(warehouse.path), old, "--old-duckdb-venv", old_duckdb)
    assert moved.returncode == 0
    assert line_of(moved.stdout, "raw_keyapi.video_rankings_daily") == (80, 80, "yes")
    for table in ("_dlt_loads", "_dlt_version", "_dlt_pipeline_state"):
        assert line_of(moved.stdout, f"raw_keyapi.{table}") == (1, 1, "yes")
    assert "not moved: _dlt_staging_raw_keyapi.video_rankings_daily" in moved.stdout
    [(old_load,)] = rows(warehouse, "select load_id from raw_keyapi._dlt_loads")
    [(old_state,)] = rows(warehouse, "select version from raw_keyapi._dlt_pipeline_state")

    result = materialize([keyapi_assets[0]], warehouse, watchlist, partition_key="2026-03-03")
    assert result.success
    assert count(warehouse, "select count(*) from raw_keyapi.video_rankings_daily") == 80
    duplicates = (
        "select count(*) from (select ranking_date, region, rank_field, product_category_id, "
        "rank from raw_keyapi.video_rankings_daily group by all having count(*) > 1)"
    )
    assert count(warehouse, duplicates) == 0
    loads = [load for (load,) in rows(warehouse, "select load_id from raw_keyapi._dlt_loads")]
    assert len(loads) == 2 and old_load in loads
    [new_load] = set(loads) - {old_load}
    assert rows(warehouse, "select distinct _dlt_load_id from raw_keyapi.video_rankings_daily") == [
        (new_load,)
    ], "the re-pull replaced the migrated rows"
    # dlt read the migrated state back and carried it on: version 2, not a fresh version 1
    states = rows(
        warehouse,
        "select version, _dlt_load_id from raw_keyapi._dlt_pipeline_state order by 1",
    )
    assert states == [(old_state, old_load), (old_state + 1, new_load)]


def test_a_file_this_duckdb_reads_needs_no_second_interpreter(tmp_path, warehouse):
    old = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(old)) as con:
        con.execute("create schema raw_influtics")
        con.execute("create table raw_influtics.video_stats (video_id bigint primary key)")
        con.execute(f"insert into raw_influtics.video_stats values ({IDS[0]}), ({IDS[1]})")
    never = tmp_path / "never-made"
    done = migrate(Path(warehouse.path), old, "--old-duckdb-venv", never)
    assert done.returncode == 0
    assert f"with DuckDB {duckdb.__version__} (" in done.stdout
    assert not never.exists()
    assert line_of(done.stdout, "raw_influtics.video_stats") == (2, 2, "yes")
    assert "video_id / moved" in done.stdout
    assert rows(warehouse, "select video_id from raw_influtics.video_stats order by 1") == [
        (IDS[0],),
        (IDS[1],),
    ]


def test_a_missing_old_file_is_refused_naming_it(tmp_path, warehouse):
    done = migrate(Path(warehouse.path), tmp_path / "nope.duckdb")
    assert done.returncode == 2
    assert f"no old warehouse file at {tmp_path / 'nope.duckdb'}" in done.stderr
