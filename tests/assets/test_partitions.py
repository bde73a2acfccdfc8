"""Publication rules: when each partition is published, and runs of one not yet refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import dagster as dg
import pytest

from assets.partitions import (
    add_snapshot_day,
    daily_partitions,
    latest_published_key,
    monthly_partitions,
    published_at,
    require_published,
    snapshot_partitions,
    weekly_partitions,
)


@pytest.mark.parametrize(
    ("partitions_def", "key", "published"),
    [
        (daily_partitions, "2026-11-21", datetime(2026, 11, 23, tzinfo=UTC)),
        (weekly_partitions, "2026-11-16", datetime(2026, 11, 24, tzinfo=UTC)),  # the Tuesday
        (monthly_partitions, "2026-11-01", datetime(2026, 12, 2, tzinfo=UTC)),  # the 2nd
    ],
)
def test_a_period_is_published_a_day_after_it_ends(partitions_def, key, published):
    assert published_at(partitions_def, key) == published
    assert latest_published_key(partitions_def, published) == key
    assert latest_published_key(partitions_def, published - timedelta(seconds=1)) != key


@pytest.mark.parametrize(
    "partitions_def", [daily_partitions, weekly_partitions, monthly_partitions]
)
def test_the_schedule_rule_and_the_refusal_rule_agree(partitions_def):
    at = datetime(2026, 1, 1, 5, tzinfo=UTC)
    while at < datetime(2026, 3, 1, tzinfo=UTC):
        newest = latest_published_key(partitions_def, at)
        assert published_at(partitions_def, newest) <= at
        window = partitions_def.time_window_for_partition_key(newest)
        following = partitions_def.get_partition_key_for_timestamp(window.end.timestamp())
        assert published_at(partitions_def, following) > at
        at += timedelta(hours=7)


def _context(*keys: str) -> SimpleNamespace:
    return SimpleNamespace(partition_keys=list(keys))


def test_a_run_of_published_partitions_gets_their_dates():
    now = datetime(2026, 3, 5, 0, tzinfo=UTC)
    got = require_published(_context("2026-03-02", "2026-03-03"), daily_partitions, "KeyAPI", now)
    assert got == [date(2026, 3, 2), date(2026, 3, 3)]


def test_a_run_reaching_past_the_published_ones_is_refused_naming_the_first():
    now = datetime(2026, 3, 4, 12, tzinfo=UTC)
    with pytest.raises(dg.Failure) as caught:
        require_published(
            _context("2026-03-02", "2026-03-03", "2099-01-01"), daily_partitions, "KeyAPI", now
        )
    text = caught.value.description
    assert text.startswith("KeyAPI partition 2026-03-03 (and 1 later partition(s) of this run)")
    assert "publishes it at 2026-03-05 00:00 UTC" in text
    assert "pick partitions up to 2026-03-02" in text
    assert caught.value.metadata["unpublished_partitions"].value == "2026-03-03, 2099-01-01"


def test_a_week_waits_for_its_tuesday_and_a_month_for_the_2nd():
    monday = datetime(2026, 11, 23, 12, tzinfo=UTC)
    with pytest.raises(dg.Failure, match=r"2026-11-16 is not published yet.*2026-11-24 00:00"):
        require_published(_context("2026-11-16"), weekly_partitions, "KeyAPI", monday)
    first = datetime(2026, 12, 1, 23, 59, tzinfo=UTC)
    with pytest.raises(dg.Failure, match=r"2026-11-01 is not published yet.*2026-12-02 00:00"):
        require_published(_context("2026-11-01"), monthly_partitions, "KeyAPI", first)
    assert require_published(_context("2026-11-01"), monthly_partitions, "KeyAPI",
                             first + timedelta(minutes=1)) == [date(2026, 11, 1)]  # fmt: skip


def test_days_offer_only_published_keys():
    at = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert daily_partitions.get_partition_keys(current_time=at)[-1] == "2026-11-21"
    assert latest_published_key(daily_partitions, at) == "2026-11-21"


def test_snapshot_partitions_hold_only_the_days_observed():
    with dg.DagsterInstance.ephemeral() as instance:
        assert instance.get_dynamic_partitions(snapshot_partitions.name) == []
        add_snapshot_day(instance, "2026-11-22")
        add_snapshot_day(instance, "2026-11-23")
        add_snapshot_day(instance, "2026-11-23")
        assert instance.get_dynamic_partitions(snapshot_partitions.name) == [
            "2026-11-22",
            "2026-11-23",
        ]
