"""How the pack writes numbers and statuses, the same way in the e-mail and in the PDF.

A value is written by `revenue_os.metrics.formatting.format_value`, the rule the KPI owners'
alerts use too, so an alert and the pack show a number alike. This module adds what only the
pack shows: the change against the prior month and the status colours.
"""

from __future__ import annotations

from decimal import Decimal

from revenue_os.metrics.formatting import MISSING, format_value

__all__ = [
    "MISSING",
    "STATUS_RGB",
    "STATUS_TEXT_RGB",
    "format_change",
    "format_delta",
    "format_value",
]

# The status colours of both renderers. Exact and used for nothing else on the page: the
# tests find the badges of a rendered pack by these pixels.
STATUS_RGB: dict[str, tuple[int, int, int]] = {
    "green": (46, 125, 50),
    "yellow": (249, 168, 37),
    "red": (198, 40, 40),
}
STATUS_TEXT_RGB: dict[str, tuple[int, int, int]] = {
    "green": (255, 255, 255),
    "yellow": (33, 33, 33),
    "red": (255, 255, 255),
}


def _signed(text: str) -> str:
    """`+` in front of a positive figure; a figure that shows as zero gets no sign."""
    if not any(digit in text for digit in "123456789"):
        return text.lstrip("-")
    return text if text.startswith("-") else f"+{text}"


def format_delta(delta_pct: Decimal | float | int | None) -> str:
    """The change against the prior period in percent of it: `+12.5 %`, `-3.0 %`, `0.0 %`."""
    if delta_pct is None:
        return MISSING
    return _signed(f"{Decimal(str(delta_pct)):,.1f} %")


def format_change(change: Decimal | float | int | None, fmt: str) -> str:
    """A difference of two values in the metric's own format: `+$5,000`, `-0.40x`."""
    if change is None:
        return MISSING
    return _signed(format_value(change, fmt))
