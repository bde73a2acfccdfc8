"""bench/models.py writes its synthetic history into raw tables declared in
bench/models_raw_tables.sql: they must stay the tables the real pipelines create."""

from __future__ import annotations

from pathlib import Path

import duckdb

from assets.resources import WarehouseResource
from bench.models import RAW_TABLES
from tests.conftest import rows

COLUMNS = (
    "select schema_name || '.' || table_name, column_name, data_type from duckdb_columns() "
    "where database_name = '{db}' and schema_name like 'raw_%' "
    "and table_name not like '_dlt%' order by 1, column_index"
)


def test_bench_raw_tables_are_the_ones_the_real_load_creates(
    raw_lake: WarehouseResource, tmp_path: Path
) -> None:
    loaded = rows(raw_lake, COLUMNS.format(db="lake"))
    with duckdb.connect(str(tmp_path / "bench.duckdb")) as con:
        ddl = RAW_TABLES.read_text()
        for schema in {t.split(".")[0] for t, _, _ in loaded}:
            con.execute(f"create schema {schema}")
        con.execute(ddl)
        declared = con.execute(COLUMNS.format(db="bench")).fetchall()
    assert len({t for t, _, _ in loaded}) >= 25
    assert declared == loaded
