"""TikTok Research request parameters: a partition's days as the API's windows (at most 30
days each), and the JSON bodies of both modes, refused before sending what the vendor would.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ..errors import ConfigError
from .settings import (
    MAX_COUNT,
    MAX_WINDOW_DAYS,
    TASK_FIELDS,
    TASK_LIMIT_MAX,
    Condition,
    ConditionGroup,
    Mode,
    check_condition,
)


@dataclass(frozen=True)
class Window:
    """Publish days [start, end], both inclusive (the API's `start_date` / `end_date`)."""

    start: date
    end: date

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def label(self) -> str:
        return f"{self.start}..{self.end}"


def split_windows(days: Sequence[date], max_days: int = MAX_WINDOW_DAYS) -> list[Window]:
    """Contiguous runs of `days`, each at most `max_days` long (the API's 30-day limit)."""
    if not 1 <= max_days <= MAX_WINDOW_DAYS:
        raise ConfigError(f"window_days must be 1..{MAX_WINDOW_DAYS}, got {max_days}")
    windows: list[Window] = []
    for day in sorted(set(days)):
        last = windows[-1] if windows else None
        if last and day == last.end + timedelta(days=1) and len(last.days) < max_days:
            windows[-1] = Window(last.start, day)
        else:
            windows.append(Window(day, day))
    return windows


def _condition_json(condition: Condition) -> dict[str, Any]:
    return {
        "operation": condition.op,
        "field_name": condition.field,
        "field_values": list(condition.field_values),
    }


def _check_mode(groups: Sequence[ConditionGroup], mode: Mode) -> None:
    for group in groups:
        for c in group.conditions:
            try:
                check_condition(c.field, c.operator, c.field_values, mode)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None


def http_query(groups: Sequence[ConditionGroup]) -> dict[str, list[dict[str, Any]]]:
    """Condition groups -> the HTTP query object `{"and": [...], "or": [...], "not": [...]}`.

    Only the video query's operations pass (no LIKE / CONTAINS): a ConfigError names the
    field and the operator before anything is sent.
    """
    if sum(g.operator == "or" for g in groups) > 1:
        raise ConfigError("the HTTP video query holds one `or` list; use mode: task")
    _check_mode(groups, "query")
    query: dict[str, list[dict[str, Any]]] = {}
    for group in groups:
        query.setdefault(group.operator, []).extend(_condition_json(c) for c in group.conditions)
    return query


def query_body(
    groups: Sequence[ConditionGroup],
    window: Window,
    max_count: int,
    cursor: int = 0,
    search_id: str | None = None,
) -> dict[str, Any]:
    """The JSON body of one page of `POST /v2/research/video/query/`, checked against limits."""
    if not 1 <= max_count <= MAX_COUNT:
        raise ConfigError(f"max_count must be 1..{MAX_COUNT}, got {max_count}")
    if len(window.days) > MAX_WINDOW_DAYS:
        raise ConfigError(f"window {window.label()} is longer than {MAX_WINDOW_DAYS} days")
    body: dict[str, Any] = {
        "query": http_query(groups),
        "start_date": window.start.strftime("%Y%m%d"),
        "end_date": window.end.strftime("%Y%m%d"),
        "max_count": max_count,
    }
    if cursor:
        body["cursor"] = cursor
    if search_id:
        body["search_id"] = search_id
    return body


def _epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def task_body(groups: Sequence[ConditionGroup], window: Window, limit: int) -> dict[str, Any]:
    """A create-task body: the window becomes create_time conditions (epoch seconds, UTC)."""
    if not 1 <= limit <= TASK_LIMIT_MAX:
        raise ConfigError(f"limit must be 1..{TASK_LIMIT_MAX}, got {limit}")
    _check_mode(groups, "task")
    bounds = ConditionGroup(
        operator="and",
        conditions=(
            Condition(
                field="create_time", operator="GTE", field_values=(str(_epoch(window.start)),)
            ),
            Condition(
                field="create_time",
                operator="LT",
                field_values=(str(_epoch(window.end + timedelta(days=1))),),
            ),
        ),
    )
    return {
        "category": "video",
        "condition_groups": [
            {
                "operator": g.operator,
                "conditions": [
                    {"field": c.field, "operator": c.op, "field_values": list(c.field_values)}
                    for c in g.conditions
                ],
            }
            for g in (bounds, *groups)
        ],
        "fields": ",".join(TASK_FIELDS),
        "limit": limit,
    }
