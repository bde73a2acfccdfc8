"""The one Definitions object: `dagster dev` from the repo root loads this module.

It only assembles what the other modules build; nothing here touches the network,
the warehouse or the vendors (Dagster imports this often).
"""

from __future__ import annotations

import dagster as dg
from dagster_dlt import DagsterDltResource

from .ensembledata import ensembledata_assets
from .influtics import influtics_assets
from .keyapi import keyapi_assets
from .maintenance import lake_maintenance, maintenance_job, maintenance_schedule
from .ops import ops_sensors
from .resources import DbtResource, WarehouseResource, WatchlistResource
from .schedules import (
    jobs,
    models_job,
    schedules,
    snapshot_job,
    snapshot_schedule,
    tiktok_research_job,
    tiktok_research_schedule,
)
from .tiktok_research import tiktok_research_asset_checks, tiktok_research_assets
from .trendtrack import trendtrack_asset_checks, trendtrack_assets
from .warehouse import MODEL_GROUPS, model_assets

warehouse = WarehouseResource()

# On from the start: the models follow every pull and backfill with no one switching it on.
models_automation = dg.AutomationConditionSensorDefinition(
    "models_automation",
    target=dg.AssetSelection.groups(*MODEL_GROUPS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Requests the model partitions whose inputs updated (assets/warehouse.py), "
    "as one backfill run in dependency order.",
)

defs = dg.Definitions(
    assets=[
        *keyapi_assets,
        *influtics_assets,
        *trendtrack_assets,
        *ensembledata_assets,
        *tiktok_research_assets,
        lake_maintenance,
        *model_assets,
    ],
    asset_checks=[*trendtrack_asset_checks, *tiktok_research_asset_checks],
    jobs=[*jobs.values(), snapshot_job, models_job, tiktok_research_job, maintenance_job],
    schedules=[*schedules, snapshot_schedule, tiktok_research_schedule, maintenance_schedule],
    sensors=[*ops_sensors, models_automation],
    resources={
        "dlt": DagsterDltResource(),
        "warehouse": warehouse,
        "dbt": DbtResource(warehouse=warehouse),
        "watchlist": WatchlistResource(),
    },
)
