"""Which contracts a monthly roll-up of their fact can answer, for the charts and the KPI layer.

A roll-up (`ROLLUPS` in the mart catalogue) keeps its fact's measures summed under the same
names, grouped by month and the columns charts and contracts filter on, with a count of the
fact rows each of its rows sums. A contract that sums kept columns or counts rows, filtered on
kept columns, gives the same number on the roll-up for whole months (and for quarters, three
whole months), from a table tens to hundreds of times smaller.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlglot import exp

from revenue_os.metrics.contract import SimpleCalculation
from revenue_os.metrics.mart_catalogue import MART_MODELS, ROLLUP_TIME_COLUMN, ROLLUPS
from revenue_os.metrics.sql_text import (
    SqlTextError,
    aggregate_calls,
    check_aggregate,
    check_predicate,
    parse,
)


def rolled_up(calculation: SimpleCalculation, rollup: str) -> SimpleCalculation | None:
    """The calculation on a monthly roll-up of its fact, or None where the result would differ.

    A roll-up holds the fact's measures summed under the same names, so a sum over kept
    columns, filtered on kept columns, adds up to the same number, and a count of rows is the
    sum of its row count; an average, a count of a column's values or a distinct count over
    the fact's rows is not.
    """
    fact, fact_time_column, row_count = ROLLUPS[rollup]
    if calculation.model != fact or calculation.time_column != fact_time_column:
        return None
    if not aggregate_calls(calculation.expression) <= {"sum", "count"}:
        return None
    expression = _rows_counted(calculation.expression, row_count)
    if expression is None:
        return None
    columns = frozenset(MART_MODELS[rollup])
    try:
        check_aggregate(expression, columns)
        if calculation.filter:
            check_predicate(calculation.filter, columns)
    except SqlTextError:
        return None
    return calculation.model_copy(
        update={"model": rollup, "time_column": ROLLUP_TIME_COLUMN, "expression": expression}
    )


def _rows_counted(expression: str, row_count: str) -> str | None:
    """`expression` with each `count(*)` read as the roll-up's `coalesce(sum(row_count), 0)`
    (a count of no rows is 0, a sum of none is null); None when it counts anything else (a
    column's values or distinct values, which the roll-up's row count does not give)."""
    tree = parse(expression)
    counts = [node for node in tree.walk() if isinstance(node, exp.Count)]
    if not counts:
        return expression  # sums only: the contract's own text
    if not all(isinstance(node.this, exp.Star) for node in counts):
        return None
    summed = exp.Coalesce(
        this=exp.Sum(this=exp.column(row_count)), expressions=[exp.Literal.number(0)]
    )
    tree = tree.transform(lambda node: summed.copy() if isinstance(node, exp.Count) else node)
    return tree.sql(dialect="postgres", normalize_functions="lower")


def rollup_answering(
    calculation: SimpleCalculation, columns: Iterable[str]
) -> SimpleCalculation | None:
    """The calculation on the first roll-up that gives its number and keeps `columns` (the
    dimensions it is broken out by), or None when only the fact can answer it."""
    needed = set(columns)
    # The narrowest first: the fewer columns a roll-up keeps, the fewer rows it has.
    for rollup in sorted(ROLLUPS, key=lambda name: (len(MART_MODELS[name]), name)):
        variant = rolled_up(calculation, rollup)
        if variant is not None and needed <= set(MART_MODELS[rollup]):
            return variant
    return None
