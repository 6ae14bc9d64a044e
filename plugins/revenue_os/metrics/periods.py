"""Periods: their length, the trailing windows, when a period closes for reporting.

The KPI layer, the scorecard, the packs and the alerts read these, so a "trailing 3 months"
or a "closed month" means the same on every surface.
"""

from __future__ import annotations

from datetime import date, timedelta

from revenue_os.metrics.contract import GrowthCalculation, MetricContract, SimpleCalculation
from revenue_os.metrics.sql_text import is_additive

PERIOD_STEP = {"week": "7 days", "month": "1 month", "quarter": "3 months"}
TRAILING_PERIODS = {"week": 4, "month": 3, "quarter": 4}
LONGER_WINDOWS = {"week": (8, 13)}
"""Windows kept beside the trailing one at a grain: the weekly forum pairs each week with its
4- and 13-week windows for signal, and the change rules compare a week with the 8 before."""
REPORTING_CLOSE_DAYS = 7
"""Days after a period ends until it is closed for reporting (the monthly pack goes out on the
8th). A contract whose values settle later (a cohort still converting) is not judged before
its own `final_after_days` have passed."""
FORWARD_PERIODS = 2
"""A forward-looking KPI (thresholds judged on the current period, such as pipeline coverage)
is computed for the period in progress and the next one: past periods have no open pipeline
left by nature, and periods further out lie beyond the plan."""


TRAILING_LABELS = {
    "total": "{n}-{unit} total",
    "average": "{n}-{unit} average",
    "growth": "last {n} {unit}s vs the {n} before",
}
MONTHS_IN = {"month": 1, "quarter": 3}


def window_columns(grain: str) -> dict[str, int]:
    """The KPI tables' window columns at `grain` and how many periods each spans: the
    trailing window, then the longer ones (`trailing_13_week_value`)."""
    return {
        "trailing_value": TRAILING_PERIODS[grain],
        **{f"trailing_{n}_{grain}_value": n for n in LONGER_WINDOWS.get(grain, ())},
    }


WINDOW_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(column for grain in PERIOD_STEP for column in window_columns(grain))
)
"""Every window column of the work table and `kpi_values`; null at grains without it."""


def rule_windows(grain: str) -> dict[int, str]:
    """The windows a change rule can compare, by length in periods: the period's own value
    and each window column the KPI tables keep at `grain`."""
    return {1: "value", **{periods: column for column, periods in window_columns(grain).items()}}


def window_span(grain: str, periods: int) -> str:
    """How far before a period's start a window of `periods` periods starts, as an interval."""
    if grain == "week":
        return f"{7 * (periods - 1)} days"
    return f"{MONTHS_IN[grain] * (periods - 1)} months"


def trailing_label(basis: str, grain: str) -> str:
    """What a trailing value is, in words: `3-month total`, `4-quarter average`."""
    return TRAILING_LABELS[basis].format(n=TRAILING_PERIODS[grain], unit=grain)


def period_start(grain: str, day: date) -> date:
    """The start of the period holding `day`, as Postgres' date_trunc gives it (weeks start
    on Monday)."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    month = (day.month - 1) // MONTHS_IN[grain] * MONTHS_IN[grain] + 1
    return date(day.year, month, 1)


def shift(grain: str, start: date, periods: int) -> date:
    """The start of the period `periods` after the one starting on `start` (before, if < 0)."""
    if grain == "week":
        return start + timedelta(days=7 * periods)
    index = start.year * 12 + start.month - 1 + periods * MONTHS_IN[grain]
    return date(index // 12, index % 12 + 1, 1)


def latest_complete(grain: str, business_day: date, days_after: int = 0) -> date:
    """The latest period that ended `days_after` days or more before the business day (the
    first day the data does not cover): complete with 0, closed or final with more."""
    return shift(grain, period_start(grain, business_day - timedelta(days=days_after)), -1)


def trailing_basis(contract: MetricContract) -> str:
    """What a trailing value is: the window's `total` (sums and counts), its `average` rate
    (averages, ratios, formulas), or the window's `growth` over the window before."""
    calculation = contract.calculation
    if isinstance(calculation, GrowthCalculation):
        return "growth"
    if isinstance(calculation, SimpleCalculation) and is_additive(calculation.expression):
        return "total"
    return "average"
