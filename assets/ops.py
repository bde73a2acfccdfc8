"""The run log as tables: `ops.runs` (one row per finished run) and `ops.loads` (one per asset).

Analysts answer "did last night work?" in SQL, as Fivetran's and Airbyte's sync logs let
them. Run status sensors read each finished run's events from the Dagster instance and
write its rows; a failed run also gets one summary line (vendor, partitions, error class,
what to do) in the table and in the sensor's log. A run's rows are replaced as a unit, so
a re-evaluated tick never duplicates them. Messages come from the event log, which the
vendor client has already redacted: no secret reaches these tables.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import duckdb
from dagster._core.events import DagsterEventType
from dagster_shared.error import SerializableErrorInfo

from pipelines.errors import (
    AuthError,
    InvalidRequest,
    MalformedResponse,
    QuotaExhausted,
    RateLimited,
    ServerError,
    VendorError,
)

from .resources import WarehouseResource

SCHEMA = "ops"
# A commit may lose the catalog's lock to a run writing at the same moment: try again.
WRITE_ATTEMPTS = 5

_RUNS_COLUMNS = {
    "run_id": ("VARCHAR NOT NULL", "Dagster run id (open it in the UI: /runs/<run_id>)"),
    "job_name": ("VARCHAR NOT NULL", "the job that ran (__ASSET_JOB for a UI launch)"),
    "status": ("VARCHAR NOT NULL", "SUCCESS, FAILURE or CANCELED"),
    "partition_start": ("VARCHAR", "first partition key of the run (NULL: unpartitioned)"),
    "partition_end": ("VARCHAR", "last partition key of the run (= start for one partition)"),
    "vendor": ("VARCHAR", "vendors whose raw tables the run wrote, comma-separated"),
    "assets": ("INTEGER NOT NULL", "assets the run planned to materialize"),
    "rows_loaded": ("BIGINT", "rows the run loaded into raw tables, kept even when it failed"),
    "requests": ("BIGINT", "HTTP requests sent to vendors, retries included"),
    "credits": ("DOUBLE", "vendor credits spent (KeyAPI and others that bill in credits)"),
    "units": ("DOUBLE", "EnsembleData units spent"),
    "error_class": ("VARCHAR", "why it failed, e.g. QuotaExhausted, AuthError, ConfigError"),
    "message": ("VARCHAR", "the first failure's message, as the run's event log holds it"),
    "what_to_do": ("VARCHAR", "the next step for a person, from the error's hint"),
    "summary": ("VARCHAR", "one line: vendor, partitions, error class, what to do"),
    "started_at": ("TIMESTAMPTZ", "when the run started (UTC)"),
    "ended_at": ("TIMESTAMPTZ", "when the run ended (UTC)"),
}
_LOADS_COLUMNS = {
    "run_id": ("VARCHAR NOT NULL", "Dagster run id; joins ops.runs"),
    "asset_key": (
        "VARCHAR NOT NULL",
        "the asset, as the UI spells it (raw_keyapi/video_rankings_daily)",
    ),
    "vendor": ("VARCHAR", "the vendor of a raw_<vendor> table (NULL for models)"),
    "partition_start": ("VARCHAR", "first partition key this asset's run covered"),
    "partition_end": ("VARCHAR", "last partition key this asset's run covered"),
    "status": ("VARCHAR NOT NULL", "materialized, failed, or skipped (its step never finished)"),
    "rows_loaded": ("BIGINT", "rows this run loaded into the table (kept slices of a failure)"),
    "row_count": ("BIGINT", "rows in the whole table after the run (materialized only)"),
    "requests": ("BIGINT", "requests of the step that loaded it (shared by its step's assets)"),
    "credits": ("DOUBLE", "credits of the step that loaded it"),
    "units": ("DOUBLE", "EnsembleData units of the step that loaded it"),
}
_TABLES = {
    "runs": (_RUNS_COLUMNS, "One row per finished Dagster run: did last night work?"),
    "loads": (_LOADS_COLUMNS, "One row per (run, asset): what each run loaded, and from whom"),
}

# The error taxonomy's words, as `VendorError` composes them: "[vendor] GET /path HTTP 402 <kind>:".
_VENDOR_ERRORS = {
    cls.kind: cls.__name__
    for cls in (
        AuthError,
        QuotaExhausted,
        RateLimited,
        InvalidRequest,
        ServerError,
        MalformedResponse,
        VendorError,
    )
}
_VENDOR_MESSAGE = re.compile(
    r"^\[(?P<vendor>[\w-]+)\][^\n]*? (?P<kind>" + "|".join(map(re.escape, _VENDOR_ERRORS)) + r"):"
)
_PREFIX = re.compile(r"^[\w.]+: ")  # "dagster._core.definitions.events.Failure: "
_DEFAULT_ADVICE = {
    "QuotaExhausted": "wait for the vendor's quota to reset, then re-run the failed partitions",
    "AuthError": "check the vendor's key (SOURCES__<VENDOR>__API_KEY), then re-run",
    "RateLimited": "re-run later, or lower SOURCES__<VENDOR>__REQUESTS_PER_SECOND",
    "ServerError": "the vendor is failing: re-run the partitions later",
    "MalformedResponse": "the vendor changed its payload: report it, re-run once fixed",
    "InvalidRequest": "fix the watchlist entry or setting the message names, then re-run",
    "ConfigError": "fix the setting the message names, then re-run",
    "NotPublished": "nothing to do: the schedule loads the period once the vendor publishes it",
    "NoRows": "the period may not be published yet: re-run it later",
}
_FALLBACK_ADVICE = "open the run in the Dagster UI and read its first failed step"


@dataclass(frozen=True)
class LoadRow:
    run_id: str
    asset_key: str
    vendor: str | None
    partition_start: str | None
    partition_end: str | None
    status: str
    rows_loaded: int | None
    row_count: int | None
    requests: int | None
    credits: float | None
    units: float | None


@dataclass(frozen=True)
class RunRow:
    run_id: str
    job_name: str
    status: str
    partition_start: str | None
    partition_end: str | None
    vendor: str | None
    assets: int
    rows_loaded: int | None
    requests: int | None
    credits: float | None
    units: float | None
    error_class: str | None
    message: str | None
    what_to_do: str | None
    summary: str | None
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class FailureNote:
    error_class: str
    message: str
    what_to_do: str
    vendor: str | None


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create `ops.runs` and `ops.loads` with typed, commented columns, once."""
    present = con.execute(
        "select count(*) from information_schema.tables where table_schema = ?", [SCHEMA]
    ).fetchone()[0]
    if present == len(_TABLES):
        return
    con.execute(f"create schema if not exists {SCHEMA}")
    for table, (columns, about) in _TABLES.items():
        name = f"{SCHEMA}.{table}"
        body = ", ".join(f"{column} {sql_type}" for column, (sql_type, _) in columns.items())
        con.execute(f"create table if not exists {name} ({body})")
        con.execute(f"comment on table {name} is {_literal(about)}")
        for column, (_, doc) in columns.items():
            con.execute(f"comment on column {name}.{column} is {_literal(doc)}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_run(warehouse: WarehouseResource, run: RunRow, loads: Sequence[LoadRow]) -> None:
    """Replace the run's rows in one transaction, retrying a commit that lost a lock race."""
    for attempt in range(WRITE_ATTEMPTS):
        try:
            with warehouse.connect() as con:
                con.begin()
                ensure_tables(con)
                for table, rows, row_type in (("runs", [run], RunRow), ("loads", loads, LoadRow)):
                    con.execute(f"delete from {SCHEMA}.{table} where run_id = ?", [run.run_id])
                    if rows:
                        names = [f.name for f in fields(row_type)]
                        con.executemany(
                            f"insert into {SCHEMA}.{table} ({', '.join(names)}) "
                            f"values ({', '.join('?' for _ in names)})",
                            [list(astuple(row)) for row in rows],
                        )
                con.commit()
                return
        except duckdb.TransactionException:
            if attempt == WRITE_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.05, 0.3) * 2**attempt)  # jitter: writers part ways


@dataclass
class _RunEvents:
    """What a run's event log says about its assets and failures."""

    planned: dict[dg.AssetKey, str | None]  # asset -> the step that materializes it
    materialized: dict[dg.AssetKey, list[Any]]  # asset -> its materializations
    failed_steps: dict[str, Any]  # step -> its StepFailureData
    run_failure: Any  # the run's JobFailureData, if it failed

    @classmethod
    def read(cls, instance: dg.DagsterInstance, run_id: str) -> _RunEvents:
        kinds = {
            DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
            DagsterEventType.ASSET_MATERIALIZATION,
            DagsterEventType.STEP_FAILURE,
            DagsterEventType.RUN_FAILURE,
        }
        found = cls({}, {}, {}, None)
        for record in instance.get_records_for_run(run_id, of_type=kinds).records:
            event = record.event_log_entry.dagster_event
            if event.event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
                found.planned.setdefault(event.event_specific_data.asset_key, event.step_key)
            elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
                found.materialized.setdefault(event.asset_key, []).append(event.materialization)
            elif event.event_type == DagsterEventType.STEP_FAILURE:
                found.failed_steps.setdefault(event.step_key, event.step_failure_data)
            elif found.run_failure is None:
                found.run_failure = event.event_specific_data
        return found


def describe_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> tuple[RunRow, list[LoadRow]]:
    """The run's `ops.runs` row and its `ops.loads` rows, from its events in the instance."""
    events = _RunEvents.read(instance, run.run_id)
    planned, materialized, failed_steps = events.planned, events.materialized, events.failed_steps
    start, end = run_partitions(run.tags)
    loads: list[LoadRow] = []
    step_figures: dict[str, tuple[Any, Any, Any]] = {}  # requests, credits, units per step
    for key in sorted({*planned, *materialized}, key=lambda k: k.to_user_string()):
        step = planned.get(key)
        failure = failed_steps.get(step)
        if key in materialized:
            status, meta = "materialized", _values(materialized[key][0].metadata)
            keys = sorted(m.partition for m in materialized[key] if m.partition) or [start, end]
        else:
            status = "failed" if failure else "skipped"
            meta = _values(failure.user_failure_data.metadata) if _user_data(failure) else {}
            keys = [start, end]
        table = key.path[-1]
        # a source's report counts rows per table it wrote; a table it does not name got none
        counted = 0 if "rows_fetched" in meta else None
        rows = meta.get("rows_loaded", meta.get(f"rows_{table}", counted))
        figures = (meta.get("requests"), meta.get("credits_spent"), meta.get("units_spent"))
        step_figures.setdefault(step or key.to_user_string(), figures)
        loads.append(
            LoadRow(
                run_id=run.run_id,
                asset_key=key.to_user_string(),
                vendor=asset_vendor(key),
                partition_start=keys[0],
                partition_end=keys[-1],
                status=status,
                rows_loaded=rows,
                row_count=meta.get("dagster/row_count"),
                requests=figures[0],
                credits=figures[1],
                units=figures[2],
            )
        )
    first_failure = next(iter(failed_steps.values()), None) or events.run_failure
    failure = explain_failure(first_failure) if run.status == dg.DagsterRunStatus.FAILURE else None
    vendors = sorted({load.vendor for load in loads if load.vendor})
    if not vendors and failure and failure.vendor:
        vendors = [failure.vendor]
    record = instance.get_run_record_by_id(run.run_id)
    row = RunRow(
        run_id=run.run_id,
        job_name=run.job_name,
        status=run.status.value,
        partition_start=start,
        partition_end=end,
        vendor=", ".join(vendors) or None,
        assets=len(loads),
        rows_loaded=_total(load.rows_loaded for load in loads),
        requests=_total(figures[0] for figures in step_figures.values()),
        credits=_total(figures[1] for figures in step_figures.values()),
        units=_total(figures[2] for figures in step_figures.values()),
        error_class=failure.error_class if failure else None,
        message=failure.message if failure else None,
        what_to_do=failure.what_to_do if failure else None,
        summary=summarize(run, vendors, start, end, failure) if failure else None,
        started_at=_timestamp(record.start_time if record else None),
        ended_at=_timestamp(record.end_time if record else None),
    )
    return row, loads


def run_partitions(tags: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(first, last) partition key of a run: a single-run backfill's range, or its one key."""
    start = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
    return start, tags.get("dagster/asset_partition_range_end") or start


def asset_vendor(key: dg.AssetKey) -> str | None:
    """The vendor of a `raw_<vendor>` table; models belong to no vendor."""
    prefix = key.path[0]
    return prefix.removeprefix("raw_") if prefix.startswith("raw_") else None


def explain_failure(data: Any) -> FailureNote:
    """Error class, message and advice of a step's (or a run's) failure.

    The class is the innermost cause's. A `dg.Failure` is the asset's own words about a
    vendor error it caught (or a refused setting, an unpublished period), so its class
    is read from those words, which `VendorError` composes the same way for every vendor.
    """
    error: SerializableErrorInfo | None = getattr(data, "error", None)
    user = _user_data(data)
    meta = _values(user.metadata) if user else {}
    while error is not None and (error.cause or error.context) is not None:
        error = error.cause or error.context
    message = (user.description if user and user.description else None) or (
        _PREFIX.sub("", error.message.strip()) if error else "the run failed outside any step"
    )
    found = _VENDOR_MESSAGE.search(meta.get("stopped_by") or message)
    reason = getattr(data, "failure_reason", None)
    if error is not None and error.cls_name != "Failure":
        error_class = error.cls_name
    elif found:
        error_class = _VENDOR_ERRORS[found["kind"]]
    elif "refused before any request" in message:
        error_class = "ConfigError"
    elif "unpublished_partitions" in meta:
        error_class = "NotPublished"
    elif meta.get("rows_fetched") == 0:
        error_class = "NoRows"
    else:  # a Failure in other words, or a run that died outside its steps
        error_class = error.cls_name if error else reason.value if reason else "RunFailure"
    hint = message.partition(" -> ")[2].strip()
    advice = hint or _DEFAULT_ADVICE.get(error_class, _FALLBACK_ADVICE)
    return FailureNote(error_class, message, advice, found["vendor"] if found else None)


def summarize(
    run: dg.DagsterRun,
    vendors: Sequence[str],
    start: str | None,
    end: str | None,
    failure: FailureNote,
) -> str:
    """One line a person acts on: who, which partitions, why, what next."""
    who = ", ".join(vendors) or run.job_name
    where = "unpartitioned" if start is None else start if start == end else f"{start}..{end}"
    return f"{who} {where}: {failure.error_class}. What to do: {failure.what_to_do}"


def _user_data(data: Any) -> Any:
    return getattr(data, "user_failure_data", None)


def _values(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """Plain values of Dagster metadata (`IntMetadataValue(3)` -> 3)."""
    return {name: getattr(value, "value", value) for name, value in metadata.items()}


def _total(values: Any) -> Any:
    known = [value for value in values if value is not None]
    return sum(known) if known else None


def _timestamp(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def record_run(context: dg.RunStatusSensorContext, warehouse: WarehouseResource) -> RunRow:
    """Write the finished run's rows; log a failed run's summary."""
    run, loads = describe_run(context.instance, context.dagster_run)
    write_run(warehouse, run, loads)
    if run.summary:
        context.log.warning(run.summary)
    else:
        context.log.info(f"run {run.run_id} {run.status}: {run.rows_loaded or 0} rows")
    return run


def _run_log_sensor(status: dg.DagsterRunStatus) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        run_status=status,
        name=f"ops_run_log_{status.value.lower()}",
        description=f"Writes every {status.value} run to ops.runs and ops.loads.",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def _sensor(context: dg.RunStatusSensorContext, warehouse: WarehouseResource) -> None:
        record_run(context, warehouse)

    return _sensor


ops_sensors = [
    _run_log_sensor(status)
    for status in (
        dg.DagsterRunStatus.SUCCESS,
        dg.DagsterRunStatus.FAILURE,
        dg.DagsterRunStatus.CANCELED,
    )
]
