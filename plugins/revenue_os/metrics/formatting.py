"""A KPI value as people read it, by its contract's `format` (one rule for alerts and packs)."""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext

MISSING = "n/a"


def format_value(value: Decimal | float | int | None, fmt: str) -> str:
    """usd → $1,234,567 (cents below $100); percent → 12.3 %; ratio → 2.40x; days → 45.0 days;
    months → 4.3 months; count → 1,234."""
    if value is None:
        return MISSING
    # Halves round away from zero, as the dashboards' number formats do (25.25 % reads 25.3 %
    # in both); Decimal's own default would round them to even.
    with localcontext() as context:
        context.rounding = ROUND_HALF_UP
        return _formatted(Decimal(str(value)), fmt)


def _formatted(number: Decimal, fmt: str) -> str:
    if fmt == "usd":
        sign = "-" if number < 0 else ""
        return f"{sign}${abs(number):,.2f}" if abs(number) < 100 else f"{sign}${abs(number):,.0f}"
    if fmt == "percent":
        return f"{number:,.1f} %"
    if fmt == "ratio":
        return f"{number:,.2f}x"
    if fmt == "days":
        return f"{number:,.1f} days"
    if fmt == "months":
        return f"{number:,.1f} months"
    if fmt == "count":
        return f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,.1f}"
    raise ValueError(f"unknown format {fmt!r}: expected usd, percent, ratio, days, months or count")


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_ZERO_FRACTION = re.compile(r"\.0+(?!\d)")


def format_condition(condition: str | None, fmt: str) -> str | None:
    """A contract's threshold condition in the unit of its values, as a reader says it:
    `< 700000` on dollars reads `< $700,000`, `>= 18 and < 25` on a percentage `>= 18 % and
    < 25 %`; a whole number keeps no decimals."""
    if condition is None:
        return None

    def said(match: re.Match[str]) -> str:
        number = Decimal(match.group())
        shown = format_value(number, fmt)
        # A threshold is a round figure: 70 reads `70 %`, not the value's `70.0 %`.
        return _ZERO_FRACTION.sub("", shown) if number == number.to_integral_value() else shown

    return _NUMBER.sub(said, condition)


def format_change_vs_prior(
    value: Decimal | float | int | None, prior: Decimal | float | int | None, fmt: str
) -> str:
    """The change against the prior period: in points for a percentage (`+2.3 pts`, the way a
    margin moves), in per cent of the prior value otherwise (`+12.5 %`); the scorecard writes
    the same (revenue_os.metrics.scorecard.change_sql)."""
    if value is None or prior is None:
        return MISSING
    current, before = Decimal(str(value)), Decimal(str(prior))
    if fmt == "percent":
        change, unit = current - before, "pts"
    elif before == 0:
        return MISSING
    else:
        change, unit = (current - before) * 100 / abs(before), "%"
    with localcontext() as context:
        context.rounding = ROUND_HALF_UP
        rounded = change.quantize(Decimal("0.1"))
    sign = "+" if rounded > 0 else "-" if rounded < 0 else "±"
    return f"{sign}{abs(rounded):,.1f} {unit}"


def period_label(grain: str, start: date) -> str:
    """A period as people write it: `October 2026`, `Q2 2026`, `Week of 5 Oct 2026` (the
    scorecard's period_label_sql writes the same)."""
    if grain == "month":
        return f"{start:%B %Y}"
    if grain == "quarter":
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    return f"Week of {start.day} {start:%b %Y}"
