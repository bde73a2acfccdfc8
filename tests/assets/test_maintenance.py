"""Lake maintenance: compaction keeps every row and time travel; a bad window is refused."""

import dagster as dg
import pytest

from assets.keyapi import keyapi_assets
from assets.maintenance import lake_maintenance, time_travel_days
from pipelines.errors import ConfigError
from tests.conftest import count, materialize

DAILY = keyapi_assets[0]


def test_maintenance_compacts_without_losing_rows_or_time_travel(sim, warehouse, watchlist):
    assert materialize([DAILY], warehouse, watchlist, partition_key="2026-03-03").success
    first_load = count(warehouse, "select max(snapshot_id) from ducklake_snapshots('lake')")
    for key in ("2026-03-04", "2026-03-03"):  # the re-pull adds snapshots and small files
        assert materialize([DAILY], warehouse, watchlist, partition_key=key).success
    rows = count(warehouse, "select count(*) from raw_keyapi.video_rankings_daily")
    result = dg.materialize([lake_maintenance], resources={"warehouse": warehouse})
    assert result.success
    meta = result.asset_materializations_for_node("ops__lake_maintenance")[0].metadata
    assert meta["time_travel_days"].value == 30
    assert meta["snapshots_expired"].value == 0, "every snapshot is inside the 30-day window"
    assert count(warehouse, "select count(*) from raw_keyapi.video_rankings_daily") == rows == 160
    with warehouse.connect(read_only=True) as con:
        [(then,)] = con.execute(
            f"select count(*) from raw_keyapi.video_rankings_daily at (version => {first_load})"
        ).fetchall()
    assert then == 80, "the first pull (one day, 80 rows) is still there to travel back to"


@pytest.mark.parametrize("value", ["0", "-3", "a month"])
def test_a_bad_time_travel_window_is_refused_with_its_name(value):
    with pytest.raises(ConfigError, match=f"WAREHOUSE_TIME_TRAVEL_DAYS={value!r}"):
        time_travel_days({"WAREHOUSE_TIME_TRAVEL_DAYS": value})
