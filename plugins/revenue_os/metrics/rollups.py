"""Which contracts a monthly roll-up of their fact can answer, for the charts and the KPI layer.

A roll-up (`ROLLUPS` in the mart catalogue) keeps its fact's measures summed under the same
names, grouped by month and the columns charts and contracts filter on. A contract that sums
kept columns, filtered on kept columns, gives the same number on the roll-up for whole months
(and for quarters, three whole months), from a table tens to hundreds of times smaller.
"""

from __future__ import annotations

from collections.abc import Iterable

from revenue_os.metrics.contract import SimpleCalculation
from revenue_os.metrics.mart_catalogue import MART_MODELS, ROLLUP_TIME_COLUMN, ROLLUPS
from revenue_os.metrics.sql_text import (
    SqlTextError,
    aggregate_calls,
    check_aggregate,
    check_predicate,
)


def rolled_up(calculation: SimpleCalculation, rollup: str) -> SimpleCalculation | None:
    """The calculation on a monthly roll-up of its fact, or None where the result would differ.

    A roll-up holds the fact's measures summed under the same names, so a sum over kept
    columns, filtered on kept columns, adds up to the same number; a count, an average or a
    distinct count over the fact's rows does not.
    """
    fact, fact_time_column, _ = ROLLUPS[rollup]
    if calculation.model != fact or calculation.time_column != fact_time_column:
        return None
    calls = aggregate_calls(calculation.expression)
    if calls != {"sum"}:
        return None
    columns = frozenset(MART_MODELS[rollup])
    try:
        check_aggregate(calculation.expression, columns)
        if calculation.filter:
            check_predicate(calculation.filter, columns)
    except SqlTextError:
        return None
    return calculation.model_copy(update={"model": rollup, "time_column": ROLLUP_TIME_COLUMN})


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
