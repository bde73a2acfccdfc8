"""Per vendor: the real dlt source into a fresh lake against a bare replay of its requests.

The pipeline is what an ingest asset runs, without Dagster: the vendor's dlt source, fed from
the watchlist, loaded by dlt into a temporary DuckLake (`pipelines.lake` through
`WarehouseResource.dlt_pipeline`). The baseline is the least a loader can do for the same
result: the very requests the pipeline made (as the simulator recorded them) sent by a plain
httpx loop honouring the same requests per second, each answer JSON-decoded, then the same
rows the pipeline stored (table by table, dlt's own columns left out) delete-inserted on each
table's merge or primary key in plain DuckDB SQL, on a lake of the same kind. Shaping the
answers into those rows is left out of the baseline, so it is the cheaper side. An untimed
pipeline run first warms the simulator's world (and this process's imports), so neither timed
path pays for a cold start the other does not.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dlt
import httpx
import pyarrow as pa

from assets.resources import WarehouseResource, remove_working_dir
from bench.limits import LimitedSimulator, Served
from pipelines.ensembledata import EnsembleDataReport, ensembledata_source
from pipelines.influtics import InfluticsReport, influtics_source
from pipelines.keyapi import keyapi_source
from pipelines.report import RunReport
from pipelines.tiktok_research import tiktok_research_source
from pipelines.trendtrack import trendtrack_source
from pipelines.watchlist import Watchlist


@dataclass(frozen=True)
class Nightly:
    """What one nightly asks of each vendor: its watchlist and its partition window."""

    watchlist: Watchlist
    keyapi_days: tuple[date, ...]
    research_days: tuple[date, ...]
    observed_on: date

    @classmethod
    def ending(cls, watchlist: Watchlist, today: date, keyapi_days: int, research_days: int):
        """KeyAPI publishes a day late; Research re-queries its lookback; snapshots are today."""
        last = today - timedelta(days=1)
        ranked = today - timedelta(days=2)
        return cls(
            watchlist,
            tuple(ranked - timedelta(days=i) for i in reversed(range(keyapi_days))),
            tuple(last - timedelta(days=i) for i in reversed(range(research_days))),
            today,
        )

    def source(self, vendor: str, rps: float) -> Any:
        """A fresh dlt source for `vendor` (keys and base URLs resolve from the environment)."""
        w = self.watchlist
        if vendor == "keyapi":
            k = w.keyapi
            return keyapi_source(
                period="day",
                dates=self.keyapi_days,
                regions=k.regions,
                rank_fields=k.rank_fields,
                product_category_ids=k.product_category_ids,
                pages=k.pages,
                created_by_ai=k.created_by_ai,
                requests_per_second=rps,
                report=RunReport(),
            )
        if vendor == "influtics":
            i = w.influtics
            return influtics_source(
                observed_on=self.observed_on,
                platform=i.platform,
                status=i.status,
                page_size=i.page_size,
                requests_per_second=rps,
                report=InfluticsReport(),
            )
        if vendor == "trendtrack":
            return trendtrack_source(
                watch=w.trendtrack,
                observed_on=self.observed_on,
                requests_per_second=rps,
                report=RunReport(),
            )
        if vendor == "ensembledata":
            # The units budget counts every run of the day at the vendor: the warm-up run and
            # the baseline would eat the timed run's budget, so it is set out of reach.
            watch = w.ensembledata.model_copy(update={"daily_units_budget": 1_000_000})
            return ensembledata_source(
                watch=watch,
                observed_on=self.observed_on,
                requests_per_second=rps,
                report=EnsembleDataReport(),
            )
        if vendor == "tiktok_research":
            return tiktok_research_source(
                watch=w.tiktok_research, days=self.research_days, requests_per_second=rps
            )
        raise ValueError(f"no vendor {vendor!r}")


Stored = dict[str, tuple[pa.Table, tuple[str, ...]]]


def stored_tables(warehouse: WarehouseResource, pipeline: dlt.Pipeline, schema: str) -> Stored:
    """Every table of `schema` (dlt's own left out): its rows without dlt's columns, and the
    key a re-load replaces them on (merge key, else primary key; none for an append)."""
    tables = pipeline.default_schema.data_tables()
    with warehouse.connect(read_only=True) as con:
        found = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_catalog = 'lake' "
                "and table_schema = ?",
                [schema],
            ).fetchall()
        }
        stored: Stored = {}
        for table in tables:
            name = table["name"]
            if name not in found:
                continue
            columns = table["columns"].values()
            keys = tuple(c["name"] for c in columns if c.get("merge_key")) or tuple(
                c["name"] for c in columns if c.get("primary_key")
            )
            rows = con.execute(
                f"select columns(c -> not starts_with(c, '_dlt')) from {schema}.\"{name}\""
            ).fetch_arrow_table()
            stored[name] = (rows, keys)
    return stored


def run_pipeline(nightly: Nightly, vendor: str, rps: float, root: Path) -> tuple[float, Stored]:
    """The vendor's source loaded by dlt into a fresh lake under `root`: (seconds, its rows)."""
    warehouse = WarehouseResource(path=str(root))
    start = time.perf_counter()
    source = nightly.source(vendor, rps)
    pipeline = warehouse.dlt_pipeline(f"bench_{vendor}", f"raw_{vendor}")
    try:
        pipeline.run(source, loader_file_format="parquet")
        seconds = time.perf_counter() - start
        return seconds, stored_tables(warehouse, pipeline, f"raw_{vendor}")
    finally:
        remove_working_dir(pipeline)


def run_baseline(
    sim: LimitedSimulator, requests: list[Served], rps: float, rows: Stored, root: Path
) -> tuple[float, int]:
    """The same requests at the same rate, decoded; `rows` delete-inserted in plain SQL."""
    warehouse = WarehouseResource(path=str(root))
    start = time.perf_counter()
    interval, next_at = 1.0 / rps, 0.0
    with httpx.Client(base_url=sim.url) as client:
        for request in requests:
            time.sleep(max(0.0, next_at - time.monotonic()))
            reply = client.request(
                request.method, request.target, headers=request.headers, content=request.body
            )
            # Paced from the answer, as `sleep(1 / rps)` after each call: the vendor never sees
            # two requests closer than the limit, however late a loaded box sends one.
            next_at = time.monotonic() + interval
            if reply.status_code == 200:
                reply.json()
    stored = 0
    with warehouse.connect() as con:
        con.execute("create schema if not exists baseline")
        for name, (batch, keys) in rows.items():
            con.register("batch", batch)
            con.execute(f'create table if not exists baseline."{name}" as from batch limit 0')
            con.execute("begin")
            if keys:
                key = ", ".join(f'"{k}"' for k in keys)
                con.execute(
                    f'delete from baseline."{name}" where ({key}) in '
                    f"(select distinct {key} from batch)"
                )
            con.execute(f'insert into baseline."{name}" by name from batch')
            con.execute("commit")
            con.unregister("batch")
            stored += con.execute(f'select count(*) from baseline."{name}"').fetchone()[0]
    return time.perf_counter() - start, stored


def compare_vendor(
    sim: LimitedSimulator, nightly: Nightly, vendor: str, *, warmup: bool = True
) -> dict[str, Any]:
    """A warm-up run that records the requests (unless `warmup` is off: then the timed run
    records them), then the baseline and the pipeline, each into a fresh lake."""
    rps = sim.rps[vendor]
    with tempfile.TemporaryDirectory(prefix=f"bench-{vendor}-") as tmp:
        sim.clear_log()
        if warmup:
            run_pipeline(nightly, vendor, rps, Path(tmp) / "warmup")
            sim.clear_log()
        pipe_s, rows = run_pipeline(nightly, vendor, rps, Path(tmp) / "pipeline")
        served, refused = list(sim.served[vendor]), sim.refused[vendor]
        sim.clear_log()
        base_s, base_rows = run_baseline(sim, served, rps, rows, Path(tmp) / "baseline")
        pipe_rows = sum(batch.num_rows for batch, _ in rows.values())
    return {
        "vendor": vendor,
        "requests_per_second": rps,
        "requests": len(served),
        "refused_by_limit": {"pipeline": refused, "baseline": sim.refused[vendor]},
        "pipeline_s": round(pipe_s, 3),
        "baseline_s": round(base_s, 3),
        "pipeline_rows": pipe_rows,
        "baseline_rows": base_rows,
        "ratio": round(base_s / pipe_s, 3),
    }


def rate_efficiency(sim: LimitedSimulator, rps: float, days: int) -> dict[str, Any]:
    """KeyAPI's source extracting at `rps` against a limit of `rps`: achieved / limit.

    The rate is taken from the simulator's arrival times, second to last request, so it is
    the pace the client holds between requests, parsing and yielding included.
    """
    sim.set_rps("keyapi", rps)
    sim.clear_log()
    first = date(2026, 3, 1)
    source = keyapi_source(
        period="day",
        dates=[first + timedelta(days=i) for i in range(days)],
        regions=("US", "GB"),
        rank_fields=("views", "sales"),
        pages=5,
        requests_per_second=rps,
        report=RunReport(),
    )
    rows = sum(len(batch) for batch in source.resources["video_rankings_daily"])
    # From the second request on: the first one's arrival includes opening the connection.
    arrivals = [s.arrived for s in sim.served["keyapi"]][1:]
    achieved = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    return {
        "limit_rps": rps,
        "requests": len(arrivals) + 1,
        "rows": rows,
        "refused_by_limit": sim.refused["keyapi"],
        "achieved_rps": round(achieved, 3),
        "efficiency": round(achieved / rps, 3),
    }


def vendor_env(sim: LimitedSimulator) -> Callable[[], None]:
    """Point every source at the simulator (dlt settings in os.environ); returns the undo."""
    values = sim.source_env()
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    dlt.config["runtime.log_level"] = "WARNING"

    def undo() -> None:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    return undo
