"""A KPI value as people read it, by its contract's `format` (one rule for alerts and packs)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

MISSING = "n/a"


def format_value(value: Decimal | float | int | None, fmt: str) -> str:
    """usd → $1,234,567 (cents below $100); percent → 12.3 %; ratio → 2.40x; days → 45.0 days;
    count → 1,234."""
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
    if fmt == "count":
        return f"{number:,.0f}" if number == number.to_integral_value() else f"{number:,.1f}"
    raise ValueError(f"unknown format {fmt!r}: expected usd, percent, ratio, days or count")
