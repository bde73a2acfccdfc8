"""Each nightly schedule, evaluated at a given time, asks for the right partition."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import pytest

from assets.definitions import defs
from assets.partitions import (
    daily_partitions,
    latest_published_key,
    snapshot_partitions,
    weekly_partitions,
)
from assets.schedules import JOB_NAMES, jobs, schedules


@pytest.mark.parametrize(
    ("schedule", "at", "key"),
    [
        ("daily_schedule", datetime(2026, 11, 23, 3, tzinfo=UTC), "2026-11-21"),
        ("daily_schedule", datetime(2026, 3, 1, 3, tzinfo=UTC), "2026-02-27"),
        ("weekly_schedule", datetime(2026, 11, 24, 3, tzinfo=UTC), "2026-11-16"),
        ("weekly_schedule", datetime(2026, 11, 23, 3, tzinfo=UTC), "2026-11-09"),
        ("monthly_schedule", datetime(2026, 12, 2, 3, tzinfo=UTC), "2026-11-01"),
        ("monthly_schedule", datetime(2026, 1, 2, 3, tzinfo=UTC), "2025-12-01"),
        ("snapshot_schedule", datetime(2026, 11, 23, 3, tzinfo=UTC), "2026-11-23"),
    ],
)
def test_schedule_targets_the_newest_published_period(schedule, at, key, dagster_home):
    context = dg.build_schedule_context(
        instance=dagster_home, scheduled_execution_time=at, repository_def=defs.get_repository_def()
    )
    requests = list(defs.get_schedule_def(schedule).evaluate_tick(context).run_requests or [])
    assert [r.partition_key for r in requests] == [key]
    # the snapshot schedule adds its day first: the partitions list only the days observed
    observed = dagster_home.get_dynamic_partitions(snapshot_partitions.name)
    assert observed == ([key] if schedule == "snapshot_schedule" else [])


def test_nightly_jobs_pull_only_and_the_automation_builds_the_models():
    for name in ("daily_job", "weekly_job", "monthly_job", "snapshot_job", "tiktok_research_job"):
        keys = defs.resolve_job_def(name).asset_layer.executable_asset_keys
        assert keys and all(key.path[0].startswith("raw_") for key in keys), name


def test_schedules_run_their_period_job_in_utc():
    assert {s.name: (s.job_name, s.cron_schedule) for s in schedules} == {
        "daily_schedule": ("daily_job", "0 3 * * *"),
        "weekly_schedule": ("weekly_job", "0 3 * * 2"),
        "monthly_schedule": ("monthly_job", "0 3 2 * *"),
    }
    assert all(s.execution_timezone == "UTC" for s in schedules)
    assert set(JOB_NAMES.values()) == {job.name for job in jobs.values()}


def test_weekly_keys_are_mondays_and_nothing_before_the_start_is_published():
    assert weekly_partitions.get_partition_keys()[0] == "2025-01-06"
    assert latest_published_key(daily_partitions, datetime(2025, 1, 1, 12, tzinfo=UTC)) is None
