"""assets/warehouse.py: models as assets, YAML tests as checks, run against a temp warehouse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import dagster as dg
import duckdb

from assets.resources import WarehouseResource
from assets.warehouse import model_assets
from tests.warehouse.raw_data import create_raw_tables, insert_raw, ranking, raw_row

STAGING = dg.AssetKey(["staging", "stg_keyapi__video_rankings"])
MART = dg.AssetKey(["marts", "fct_video_ranking_movement"])
VIDEO_IN_RANKING = (
    "unique_combination__period__period_start__region__rank_field__product_category_id__video_id"
)


def _seed(warehouse: WarehouseResource, rows: Iterable[Mapping[str, Any]]) -> None:
    with warehouse.connect() as con:
        create_raw_tables(con)
        insert_raw(con, rows)


def _clean_rows() -> list[dict[str, Any]]:
    return [
        *ranking(dt.date(2024, 5, 1), [101, 102]),
        *ranking(dt.date(2024, 5, 2), [102, 103]),
    ]


def _materialize(warehouse: WarehouseResource) -> dg.ExecuteInProcessResult:
    return dg.materialize(model_assets(), resources={"warehouse": warehouse}, raise_on_error=False)


def _checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {
        (evaluation.asset_key.path[0], evaluation.check_name): evaluation
        for evaluation in result.get_asset_check_evaluations()
    }


def test_each_model_is_an_asset_wired_from_its_sql() -> None:
    staging, mart = model_assets()

    assert (staging.key, mart.key) == (STAGING, MART)
    assert {dep.asset_key for dep in staging.get_asset_spec(STAGING).deps} == {
        dg.AssetKey(["raw_keyapi", "video_rankings_daily"]),
        dg.AssetKey(["raw_keyapi", "video_rankings_weekly"]),
        dg.AssetKey(["raw_keyapi", "video_rankings_monthly"]),
    }
    spec = mart.get_asset_spec(MART)
    assert [dep.asset_key for dep in spec.deps] == [STAGING]
    assert spec.group_name == "marts"
    assert spec.kinds == {"sql", "duckdb"}
    assert spec.description and spec.description.startswith("How each video moves")
    assert spec.metadata["dagster/table_name"] == "marts.fct_video_ranking_movement"
    columns = {column.name: column for column in spec.metadata["dagster/column_schema"].columns}
    assert columns["rank_change"].description.startswith("previous_rank - rank")
    assert columns["video_id"].constraints.nullable is False
    assert mart.op.pool == "duckdb_writer"
    assert "warehouse" in mart.required_resource_keys
    checks = {check.name: check for check in mart.check_specs}
    assert checks["relationships__video_id__staging__stg_keyapi__video_rankings"].blocking
    warn_check = next(c for c in staging.check_specs if c.name == VIDEO_IN_RANKING)
    assert warn_check.blocking is False


def test_materialize_builds_both_models_and_every_check_passes(
    warehouse: WarehouseResource,
) -> None:
    _seed(warehouse, _clean_rows())

    result = _materialize(warehouse)

    assert result.success
    checks = _checks(result)
    assert len(checks) == 22
    assert all(evaluation.passed for evaluation in checks.values())
    metadata = {
        event.asset_key: event.materialization.metadata
        for event in result.get_asset_materialization_events()
    }
    assert metadata[STAGING]["dagster/row_count"].value == 4
    # 101, 102 on 05-01; 102, 103 on 05-02; 101 dropped out on 05-02
    assert metadata[MART]["dagster/row_count"].value == 5
    assert metadata[MART]["build_seconds"].value >= 0
    built_types = {
        column.name: column.type
        for column in metadata[MART]["dagster/column_schema"].schema.columns
    }
    assert built_types["video_id"] == "BIGINT"
    assert built_types["is_dropped_out"] == "BOOLEAN"
    with duckdb.connect(str(warehouse.file), read_only=True) as con:
        assert con.execute(
            "select count(*) from marts.fct_video_ranking_movement where is_dropped_out"
        ).fetchone() == (1,)


def test_failed_error_check_reports_a_sample_and_blocks_the_mart(
    warehouse: WarehouseResource,
) -> None:
    _seed(warehouse, [*_clean_rows(), raw_row(rank=9, rank_field="likes")])

    result = _materialize(warehouse)

    assert not result.success
    checks = _checks(result)
    failed = checks[("staging", "accepted_values__rank_field")]
    assert not failed.passed
    assert failed.severity == dg.AssetCheckSeverity.ERROR
    assert failed.metadata["failing_rows"].value == 1
    assert "| likes | all | 9 |" in failed.metadata["sample"].value
    assert [key for key, evaluation in checks.items() if not evaluation.passed] == [
        ("staging", "accepted_values__rank_field")
    ]
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert materialized == {STAGING}


def test_failed_warn_check_does_not_block_the_mart(warehouse: WarehouseResource) -> None:
    # video 102 also at rank 9 on 05-01: listed twice in one ranking
    _seed(warehouse, [*_clean_rows(), raw_row(rank=9, video_id=102)])

    result = _materialize(warehouse)

    assert result.success
    checks = _checks(result)
    warned = checks[("staging", VIDEO_IN_RANKING)]
    assert not warned.passed
    assert warned.severity == dg.AssetCheckSeverity.WARN
    assert warned.metadata["failing_rows"].value == 1
    assert all(evaluation.passed for key, evaluation in checks.items() if key[0] == "marts")
