"""Benchmark: the pipeline against a raw baseline on the same data, as ratios from one run.

Shared machines are noisy, so nothing here is a pass/fail threshold: each case times the
pipeline path and a hand-written baseline doing the same work in the same process, keeps
the best of `--repeat` tries of each, and prints rows/s and the ratio.

1. extract + load: KeyAPI daily rankings from the loopback simulator into the lake.
   pipeline = `keyapi_source` (shared client: auth, retries, validation, typing) through
   dlt's parquet path with a delete-insert merge; baseline = a bare httpx loop over the
   same requests, `json` parsing and one `CREATE TABLE AS` from a pyarrow table.
2. load only: `--load-rows` synthetic ranking rows already in memory as pyarrow.
   pipeline = dlt merge into the lake (what every raw table uses); baseline = the same
   delete-insert on the slice key in plain SQL, in the same lake.
3. re-pull: the same rows loaded again (a restatement) against their first load, through
   the pipeline's merge: a re-pull must cost what the first pull cost, not grow with rows.
4. engine: DuckLake (SQLite catalog) against one DuckDB file, on the same dlt first load,
   re-pull and an analyst query (the daily top 10 by views per region).

    .venv/bin/python scripts/benchmark.py [--days 14] [--pages 5] [--load-rows 200000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import duckdb
import httpx
import pyarrow as pa
from dlt.extract import DltResource

from assets.resources import WarehouseResource
from pipelines.keyapi import (
    MAX_PAGE_SIZE,
    RANKING_SCHEMA,
    SLICE_KEY,
    VIDEO_RANKING_PATH,
    keyapi_source,
    ranking_slices,
)
from pipelines.report import RunReport
from simulator.server import Simulator

REGIONS = ("US", "GB")
RANK_FIELDS = ("views", "sales")
FIRST_DAY = date(2026, 3, 1)
SIMULATOR_NOW = datetime(2026, 6, 1, tzinfo=UTC)  # every benchmark day is published


def best_of(repeat: int, run: Callable[[Path], int]) -> tuple[float, int]:
    """The fastest of `repeat` runs, each into a fresh lake; and its row count."""
    best, rows = float("inf"), 0
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            rows = run(Path(tmp) / "lake")
            best = min(best, time.perf_counter() - start)
    return best, rows


def table_rows(path: Path, table: str) -> int:
    with WarehouseResource(path=str(path)).connect(read_only=True) as con:
        [(count,)] = con.execute(f"select count(*) from {table}").fetchall()
    return count


def pipeline_extract_load(sim: Simulator, days: list[date], pages: int) -> Callable[[Path], int]:
    def run(path: Path) -> int:
        report = RunReport()
        source = keyapi_source(
            period="day",
            dates=days,
            regions=REGIONS,
            rank_fields=RANK_FIELDS,
            pages=pages,
            api_key=sim.api_keys["keyapi"],
            base_url=sim.base_url("keyapi"),
            requests_per_second=0,
            report=report,
        )
        pipeline = WarehouseResource(path=str(path)).dlt_pipeline("bench", "raw_keyapi")
        pipeline.run(source, loader_file_format="parquet")
        report.raise_if_stopped()
        return table_rows(path, "raw_keyapi.video_rankings_daily")

    return run


def baseline_extract_load(sim: Simulator, days: list[date], pages: int) -> Callable[[Path], int]:
    """The least a loader can do: same requests, no validation, no typing, no merge."""

    def run(path: Path) -> int:
        rows: list[dict] = []
        headers = {"Authorization": f"Bearer {sim.api_keys['keyapi']}"}
        with httpx.Client(base_url=sim.base_url("keyapi"), headers=headers) as client:
            for ranking in ranking_slices("day", days, REGIONS, RANK_FIELDS):
                for page in range(1, pages + 1):
                    params = ranking.params(page, MAX_PAGE_SIZE, None)
                    items = client.get(VIDEO_RANKING_PATH, params=params).json()["data"] or []
                    for offset, item in enumerate(items):
                        rank = (page - 1) * MAX_PAGE_SIZE + offset + 1
                        rows.append({**item, "rank": rank, "ranking_date": ranking.ranking_date})
                    if len(items) < MAX_PAGE_SIZE:
                        break
        with WarehouseResource(path=str(path)).connect() as con:
            con.register("batch", pa.Table.from_pylist(rows))
            con.execute("create table rankings as select * from batch")
        return table_rows(path, "rankings")

    return run


def synthetic_rankings(n: int) -> pa.Table:
    """`n` rows in the KeyAPI table's own schema: unique keys, realistic widths."""
    columns: dict[str, list] = {}
    for field in RANKING_SCHEMA:
        if field.name == "ranking_date":
            columns[field.name] = [FIRST_DAY + timedelta(days=i // 1000) for i in range(n)]
        elif field.name == "rank":
            columns[field.name] = [i % 1000 + 1 for i in range(n)]
        elif field.name in ("video_id", "user_id"):
            columns[field.name] = [7_600_000_000_000_000_000 + i for i in range(n)]
        elif pa.types.is_integer(field.type):
            columns[field.name] = [i * 37 % 100_000 for i in range(n)]
        elif pa.types.is_boolean(field.type):
            columns[field.name] = [i % 2 == 0 for i in range(n)]
        elif pa.types.is_timestamp(field.type):
            columns[field.name] = [None] * n
        elif field.name == "region":
            columns[field.name] = ["US"] * n
        elif field.name == "rank_field":
            columns[field.name] = ["views"] * n
        elif field.name == "product_category_id":
            columns[field.name] = ["all"] * n
        elif field.name == "rank_type":
            columns[field.name] = ["day"] * n
        else:
            columns[field.name] = [f"{field.name} text #{i}" for i in range(n)]
    return pa.table(columns, schema=RANKING_SCHEMA)


def rankings_resource(batch: pa.Table) -> DltResource:
    """The KeyAPI table's merge: delete-insert on the slice key alone (a re-pull replaces)."""

    @dlt.resource(
        name="video_rankings_daily",
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        merge_key=SLICE_KEY,
    )
    def rankings() -> Iterator[pa.Table]:
        yield from batch.to_batches(max_chunksize=10_000)

    return rankings()


def dlt_load(batch: pa.Table, destination: Callable[[Path], Any], times: int = 1) -> Callable:
    """dlt's parquet path into `destination(path)`, `times` loads of the same rows."""

    def run(path: Path) -> int:
        for _ in range(times):
            pipeline = dlt.pipeline(
                "bench_load",
                pipelines_dir=str(path.parent / f"dlt-{time.monotonic_ns()}"),
                destination=destination(path),
                dataset_name="raw_keyapi",
            )
            pipeline.run(rankings_resource(batch), loader_file_format="parquet")
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name("video_rankings_daily")
            [(count,)] = client.execute_sql(f"select count(*) from {table}")
        return count

    return run


def lake_destination(path: Path) -> Any:
    lake = WarehouseResource(path=str(path)).lake
    lake.prepare()
    return lake.dlt_destination("_dlt_staging_%s")


def file_destination(path: Path) -> Any:
    path.mkdir(parents=True, exist_ok=True)
    return dlt.destinations.duckdb(str(path / "warehouse.duckdb"))


def baseline_load(batch: pa.Table) -> Callable[[Path], int]:
    """The same delete-insert on the slice key, in plain SQL inside one lake transaction."""

    def run(path: Path) -> int:
        keys = ", ".join(SLICE_KEY)
        with WarehouseResource(path=str(path)).connect() as con:
            con.register("batch", batch)
            con.execute("create schema if not exists raw_keyapi")
            con.execute("create table raw_keyapi.rankings as select * from batch limit 0")
            con.execute("begin")
            con.execute(
                f"delete from raw_keyapi.rankings where ({keys}) in "
                f"(select distinct {keys} from batch)"
            )
            con.execute("insert into raw_keyapi.rankings select * from batch")
            con.execute("commit")
        return table_rows(path, "raw_keyapi.rankings")

    return run


def analyst_query(path: Path, table: str, attach: Callable[[Path], duckdb.DuckDBPyConnection]):
    """The daily top 10 by views per region: what an analyst runs first."""
    with attach(path) as con:
        return con.execute(
            f"select ranking_date, region, video_id, total_views_cnt from ( select *, "
            "row_number() over (partition by ranking_date, region order by total_views_cnt "
            f"desc) as position from {table}) where position <= 10"
        ).fetchall()


def engine_case(batch: pa.Table, repeat: int) -> None:
    """4. DuckLake against one DuckDB file: first load, re-pull, analyst query, as ratios."""
    print("4. engine: DuckLake (SQLite catalog) vs one DuckDB file, same dlt loads and query")
    for label, times in (("first load", 1), ("load + re-pull", 2)):
        lake_s, lake_rows = best_of(repeat, dlt_load(batch, lake_destination, times))
        file_s, file_rows = best_of(repeat, dlt_load(batch, file_destination, times))
        print(
            f"  {label:<15} lake {lake_s:>7.2f} s  file {file_s:>7.2f} s  "
            f"lake / file: {lake_s / file_s:.2f}x  ({lake_rows} vs {file_rows} rows)"
        )
    with tempfile.TemporaryDirectory() as tmp:
        lake_path, file_path = Path(tmp) / "lake", Path(tmp) / "file"
        dlt_load(batch, lake_destination)(lake_path)
        dlt_load(batch, file_destination)(file_path)

        def lake_con(path: Path) -> duckdb.DuckDBPyConnection:
            return WarehouseResource(path=str(path)).connect(read_only=True)

        def file_con(path: Path) -> duckdb.DuckDBPyConnection:
            return duckdb.connect(str(path / "warehouse.duckdb"), read_only=True)

        timings = {}
        for name, path, attach, table in (
            ("lake", lake_path, lake_con, "raw_keyapi.video_rankings_daily"),
            ("file", file_path, file_con, "raw_keyapi.video_rankings_daily"),
        ):
            analyst_query(path, table, attach)  # open once: the connection cost is not the query
            start = time.perf_counter()
            for _ in range(5):
                result = analyst_query(path, table, attach)
            timings[name] = (time.perf_counter() - start) / 5, len(result)
    (lake_q, lake_n), (file_q, file_n) = timings["lake"], timings["file"]
    print(
        f"  analyst query   lake {lake_q:>7.3f} s  file {file_q:>7.3f} s  "
        f"lake / file: {lake_q / file_q:.2f}x  ({lake_n} vs {file_n} rows)",
        flush=True,
    )


def compare(name: str, repeat: int, pipeline: Callable, baseline: Callable) -> tuple[int, int]:
    """Time both paths, print rows/s and the ratio; return both row counts."""
    base_s, base_rows = best_of(repeat, baseline)
    pipe_s, pipe_rows = best_of(repeat, pipeline)
    print(f"{name}")
    print(f"  baseline  {base_rows:>9} rows {base_s:>8.2f} s {base_rows / base_s:>11,.0f} rows/s")
    print(f"  pipeline  {pipe_rows:>9} rows {pipe_s:>8.2f} s {pipe_rows / pipe_s:>11,.0f} rows/s")
    print(f"  pipeline / baseline time: {pipe_s / base_s:.2f}x", flush=True)
    return pipe_rows, base_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=14, help="daily ranking dates to pull")
    parser.add_argument("--pages", type=int, default=5, help="pages of 10 per ranking list")
    parser.add_argument("--load-rows", type=int, default=200_000, help="rows for the load case")
    parser.add_argument("--repeat", type=int, default=2, help="tries per path; the best counts")
    args = parser.parse_args(argv)

    days = [FIRST_DAY + timedelta(days=i) for i in range(args.days)]
    requests = args.days * len(REGIONS) * len(RANK_FIELDS) * args.pages
    mismatches = []
    with Simulator(now=SIMULATOR_NOW).start() as sim:
        best_of(1, baseline_extract_load(sim, days, args.pages))  # warm the simulator's world
        counts = compare(
            f"1. extract + load: KeyAPI daily rankings, {args.days} days x {len(REGIONS)} "
            f"regions x {len(RANK_FIELDS)} fields x {args.pages} pages ({requests} requests)",
            args.repeat,
            pipeline_extract_load(sim, days, args.pages),
            baseline_extract_load(sim, days, args.pages),
        )
        mismatches += [] if counts[0] == counts[1] else ["extract + load"]
    batch = synthetic_rankings(args.load_rows)
    counts = compare(
        f"2. load only: {args.load_rows} ranking rows from pyarrow into the lake "
        "(dlt merge vs SQL delete-insert on the slice key)",
        args.repeat,
        dlt_load(batch, lake_destination),
        baseline_load(batch),
    )
    mismatches += [] if counts[0] == counts[1] else ["load only"]
    first_s, first_rows = best_of(args.repeat, dlt_load(batch, lake_destination))
    both_s, both_rows = best_of(args.repeat, dlt_load(batch, lake_destination, times=2))
    print(f"3. re-pull: {args.load_rows} rows merged again over their first load (the lake)")
    print(f"  first pull {first_s:>8.2f} s; re-pull {both_s - first_s:>8.2f} s")
    print(f"  re-pull / first pull time: {(both_s - first_s) / first_s:.2f}x", flush=True)
    mismatches += [] if first_rows == both_rows else ["re-pull"]
    engine_case(batch, args.repeat)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak_mib:,.0f} MiB")
    if mismatches:
        print(f"error: the two paths landed different row counts in: {mismatches}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
