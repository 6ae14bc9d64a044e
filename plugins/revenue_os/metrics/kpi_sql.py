"""The KPI compiler: each metric contract as the SQL that computes it into `kpi_values`.

Each simple metric is one scan of its model per grain, with GROUPING SETS over its
dimensions (a monthly roll-up of the fact for months and quarters, where it gives the same
sums); derived metrics (ratio, growth, formula) are computed from the stored values of their
inputs in the work table `kpi_work`, aggregated to the same period and dimension first and
divided after, so a join can never fan out (spend is never multiplied by attribution rows).
`kpi_values_sql` then adds each value's contract, prior period, change, status and
completeness. The statements are composed with `psycopg.sql`; no value is formatted in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal

from psycopg import sql

from revenue_os.metrics.as_of import contract_models_as_of
from revenue_os.metrics.contract import (
    FormulaCalculation,
    GrowthCalculation,
    MetricContract,
    RatioCalculation,
    SimpleCalculation,
)
from revenue_os.metrics.loader import inputs_of, models_behind
from revenue_os.metrics.mart_catalogue import AS_OF_COLUMNS, MART_MODELS
from revenue_os.metrics.periods import (
    FORWARD_PERIODS,
    PERIOD_STEP,
    REPORTING_CLOSE_DAYS,
    TRAILING_PERIODS,
    WINDOW_COLUMNS,
    period_start,
    shift,
    trailing_basis,
    window_columns,
    window_span,
)
from revenue_os.metrics.rollups import rollup_answering
from revenue_os.metrics.sql_text import aggregate_calls, is_additive, summed_column
from revenue_os.metrics.thresholds import STATUSES, Condition

OVERALL = "overall"
ALL = "all"
UNKNOWN = "unknown"  # the dimension value of rows whose column is null
_WHOLE_MONTHS = frozenset({"month", "quarter"})


WORK_COLUMN_TYPES = (
    ("metric_name", "text"),
    ("period_grain", "text"),
    ("period_start", "date"),
    ("dimension_name", "text"),
    ("dimension_value", "text"),
    ("value", "numeric"),
    *((column, "numeric") for column in WINDOW_COLUMNS),
)
"""The columns of the work rows (`kpi_work`) in order, with their types."""
WORK_COLUMN_NAMES = sql.SQL(", ").join(sql.Identifier(c) for c, _ in WORK_COLUMN_TYPES)
WORK_COLUMNS_TYPED = sql.SQL(", ").join(
    sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in WORK_COLUMN_TYPES
)

INSERT_WORK = sql.SQL("INSERT INTO kpi_work ({}) ").format(WORK_COLUMN_NAMES)


def _each_window(grain: str, window: Callable[[str, int], sql.Composable]) -> sql.Composed:
    """The window columns of the work table in order: `window(column, periods)` for those the
    grain keeps, null for the others (the 13-week window of a month)."""
    kept = window_columns(grain)
    return sql.SQL(", ").join(
        window(column, kept[column]) if column in kept else sql.SQL("NULL::numeric")
        for column in WINDOW_COLUMNS
    )


# --- simple metrics: one grouped scan of the model per grain ---------------------------------


def work_rows_sql(
    contract: MetricContract, grain: str, schema: str, contracts: Mapping[str, MetricContract]
) -> sql.Composed:
    """INSERT INTO kpi_work of the metric's rows at one grain."""
    return INSERT_WORK + work_rows_query(contract, grain, schema, contracts)


def work_rows_query(
    contract: MetricContract, grain: str, schema: str, contracts: Mapping[str, MetricContract]
) -> sql.Composed:
    """The metric's rows at one grain, in kpi_work's column order."""
    calculation = contract.calculation
    if isinstance(calculation, SimpleCalculation):
        return simple_query(contract, calculation, grain, schema)
    if isinstance(calculation, RatioCalculation):
        return _ratio_query(contract, calculation, grain, contracts)
    if isinstance(calculation, GrowthCalculation):
        return _growth_query(contract, calculation, grain)
    assert isinstance(calculation, FormulaCalculation)
    return _formula_query(contract, calculation, grain, contracts)


def forward_zero_rows_sql(
    contract: MetricContract, grain: str, business_day: date | None
) -> sql.Composed | None:
    """The total of a forward-looking sum or count (at-risk renewal ARR) is 0, not missing,
    in the period in progress and the next when nothing is there: no renewal at risk this
    month is a reading the triage acts on, not a gap. Other KPIs have their quiet periods."""
    if not (contract.is_forward_looking and contract.is_volume) or business_day is None:
        return None
    current = period_start(grain, business_day)
    starts = [shift(grain, current, step) for step in range(FORWARD_PERIODS)]
    return INSERT_WORK + sql.SQL(
        "SELECT {name}, {grain}, forward.period_start, {overall}, {all_}, 0::numeric, {nulls} "
        "FROM unnest({starts}::date[]) AS forward (period_start) "
        "WHERE NOT EXISTS (SELECT FROM kpi_work AS w WHERE w.metric_name = {name} "
        "AND w.period_grain = {grain} AND w.period_start = forward.period_start "
        "AND w.dimension_name = {overall})"
    ).format(
        name=sql.Literal(contract.name),
        grain=sql.Literal(grain),
        overall=sql.Literal(OVERALL),
        all_=sql.Literal(ALL),
        nulls=sql.SQL(", ").join(sql.SQL("NULL::numeric") for _ in WINDOW_COLUMNS),
        starts=sql.Literal(starts),
    )


def simple_query(
    contract: MetricContract,
    calculation: SimpleCalculation,
    grain: str,
    schema: str,
    within: Sequence[date] | None = None,
) -> sql.Composed:
    """A simple metric's rows at one grain: one grouped scan of its model. `within`: only
    the model's rows of these periods are read (a metric brought forward reads the periods a
    day changed and those its windows reach back to); the windows of the earliest of them
    then lack the periods before, so a caller keeps only the periods it needs whole."""
    if is_additive(calculation.expression):
        return additive_rows_query(
            contract, grain, simple_periods_sql(contract, calculation, grain, schema, within)
        )
    calculation, model, where = _simple_source(contract, calculation, grain, schema, within)
    truncated = _truncated(calculation, grain)
    periods = _grouped_sql(
        contract,
        calculation,
        grain,
        sql.SQL("({})::date").format(truncated),
        sql.SQL("FROM {} {}").format(model, where),
    )
    names = sql.SQL("{}, {}").format(sql.Literal(contract.name), sql.Literal(grain))
    # Averages and distinct counts are re-aggregated over the window's rows: each row is
    # counted in the window of its own period and of the periods after it.
    shifted = _shifted(calculation, grain, truncated)
    kept = window_columns(grain)
    windows = [
        sql.SQL("{} AS ({})").format(
            sql.Identifier(f"window_{column}"),
            _grouped_sql(
                contract,
                calculation,
                grain,
                shifted,
                sql.SQL("FROM {} CROSS JOIN generate_series(0, {}) AS shift {}").format(
                    model, sql.Literal(periods - 1), where
                ),
            ),
        )
        for column, periods in kept.items()
    ]
    joins = [
        sql.SQL(" LEFT JOIN {} USING (period_start, dimension_name, dimension_value)").format(
            sql.Identifier(f"window_{column}")
        )
        for column in kept
    ]
    return sql.SQL(
        "WITH periods AS ({periods}), {windows} SELECT {names}, periods.period_start, "
        "periods.dimension_name, periods.dimension_value, periods.value, {values} "
        "FROM periods{joins}"
    ).format(
        periods=periods,
        windows=sql.SQL(", ").join(windows),
        names=names,
        values=_each_window(
            grain, lambda column, _: sql.SQL("{}.value").format(sql.Identifier(f"window_{column}"))
        ),
        joins=sql.Composed(joins),
    )


def _simple_source(
    contract: MetricContract,
    calculation: SimpleCalculation,
    grain: str,
    schema: str,
    within: Sequence[date] | None,
) -> tuple[SimpleCalculation, sql.Identifier, sql.Composed]:
    """The calculation to run (on a roll-up where it gives the same sums), its table, and
    the WHERE clause of its rows."""
    if grain in _WHOLE_MONTHS:
        # Months and quarters are whole months: a roll-up of the fact gives the same sums.
        rolled = rollup_answering(calculation, contract.dimension_columns_at(grain).values())
        calculation = rolled or calculation
    time_column = sql.Identifier(calculation.time_column)
    conditions = [sql.SQL("{} IS NOT NULL").format(time_column)]
    if calculation.filter:
        conditions.append(sql.SQL("({})").format(sql.SQL(calculation.filter)))
    if within is not None:
        conditions.append(
            sql.SQL("({})::date = ANY({}::date[])").format(
                _truncated(calculation, grain), sql.Literal(sorted(within))
            )
        )
    return (
        calculation,
        sql.Identifier(schema, calculation.model),
        sql.SQL("WHERE {}").format(sql.SQL(" AND ").join(conditions)),
    )


# The first day of the calendar, a Monday: a day's week starts as many days before it as
# it is days past a whole number of weeks from this one.
_A_MONDAY = date(1, 1, 1)


def _is_date(calculation: SimpleCalculation) -> bool:
    return MART_MODELS.get(calculation.model, {}).get(calculation.time_column) == "date"


def _truncated(calculation: SimpleCalculation, grain: str) -> sql.Composed:
    """The start of the period holding the row's time, as `date_trunc` gives it. A date
    column is truncated without a time zone: `date_trunc` of a date reads it as a midnight
    in the session's zone and works in that zone, which gives the same day at three to five
    times the cost per row (a week is plain day arithmetic)."""
    column = sql.Identifier(calculation.time_column)
    if not _is_date(calculation):
        return sql.SQL("date_trunc({}, {})").format(sql.Literal(grain), column)
    if grain == "week":
        return sql.SQL("({c} - ({c} - {monday}) % 7)").format(
            c=column, monday=sql.Literal(_A_MONDAY)
        )
    return sql.SQL("date_trunc({}, {}::timestamp)").format(sql.Literal(grain), column)


def _shifted(calculation: SimpleCalculation, grain: str, truncated: sql.Composable) -> sql.Composed:
    """The start of the period `shift` periods after the truncated one: a date column's week
    by whole days, like its start."""
    if _is_date(calculation) and grain == "week":
        return sql.SQL("({} + shift * 7)").format(truncated)
    return sql.SQL("({} + shift * interval {})::date").format(
        truncated, sql.Literal(PERIOD_STEP[grain])
    )


def simple_periods_sql(
    contract: MetricContract,
    calculation: SimpleCalculation,
    grain: str,
    schema: str,
    within: Sequence[date] | None = None,
) -> sql.Composed:
    """(period_start, dimension_name, dimension_value, value) of a simple metric's periods
    that have rows: the grouped scan itself, without windows."""
    calculation, model, where = _simple_source(contract, calculation, grain, schema, within)
    return _grouped_sql(
        contract,
        calculation,
        grain,
        sql.SQL("({})::date").format(_truncated(calculation, grain)),
        sql.SQL("FROM {} {}").format(model, where),
    )


def additive_rows_query(
    contract: MetricContract,
    grain: str,
    periods: sql.Composable,
    last_period: sql.Composable | None = None,
) -> sql.Composed:
    """A sum's or count's rows from its period values (`periods`, a query of period_start,
    dimension_name, dimension_value, value): the quiet periods and the windows, which are
    sums of the periods, so they need no second scan of the model. Quiet periods stop at
    `last_period` (a query of one date), by default the last of `periods`: a caller that
    passes some periods only names the metric's last one."""
    last_period = last_period or sql.SQL("SELECT max(period_start) FROM periods")
    names = sql.SQL("{}, {}").format(sql.Literal(contract.name), sql.Literal(grain))
    # A period without rows is 0, and it gets its row while a window still reaches back to
    # one with data: a campaign that earned nothing this month still has its trailing three
    # months, which a ratio's trailing value divides (without the row it read 0 on months of
    # revenue).
    return sql.SQL(
        "WITH periods AS ({periods}), quiet_periods AS (SELECT (period_start + later * "
        "interval {step})::date AS period_start, dimension_name, dimension_value "
        "FROM periods CROSS JOIN generate_series(1, {reach}) AS later "
        "WHERE (period_start + later * interval {step})::date <= ({last_period}) "
        "EXCEPT SELECT period_start, dimension_name, dimension_value FROM periods), "
        "every_period AS (SELECT period_start, dimension_name, dimension_value, value "
        "FROM periods UNION ALL SELECT period_start, dimension_name, dimension_value, "
        "0::numeric FROM quiet_periods) "
        "SELECT {names}, period_start, dimension_name, dimension_value, value, {windows} "
        "FROM every_period"
    ).format(
        periods=periods,
        last_period=last_period,
        names=names,
        step=sql.Literal(PERIOD_STEP[grain]),
        reach=sql.Literal(window_reach(grain)),
        windows=_each_window(
            grain,
            lambda _, periods: sql.SQL(
                "sum(value) OVER (PARTITION BY dimension_name, dimension_value ORDER BY "
                "period_start RANGE BETWEEN interval {} PRECEDING AND CURRENT ROW)"
            ).format(sql.Literal(window_span(grain, periods))),
        ),
    )


_EXACT_NUMBERS = frozenset({"numeric", "integer", "bigint", "smallint"})
_PRE_SUMMED_COLUMNS = 4


def _summed_in_parts(calculation: SimpleCalculation) -> bool:
    """Whether the calculation is one count, or one sum of an exact number: summing its
    values over parts of a group gives its value over the group, to the last digit (a sum
    of floating-point numbers depends on the order it adds them in)."""
    column = summed_column(calculation.expression)
    if column is None:
        return False
    if column == "*" or aggregate_calls(calculation.expression) == {"count"}:
        return True
    return MART_MODELS.get(calculation.model, {}).get(column) in _EXACT_NUMBERS


def window_reach(grain: str) -> int:
    """How many periods after its own a period's rows still count in a window."""
    return max(window_columns(grain).values()) - 1


def _grouped_sql(
    contract: MetricContract,
    calculation: SimpleCalculation,
    grain: str,
    period: sql.Composable,
    source: sql.Composable,
) -> sql.Composed:
    """(period_start, dimension_name, dimension_value, value) for the total and each dimension.

    A dimension with a default filter (ROAS's attribution model) is grouped in every set, and
    the rows that do not break it out keep only its default value; one scan serves all.
    """
    columns = contract.dimension_columns_at(grain)
    defaulted = {columns[name]: value for name, value in calculation.default_filters.items()}
    ordered = list(dict.fromkeys(columns.values()))
    value = sql.SQL("({})::numeric").format(sql.SQL(calculation.expression))
    outputs: list[tuple[str, str | None, frozenset[str]]] = [(OVERALL, None, frozenset(defaulted))]
    outputs += [(name, column, frozenset(defaulted) | {column}) for name, column in columns.items()]
    if not ordered:
        aggregated = sql.SQL(
            "SELECT {period} AS period_start, 0 AS grouping_mask, {value} AS value {source} GROUP BY 1"
        ).format(period=period, value=value, source=source)
    else:
        sets = list(dict.fromkeys(grouped for _, _, grouped in outputs))
        columns_listed = sql.SQL(", ").join(map(sql.Identifier, ordered))
        if len(sets) > 1 and len(ordered) <= _PRE_SUMMED_COLUMNS and _summed_in_parts(calculation):
            # Grouping sets hash every row once per set; summed first by period and every
            # column, the rows are a few thousand groups, hashed per set instead (at scale
            # 10, a third less time on the leads by month, 60 % less on ad spend by week:
            # bench/kpi_reads.py). Exact for a plain sum or count of exact numbers, in any
            # order. With five columns (revenue by product and region, attribution by
            # campaign) their combinations are nearly as many as the rows, and summing first
            # cost more than it saved.
            source = sql.SQL(
                "FROM (SELECT {period} AS period_start, {columns}, {expression} AS value"
                " {source} GROUP BY {positions}) AS summed_by_slice"
            ).format(
                period=period,
                columns=columns_listed,
                expression=sql.SQL(calculation.expression),
                source=source,
                positions=sql.SQL(", ").join(
                    sql.Literal(position) for position in range(1, len(ordered) + 2)
                ),
            )
            period, value = sql.SQL("period_start"), sql.SQL("(sum(value))::numeric")
        aggregated = sql.SQL(
            "SELECT {period} AS period_start, GROUPING({columns}) AS grouping_mask, {selected}, "
            "{value} AS value {source} GROUP BY {period}, GROUPING SETS ({sets})"
        ).format(
            period=period,
            columns=columns_listed,
            selected=sql.SQL(", ").join(
                sql.SQL("{} AS {}").format(sql.Identifier(column), sql.Identifier(f"d_{column}"))
                for column in ordered
            ),
            value=value,
            source=source,
            sets=sql.SQL(", ").join(
                sql.SQL("({})").format(
                    sql.SQL(", ").join(
                        sql.Identifier(column) for column in ordered if column in grouped
                    )
                )
                for grouped in sets
            ),
        )
    selects = []
    for name, column, grouped in outputs:
        mask = sum(
            1 << (len(ordered) - 1 - index)
            for index, candidate in enumerate(ordered)
            if candidate not in grouped
        )
        conditions = [sql.SQL("grouping_mask = {}").format(sql.Literal(mask))]
        conditions += [
            sql.SQL("{} = {}").format(sql.Identifier(f"d_{other}"), sql.Literal(default))
            for other, default in defaulted.items()
            if other != column
        ]
        dimension_value = (
            sql.Literal(ALL)
            if column is None
            else sql.SQL("coalesce({}::text, {})").format(
                sql.Identifier(f"d_{column}"), sql.Literal(UNKNOWN)
            )
        )
        selects.append(
            sql.SQL(
                "SELECT period_start, {} AS dimension_name, {} AS dimension_value, value FROM aggregated WHERE {}"
            ).format(sql.Literal(name), dimension_value, sql.SQL(" AND ").join(conditions))
        )
    return sql.SQL("WITH aggregated AS ({}) {}").format(
        aggregated, sql.SQL(" UNION ALL ").join(selects)
    )


# --- derived metrics: computed from the stored values of their inputs ------------------------


def _inputs_joined(
    contract: MetricContract,
    grain: str,
    inputs: list[MetricContract],
) -> tuple[sql.Composed, list[sql.Identifier]]:
    """FROM clause joining each input to the keys of the metric, broadcasting where needed.

    The keys are the (period, dimension, value) rows any input carrying that dimension has.
    An input without the dimension (spend has no attribution model) contributes its total for
    the period to every value of it.
    """
    outputs = [OVERALL, *contract.dimensions_at(grain)]
    carried_by = [
        [name for name in outputs if name == OVERALL or name in upstream.dimensions_at(grain)]
        for upstream in inputs
    ]
    key_selects = []
    for upstream, carried in zip(inputs, carried_by, strict=True):
        key_selects.append(
            sql.SQL(
                "SELECT period_start, dimension_name, dimension_value FROM kpi_work "
                "WHERE metric_name = {} AND period_grain = {} AND dimension_name IN ({})"
            ).format(
                sql.Literal(upstream.name),
                sql.Literal(grain),
                sql.SQL(", ").join(map(sql.Literal, carried)),
            )
        )
    # A broadcast dimension's values come from the input that carries it; where that input
    # is a sum with no rows in a period (no paid touch credited by last touch in February),
    # the other input's periods still get every value, so the ratio reads 0, not nothing.
    for carrier, other, name in broadcasts(contract, grain, inputs):
        key_selects.append(
            sql.SQL(
                "SELECT periods.period_start, dimension_values.dimension_name, "
                "dimension_values.dimension_value FROM (SELECT DISTINCT period_start "
                "FROM kpi_work WHERE metric_name = {other} AND period_grain = {grain} "
                "AND dimension_name = {overall}) AS periods CROSS JOIN (SELECT DISTINCT "
                "dimension_name, dimension_value FROM kpi_work WHERE metric_name = "
                "{carrier} AND period_grain = {grain} AND dimension_name = {name}) AS "
                "dimension_values"
            ).format(
                other=sql.Literal(other.name),
                carrier=sql.Literal(carrier.name),
                grain=sql.Literal(grain),
                overall=sql.Literal(OVERALL),
                name=sql.Literal(name),
            )
        )
    joins = []
    aliases = []
    for index, (upstream, carried) in enumerate(zip(inputs, carried_by, strict=True)):
        alias = sql.Identifier(f"input_{index}")
        aliases.append(alias)
        joins.append(
            sql.SQL(
                " LEFT JOIN kpi_work AS {alias} ON {alias}.metric_name = {name} AND "
                "{alias}.period_grain = {grain} AND {alias}.period_start = keys.period_start AND "
                "{alias}.dimension_name = CASE WHEN keys.dimension_name IN ({carried}) THEN "
                "keys.dimension_name ELSE {overall} END AND {alias}.dimension_value = CASE WHEN "
                "keys.dimension_name IN ({carried}) THEN keys.dimension_value ELSE {all} END"
            ).format(
                alias=alias,
                name=sql.Literal(upstream.name),
                grain=sql.Literal(grain),
                carried=sql.SQL(", ").join(map(sql.Literal, carried)),
                overall=sql.Literal(OVERALL),
                all=sql.Literal(ALL),
            )
        )
    source = sql.SQL("FROM ({}) AS keys").format(sql.SQL(" UNION ").join(key_selects))
    return source + sql.Composed(joins), aliases


def broadcasts(
    contract: MetricContract, grain: str, inputs: Sequence[MetricContract]
) -> list[tuple[MetricContract, MetricContract, str]]:
    """(carrier, other, dimension): the dimensions a derived metric takes from one input (a
    sum) for every period of another that lacks them, so a value new to the carrier in one
    period adds rows to every period of the metric."""
    return [
        (carrier, other, name)
        for carrier in inputs
        if _zero_when_absent(carrier)
        for name in contract.dimensions_at(grain)
        if name in carrier.dimensions_at(grain)
        for other in inputs
        if other is not carrier and name not in other.dimensions_at(grain)
    ]


def _zero_when_absent(contract: MetricContract) -> bool:
    """A period without rows is 0 for sums and counts; for anything else it is unknown."""
    calculation = contract.calculation
    return isinstance(calculation, SimpleCalculation) and is_additive(calculation.expression)


def _input_value(alias: sql.Identifier, column: str, upstream: MetricContract) -> sql.Composed:
    reference = sql.SQL("{}.{}").format(alias, sql.Identifier(column))
    if _zero_when_absent(upstream):
        return sql.SQL("coalesce({}, 0)").format(reference)
    return sql.SQL("{}").format(reference)


def _per_period(
    value: sql.Composed, upstream: MetricContract, column: str, grain: str
) -> sql.Composed:
    """A sum's window value as the window's average per period, so that a formula's window
    value is the same kind of number as its period value (a rate per day stays a rate per day,
    not three months of it)."""
    if column == "value" or not _zero_when_absent(upstream):
        return value
    return sql.SQL("({} / {})").format(value, sql.Literal(window_columns(grain)[column]))


def _ratio_query(
    contract: MetricContract,
    calculation: RatioCalculation,
    grain: str,
    contracts: Mapping[str, MetricContract],
) -> sql.Composed:
    numerator = contracts[calculation.numerator]
    denominator = contracts[calculation.denominator]
    inputs = list({numerator.name: numerator, denominator.name: denominator}.values())
    source, aliases = _inputs_joined(contract, grain, inputs)
    alias_of = {upstream.name: alias for upstream, alias in zip(inputs, aliases, strict=True)}

    def divided(column: str) -> sql.Composed:
        # Over the trailing window each side is a per-period figure, as in a formula: a sum
        # over a sum is unchanged, while a sum over an average (cost of goods over average
        # stock) stays turns per period instead of becoming the window's turns.
        return sql.SQL("{} * {} / nullif({}, 0)").format(
            _per_period(
                _input_value(alias_of[numerator.name], column, numerator), numerator, column, grain
            ),
            sql.Literal(Decimal(str(calculation.multiplier))),
            _per_period(
                _input_value(alias_of[denominator.name], column, denominator),
                denominator,
                column,
                grain,
            ),
        )

    return sql.SQL(
        "SELECT {}, {}, keys.period_start, keys.dimension_name, keys.dimension_value, {}, {} {}"
    ).format(
        sql.Literal(contract.name),
        sql.Literal(grain),
        divided("value"),
        _each_window(grain, lambda column, _: divided(column)),
        source,
    )


def _growth_query(
    contract: MetricContract, calculation: GrowthCalculation, grain: str
) -> sql.Composed:
    """Period over period; a window value compares the window with the one before it."""
    step = sql.Literal(PERIOD_STEP[grain])

    def same_row(alias: sql.Identifier) -> sql.Composed:
        return sql.SQL(
            "{alias}.metric_name = present.metric_name AND {alias}.period_grain = "
            "present.period_grain AND {alias}.dimension_name = present.dimension_name AND "
            "{alias}.dimension_value = present.dimension_value"
        ).format(alias=alias)

    def before(column: str) -> sql.Identifier:
        return sql.Identifier(f"before_{column}")

    kept = window_columns(grain)
    joins = [
        sql.SQL(
            " LEFT JOIN kpi_work AS {alias} ON {same} AND {alias}.period_start = "
            "(present.period_start - {periods} * interval {step})::date"
        ).format(
            alias=before(column),
            same=same_row(before(column)),
            periods=sql.Literal(periods),
            step=step,
        )
        for column, periods in {"value": 1, **kept}.items()
    ]
    return sql.SQL(
        "SELECT {name}, {grain}, present.period_start, present.dimension_name, "
        "present.dimension_value, {growths} FROM kpi_work AS present{joins} "
        "WHERE present.metric_name = {of} AND present.period_grain = {grain} "
        "AND present.dimension_name IN ({outputs})"
    ).format(
        name=sql.Literal(contract.name),
        grain=sql.Literal(grain),
        growths=sql.SQL(", ").join(
            sql.SQL(
                "(present.{column} - {alias}.{column}) * 100 / nullif({alias}.{column}, 0)"
            ).format(column=sql.Identifier(column), alias=before(column))
            if column == "value" or column in kept
            else sql.SQL("NULL::numeric")
            for column in ("value", *WINDOW_COLUMNS)
        ),
        joins=sql.Composed(joins),
        of=sql.Literal(calculation.of),
        outputs=sql.SQL(", ").join(map(sql.Literal, [OVERALL, *contract.dimensions_at(grain)])),
    )


def _formula_query(
    contract: MetricContract,
    calculation: FormulaCalculation,
    grain: str,
    contracts: Mapping[str, MetricContract],
) -> sql.Composed:
    inputs = [contracts[name] for name in inputs_of(contract)]
    source, aliases = _inputs_joined(contract, grain, inputs)

    def evaluated(column: str) -> sql.Composed:
        # The formula's {metric} references are psycopg placeholders by design.
        return sql.SQL(calculation.expression).format(
            **{
                upstream.name: _per_period(
                    _input_value(alias, column, upstream), upstream, column, grain
                )
                for upstream, alias in zip(inputs, aliases, strict=True)
            }
        )

    return sql.SQL(
        "SELECT {}, {}, keys.period_start, keys.dimension_name, keys.dimension_value, "
        "({})::numeric, {} {}"
    ).format(
        sql.Literal(contract.name),
        sql.Literal(grain),
        evaluated("value"),
        _each_window(grain, lambda column, _: sql.SQL("({})::numeric").format(evaluated(column))),
        source,
    )


# --- kpi_values: the stored values with their contract, prior period and status -----------


def complete_sql(
    contract: MetricContract,
    grain: str,
    contracts: Mapping[str, MetricContract],
    as_of: Mapping[str, date | None],
    business_day: date | None,
    days_after: int = 0,
) -> sql.Composable:
    """A period is complete when it ended on or before the business day (and every model
    behind the metric has data); final when `days_after` more days (the contract's
    final_after_days) have passed too."""
    if not any(model in AS_OF_COLUMNS for model in models_behind(contract, contracts)):
        return sql.SQL("true")  # plans and reference data are never incomplete
    if contract_models_as_of(contract, contracts, as_of) is None or business_day is None:
        return sql.SQL("false")
    return sql.SQL("(w.period_start + interval {} + interval {}) <= {}").format(
        sql.Literal(PERIOD_STEP[grain]),
        sql.Literal(f"{days_after} days"),
        sql.Literal(business_day),
    )


def condition_sql(condition: Condition, value: sql.Composable) -> sql.Composed:
    return sql.SQL(" AND ").join(
        sql.SQL("{} {} {}").format(
            value, sql.SQL(comparison.operator), sql.Literal(Decimal(str(comparison.number)))
        )
        for comparison in condition.comparisons
    )


def _status_sql(contract: MetricContract, grain: str, finality: sql.Composable) -> sql.Composable:
    """Status is judged on the contract's threshold period only; other grains have none. A
    volume's thresholds judge its total only: each slice of revenue is below the company's
    target, which says nothing about the slice.

    Nothing is judged before it can be: a cohort that is still converting (a contract final
    later than the reporting close) until it is final, and a slice (a campaign, a channel)
    until it has a full trailing window of history, so a campaign that started last week is
    not red at 0.00x.
    """
    thresholds = contract.thresholds
    if thresholds is None or thresholds.period != grain:
        return sql.SQL("NULL::text")
    conditions = thresholds.conditions()
    status = sql.SQL("CASE {} END").format(
        sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(
                condition_sql(conditions[status], sql.SQL("w.value")), sql.Literal(status)
            )
            for status in STATUSES
        )
    )
    unjudged = [
        sql.SQL(
            "(w.dimension_name <> {} AND w.period_start < w.first_period + {} * interval {})"
        ).format(
            sql.Literal(OVERALL),
            sql.Literal(TRAILING_PERIODS[grain] - 1),
            sql.Literal(PERIOD_STEP[grain]),
        )
    ]
    if contract.judges_total_only:
        unjudged.append(sql.SQL("w.dimension_name <> {}").format(sql.Literal(OVERALL)))
    if contract.refresh_sla.final_after_days > REPORTING_CLOSE_DAYS:
        unjudged.append(sql.SQL("NOT ({})").format(finality))
    return sql.SQL("CASE WHEN {} THEN NULL ELSE {} END").format(
        sql.SQL(" OR ").join(unjudged), status
    )


def _forward_sql(contract: MetricContract, grain: str, business_day: date | None) -> sql.Composable:
    """The periods a forward-looking KPI keeps: the one in progress and the next. Any other
    KPI stops at the one in progress: a target already set for next year (bookings against
    target) is no result yet. Supporting metrics keep theirs (the targets, the open pipeline
    by expected close)."""
    if not contract.is_forward_looking:
        if contract.tier != "kpi" or business_day is None:
            return sql.SQL("")
        return sql.SQL(" AND w.period_start <= {}").format(
            sql.Literal(period_start(grain, business_day))
        )
    if business_day is None:
        return sql.SQL(" AND false")
    current = period_start(grain, business_day)
    return sql.SQL(" AND w.period_start >= {} AND w.period_start < {}").format(
        sql.Literal(current), sql.Literal(shift(grain, current, FORWARD_PERIODS))
    )


def kpi_values_sql(
    contract: MetricContract,
    grain: str,
    table: sql.Identifier,
    completeness: sql.Composable,
    finality: sql.Composable,
    business_day: date | None,
    only: sql.Composable | None = None,
) -> sql.Composed:
    """INSERT INTO `table` of the metric's kpi_values rows at one grain; with `only` (a
    condition on the work rows' columns), those rows only. Their slices' other rows are still
    read, for the prior value and the slice's first period."""
    thresholds = contract.thresholds
    action = contract.action_on_breach
    forward = contract.is_forward_looking
    return sql.SQL(
        "INSERT INTO {table} SELECT w.metric_name, {label}, {tier}, {area}, w.period_grain, "
        "w.period_start, {complete}, {final}, w.dimension_name, w.dimension_value, w.value, "
        "{prior}, ({prior_delta}) * 100 / nullif(abs({prior}), 0), "
        "{trailing}, {format}, {direction}, {status}, {green}, {yellow}, {red}, "
        "{owner}, {steward}, {confidence}, {action_type}, {action}, {basis}, {windows} "
        # The prior period is the row before in the slice's own order, when it is the period
        # just before (a slice may skip periods): one sort of the slice's rows gives it and
        # the first period, where a join back to kpi_work probed the index once per row.
        "FROM (SELECT *, min(period_start) OVER slice AS first_period, "
        "CASE WHEN lag(period_start) OVER slice = (period_start - interval {step})::date "
        "THEN lag(value) OVER slice END AS prior_value "
        "FROM kpi_work WHERE metric_name = {name} AND period_grain = {grain}{slices} "
        "WINDOW slice AS (PARTITION BY dimension_name, dimension_value ORDER BY period_start)) "
        "AS w WHERE true{forward}{only}"
    ).format(
        table=table,
        label=sql.Literal(contract.label),
        tier=sql.Literal(contract.tier),
        area=sql.Literal(contract.area),
        complete=completeness,
        final=finality,
        format=sql.Literal(contract.format),
        direction=sql.Literal(contract.direction),
        status=_status_sql(contract, grain, finality),
        green=sql.Literal(thresholds.green if thresholds else None),
        yellow=sql.Literal(thresholds.yellow if thresholds else None),
        red=sql.Literal(thresholds.red if thresholds else None),
        owner=sql.Literal(contract.owner.kpi_owner),
        steward=sql.Literal(contract.owner.steward),
        confidence=sql.Literal(contract.confidence.level),
        action_type=sql.Literal(action.type if action else None),
        action=sql.Literal(action.action if action else None),
        step=sql.Literal(PERIOD_STEP[grain]),
        name=sql.Literal(contract.name),
        grain=sql.Literal(grain),
        basis=sql.Literal(None if forward else trailing_basis(contract)),
        forward=_forward_sql(contract, grain, business_day),
        only=sql.SQL(" AND ({})").format(only) if only is not None else sql.SQL(""),
        slices=sql.SQL(
            " AND (dimension_name, dimension_value) IN (SELECT dimension_name, dimension_value"
            " FROM kpi_work WHERE metric_name = {} AND period_grain = {} AND ({}))"
        ).format(sql.Literal(contract.name), sql.Literal(grain), only)
        if only is not None
        else sql.SQL(""),
        # A forward-looking KPI's earlier periods are over: no prior and no trailing window.
        prior=sql.SQL("NULL::numeric" if forward else "w.prior_value"),
        prior_delta=sql.SQL("NULL::numeric" if forward else "w.value - w.prior_value"),
        trailing=sql.SQL("NULL::numeric" if forward else "w.trailing_value"),
        windows=sql.SQL(", ").join(
            sql.SQL("NULL::numeric" if forward else "w.{}").format(sql.Identifier(column))
            for column in WINDOW_COLUMNS
            if column != "trailing_value"
        ),
    )
