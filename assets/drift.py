"""Schema drift on every raw load: named in run metadata, warned by a check, never a silent NULL.

Sources note drift in their `RunReport` (`pipelines.fields.SeedShape`): a field the vendor
stopped sending, a field it added, a value of another JSON type, each with its vendor, table,
field and partition. After the load this module

- puts back the stored values of a field that was missing from a whole slice: dlt's
  delete-insert (and upsert) merge write NULL for a column absent from the batch (measured on
  the ducklake destination), so the rows of this load that are NULL there get the value their
  row (`RunReport.row_keys`) held in the lake's snapshot from just before the load;
- adds `schema_drift` (JSON rows) and `schema_drift_restored` to the run's metadata;
- yields the `schema_drift` check (WARN) of every raw asset that declares it;
- turns a frozen schema contract's refusal into a failure naming vendor, table and column.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import dagster as dg
import dlt
from dlt.common.schema.exceptions import DataValidationError
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.lake import LAKE_NAME
from pipelines.report import Drift, RunReport, drift_rows

CHECK_NAME = "schema_drift"
_LOAD_ID = "_dlt_load_id"


def drift_check_specs(dataset: str, tables: Iterable[str]) -> list[dg.AssetCheckSpec]:
    """The `schema_drift` check of each raw table; add them to the asset's `check_specs`."""
    return [
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=dg.AssetKey([dataset, table]),
            description="warns when this load's vendor items lacked a field the seed has, "
            "carried one it lacks, or sent a value of another JSON type",
        )
        for table in tables
    ]


def lake_version(pipeline: dlt.Pipeline) -> int:
    """The lake's current snapshot id: what the load is compared with afterwards."""
    with pipeline.sql_client() as client:
        [(version,)] = client.execute_sql(f"select id from {LAKE_NAME}.current_snapshot()")
    return int(version)


def keep_stored_values(
    context: dg.AssetExecutionContext, pipeline: dlt.Pipeline, report: RunReport, before: int
) -> dict[str, Any]:
    """Restore what a missing field NULLed, log every drift, and return the run's metadata."""
    drifted = drift_rows(report.schema_drift)
    for row in drifted:
        context.log.warning(
            f"schema drift: {row['vendor']}.{row['table']}.{row['field']} {row['kind']} "
            f"({row['detail']}) in partition {row['partition']}"
        )
    restored = _restore(pipeline, report, before)
    for column, n in restored.items():
        context.log.info(f"kept {n} stored value(s) of {column} the vendor stopped sending")
    return {
        CHECK_NAME: dg.MetadataValue.json(drifted),
        "schema_drift_restored": dg.MetadataValue.json(restored),
    }


def drift_check_results(
    context: dg.AssetExecutionContext, report: RunReport
) -> Iterator[dg.AssetCheckResult]:
    """One WARN result per selected `schema_drift` check: passes when its table did not drift."""
    for check in context.selected_asset_check_keys:
        if check.name != CHECK_NAME:
            continue
        table = check.asset_key.path[-1]
        drifted = drift_rows(d for d in report.schema_drift if d.table == table)
        yield dg.AssetCheckResult(
            check_name=CHECK_NAME,
            asset_key=check.asset_key,
            passed=not drifted,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{len(drifted)} field(s) drifted from the seed"
            if drifted
            else "every field as in the seed",
            metadata={
                "drifted_fields": len(drifted),
                "drift": dg.MetadataValue.md(_markdown(drifted)) if drifted else "none",
            },
        )


def contract_failure(exc: PipelineStepFailed) -> dg.Failure | None:
    """A frozen schema contract's refusal, said as vendor, table and column, or None."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, DataValidationError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return None
    where = f"[{cause.schema_name}] table {cause.table_name}"
    if cause.column_name:
        where += f", column {cause.column_name}"
    return dg.Failure(
        description=f"{where}: the load would change its {cause.schema_entity}, which the "
        f"schema contract freezes ({cause.contract_mode}); nothing of this load was stored. "
        "Migrate the column (or change the contract) deliberately, then re-run.",
        metadata={
            "vendor": str(cause.schema_name),
            "table": str(cause.table_name),
            "column": str(cause.column_name or ""),
            "contract": f"{cause.schema_entity}: {cause.contract_mode}",
        },
    )


def _restore(pipeline: dlt.Pipeline, report: RunReport, before: int) -> dict[str, int]:
    """Per `table.column`, how many stored values this load had replaced with NULL."""
    load_ids = _load_ids(pipeline)
    missing: dict[tuple[str, str], list[Drift]] = defaultdict(list)
    for drift in report.schema_drift:
        if drift.kind == "missing" and drift.column and drift.table in report.row_keys:
            missing[drift.table, drift.column].append(drift)
    restored: dict[str, int] = {}
    if not missing or not load_ids:
        return restored
    with pipeline.sql_client() as client:
        for (table, column), drifts in sorted(missing.items()):
            name = client.make_qualified_table_name(table)
            key = report.row_keys[table]
            try:
                old = _columns(client, f"{name} at (version => {before})")
            except DatabaseUndefinedRelation:  # the table's first load: nothing was stored
                continue
            if column not in old or column not in _columns(client, name):
                continue
            sql, params = _restore_sql(client, table, column, key, drifts, load_ids, before)
            [(n,)] = client.execute_sql(sql, *params)
            if n:
                restored[f"{table}.{column}"] = int(n)
    return restored


def _restore_sql(
    client: Any,
    table: str,
    column: str,
    key: Sequence[str],
    drifts: Sequence[Drift],
    load_ids: Sequence[str],
    before: int,
) -> tuple[str, list[Any]]:
    """One UPDATE per column: NULLs of this load's drifted slices take the stored value."""
    name, q = client.make_qualified_table_name(table), client.escape_column_name
    col = q(column)
    params: list[Any] = list(load_ids)
    scope = ""
    if all(drift.where for drift in drifts):  # else a whole batch drifted: all of this load
        slices = []
        for drift in drifts:
            slices.append(" and ".join(f"cur.{q(c)} = ?" for c, _ in drift.where))
            params.extend(value for _, value in drift.where)
        scope = " and (" + " or ".join(f"({s})" for s in slices) + ")"
    joined = " and ".join(f"cur.{q(c)} = old.{q(c)}" for c in key)
    keys = ", ".join(q(c) for c in key)
    return (
        f"update {name} as cur set {col} = old.{col} "
        f"from (select {keys}, {col} from {name} at (version => {int(before)})) as old "
        f"where {joined} and cur.{col} is null and old.{col} is not null "
        f"and cur.{q(_LOAD_ID)} in ({', '.join('?' for _ in load_ids)}){scope}",
        params,
    )


def _columns(client: Any, relation: str) -> set[str]:
    found = client.execute_sql(f"select column_name from (describe select * from {relation})")
    return {name for (name,) in found}


def _load_ids(pipeline: dlt.Pipeline) -> list[str]:
    trace = pipeline.last_trace
    info = trace.last_load_info if trace is not None else None
    return list(info.loads_ids) if info is not None else []


def _markdown(rows: Sequence[dict[str, str]]) -> str:
    lines = ["| vendor | table | field | kind | partition | detail |", "|---|---|---|---|---|---|"]
    lines += [
        "| "
        + " | ".join(row[k] for k in ("vendor", "table", "field", "kind", "partition", "detail"))
        + " |"
        for row in rows
    ]
    return "\n".join(lines)
