"""Period arithmetic the calendar, the scorecard and the campaign window share, on dates
worked out by hand (weeks start on Monday, as Postgres' date_trunc has them)."""

from __future__ import annotations

from datetime import date

import pytest

from revenue_os.metrics.periods import latest_complete, period_start, shift, trailing_label


@pytest.mark.parametrize(
    ("grain", "day", "start"),
    [
        ("week", date(2026, 11, 8), date(2026, 11, 2)),  # a Sunday: the week began Monday 2nd
        ("week", date(2026, 11, 9), date(2026, 11, 9)),  # a Monday
        ("month", date(2026, 11, 9), date(2026, 11, 1)),
        ("quarter", date(2026, 11, 9), date(2026, 10, 1)),
        ("quarter", date(2026, 3, 31), date(2026, 1, 1)),
    ],
)
def test_the_period_holding_a_day(grain, day, start):
    assert period_start(grain, day) == start


def test_shifting_crosses_years_both_ways():
    assert shift("month", date(2026, 11, 1), 2) == date(2027, 1, 1)
    assert shift("quarter", date(2026, 1, 1), -1) == date(2025, 10, 1)
    assert shift("week", date(2026, 12, 28), 1) == date(2027, 1, 4)


def test_the_latest_complete_and_closed_periods_of_the_demo_business_day():
    # Data through 8 November (the business day is the 9th): October is complete, and closed
    # 7 days after its end (the 8th is past); with 30 days to settle, September is the latest.
    day = date(2026, 11, 9)
    assert latest_complete("month", day) == date(2026, 10, 1)
    assert latest_complete("month", day, 7) == date(2026, 10, 1)
    assert latest_complete("month", date(2026, 11, 7), 7) == date(2026, 9, 1)
    assert latest_complete("month", day, 30) == date(2026, 9, 1)
    assert latest_complete("quarter", day) == date(2026, 7, 1)


def test_trailing_windows_are_named_by_their_grain():
    assert trailing_label("total", "month") == "3-month total"
    assert trailing_label("average", "quarter") == "4-quarter average"
    assert trailing_label("growth", "week") == "last 4 weeks vs the 4 before"
