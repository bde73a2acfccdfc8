"""The `warehouse/` SQL models as Dagster assets, their YAML tests as asset checks.

Each model becomes one asset keyed `[layer, name]`; its deps are the `schema.table` relations
its SQL reads, so `raw_keyapi.video_rankings_daily` lines up with the ingest asset of that key.
Tests with severity `error` are blocking: a failure stops downstream models in the same run,
like `dbt build`. Nothing here touches DuckDB until an asset runs.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation as a type.
import hashlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

from assets.ingest import POOL
from assets.resources import WarehouseResource
from warehouse.models import (
    MODELS_ROOT,
    Model,
    ModelTestResult,
    build_model,
    load_models,
    run_tests,
    table_columns,
)

KINDS = {"sql", "duckdb"}
SAMPLE_ROWS = 5
SEVERITIES = {"warn": dg.AssetCheckSeverity.WARN, "error": dg.AssetCheckSeverity.ERROR}


def model_assets(root: Path = MODELS_ROOT) -> list[dg.AssetsDefinition]:
    """One asset per model under `root` (with its checks), in dependency order."""
    return [asset_for_model(model) for model in load_models(root)]


def asset_for_model(model: Model) -> dg.AssetsDefinition:
    """The asset that rebuilds one model's table from all raw data and runs its tests."""
    key = dg.AssetKey([model.schema, model.name])
    check_specs = [
        dg.AssetCheckSpec(
            name=test.name,
            asset=key,
            description=test.description,
            blocking=test.severity == "error",
            metadata={"severity": test.severity, "sql": _sql_block(test.sql)},
        )
        for test in model.tests
    ]

    @dg.asset(
        key=key,
        deps=[dg.AssetKey(list(dep)) for dep in model.deps],
        group_name=model.schema,
        kinds=KINDS,
        description=model.description,
        metadata={
            "dagster/column_schema": _column_schema(model),
            "dagster/table_name": model.relation,
            "sql_path": dg.MetadataValue.path(str(model.path)),
        },
        code_version=_code_version(model),
        check_specs=check_specs,
        pool=POOL,
    )
    def _model(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        with warehouse.connect() as con:
            built = build_model(con, model)
            built_columns = table_columns(con, model.schema, model.name)
            context.log.info(f"built {model.relation}: {built.row_count} rows")
            yield dg.MaterializeResult(
                metadata={
                    "dagster/row_count": built.row_count,
                    "dagster/column_schema": _column_schema(model, built_columns),
                    "sql_path": dg.MetadataValue.path(str(model.path)),
                    "build_seconds": round(built.seconds, 3),
                }
            )
            for result in run_tests(con, model, sample_size=SAMPLE_ROWS):
                yield _check_result(result)

    return _model


def _code_version(model: Model) -> str:
    """Changes when the SQL or the docs change: both need a rebuild (docs become comments)."""
    source = repr((model.sql, model.description, model.columns))
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def _column_schema(
    model: Model, built_columns: Sequence[tuple[str, str, str | None]] = ()
) -> dg.TableSchema:
    """Documented columns with constraints from the tests; DuckDB types once the table exists."""
    types = {name: data_type for name, data_type, _ in built_columns}
    not_null = {t.columns[0] for t in model.tests if t.kind == "not_null"}
    unique = {t.columns[0] for t in model.tests if t.kind == "unique"}
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=types.get(column.name, "unknown"),
                description=column.description,
                constraints=dg.TableColumnConstraints(
                    nullable=column.name not in not_null, unique=column.name in unique
                ),
            )
            for column in model.columns
        ]
    )


def _check_result(result: ModelTestResult) -> dg.AssetCheckResult:
    test = result.test
    metadata: dict[str, Any] = {
        "failing_rows": result.failing_rows,
        "sql": _sql_block(test.sql),
    }
    if not result.passed:
        metadata["sample"] = dg.MetadataValue.md(_markdown_table(result))
    return dg.AssetCheckResult(
        check_name=test.name,
        passed=result.passed,
        severity=SEVERITIES[test.severity],
        description=test.description,
        metadata=metadata,
    )


def _sql_block(sql: str) -> dg.MarkdownMetadataValue:
    return dg.MetadataValue.md(f"```sql\n{sql}\n```")


def _markdown_table(result: ModelTestResult) -> str:
    """The failing-row sample as a markdown table (cells cut short, pipes escaped)."""

    def cell(value: object) -> str:
        text = "NULL" if value is None else str(value)
        text = text.replace("|", "\\|").replace("\n", " ")
        return text if len(text) <= 60 else text[:57] + "..."

    lines = [
        "| " + " | ".join(result.sample_columns) + " |",
        "|" + "---|" * len(result.sample_columns),
        *("| " + " | ".join(cell(value) for value in row) + " |" for row in result.sample_rows),
    ]
    shown = len(result.sample_rows)
    if result.failing_rows > shown:
        lines.append(f"\n{shown} of {result.failing_rows} failing rows shown.")
    return "\n".join(lines)
