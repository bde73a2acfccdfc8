"""The one Definitions object: `dagster dev` from the repo root loads this module.

It only assembles what the other modules build; nothing here touches the network,
the warehouse or the vendors (Dagster imports this often).
"""

from __future__ import annotations

import dagster as dg
from dagster_dlt import DagsterDltResource

from .keyapi import keyapi_assets
from .resources import WarehouseResource, WatchlistResource
from .schedules import jobs, models_job, schedules, snapshot_job, snapshot_schedule
from .warehouse import model_assets

defs = dg.Definitions(
    assets=[*keyapi_assets, *model_assets()],
    jobs=[*jobs.values(), snapshot_job, models_job],
    schedules=[*schedules, snapshot_schedule],
    resources={
        "dlt": DagsterDltResource(),
        "warehouse": WarehouseResource(),
        "watchlist": WatchlistResource(),
    },
)
