"""The load path alone: the same arrow rows through dlt's merge and through SQL delete-insert.

Each case runs in a fresh process (`python -m bench.load <path> <rows> <dir>`), so its peak
memory is its own: the rows are built first, then the kernel's peak-RSS mark is reset
(`/proc/self/clear_refs`) and `VmHWM` read after each load, less the resident size the input
left. `dlt` is the KeyAPI table's real merge (its resource's hints: delete-insert on the slice
key, the arrow contract) fed 10,000-row batches, through `WarehouseResource.dlt_pipeline`
into a DuckLake; `sql` is a delete-insert of the same rows on the same key in one transaction
of the same kind of lake. Each loads twice: the first load, then the re-load (a restatement
of every slice).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from dlt.extract import DltResource

from assets.resources import WarehouseResource, remove_working_dir
from pipelines.keyapi import RANKING_SCHEMA, SLICE_KEY, TABLE_FOR_PERIOD, keyapi_source
from pipelines.lake import Lake

BATCH_ROWS = 10_000
ROWS_PER_SLICE = 1_000  # a long ranking list: 100 pages of 10
TABLE = TABLE_FOR_PERIOD["day"]
DATASET = "raw_keyapi"
EPOCH_DAY = 20_500  # 2026-02-15 as days since 1970


def synthetic_rankings(n: int) -> pa.Table:
    """`n` rows in the KeyAPI table's schema: unique (slice, rank), realistic widths."""
    i = np.arange(n, dtype=np.int64)
    text = pc.cast(pa.array(i), pa.string())
    columns: dict[str, pa.Array] = {}
    for field in RANKING_SCHEMA:
        name = field.name
        if name == "ranking_date":
            column = pa.array((EPOCH_DAY + i // ROWS_PER_SLICE).astype(np.int32)).cast(pa.date32())
        elif name == "rank":
            column = pa.array(i % ROWS_PER_SLICE + 1)
        elif name in ("video_id", "user_id"):
            column = pa.array(7_600_000_000_000_000_000 + i)
        elif name == "create_time":
            column = pa.array((1_770_000_000 + i) * 1_000_000).cast(field.type)
        elif pa.types.is_integer(field.type):
            column = pa.array(i * 37 % 100_000)
        elif pa.types.is_boolean(field.type):
            column = pa.array(i % 2 == 0)
        elif name in ("region", "rank_field", "product_category_id", "rank_type"):
            value = {"region": "US", "rank_field": "views", "rank_type": "day"}.get(name, "all")
            column = pa.array(np.full(n, value, dtype=object), pa.string())
        else:
            column = pc.binary_join_element_wise(f"{name} text #", text, "")
        columns[name] = column.cast(field.type)
    return pa.table(columns, schema=RANKING_SCHEMA)


def rankings_resource(rows: pa.Table) -> DltResource:
    """`rows` as the KeyAPI source's own daily-rankings resource would yield them."""
    real = keyapi_source(dates=[], api_key="unused").resources[TABLE]

    def batches() -> Iterator[pa.Table]:
        for batch in rows.to_batches(max_chunksize=BATCH_ROWS):
            yield pa.Table.from_batches([batch])

    return dlt.resource(
        batches,
        name=TABLE,
        write_disposition=real.write_disposition,
        merge_key=list(SLICE_KEY),
        columns=real.columns,
        schema_contract=real.schema_contract,
    )


def _status(field: str) -> int:
    """A `VmRSS` / `VmHWM` line of /proc/self/status, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> int:
    """Reset the peak-RSS mark to the current RSS; return that RSS."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def load_dlt(rows: pa.Table, root: Path) -> int:
    warehouse = WarehouseResource(path=str(root))
    pipeline = warehouse.dlt_pipeline("bench_load", DATASET)
    try:
        pipeline.run(rankings_resource(rows), loader_file_format="parquet")
    finally:
        remove_working_dir(pipeline)  # as the assets do, timed with the load
    with warehouse.connect(read_only=True) as con:
        return con.execute(f"select count(*) from {DATASET}.{TABLE}").fetchone()[0]


def load_sql(rows: pa.Table, root: Path) -> int:
    keys = ", ".join(SLICE_KEY)
    with Lake.from_settings(root=str(root)).connect() as con:
        con.register("batch", rows)
        con.execute(f"create schema if not exists {DATASET}")
        con.execute(f"create table if not exists {DATASET}.{TABLE} as from batch limit 0")
        con.execute("begin")
        con.execute(
            f"delete from {DATASET}.{TABLE} where ({keys}) in (select distinct {keys} from batch)"
        )
        con.execute(f"insert into {DATASET}.{TABLE} from batch")
        con.execute("commit")
        con.unregister("batch")
        return con.execute(f"select count(*) from {DATASET}.{TABLE}").fetchone()[0]


LOADERS = {"dlt": load_dlt, "sql": load_sql}


def case(path: str, n: int, root: Path) -> dict[str, Any]:
    """First load and re-load of `n` rows by `path`, in this process."""
    rows = synthetic_rankings(n)
    result: dict[str, Any] = {"path": path, "rows": n, "input_mib": rows.nbytes / 2**20}
    for label in ("first", "reload"):
        before = _reset_peak()
        start = time.perf_counter()
        stored = LOADERS[path](rows, root)
        seconds = time.perf_counter() - start
        result[label] = {
            "seconds": round(seconds, 3),
            "rows_per_s": round(n / seconds),
            "peak_above_input_mib": round((_status("VmHWM") - before) / 2**20, 1),
            "rows_stored": stored,
        }
    return result


def run_case(path: str, n: int, root: Path) -> dict[str, Any]:
    """`case` in a fresh interpreter: its memory is measured alone."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", path, str(n), str(root)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load case {path} {n} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(case(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))))
