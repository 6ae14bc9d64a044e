"""Threshold conditions: `">= 70"`, `">= 60 and < 70"`, `"< 60"`.

A condition is one or two comparisons of the value with a number, joined by `and`. Parsing
them here (rather than passing the text to SQL) lets the loader prove that green, yellow and
red cover the number line without overlap, and lets the KPI layer turn them into SQL with the
numbers as literals.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

_COMPARISON = re.compile(r"^\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")
STATUSES = ("green", "yellow", "red")


@dataclass(frozen=True)
class Comparison:
    operator: str
    number: float

    def holds(self, value: float) -> bool:
        if self.operator == ">=":
            return value >= self.number
        if self.operator == ">":
            return value > self.number
        if self.operator == "<=":
            return value <= self.number
        return value < self.number


@dataclass(frozen=True)
class Condition:
    text: str
    comparisons: tuple[Comparison, ...]

    def holds(self, value: float) -> bool:
        return all(comparison.holds(value) for comparison in self.comparisons)


def parse_condition(text: str) -> Condition:
    """Raises ValueError naming what is wrong, in the words a contract author uses."""
    parts = re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE)
    if len(parts) > 2:
        raise ValueError(f"{text!r}: at most two comparisons joined by 'and'")
    comparisons = []
    for part in parts:
        match = _COMPARISON.match(part)
        if match is None:
            raise ValueError(
                f"{text!r}: write comparisons like '>= 70' or '>= 60 and < 70' "
                "(operators >=, >, <=, <)"
            )
        comparisons.append(Comparison(match.group(1), float(match.group(2))))
    return Condition(text, tuple(comparisons))


def coverage_problems(conditions: dict[str, Condition]) -> list[str]:
    """Values matched by no status or by several, at every boundary, beside it and far out.

    Conditions are intervals, so checking each boundary, a point just either side of it, the
    midpoints between boundaries and both far ends finds every gap and overlap.
    """
    numbers = sorted({c.number for condition in conditions.values() for c in condition.comparisons})
    samples = {-1e12, 1e12}
    for number in numbers:
        samples.update({number, number - 1e-6, number + 1e-6})
    samples.update((low + high) / 2 for low, high in itertools.pairwise(numbers))
    gaps: list[str] = []
    overlaps: dict[str, list[str]] = {}
    for value in sorted(samples):
        matched = [status for status, condition in conditions.items() if condition.holds(value)]
        shown = f"{value:.10g}"
        if not matched and shown not in gaps:
            gaps.append(shown)
        elif len(matched) > 1 and shown not in overlaps.get(" and ".join(matched), []):
            overlaps.setdefault(" and ".join(matched), []).append(shown)
    problems = [
        f"{statuses} overlap (both hold for {', '.join(values[:3])})"
        for statuses, values in overlaps.items()
    ]
    if gaps:
        problems.append(f"no status holds for {', '.join(gaps[:3])}")
    return problems
