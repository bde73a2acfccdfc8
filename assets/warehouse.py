"""The dbt project in `warehouse/` as Dagster assets; its data tests as asset checks.

Models are keyed `[schema, name]` (`["marts", "fct_video_daily"]`) and grouped by schema
(`staging`, `marts`); a dbt source `raw_<vendor>.<table>` is the ingest asset of that key, so
lineage runs from the vendor pull to the marts with nothing invented in between. Every dbt test
is an asset check, blocking when its severity is `error` (dagster-dbt's default), so a failed
key test stops the models downstream, like `dbt build`.

Two definitions share one manifest: the incremental facts are partitioned by day and a run
passes its partition window to dbt (`start_date`, `end_date`; see
`warehouse/macros/incremental_window.sql`), so a nightly or a backfill recomputes only the days
it names; everything else is rebuilt whole. Nothing here opens the lake until an asset runs;
the manifest comes from `dbt parse` (scripts/bootstrap.sh, or here when it is stale).

Models follow their inputs by declarative automation (`MODELS_FOLLOW`, `FACTS_FOLLOW`); no job
builds them nightly. A model rebuilt whole runs when a dependency updated (or is requested on
the same tick). A fact partition runs when a day-mapped input of that day updated: the staging
view between a raw table and a fact is unpartitioned, and Dagster maps an unpartitioned input
to every partition, so the facts also depend directly on the time-partitioned raw tables their
staging views read (a raw day to that day, a week or month to its days) and ignore updates of
unpartitioned models. Snapshot days (dynamic keys) cannot map to days in Dagster: they reach a
fact day when that day's rankings land (the facts look back 3 days). One tick requests the
whole chain and the sensor emits it as one backfill, which runs it in dependency order.
"""

# No `from __future__ import annotations`: Dagster inspects the `context` annotation as a type.
import json
import shutil
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from assets.keyapi import keyapi_assets
from assets.partitions import daily_partitions
from assets.resources import DBT_EXECUTABLE, WAREHOUSE_PROJECT_DIR, DbtResource
from assets.tiktok_research import tiktok_research_assets

# One model build at a time: two dbt processes committing to one lake would race.
MODELS_POOL = "warehouse_models"
INCREMENTAL = "config.materialized:incremental"
# Marks the day-partitioned facts; jobs on other partitions leave them out (assets/schedules.py).
PARTITIONED_TAG = ("partitioned", "day")
MODEL_GROUPS = ("staging", "marts")
# The folders dbt parses (dbt_project.yml's *-paths): what can make the manifest stale.
DBT_SOURCE_DIRS = ("models", "macros", "tests", "analyses")
UNPARTITIONED_MODELS = dg.AssetSelection.groups(*MODEL_GROUPS) - dg.AssetSelection.tag(
    *PARTITIONED_TAG
)
# Rebuilt whole: after any input updated, once nothing upstream (or itself) is running.
MODELS_FOLLOW = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("rebuild after an input updated")
# A fact's day: after an input of that day updated (raw days, upstream fact days).
FACTS_FOLLOW = (
    dg.AutomationCondition.any_deps_updated().ignore(UNPARTITIONED_MODELS).since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("rebuild the days an input updated")


# A fact's day maps to the week and the month holding it. Most days sit in a period that has
# not closed, whose partition does not exist yet: the day is built from the raw days there are,
# where the default mapping fails the automation's whole backfill (every day of an open week).
# The flag is "beta" in Dagster 1.13 (pinned): its warning would print at every load.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    OPEN_PERIODS_ALLOWED = dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)


def parse_manifest(project: DbtProject) -> None:
    """`dbt parse` into the project's target/: writes manifest.json; needs no lake."""
    dbt = DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
    dbt.cli(["parse", "--quiet"], target_path=project.target_path).wait()


def manifest_is_stale(project: DbtProject) -> bool:
    """No manifest yet, or a project file (models, macros, tests, YAML) changed after it.

    Only dbt's own source folders are walked: `target/` holds every run's artifacts and would
    make each start-up pay for the history of runs.
    """
    if not project.manifest_path.exists():
        return True
    written = project.manifest_path.stat().st_mtime
    top = project.project_dir
    sources = [top / name for name in DBT_SOURCE_DIRS]
    files = [*top.glob("*.yml"), *(p for d in sources for p in d.rglob("*") if p.is_file())]
    return any(path.stat().st_mtime > written for path in files)


dbt_project = DbtProject(project_dir=WAREHOUSE_PROJECT_DIR, profiles_dir=WAREHOUSE_PROJECT_DIR)
if manifest_is_stale(dbt_project):
    # A fresh clone, or a model edited since the last parse (a `dagster dev` reload too), is
    # parsed once (seconds, no lake needed): the definitions load and match what dbt will run.
    parse_manifest(dbt_project)


def time_partitioned_raw(ingest: Sequence[dg.AssetsDefinition]) -> set[dg.AssetKey]:
    """Raw tables on days, weeks or months: the inputs a fact's days can be mapped from."""
    return {
        key
        for assets_def in ingest
        if isinstance(assets_def.partitions_def, dg.TimeWindowPartitionsDefinition)
        for key in assets_def.keys
    }


class WarehouseTranslator(DagsterDbtTranslator):
    """Keys, groups, tags and automation of the dbt nodes (see the module docstring)."""

    def __init__(self, day_mapped_raw: set[dg.AssetKey] = frozenset()) -> None:
        super().__init__()
        self.day_mapped_raw = day_mapped_raw

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        """A fact also depends on the time-partitioned raw tables its staging views read."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id)
        if node is None or not _is_incremental(node):
            return spec
        raw = {
            self.get_asset_key(manifest["sources"][source])
            for parent in manifest["parent_map"].get(unique_id, [])
            for source in manifest["parent_map"].get(parent, [])
            if source.startswith("source.")
        } & self.day_mapped_raw
        known = {dep.asset_key for dep in spec.deps}
        return spec.merge_attributes(
            deps=[
                dg.AssetDep(key, partition_mapping=OPEN_PERIODS_ALLOWED)
                for key in sorted(raw - known, key=lambda key: key.path)
            ]
        )

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        if dbt_resource_props["resource_type"] != "model":
            return None
        return FACTS_FOLLOW if _is_incremental(dbt_resource_props) else MODELS_FOLLOW

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["schema"]

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        if _is_incremental(dbt_resource_props):
            tags[PARTITIONED_TAG[0]] = PARTITIONED_TAG[1]
        return tags


TRANSLATOR = WarehouseTranslator(time_partitioned_raw([*keyapi_assets, *tiktok_research_assets]))


class DbtBuildConfig(dg.Config):
    """Launchpad options of a model run."""

    full_refresh: bool = False


def _is_incremental(dbt_resource_props: Mapping[str, Any]) -> bool:
    return dbt_resource_props.get("config", {}).get("materialized") == "incremental"


def _build(
    context: dg.AssetExecutionContext,
    dbt: DbtResource,
    config: DbtBuildConfig,
    extra_args: Sequence[str] = (),
) -> Iterator[Any]:
    """`dbt build` of the selected models and tests; types and row counts from the lake."""
    args = ["build", *extra_args, *(["--full-refresh"] if config.full_refresh else [])]
    invocation = dbt.cli(args, context=context)
    events = invocation.stream().fetch_row_counts().fetch_column_metadata(with_column_lineage=False)
    for event in events:
        yield _with_column_docs(event, invocation)
    # dagster-dbt gives each invocation its own target/ folder (6 MB here): a nightly that
    # nobody watches would fill the disk. A failed build keeps its folder to debug.
    shutil.rmtree(invocation.target_path, ignore_errors=True)


def _with_column_docs(event: Any, invocation: DbtCliInvocation) -> Any:
    """The built columns' types, with their descriptions and test constraints beside them.

    dagster-dbt's runtime schema holds the types only; the UI shows the latest one, so the
    descriptions would vanish after the first run without this.
    """
    schema = getattr(event, "metadata", {}).get("dagster/column_schema")
    unique_id = getattr(event, "metadata", {}).get("unique_id")
    if schema is None or unique_id is None or not hasattr(event, "with_metadata"):
        return event
    node = invocation.manifest["nodes"].get(unique_id.value, {})
    docs = node.get("columns", {})
    not_null, unique = _column_constraints(invocation.manifest, unique_id.value)
    columns = [
        dg.TableColumn(
            name=column.name,
            type=column.type,
            description=docs.get(column.name, {}).get("description") or None,
            constraints=dg.TableColumnConstraints(
                nullable=column.name not in not_null, unique=column.name in unique
            ),
        )
        for column in schema.schema.columns
    ]
    return event.with_metadata(
        {**event.metadata, "dagster/column_schema": dg.TableSchema(columns=columns)}
    )


def _column_constraints(manifest: Mapping[str, Any], unique_id: str) -> tuple[set[str], set[str]]:
    """Columns with a `not_null` and with a `unique` test on the model `unique_id`."""
    found: dict[str, set[str]] = {"not_null": set(), "unique": set()}
    for child in manifest["child_map"].get(unique_id, []):
        test = manifest["nodes"].get(child, {})
        name = test.get("test_metadata", {}).get("name")
        if name in found and test.get("column_name"):
            found[name].add(test["column_name"])
    return found["not_null"], found["unique"]


def dbt_model_assets(project: DbtProject) -> list[dg.AssetsDefinition]:
    """The project's models as two definitions: rebuilt whole, and the day-partitioned facts."""
    manifest = json.loads(project.manifest_path.read_text())

    @dbt_assets(
        manifest=manifest,
        project=project,
        exclude=INCREMENTAL,
        dagster_dbt_translator=TRANSLATOR,
        pool=MODELS_POOL,
        name="warehouse_models",
    )
    def warehouse_models(
        context: dg.AssetExecutionContext, dbt: DbtResource, config: DbtBuildConfig
    ) -> Iterator[Any]:
        """Staging views and the marts rebuilt whole, with their tests."""
        yield from _build(context, dbt, config)

    if not any(_is_incremental(node) for node in manifest["nodes"].values()):
        return [warehouse_models]

    @dbt_assets(
        manifest=manifest,
        project=project,
        select=INCREMENTAL,
        partitions_def=daily_partitions,
        dagster_dbt_translator=TRANSLATOR,
        pool=MODELS_POOL,
        name="warehouse_daily_facts",
    )
    def warehouse_daily_facts(
        context: dg.AssetExecutionContext, dbt: DbtResource, config: DbtBuildConfig
    ) -> Iterator[Any]:
        """Recompute the run's days of each fact (a backfill's whole range in one run)."""
        window = context.partition_time_window
        days = {"start_date": f"{window.start:%Y-%m-%d}", "end_date": f"{window.end:%Y-%m-%d}"}
        context.log.info(f"recomputing days {days['start_date']} to {days['end_date']} (excl.)")
        yield from _build(context, dbt, config, ["--vars", json.dumps(days)])

    return [warehouse_models, warehouse_daily_facts]


model_assets = dbt_model_assets(dbt_project)
