"""What every vendor's ingest asset shares: asset keys per table, the load-then-fail rule.

A vendor asset module only chooses its source, partitions and tags; keys, pool, kinds
and the handling of a source stopped early by its vendor are the same for all of them.
"""

import tempfile
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import dlt
import duckdb
from dagster_dlt import DagsterDltResource, DagsterDltTranslator
from dagster_dlt.translator import DltResourceTranslatorData
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.lake import redact_catalog
from pipelines.report import RunReport

from .drift import contract_failure, drift_check_results, keep_stored_values, lake_version
from .resources import remove_working_dir

# One run at a time per vendor: its key, rate limit and daily quota are shared by every run.
# Different vendors (and the models) write the lake side by side; DuckLake needs no writer lock.
VENDOR_POOL = "vendor_%s"
# A DuckLake commit that lost a race with another writer's commit on the same table.
_CONFLICT_MARKERS = ("Transaction conflict", "database is locked", "Conflicting lock")
# dagster-dlt reads asset specs off a pipeline object at import time; give it a scratch
# working dir so importing the definitions leaves nothing in dlt's global ~/.dlt.
_SPEC_PIPELINES_DIR = Path(tempfile.gettempdir()) / "tiktok-trends-dlt-specs"


def vendor_pool(vendor: str) -> str:
    """The concurrency pool of a vendor's ingest steps (limit in `instance/dagster.yaml`)."""
    return VENDOR_POOL % vendor


def spec_pipeline(name: str, dataset: str) -> dlt.Pipeline:
    """The pipeline asset specs are built from (names only: runs use the warehouse's)."""
    return dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(_SPEC_PIPELINES_DIR),
        destination="ducklake",
        dataset_name=dataset,
    )


class RawTableTranslator(DagsterDltTranslator):
    """Asset key = the DuckDB table (`[dataset, table]`); no invented upstream assets."""

    def __init__(self, dataset: str, group: str, tags: dict[str, str], description: str) -> None:
        self.dataset, self.group, self.tags, self.description = dataset, group, tags, description

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=dg.AssetKey([self.dataset, data.resource.name]),
            deps=[],
            group_name=self.group,
            description=self.description,
            tags={**spec.tags, **self.tags},
            kinds={"dlt", "ducklake"},
        ).merge_attributes(metadata={"dagster/table_name": f"{self.dataset}.{data.resource.name}"})


def run_dlt_source(
    context: dg.AssetExecutionContext,
    dlt_resource: DagsterDltResource,
    source: Any,
    pipeline: dlt.Pipeline,
    report: RunReport,
    *,
    checks: Callable[[], Iterable[dg.AssetCheckResult]] | None = None,
    allow_empty: bool = False,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Load what the source yields; then fail loudly if the vendor stopped it early.

    Complete slices loaded before a quota hit or an expired key stay in the warehouse;
    the run still fails (with what landed in the failure's metadata), so the partition
    is not marked done and a re-run merges the rest without duplicates. `checks` runs
    after the load and before that failure, so a budget or quarantine check is recorded
    on the run that hit it. Each asset reports this run's `rows_loaded` and its table's
    total rows (`dagster/row_count`). No rows at all fails the run (the period may not be
    published yet) unless `allow_empty`: a query that matched nothing is an answer.
    The run's dlt working dir is removed however the run ends.
    """
    try:
        try:
            before = lake_version(pipeline)
            results = list(
                dlt_resource.run(
                    context=context,
                    dlt_source=source,
                    dlt_pipeline=pipeline,
                    loader_file_format="parquet",
                )
            )
        except Exception as exc:
            if (
                isinstance(exc, PipelineStepFailed)
                and (refused := contract_failure(exc)) is not None
            ):
                raise refused from None
            raise load_failure(exc) from None
        meta = {**report.as_metadata(), **keep_stored_values(context, pipeline, report, before)}
        where = context.partition_key_range if context.has_partition_key_range else "snapshot"
        context.log.info(f"{where}: {meta}")
        if report.stopped_by is None and (report.rows or allow_empty):
            yield from _with_table_totals(pipeline, results, meta)
        if checks is not None:
            yield from checks()
        yield from drift_check_results(context, report)
        if report.stopped_by is not None:
            # no request sent: a setting (a missing key, a bad URL) refused it, nothing to keep
            after = (
                "No request was sent and nothing was loaded: fix the setting named above, then "
                "run again."
                if not report.requests.requests
                else f"Rows of complete slices loaded and kept: {meta['rows_fetched']}; re-run "
                "the partition(s) to complete them."
            )
            raise dg.Failure(description=f"{report.stopped_by}. {after}", metadata=meta)
        if not report.rows and not allow_empty:
            raise dg.Failure(
                description="the vendor returned no rows for any requested slice "
                f"({len(report.empty_slices)} empty, e.g. {report.empty_slices[:3]}); "
                "the period may not be published yet: retry later",
                metadata=meta,
            )
    finally:
        remove_working_dir(pipeline)


def load_failure(exc: Exception) -> Exception:
    """A commit conflict with another writer becomes a retry; anything else a failure with
    dlt's words, secrets masked (raised `from None`: the cause would carry them unmasked).

    dlt words every failure to open or commit as "check credentials ... internet connection";
    a lost commit race on DuckLake is neither, and the whole step is safe to run again (slices
    merge on their keys).
    """
    text = f"{exc} {exc.__cause__ or ''}"
    if any(marker in text for marker in _CONFLICT_MARKERS):
        return dg.RetryRequested(max_retries=5, seconds_to_wait=2.0)
    # dlt's message and its cause quote the catalog URL: keep the words, mask the password.
    return dg.Failure(description=redact_catalog(text))


def _with_table_totals(
    pipeline: dlt.Pipeline, results: list[Any], meta: dict[str, Any]
) -> Iterator[dg.MaterializeResult]:
    with pipeline.sql_client() as client:
        for result in results:
            table = client.make_qualified_table_name(result.asset_key.path[-1])
            try:
                [(total,)] = client.execute_sql(f"select count(*) from {table}")
            except DatabaseUndefinedRelation:  # no rows for it yet, so dlt made no table
                total = 0
            yield dg.MaterializeResult(
                asset_key=result.asset_key,
                metadata={**(result.metadata or {}), **meta, "dagster/row_count": total},
            )


def existing_tables(con: duckdb.DuckDBPyConnection, dataset: str) -> set[str]:
    """Tables dlt has created in `dataset` so far (none before a table's first rows)."""
    found = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [dataset]
    ).fetchall()
    return {name for (name,) in found}


def key_check_specs(dataset: str, keys: Mapping[str, Sequence[str]]) -> list[dg.AssetCheckSpec]:
    """`unique_key` and `key_not_null` on every table's primary key."""
    specs = []
    for table, key in keys.items():
        asset, columns = dg.AssetKey([dataset, table]), ", ".join(key)
        unique = f"no two rows share ({columns})"
        specs.append(dg.AssetCheckSpec("unique_key", asset=asset, description=unique))
        not_null = f"({columns}) is never null"
        specs.append(dg.AssetCheckSpec("key_not_null", asset=asset, description=not_null))
    return specs


def key_check_results(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    keys: Mapping[str, Sequence[str]],
    selected: Container[dg.AssetCheckKey] | None = None,
) -> Iterator[dg.AssetCheckResult]:
    """The results of `key_check_specs` (those in `selected`, default all); a table dlt has
    not created yet has no bad keys."""
    present = existing_tables(con, dataset)
    for table, key in keys.items():
        asset = dg.AssetKey([dataset, table])
        rows = dupes = nulls = 0
        if table in present:
            columns = ", ".join(key)
            [(rows, nulls)] = con.execute(
                f"select count(*), count_if({' or '.join(f'{c} is null' for c in key)}) "
                f"from {dataset}.{table}"
            ).fetchall()
            [(dupes,)] = con.execute(
                f"select count(*) from (select {columns} from {dataset}.{table} "
                "group by all having count(*) > 1)"
            ).fetchall()
        for name, bad, label in (
            ("unique_key", dupes, "duplicated_keys"),
            ("key_not_null", nulls, "null_keys"),
        ):
            if selected is None or dg.AssetCheckKey(asset, name) in selected:
                yield dg.AssetCheckResult(
                    check_name=name,
                    asset_key=asset,
                    passed=bad == 0,
                    metadata={label: bad, "rows": rows},
                )
