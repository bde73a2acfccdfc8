"""assets/warehouse.py: the dbt project as assets and checks, run on a lake the real pipelines
loaded from the simulator (tests/warehouse/conftest.py builds it once per session)."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dagster as dg

from assets.definitions import defs
from assets.resources import WAREHOUSE_PROJECT_DIR, DbtResource, WarehouseResource
from assets.warehouse import (
    FACTS_FOLLOW,
    MODELS_FOLLOW,
    MODELS_POOL,
    dbt_project,
    manifest_is_stale,
    model_assets,
)
from tests.conftest import count, rows
from tests.warehouse.conftest import (  # noqa: F401 (fixtures)
    built,
    copy_lake,
    lake_days,
    manifest,
    materialize_models,
    model_nodes,
    raw_lake,
)

STG_DAILY = dg.AssetKey(["staging", "stg_keyapi__video_rankings_daily"])
MOVEMENT = dg.AssetKey(["marts", "fct_video_ranking_movement"])
OBSERVATIONS = dg.AssetKey(["marts", "fct_video_observations"])


def _specs() -> dict[dg.AssetKey, dg.AssetSpec]:
    return {spec.key: spec for assets_def in model_assets for spec in assets_def.specs}


def _target_dirs(result: dg.ExecuteInProcessResult) -> list[Path]:
    """The dbt target folders of `result`'s run (dagster-dbt names them by op and run)."""
    return sorted((WAREHOUSE_PROJECT_DIR / "target").glob(f"*-{result.run_id[:7]}-*"))


def test_manifest_is_stale_after_a_project_file_changes_not_after_a_run_writes_target(
    tmp_path: Path,
) -> None:
    project = SimpleNamespace(project_dir=tmp_path, manifest_path=tmp_path / "target" / "m.json")
    assert manifest_is_stale(project)  # no manifest yet
    model = tmp_path / "models" / "marts" / "a.sql"
    for path in (tmp_path / "dbt_project.yml", model, project.manifest_path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    run_artifact = tmp_path / "target" / "warehouse_models-abc-123" / "run.sql"
    run_artifact.parent.mkdir()
    run_artifact.write_text("x")
    written = project.manifest_path.stat().st_mtime
    os.utime(run_artifact, (written + 10, written + 10))
    assert not manifest_is_stale(project)
    os.utime(model, (written + 10, written + 10))
    assert manifest_is_stale(project)


def test_models_are_keyed_by_schema_and_read_the_ingest_assets() -> None:
    specs = _specs()
    ingest = {
        key
        for assets_def in defs.assets or []
        if isinstance(assets_def, dg.AssetsDefinition)
        for key in assets_def.keys
        if key.path[0].startswith("raw_")
    }

    assert {key.path[0] for key in specs} == {"staging", "marts"}
    for key, spec in specs.items():
        assert spec.group_name == key.path[0]
        assert spec.kinds == {"dbt", "duckdb"}
        assert spec.description
        # a dependency is another model or an ingest asset: nothing invented upstream
        assert {dep.asset_key for dep in spec.deps} <= set(specs) | ingest, key
    assert {dep.asset_key for dep in specs[STG_DAILY].deps} == {
        dg.AssetKey(["raw_keyapi", "video_rankings_daily"])
    }
    assert {dep.asset_key for dep in specs[MOVEMENT].deps} == {
        STG_DAILY,
        dg.AssetKey(["staging", "stg_keyapi__video_rankings_weekly"]),
        dg.AssetKey(["staging", "stg_keyapi__video_rankings_monthly"]),
    }
    columns = specs[MOVEMENT].metadata["dagster/column_schema"].columns
    assert all(column.description for column in columns)
    assert all(assets_def.op.pool == MODELS_POOL for assets_def in model_assets)
    partitioned = {key for key, spec in specs.items() if spec.partitions_def is not None}
    assert OBSERVATIONS in partitioned
    assert all(specs[key].tags.get("partitioned") == "day" for key in partitioned)


def test_every_dbt_test_is_an_asset_check_blocking_when_its_severity_is_error(
    manifest: dict[str, Any],  # noqa: F811
) -> None:
    checks = {
        (check.asset_key.path[1], check.name): check
        for assets_def in model_assets
        for check in assets_def.check_specs
    }
    tests = {
        (manifest["nodes"][node["attached_node"]]["name"], node["name"]): node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and node.get("attached_node", "").startswith("model.")
    }

    assert set(checks) == set(tests)
    assert len(checks) > len(model_nodes(manifest))
    for key, check in checks.items():
        assert check.blocking is (tests[key]["config"]["severity"].lower() == "error"), key


def test_models_follow_their_inputs_by_automation_and_facts_map_raw_days() -> None:
    specs = _specs()
    facts = {key for key, spec in specs.items() if spec.partitions_def is not None}
    assert facts <= defs.resolve_job_def("warehouse_models_job").asset_layer.executable_asset_keys
    for key, spec in specs.items():
        label = spec.automation_condition.get_label()
        assert label == (FACTS_FOLLOW if key in facts else MODELS_FOLLOW).get_label(), key
    # a fact reads raw days through an unpartitioned view: it depends on the raw days directly
    deps = {dep.asset_key for dep in specs[OBSERVATIONS].deps}
    assert {
        dg.AssetKey(["raw_keyapi", "video_rankings_daily"]),
        dg.AssetKey(["raw_tiktok_research", "videos"]),
    } <= deps
    assert not any(key.path[0] in ("raw_influtics", "raw_trendtrack") for key in deps)


def test_a_fact_day_in_a_week_and_month_not_yet_closed_maps_only_to_raw_that_exists() -> None:
    """The automation backfills fact days through these mappings: a day whose week or month
    has no partition yet (Monday 2026-11-30, seen on 2 December) must not fail the backfill,
    and a Sunday still reads the week that closed on it."""
    graph = defs.resolve_asset_graph()
    fact = graph.get(OBSERVATIONS)
    now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    mapped: dict[tuple[str, str], list[str]] = {}
    for parent in fact.parent_keys:
        upstream = graph.get(parent).partitions_def
        if upstream is None:
            continue
        for day in ("2026-11-29", "2026-11-30"):
            result = graph.get_partition_mapping(
                OBSERVATIONS, parent
            ).get_upstream_mapped_partitions_result_for_partitions(
                fact.partitions_def.subset_with_partition_keys([day]),
                fact.partitions_def,
                upstream,
                current_time=now,
            )
            assert not result.required_but_nonexistent_partition_keys, (parent, day)
            mapped[parent.path[1], day] = sorted(result.partitions_subset.get_partition_keys())
    assert mapped["video_rankings_daily", "2026-11-30"] == ["2026-11-30"]
    assert mapped["video_rankings_weekly", "2026-11-29"] == ["2026-11-23"]
    assert mapped["video_rankings_weekly", "2026-11-30"] == []  # its week closes on 6 Dec
    assert mapped["video_rankings_monthly", "2026-11-30"] == ["2026-11-01"]


def test_materialize_builds_every_model_with_row_counts_types_and_docs(
    built: tuple[WarehouseResource, dg.ExecuteInProcessResult],  # noqa: F811
) -> None:
    warehouse, result = built

    assert result.success
    materialized = {
        event.asset_key: event.materialization
        for event in result.get_asset_materialization_events()
    }
    assert set(materialized) == set(_specs())
    failed = [c.check_name for c in result.get_asset_check_evaluations() if not c.passed]
    assert failed == []
    assert _target_dirs(result) == []  # a finished build leaves no artifacts behind
    for key in (MOVEMENT, OBSERVATIONS):
        metadata = materialized[key].metadata
        stored = count(warehouse, f"select count(*) from {key.path[0]}.{key.path[1]}")
        assert stored > 0
        assert metadata["dagster/row_count"].value == stored
        columns = {c.name: c for c in metadata["dagster/column_schema"].schema.columns}
        assert columns["video_id"].type == "BIGINT"
        assert columns["video_id"].description
    comments = rows(
        warehouse,
        "select column_name, comment from duckdb_columns() "
        "where schema_name = 'marts' and table_name = 'fct_video_ranking_movement'",
    )
    assert comments and all(comment for _, comment in comments)


def test_every_built_column_is_documented_and_every_documented_column_is_built(
    built: tuple[WarehouseResource, dg.ExecuteInProcessResult],  # noqa: F811
    manifest: dict[str, Any],  # noqa: F811
    tmp_path: Path,
) -> None:
    warehouse, _ = built
    DbtResource(warehouse=warehouse).cli(
        ["docs", "generate"], manifest=dbt_project.manifest_path, target_path=tmp_path
    ).wait()
    catalog = json.loads((tmp_path / "catalog.json").read_text())["nodes"]

    problems = {}
    for node in model_nodes(manifest):
        built_columns = {name.lower() for name in catalog[node["unique_id"]]["columns"]}
        documented = {
            name.lower() for name, column in node["columns"].items() if column["description"]
        }
        if built_columns != documented:
            problems[node["name"]] = {
                "undocumented": sorted(built_columns - documented),
                "documented but not built": sorted(documented - built_columns),
            }
    assert problems == {}
    # the site `dbt docs generate` writes for analysts, next to the catalogue
    assert (tmp_path / "index.html").exists()


def test_nightly_recomputes_only_its_days_and_full_refresh_gives_the_same_rows(
    built: tuple[WarehouseResource, dg.ExecuteInProcessResult],  # noqa: F811
) -> None:
    warehouse, _ = built
    table = "marts.fct_video_observations"
    newest = lake_days(warehouse)[-1]
    # the macro's look-back (3 days) before the partition, up to its end: nothing else
    first = date.fromisoformat(newest) - timedelta(days=3)
    end = date.fromisoformat(newest) + timedelta(days=1)
    window = f"where observed_on >= date '{first}' and observed_on < date '{end}'"
    before = rows(warehouse, f"select * from {table} order by all")
    before_window = rows(warehouse, f"select * from {table} {window} order by all")
    assert before_window and len(before_window) < len(before)
    with warehouse.connect() as con:
        con.execute(f"delete from {table}")

    nightly = dg.materialize(
        [assets_def for assets_def in model_assets if assets_def.partitions_def is not None],
        resources={"dbt": DbtResource(warehouse=warehouse)},
        partition_key=newest,
        selection=[OBSERVATIONS],
        raise_on_error=False,
    )

    assert nightly.success
    assert rows(warehouse, f"select * from {table} order by all") == before_window

    full = dg.materialize(
        [assets_def for assets_def in model_assets if assets_def.partitions_def is not None],
        resources={"dbt": DbtResource(warehouse=warehouse)},
        partition_key=newest,
        selection=[OBSERVATIONS],
        run_config={"ops": {"warehouse_daily_facts": {"config": {"full_refresh": True}}}},
        raise_on_error=False,
    )

    assert full.success
    assert rows(warehouse, f"select * from {table} order by all") == before


def test_failed_error_check_blocks_the_models_downstream(
    raw_lake: WarehouseResource,  # noqa: F811
    tmp_path: Path,
) -> None:
    warehouse = copy_lake(raw_lake, tmp_path / "lake")
    with warehouse.connect() as con:
        # a rank field the vendor never sends: stg_keyapi__video_rankings_daily's accepted_values
        con.execute(
            "insert into raw_keyapi.video_rankings_daily "
            "select * replace ('likes' as rank_field, 999 as rank) "
            "from raw_keyapi.video_rankings_daily limit 1"
        )

    result = materialize_models(warehouse, lake_days(warehouse))

    assert not result.success
    failed = [c for c in result.get_asset_check_evaluations() if not c.passed]
    assert [(c.asset_key, c.check_name.split("_stg_")[0]) for c in failed] == [
        (STG_DAILY, "accepted_values")
    ]
    assert failed[0].severity == dg.AssetCheckSeverity.ERROR
    assert failed[0].metadata["dagster_dbt/failed_row_count"].value == 1
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert STG_DAILY in materialized
    assert dg.AssetKey(["staging", "stg_keyapi__video_rankings_weekly"]) in materialized
    assert MOVEMENT not in materialized
    assert OBSERVATIONS not in materialized
    assert len(_target_dirs(result)) == 1  # the failed build's artifacts, kept to debug
