"""Bad settings and unpublished partitions are refused before any request, naming the fix.

Each run goes through real Dagster against the simulator; "no request" is read off the
simulator's own request counter. Imports with a bad setting run in a fresh interpreter,
because the definitions read their settings when they are imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from assets.definitions import defs
from assets.influtics import influtics_video_stats
from assets.keyapi import keyapi_assets
from assets.resources import WatchlistResource
from assets.tiktok_research import tiktok_research_videos
from assets.trendtrack import trendtrack_library
from tests.conftest import ROOT, count, materialize, today

KEYAPI_DAY = next(a for a in keyapi_assets if next(iter(a.specs)).tags["period"] == "day")
WATCHLIST = """
keyapi: {regions: [US], rank_fields: [views], pages: 1}
trendtrack:
  limit: 50
  queries: [{name: skincare, search: [skincare], search_area: hashtag, max_pages: 1}]
tiktok_research:
  max_count: 50
  queries: [{name: gb, regions: [GB]}]
"""
RANGE = {
    "dagster/asset_partition_range_start": "2026-03-02",
    "dagster/asset_partition_range_end": "2026-03-04",
}


@pytest.fixture
def all_watchlist(tmp_path) -> WatchlistResource:
    path = tmp_path / "watchlist.yaml"
    path.write_text(WATCHLIST)
    return WatchlistResource(path=str(path))


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """The message of the run's one step failure (its description, not the traceback)."""
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return failure.event_specific_data.error.message


@pytest.mark.parametrize(
    ("name", "value", "shown", "requirement"),
    [
        ("MAX_ATTEMPTS", "0", "0", "a whole number of at least 1"),
        ("READ_TIMEOUT", "-1", "-1", "a number of seconds above 0"),
        ("REQUESTS_PER_SECOND", "fast", "'fast'", "a number of at least 0"),
        ("BACKOFF_BASE", "-0.5", "-0.5", "a number of seconds of at least 0"),
        ("BASE_URL", "api.keyapi.ai", "'api.keyapi.ai'", "an http(s) URL"),
    ],
)
def test_a_bad_keyapi_setting_fails_the_run_naming_it_before_any_request(
    sim, warehouse, all_watchlist, monkeypatch, name, value, shown, requirement
):
    setting = f"SOURCES__KEYAPI__{name}"
    monkeypatch.setenv(setting, value)
    before = sim.stats("keyapi")["total"]
    result = materialize([KEYAPI_DAY], warehouse, all_watchlist, partition_key="2026-03-03")
    text = failure_message(result)
    assert f"{setting}={shown}" in text
    assert requirement in text and "unset it to use the default" in text
    assert "before any request" in text
    assert "Rows of complete slices" not in text
    assert "unreachable" not in text and "out of range" not in text
    assert sim.api_keys["keyapi"] not in text
    assert sim.stats("keyapi")["total"] == before, "no request reached the vendor"


@pytest.mark.parametrize(
    ("name", "value", "requirement"),
    [
        ("DAILY_QUOTA", "0", "a whole number of requests of at least 1"),
        ("DAILY_QUOTA", "many", "a whole number"),
        ("TASK_POLL_SECONDS", "0", "a number of seconds above 0"),
        ("MAX_ATTEMPTS", "0", "a whole number of at least 1"),
    ],
)
def test_a_bad_tiktok_research_setting_fails_the_run_before_any_request(
    sim, warehouse, all_watchlist, monkeypatch, name, value, requirement
):
    setting = f"SOURCES__TIKTOK_RESEARCH__{name}"
    monkeypatch.setenv(setting, value)
    before = sim.stats("tiktok_research")["total"]
    result = materialize([tiktok_research_videos], warehouse, all_watchlist, tags=RANGE)
    text = failure_message(result)
    assert setting in text and (f"={value}" in text or f"='{value}'" in text)
    assert requirement in text and "Rows of complete slices" not in text
    assert sim.stats("tiktok_research")["total"] == before


def test_a_snapshot_vendors_bad_setting_is_refused_too(sim, warehouse, all_watchlist, monkeypatch):
    monkeypatch.setenv("SOURCES__INFLUTICS__READ_TIMEOUT", "-1")
    before = sim.stats("influtics")["total"]
    result = materialize([influtics_video_stats], warehouse, all_watchlist, partition_key=today())
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    text = str(failure.event_specific_data.error)  # the ConfigError is the step error's cause
    assert "SOURCES__INFLUTICS__READ_TIMEOUT=-1 must be a number of seconds above 0" in text
    assert sim.stats("influtics")["total"] == before


def test_one_vendors_bad_setting_leaves_the_other_vendors_running(
    sim, warehouse, all_watchlist, monkeypatch
):
    monkeypatch.setenv("SOURCES__KEYAPI__REQUESTS_PER_SECOND", "fast")
    keyapi = materialize([KEYAPI_DAY], warehouse, all_watchlist, partition_key="2026-03-03")
    assert "SOURCES__KEYAPI__REQUESTS_PER_SECOND='fast'" in failure_message(keyapi)
    before = sim.stats("trendtrack")["total"]
    other = materialize([trendtrack_library], warehouse, all_watchlist, partition_key=today())
    assert other.success
    assert sim.stats("trendtrack")["total"] == before + 1
    assert count(warehouse, "select count(*) from raw_trendtrack.library_items") > 0


def test_a_missing_key_says_to_fix_the_setting_not_to_rerun_for_kept_rows(
    sim, warehouse, all_watchlist, monkeypatch
):
    monkeypatch.delenv("SOURCES__KEYAPI__API_KEY")
    before = sim.stats("keyapi")["total"]
    result = materialize([KEYAPI_DAY], warehouse, all_watchlist, partition_key="2026-03-03")
    text = failure_message(result)
    assert "no API key is configured" in text and "SOURCES__KEYAPI__API_KEY" in text
    assert "No request was sent and nothing was loaded: fix the setting" in text
    assert "Rows of complete slices" not in text
    assert sim.stats("keyapi")["total"] == before


def test_an_unpublished_keyapi_day_is_not_offered_so_no_request_is_sent(
    sim, warehouse, all_watchlist
):
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    assert KEYAPI_DAY.partitions_def.get_last_partition_key() == str(yesterday - timedelta(days=1))
    before = sim.stats("keyapi")["total"]
    with pytest.raises(dg.DagsterUnknownPartitionError, match=str(yesterday)):
        materialize([KEYAPI_DAY], warehouse, all_watchlist, partition_key=str(yesterday))
    assert sim.stats("keyapi")["total"] == before


def test_a_research_range_ending_in_an_unpublished_day_is_refused_whole(
    sim, warehouse, all_watchlist
):
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    first = yesterday - timedelta(days=2)
    before = sim.stats("tiktok_research")["total"]
    result = materialize(
        [tiktok_research_videos],
        warehouse,
        all_watchlist,
        tags={
            "dagster/asset_partition_range_start": str(first),
            "dagster/asset_partition_range_end": str(yesterday),
        },
    )
    text = failure_message(result)
    assert f"TikTok Research partition {yesterday} is not published yet" in text
    assert "Nothing was requested" in text
    assert sim.stats("tiktok_research")["total"] == before


# -- imports with a bad setting ----------------------------------------------------------------

_PROBE = """
import json
from assets.definitions import defs
from assets.partitions import START_DATE_ERROR, daily_partitions
keys = defs.resolve_all_asset_keys()
print(json.dumps({
    "keys": sorted("/".join(k.path) for k in keys),
    "start": daily_partitions.start.date().isoformat(),
    "start_error": START_DATE_ERROR,
}))
"""


def _import_with(env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "env",
    [
        {"SOURCES__KEYAPI__MAX_ATTEMPTS": "0"},
        {"SOURCES__KEYAPI__READ_TIMEOUT": "-1"},
        {"SOURCES__KEYAPI__REQUESTS_PER_SECOND": "fast"},
        {"SOURCES__KEYAPI__PAGES": "lots", "SOURCES__KEYAPI__REGIONS": "[1, 2"},
        {
            "SOURCES__TIKTOK_RESEARCH__DAILY_QUOTA": "many",
            "SOURCES__INFLUTICS__REQUESTS_PER_SECOND": "fast",
            "SOURCES__TRENDTRACK__MAX_ATTEMPTS": "x",
            "SOURCES__ENSEMBLEDATA__BASE_URL": "nowhere",
        },
    ],
)
def test_the_definitions_load_every_vendor_whatever_a_vendor_setting_holds(env):
    expected = sorted("/".join(k.path) for k in defs.resolve_all_asset_keys())
    got = _import_with(env)
    assert got["keys"] == expected
    raw = {key.split("/")[0] for key in got["keys"] if key.startswith("raw_")}
    assert raw == {f"raw_{v}" for v in ("keyapi", "tiktok_research", "trendtrack", "influtics",
                                        "ensembledata")}  # fmt: skip


_START_DATE_RUN = """
import json, sys
from datetime import UTC, datetime
import dagster as dg
from dagster_dlt import DagsterDltResource
from assets.definitions import defs
from assets.keyapi import keyapi_assets
from assets.partitions import START_DATE_ERROR, daily_partitions
from assets.resources import WarehouseResource, WatchlistResource
result = dg.materialize(
    [keyapi_assets[0]],
    resources={
        "dlt": DagsterDltResource(),
        "warehouse": WarehouseResource(path=sys.argv[1]),
        "watchlist": WatchlistResource(path=sys.argv[2]),
    },
    partition_key="2026-03-03",
    raise_on_error=False,
)
(failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
tick = defs.get_schedule_def("daily_schedule").evaluate_tick(
    dg.build_schedule_context(scheduled_execution_time=datetime(2026, 3, 5, 3, tzinfo=UTC))
)
print(json.dumps({
    "keys": sorted("/".join(k.path) for k in defs.resolve_all_asset_keys()),
    "start": daily_partitions.start.date().isoformat(),
    "start_error": START_DATE_ERROR,
    "failure": failure.event_specific_data.error.message,
    "skip": tick.skip_message,
}))
"""


def test_a_bad_start_date_loads_the_definitions_and_fails_runs_naming_it(
    sim, tmp_path, all_watchlist
):
    before = sim.stats("keyapi")["total"]
    done = subprocess.run(
        [sys.executable, "-c", _START_DATE_RUN, str(tmp_path / "lake"), all_watchlist.path],
        cwd=ROOT,
        env={**os.environ, "PARTITIONS_START_DATE": "2025-13-01"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["keys"] == sorted("/".join(k.path) for k in defs.resolve_all_asset_keys())
    assert got["start"] == "2025-01-01", "the partitions fall back to the default"
    refused = "PARTITIONS_START_DATE='2025-13-01' is not a date as YYYY-MM-DD"
    assert refused in got["start_error"] and "fixed or unset" in got["start_error"]
    assert refused in got["failure"], "the run fails at its start, naming the setting"
    assert got["skip"] == got["start_error"], "the schedule skips its tick with the reason"
    assert sim.stats("keyapi")["total"] == before
