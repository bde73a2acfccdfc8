"""marts.fct_video_ranking_movement: movement, new entries, drop-outs, streaks, best rank."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import duckdb

from tests.warehouse.raw_data import insert_raw, ranking

MOVEMENT_COLUMNS = (
    "rank",
    "previous_rank",
    "rank_change",
    "is_new_entry",
    "is_dropped_out",
    "is_previous_period_loaded",
    "consecutive_periods",
    "best_rank_to_date",
)
A, B, C, D = 101, 102, 103, 104
Movement = dict[tuple[dt.date, int], dict[str, object]]


def _movement(con: duckdb.DuckDBPyConnection, period: str, rank_field: str = "views") -> Movement:
    """The mart's rows of one slice, keyed by (period_start, video_id)."""
    rows = con.execute(
        f"select period_start, video_id, {', '.join(MOVEMENT_COLUMNS)}\n"
        "from marts.fct_video_ranking_movement\n"
        "where period = ? and region = 'US' and rank_field = ? and product_category_id = 'all'",
        [period, rank_field],
    ).fetchall()
    return {
        (start, video): dict(zip(MOVEMENT_COLUMNS, rest, strict=True))
        for start, video, *rest in rows
    }


def _row(*values: int | bool | None) -> dict[str, object]:
    """Expected movement, positionally in MOVEMENT_COLUMNS order."""
    return dict(zip(MOVEMENT_COLUMNS, values, strict=True))


def test_daily_movement_over_three_days_and_a_gap(
    con: duckdb.DuckDBPyConnection, build_all: Callable[[], None]
) -> None:
    day = dt.date(2024, 5, 1)
    insert_raw(con, ranking(day, [A, B, C]))
    insert_raw(con, ranking(day + dt.timedelta(days=1), [B, A, D]))
    insert_raw(con, ranking(day + dt.timedelta(days=2), [C, B]))
    # 2024-05-04 is never loaded: 05-05 cannot know what is new or gone.
    insert_raw(con, ranking(day + dt.timedelta(days=4), [B]))
    build_all()

    d1, d2, d3, d5 = (day + dt.timedelta(days=n) for n in (0, 1, 2, 4))
    assert _movement(con, "day") == {
        # first loaded day: nothing to compare with
        (d1, A): _row(1, None, None, False, False, False, 1, 1),
        (d1, B): _row(2, None, None, False, False, False, 1, 2),
        (d1, C): _row(3, None, None, False, False, False, 1, 3),
        # B climbs, A falls, D is new, C drops out
        (d2, B): _row(1, 2, 1, False, False, True, 2, 1),
        (d2, A): _row(2, 1, -1, False, False, True, 2, 1),
        (d2, D): _row(3, None, None, True, False, True, 1, 3),
        (d2, C): _row(None, 3, None, False, True, True, 0, 3),
        # C is back (new again, streak restarts, best rank kept), A and D drop out
        (d3, C): _row(1, None, None, True, False, True, 1, 1),
        (d3, B): _row(2, 1, -1, False, False, True, 3, 1),
        (d3, A): _row(None, 2, None, False, True, True, 0, 1),
        (d3, D): _row(None, 3, None, False, True, True, 0, 3),
        # the unloaded 05-04 breaks B's streak and hides movement
        (d5, B): _row(1, None, None, False, False, False, 1, 1),
    }


def test_weekly_previous_period_is_the_previous_monday(
    con: duckdb.DuckDBPyConnection, build_all: Callable[[], None]
) -> None:
    monday = dt.date(2024, 4, 29)
    insert_raw(con, ranking(monday, [A, B], period="week"))
    insert_raw(con, ranking(monday + dt.timedelta(days=7), [B, A], period="week"))
    insert_raw(con, ranking(monday + dt.timedelta(days=21), [B], period="week"))
    # a daily ranking one day before the second week must not count as its previous period
    insert_raw(con, ranking(monday + dt.timedelta(days=6), [C]))
    build_all()

    w1, w2, w4 = (monday + dt.timedelta(days=n) for n in (0, 7, 21))
    assert _movement(con, "week") == {
        (w1, A): _row(1, None, None, False, False, False, 1, 1),
        (w1, B): _row(2, None, None, False, False, False, 1, 2),
        (w2, B): _row(1, 2, 1, False, False, True, 2, 1),
        (w2, A): _row(2, 1, -1, False, False, True, 2, 1),
        (w4, B): _row(1, None, None, False, False, False, 1, 1),
    }


def test_monthly_previous_period_is_the_previous_months_first(
    con: duckdb.DuckDBPyConnection, build_all: Callable[[], None]
) -> None:
    months = [dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]
    insert_raw(con, ranking(months[0], [A], period="month"))
    insert_raw(con, ranking(months[1], [B, A], period="month"))
    insert_raw(con, ranking(months[2], [B], period="month"))
    build_all()

    jan, feb, mar = months
    assert _movement(con, "month") == {
        (jan, A): _row(1, None, None, False, False, False, 1, 1),
        (feb, B): _row(1, None, None, True, False, True, 1, 1),
        (feb, A): _row(2, 1, -1, False, False, True, 2, 1),
        (mar, B): _row(1, 1, 0, False, False, True, 2, 1),
        (mar, A): _row(None, 2, None, False, True, True, 0, 1),
    }


def test_slices_never_mix_and_a_double_listing_keeps_its_best_rank(
    con: duckdb.DuckDBPyConnection, build_all: Callable[[], None]
) -> None:
    day = dt.date(2024, 5, 1)
    insert_raw(con, ranking(day, [A, B]))
    insert_raw(con, ranking(day + dt.timedelta(days=1), [B, A, B]))  # B twice: 1 and 3
    insert_raw(con, ranking(day + dt.timedelta(days=1), [A], rank_field="sales"))
    build_all()

    d2 = day + dt.timedelta(days=1)
    views = _movement(con, "day", "views")
    assert views[(d2, B)] == _row(1, 2, 1, False, False, True, 2, 1)
    assert len([key for key in views if key[0] == d2]) == 2
    # the sales ranking of 05-02 has no loaded previous day of its own
    assert _movement(con, "day", "sales") == {
        (d2, A): _row(1, None, None, False, False, False, 1, 1),
    }
    assert con.execute(
        "select views, units_sold, gmv from marts.fct_video_ranking_movement\n"
        "where rank_field = 'views' and period_start = ? and video_id = ?",
        [d2, B],
    ).fetchone() == (99_999, 12, 3_400)
