"""Periods: their length, the trailing windows, when a period closes for reporting.

The KPI layer, the scorecard, the packs and the alerts read these, so a "trailing 3 months"
or a "closed month" means the same on every surface.
"""

from __future__ import annotations

from revenue_os.metrics.contract import GrowthCalculation, MetricContract, SimpleCalculation
from revenue_os.metrics.sql_text import is_additive

PERIOD_STEP = {"week": "7 days", "month": "1 month", "quarter": "3 months"}
TRAILING_PERIODS = {"week": 4, "month": 3, "quarter": 4}
REPORTING_CLOSE_DAYS = 7
"""Days after a period ends until it is closed for reporting (the monthly pack goes out on the
8th). A contract whose values settle later (a cohort still converting) is not judged before
its own `final_after_days` have passed."""
FORWARD_PERIODS = 2
"""A forward-looking KPI (thresholds judged on the current period, such as pipeline coverage)
is computed for the period in progress and the next one: past periods have no open pipeline
left by nature, and periods further out lie beyond the plan."""


def trailing_basis(contract: MetricContract) -> str:
    """What a trailing value is: the window's `total` (sums and counts), its `average` rate
    (averages, ratios, formulas), or the window's `growth` over the window before."""
    calculation = contract.calculation
    if isinstance(calculation, GrowthCalculation):
        return "growth"
    if isinstance(calculation, SimpleCalculation) and is_additive(calculation.expression):
        return "total"
    return "average"
