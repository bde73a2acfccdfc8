"""Fixtures: the parsed dbt project, and a lake of every raw table loaded by the real pipelines."""

from __future__ import annotations

import fcntl
import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from assets.resources import DBT_EXECUTABLE, DbtResource, WarehouseResource
from assets.warehouse import dbt_project, model_assets
from simulator.server import Simulator
from tests.conftest import FAST_CLIENT, ROOT, rows

# The newest published day and the one before: a previous day for the gains, and small.
INGEST_DAYS = 2


@pytest.fixture(scope="session")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A fresh `dbt parse` of warehouse/ into a private target dir (no lake needed)."""
    from dagster_dbt import DbtCliResource

    target = tmp_path_factory.mktemp("dbt_parse")
    dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)
    dbt.cli(["parse", "--quiet"], target_path=target).wait()
    return json.loads((target / "manifest.json").read_text())


@pytest.fixture(scope="session")
def raw_lake(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> WarehouseResource:
    """Every vendor's raw tables, loaded by the real dlt pipelines (the nightly jobs' ingest
    steps) from the simulator over real HTTP: KeyAPI's last two days, week and month, two
    Research publish days, and today's snapshots. The models are not built here.

    Loaded once for the whole run: under xdist the first worker to ask loads it into the
    run's shared temp dir while holding a lock, and the others wait for it (pytest-xdist's
    recipe for a session fixture run once). Tests only read it, or copy it (`copy_lake`).
    """
    if worker_id == "master":
        return load_raw_lake(tmp_path_factory.mktemp("raw_lake"), INGEST_DAYS, INGEST_DAYS)
    root = tmp_path_factory.getbasetemp().parent / "raw_lake"
    with open(f"{root}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, however we leave
        if not (root / "loaded").exists():
            shutil.rmtree(root, ignore_errors=True)  # a load cut short by a failure
            root.mkdir()
            lake = load_raw_lake(root, INGEST_DAYS, INGEST_DAYS)
            (root / "loaded").touch()
            return lake
    return WarehouseResource(path=str(root / "lake"))


def load_raw_lake(root: Path, keyapi_days: int, research_days: int) -> WarehouseResource:
    """A lake under `root` loaded by the nightly jobs' ingest steps from the simulator: the
    newest `keyapi_days` KeyAPI days and `research_days` Research days, the latest week and
    month, and today's snapshots."""
    from assets.definitions import defs
    from assets.partitions import add_snapshot_day

    watchlist = yaml.safe_load((ROOT / "watchlist.yaml").read_text())
    watchlist["keyapi"].update(regions=["US"], pages=2)
    watchlist_path = root / "watchlist.yaml"
    watchlist_path.write_text(yaml.safe_dump(watchlist))
    now = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with Simulator(now=now).start() as sim, pytest.MonkeyPatch.context() as env:
        env.setenv("WAREHOUSE_PATH", str(root / "lake"))
        env.setenv("WATCHLIST_PATH", str(watchlist_path))
        for name, value in sim.source_env().items():
            env.setenv(name, value)
        for vendor in sim.vendors:
            for name, value in FAST_CLIENT.items():
                env.setenv(f"SOURCES__{vendor.upper()}__{name}", value)
        with dg.DagsterInstance.ephemeral() as instance:
            add_snapshot_day(instance, now.date().isoformat())
            for job_name, keys in ingest_runs(now, keyapi_days, research_days):
                job = defs.resolve_job_def(job_name)
                ingest = [
                    k for k in job.asset_layer.executable_asset_keys if k.path[0].startswith("raw_")
                ]
                result = job.execute_in_process(
                    instance=instance,
                    asset_selection=ingest,
                    tags={
                        "dagster/asset_partition_range_start": keys[0],
                        "dagster/asset_partition_range_end": keys[-1],
                    },
                    raise_on_error=False,
                )
                assert result.success, f"{job_name} {keys} failed to load the raw lake"
    return WarehouseResource(path=str(root / "lake"))


def ingest_runs(now: datetime, keyapi_days: int, research_days: int) -> list[tuple[str, list[str]]]:
    from assets.partitions import PARTITIONS_BY_PERIOD, latest_published_key

    runs = []
    for job_name, period, count in (
        ("daily_job", "day", keyapi_days),
        ("weekly_job", "week", 1),
        ("monthly_job", "month", 1),
        ("tiktok_research_job", "day", research_days),
    ):
        partitions_def = PARTITIONS_BY_PERIOD[period]
        last = latest_published_key(partitions_def, now)
        keys = partitions_def.get_partition_keys(current_time=now)
        end = keys.index(last) + 1
        runs.append((job_name, keys[end - count : end]))
    runs.append(("snapshot_job", [now.date().isoformat()]))
    return runs


def copy_lake(lake: WarehouseResource, dest: Path) -> WarehouseResource:
    """A private copy of an embedded lake (catalog and files move together)."""
    shutil.copytree(Path(lake.path or ""), dest)
    return WarehouseResource(path=str(dest))


def materialize_models(warehouse: WarehouseResource, days: list[str], **kwargs: Any):
    """Every model in one run; the day-partitioned facts over `days` (a single-run range)."""
    return dg.materialize(
        model_assets,
        resources={"dbt": DbtResource(warehouse=warehouse)},
        tags={
            "dagster/asset_partition_range_start": days[0],
            "dagster/asset_partition_range_end": days[-1],
        },
        raise_on_error=False,
        **kwargs,
    )


def lake_days(warehouse: WarehouseResource) -> list[str]:
    """The days the raw KeyAPI daily rankings cover, as daily partition keys."""
    found = rows(warehouse, "select distinct ranking_date from raw_keyapi.video_rankings_daily")
    return sorted(day.isoformat() for (day,) in found)


@pytest.fixture(scope="session")
def built(
    raw_lake: WarehouseResource,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[WarehouseResource, dg.ExecuteInProcessResult]]:
    """Every model built once on a copy of the raw lake, by the dbt assets."""
    warehouse = copy_lake(raw_lake, tmp_path_factory.mktemp("built") / "lake")
    yield warehouse, materialize_models(warehouse, lake_days(warehouse))


def model_nodes(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The project's models (not tests, sources or packages' nodes)."""
    return [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "tiktok_trends"
    ]


def model_path(node: dict[str, Any]) -> Path:
    return ROOT / "warehouse" / node["original_file_path"]
