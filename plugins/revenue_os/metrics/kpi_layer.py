"""The KPI layer: every metric contract computed into `kpi_values`, and campaign advice.

The SQL is compiled from the contracts, so the glossary, the tables and the dashboards read
one definition. Each simple metric is one scan of its model per grain, with GROUPING SETS over
its dimensions; derived metrics (ratio, growth, formula) are computed from the stored values
of their inputs, aggregated to the same period and dimension first and divided after, so a
join can never fan out (spend is never multiplied by attribution rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import psycopg
from psycopg import sql

from revenue_os.metrics.contract import (
    FormulaCalculation,
    GrowthCalculation,
    MetricContract,
    RatioCalculation,
    SimpleCalculation,
)
from revenue_os.metrics.labels import label_case_sql
from revenue_os.metrics.loader import inputs_of, load_contracts, models_behind
from revenue_os.metrics.mart_catalogue import AS_OF_COLUMNS
from revenue_os.metrics.periods import (
    FORWARD_PERIODS,
    PERIOD_STEP,
    REPORTING_CLOSE_DAYS,
    TRAILING_PERIODS,
    latest_complete,
    period_start,
    shift,
    trailing_basis,
)
from revenue_os.metrics.rollups import rollup_answering
from revenue_os.metrics.scorecard import (
    STATUS_COLORS,
    build_calendar_and_scorecard,
    create_table,
    display_sql,
    insert_rows,
    status_color_sql,
    status_label_sql,
)
from revenue_os.metrics.sql_text import is_additive
from revenue_os.metrics.thresholds import STATUSES, Condition

OVERALL = "overall"
ALL = "all"
UNKNOWN = "unknown"  # the dimension value of rows whose column is null
_WHOLE_MONTHS = frozenset({"month", "quarter"})
_TRAILING_SPAN = {"week": "21 days", "month": "2 months", "quarter": "9 months"}
_MODEL_LABELS = {
    "w_shaped": "W-shaped",
    "u_shaped": "U-shaped",
    "first_touch": "first touch",
    "last_touch": "last touch",
    "linear": "linear",
    "time_decay": "time decay",
}


@dataclass(frozen=True)
class RecommendationSettings:
    """When a campaign has spent enough to be judged, and over which window."""

    minimum_spend_usd: Decimal = Decimal(3000)
    roas_metric: str = "roas"
    spend_metric: str = "paid_spend"
    attributed_metric: str = "paid_attributed_revenue"
    cost_per_mql_metric: str = "cost_per_mql"
    mql_metric: str = "mqls"


KPI_VALUES_COLUMNS = sql.SQL(
    """
    metric_name text NOT NULL,
    label text NOT NULL,
    tier text NOT NULL,
    area text NOT NULL,
    period_grain text NOT NULL,
    period_start date NOT NULL,
    is_complete boolean NOT NULL,
    is_final boolean NOT NULL,
    dimension_name text NOT NULL,
    dimension_value text NOT NULL,
    value numeric,
    prior_value numeric,
    delta_pct numeric,
    trailing_value numeric,
    format text NOT NULL,
    direction text NOT NULL,
    status text,
    threshold_green text,
    threshold_yellow text,
    threshold_red text,
    kpi_owner text NOT NULL,
    steward text NOT NULL,
    confidence text NOT NULL,
    action_type text,
    action text,
    trailing_basis text,
    PRIMARY KEY (metric_name, period_grain, period_start, dimension_name, dimension_value)
    """
)
_CAMPAIGN_TABLE = {
    "campaign_key": "text NOT NULL",
    "channel": "text",
    "month_start": "date NOT NULL",
    "window_start": "date NOT NULL",
    "attribution_model": "text NOT NULL",
    "spend_month_usd": "numeric",
    "spend_3m_usd": "numeric",
    "attributed_revenue_month_usd": "numeric",
    "attributed_revenue_3m_usd": "numeric",
    "roas_month": "numeric",
    "roas_3m": "numeric",
    "roas_status": "text",
    "mqls_3m": "numeric",
    "cost_per_mql_3m": "numeric",
    "cost_per_mql_status": "text",
    "recommendation": "text NOT NULL",
    "reason": "text NOT NULL",
}
_CAMPAIGN_FIGURES = tuple(_CAMPAIGN_TABLE)  # inserted by the recommendations
_CAMPAIGN_TABLE |= {
    # Written out for the dashboard, in the contracts' units and the statuses' colours.
    "channel_label": "text",
    "display_spend_3m": "text",
    "display_attributed_revenue_3m": "text",
    "display_roas_3m": "text",
    "display_cost_per_mql_3m": "text",
    "roas_status_label": "text",
    "roas_status_color": "text",
    "recommendation_color": "text",
}
CAMPAIGN_COLUMNS = tuple(_CAMPAIGN_TABLE)
_CAMPAIGN_TYPES = tuple(_CAMPAIGN_TABLE.values())
_INSERT_WORK = sql.SQL(
    "INSERT INTO kpi_work (metric_name, period_grain, period_start, dimension_name, "
    "dimension_value, value, trailing_value) "
)


def build_kpi_tables(
    conn: psycopg.Connection,
    schema: str,
    contracts: Mapping[str, MetricContract] | None = None,
    *,
    settings: RecommendationSettings | None = None,
) -> dict[str, int]:
    """(Re)create `kpi_values` and `campaign_recommendations` in `schema`; their row counts.

    Runs in one transaction, so readers of the schema see the old tables or the new ones,
    never a half-built pair.
    """
    contracts = load_contracts() if contracts is None else contracts
    settings = settings or RecommendationSettings()
    with conn.transaction(), conn.cursor() as cursor:
        as_of = _as_of_by_model(cursor, schema, contracts)
        business_day = business_day_of(as_of)
        cursor.execute(
            "CREATE TEMPORARY TABLE kpi_work (metric_name text, period_grain text, "
            "period_start date, dimension_name text, dimension_value text, value numeric, "
            "trailing_value numeric) ON COMMIT DROP"
        )
        cursor.execute(
            "CREATE INDEX ON kpi_work (metric_name, period_grain, dimension_name, "
            "dimension_value, period_start)"
        )
        # Simple metrics first (they read the mart), then derived ones in dependency order
        # (they join kpi_work to itself): statistics are refreshed once between the phases
        # and once after, not after every metric.
        simple = [c for c in contracts.values() if isinstance(c.calculation, SimpleCalculation)]
        derived = [
            c for c in contracts.values() if not isinstance(c.calculation, SimpleCalculation)
        ]
        for phase in (simple, derived):
            for contract in phase:
                for grain in contract.grain:
                    cursor.execute(_work_rows_sql(contract, grain, schema, contracts))
            cursor.execute("ANALYZE kpi_work")
        kpi_values = sql.Identifier(schema, "kpi_values")
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(kpi_values))
        cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(kpi_values, KPI_VALUES_COLUMNS))
        for contract in contracts.values():
            for grain in contract.grain:
                completeness = _complete_sql(contract, grain, contracts, as_of, business_day)
                finality = _complete_sql(
                    contract,
                    grain,
                    contracts,
                    as_of,
                    business_day,
                    contract.refresh_sla.final_after_days,
                )
                cursor.execute(
                    _kpi_values_sql(
                        contract, grain, kpi_values, completeness, finality, business_day
                    )
                )
        kpi_count = _count(cursor, kpi_values)
        campaign_count = _build_campaign_recommendations(
            cursor, schema, contracts, settings, business_day
        )
        counts = build_calendar_and_scorecard(cursor, schema, contracts, business_day)
    return {"kpi_values": kpi_count, "campaign_recommendations": campaign_count, **counts}


# --- simple metrics: one grouped scan of the model per grain ---------------------------------


def _work_rows_sql(
    contract: MetricContract, grain: str, schema: str, contracts: Mapping[str, MetricContract]
) -> sql.Composed:
    calculation = contract.calculation
    if isinstance(calculation, SimpleCalculation):
        return _simple_sql(contract, calculation, grain, schema)
    if isinstance(calculation, RatioCalculation):
        return _ratio_sql(contract, calculation, grain, contracts)
    if isinstance(calculation, GrowthCalculation):
        return _growth_sql(contract, calculation, grain)
    assert isinstance(calculation, FormulaCalculation)
    return _formula_sql(contract, calculation, grain, contracts)


def _simple_sql(
    contract: MetricContract, calculation: SimpleCalculation, grain: str, schema: str
) -> sql.Composed:
    if grain in _WHOLE_MONTHS:
        # Months and quarters are whole months: a roll-up of the fact gives the same sums.
        rolled = rollup_answering(calculation, contract.dimension_columns_at(grain).values())
        calculation = rolled or calculation
    time_column = sql.Identifier(calculation.time_column)
    truncated = sql.SQL("date_trunc({}, {})").format(sql.Literal(grain), time_column)
    model = sql.Identifier(schema, calculation.model)
    where = sql.SQL("WHERE {} IS NOT NULL{}").format(
        time_column,
        sql.SQL(" AND ({})").format(sql.SQL(calculation.filter))
        if calculation.filter
        else sql.SQL(""),
    )
    periods = _grouped_sql(
        contract,
        calculation,
        grain,
        sql.SQL("({})::date").format(truncated),
        sql.SQL("FROM {} {}").format(model, where),
    )
    names = sql.SQL("{}, {}").format(sql.Literal(contract.name), sql.Literal(grain))
    if is_additive(calculation.expression):
        # Sums and counts over a window are the sums of their periods.
        return _INSERT_WORK + sql.SQL(
            "WITH periods AS ({periods}) SELECT {names}, period_start, dimension_name, "
            "dimension_value, value, sum(value) OVER (PARTITION BY dimension_name, "
            "dimension_value ORDER BY period_start RANGE BETWEEN interval {span} PRECEDING "
            "AND CURRENT ROW) FROM periods"
        ).format(periods=periods, names=names, span=sql.Literal(_TRAILING_SPAN[grain]))
    # Averages and distinct counts are re-aggregated over the window's rows: each row is
    # counted in the window of its own period and of the periods after it.
    shifted = sql.SQL("({} + shift * interval {})::date").format(
        truncated, sql.Literal(PERIOD_STEP[grain])
    )
    windows = _grouped_sql(
        contract,
        calculation,
        grain,
        shifted,
        sql.SQL("FROM {} CROSS JOIN generate_series(0, {}) AS shift {}").format(
            model, sql.Literal(TRAILING_PERIODS[grain] - 1), where
        ),
    )
    return _INSERT_WORK + sql.SQL(
        "WITH periods AS ({periods}), windows AS ({windows}) SELECT {names}, p.period_start, "
        "p.dimension_name, p.dimension_value, p.value, w.value FROM periods AS p LEFT JOIN "
        "windows AS w USING (period_start, dimension_name, dimension_value)"
    ).format(periods=periods, windows=windows, names=names)


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
        aggregated = sql.SQL(
            "SELECT {period} AS period_start, GROUPING({columns}) AS grouping_mask, {selected}, "
            "{value} AS value {source} GROUP BY {period}, GROUPING SETS ({sets})"
        ).format(
            period=period,
            columns=sql.SQL(", ").join(map(sql.Identifier, ordered)),
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
    broadcasts = [
        (carrier, other, name)
        for carrier in inputs
        if _zero_when_absent(carrier)
        for name in contract.dimensions_at(grain)
        if name in carrier.dimensions_at(grain)
        for other in inputs
        if other is not carrier and name not in other.dimensions_at(grain)
    ]
    for carrier, other, name in broadcasts:
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
    """A sum's trailing value as the window's average per period, so that a formula's trailing
    value is the same kind of number as its period value (a rate per day stays a rate per day,
    not three months of it)."""
    if column != "trailing_value" or not _zero_when_absent(upstream):
        return value
    return sql.SQL("({} / {})").format(value, sql.Literal(TRAILING_PERIODS[grain]))


def _ratio_sql(
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
        return sql.SQL("{} * {} / nullif({}, 0)").format(
            _input_value(alias_of[numerator.name], column, numerator),
            sql.Literal(Decimal(str(calculation.multiplier))),
            _input_value(alias_of[denominator.name], column, denominator),
        )

    return _INSERT_WORK + sql.SQL(
        "SELECT {}, {}, keys.period_start, keys.dimension_name, keys.dimension_value, {}, {} {}"
    ).format(
        sql.Literal(contract.name),
        sql.Literal(grain),
        divided("value"),
        divided("trailing_value"),
        source,
    )


def _growth_sql(
    contract: MetricContract, calculation: GrowthCalculation, grain: str
) -> sql.Composed:
    """Period over period; the trailing value compares the trailing window with the one before."""
    step = sql.Literal(PERIOD_STEP[grain])
    window = sql.Literal(TRAILING_PERIODS[grain])
    same_row = (
        "{alias}.metric_name = present.metric_name AND {alias}.period_grain = present.period_grain "
        "AND {alias}.dimension_name = present.dimension_name AND "
        "{alias}.dimension_value = present.dimension_value"
    )
    return _INSERT_WORK + sql.SQL(
        "SELECT {name}, {grain}, present.period_start, present.dimension_name, "
        "present.dimension_value, "
        "(present.value - prior.value) * 100 / nullif(prior.value, 0), "
        "(present.trailing_value - prior_window.trailing_value) * 100 "
        "/ nullif(prior_window.trailing_value, 0) "
        "FROM kpi_work AS present "
        "LEFT JOIN kpi_work AS prior ON " + same_row.format(alias="prior") + " AND "
        "prior.period_start = (present.period_start - interval {step})::date "
        "LEFT JOIN kpi_work AS prior_window ON " + same_row.format(alias="prior_window") + " AND "
        "prior_window.period_start = (present.period_start - {window} * interval {step})::date "
        "WHERE present.metric_name = {of} AND present.period_grain = {grain} "
        "AND present.dimension_name IN ({outputs})"
    ).format(
        name=sql.Literal(contract.name),
        grain=sql.Literal(grain),
        step=step,
        window=window,
        of=sql.Literal(calculation.of),
        outputs=sql.SQL(", ").join(map(sql.Literal, [OVERALL, *contract.dimensions_at(grain)])),
    )


def _formula_sql(
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

    return _INSERT_WORK + sql.SQL(
        "SELECT {}, {}, keys.period_start, keys.dimension_name, keys.dimension_value, "
        "({})::numeric, ({})::numeric {}"
    ).format(
        sql.Literal(contract.name),
        sql.Literal(grain),
        evaluated("value"),
        evaluated("trailing_value"),
        source,
    )


# --- kpi_values: the stored values with their contract, prior period and status -----------


def _as_of_by_model(
    cursor: psycopg.Cursor, schema: str, contracts: Mapping[str, MetricContract]
) -> dict[str, date | None]:
    models = sorted(
        {
            contract.calculation.model
            for contract in contracts.values()
            if isinstance(contract.calculation, SimpleCalculation)
            and contract.calculation.model in AS_OF_COLUMNS
        }
    )
    as_of: dict[str, date | None] = {}
    for model in models:
        column, days = AS_OF_COLUMNS[model]
        cursor.execute(
            sql.SQL("SELECT (max({})::date + {}) FROM {}").format(
                sql.Identifier(column), sql.Literal(days), sql.Identifier(schema, model)
            )
        )
        row = cursor.fetchone()
        as_of[model] = row[0] if row else None
    return as_of


def business_day_of(as_of: Mapping[str, date | None]) -> date | None:
    """The business day the data runs up to (exclusive): the newest as-of day of the models.

    Every source is loaded by the same refresh, and the quality gate refuses to publish a
    mart whose source missed its freshness SLA, so the newest day any model reaches is the
    day the sources were read; a model whose events are sparse (invoices, month-end
    snapshots) is no less complete for having no row on the last days.
    """
    days = [day for day in as_of.values() if day is not None]
    return max(days) if days else None


def _complete_sql(
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


def _condition_sql(condition: Condition, value: sql.Composable) -> sql.Composed:
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
                _condition_sql(conditions[status], sql.SQL("w.value")), sql.Literal(status)
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
    if contract.is_volume:
        unjudged.append(sql.SQL("w.dimension_name <> {}").format(sql.Literal(OVERALL)))
    if contract.refresh_sla.final_after_days > REPORTING_CLOSE_DAYS:
        unjudged.append(sql.SQL("NOT ({})").format(finality))
    return sql.SQL("CASE WHEN {} THEN NULL ELSE {} END").format(
        sql.SQL(" OR ").join(unjudged), status
    )


def _forward_sql(contract: MetricContract, grain: str, business_day: date | None) -> sql.Composable:
    """The periods a forward-looking KPI keeps: the one in progress and the next."""
    if not contract.is_forward_looking:
        return sql.SQL("")
    if business_day is None:
        return sql.SQL(" AND false")
    current = period_start(grain, business_day)
    return sql.SQL(" AND w.period_start >= {} AND w.period_start < {}").format(
        sql.Literal(current), sql.Literal(shift(grain, current, FORWARD_PERIODS))
    )


def _kpi_values_sql(
    contract: MetricContract,
    grain: str,
    table: sql.Identifier,
    completeness: sql.Composable,
    finality: sql.Composable,
    business_day: date | None,
) -> sql.Composed:
    thresholds = contract.thresholds
    action = contract.action_on_breach
    forward = contract.is_forward_looking
    return sql.SQL(
        "INSERT INTO {table} SELECT w.metric_name, {label}, {tier}, {area}, w.period_grain, "
        "w.period_start, {complete}, {final}, w.dimension_name, w.dimension_value, w.value, "
        "{prior}, ({prior_delta}) * 100 / nullif(abs({prior}), 0), "
        "{trailing}, {format}, {direction}, {status}, {green}, {yellow}, {red}, "
        "{owner}, {steward}, {confidence}, {action_type}, {action}, {basis} "
        "FROM (SELECT *, min(period_start) OVER (PARTITION BY dimension_name, dimension_value) "
        "AS first_period FROM kpi_work WHERE metric_name = {name} AND period_grain = {grain}) "
        "AS w LEFT JOIN kpi_work AS prior ON prior.metric_name = w.metric_name "
        "AND prior.period_grain = w.period_grain AND prior.dimension_name = w.dimension_name "
        "AND prior.dimension_value = w.dimension_value "
        "AND prior.period_start = (w.period_start - interval {step})::date "
        "WHERE true{forward}"
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
        # A forward-looking KPI's earlier periods are over: no prior and no trailing window.
        prior=sql.SQL("NULL::numeric" if forward else "prior.value"),
        prior_delta=sql.SQL("NULL::numeric" if forward else "w.value - prior.value"),
        trailing=sql.SQL("NULL::numeric" if forward else "w.trailing_value"),
    )


def _count(cursor: psycopg.Cursor, table: sql.Identifier) -> int:
    cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(table))
    row = cursor.fetchone()
    return int(row[0]) if row else 0


# --- campaign_recommendations: scale, reduce or test, in words ------------------------------


@dataclass(frozen=True)
class _CampaignFigures:
    campaign_key: str
    channel: str | None
    spend_month: Decimal | None
    spend_3m: Decimal | None
    attributed_month: Decimal | None
    attributed_3m: Decimal | None
    roas_month: Decimal | None
    roas_3m: Decimal | None
    mqls_3m: Decimal | None
    cost_per_mql_3m: Decimal | None
    # Its first day of spend, and the first day from which a campaign has run long enough to
    # be judged on the window (the start of the window's second month).
    started_on: date | None = None
    judged_if_started_before: date | None = None

    @property
    def too_young(self) -> bool:
        return (
            self.started_on is not None
            and self.judged_if_started_before is not None
            and self.started_on >= self.judged_if_started_before
        )


def _status_of(contract: MetricContract | None, value: Decimal | None) -> str | None:
    if contract is None or contract.thresholds is None or value is None:
        return None
    conditions = contract.thresholds.conditions()
    return next((status for status in STATUSES if conditions[status].holds(float(value))), None)


def _money(value: Decimal | None) -> str:
    return "no" if value is None else f"${value:,.0f}"


def recommend(
    figures: _CampaignFigures,
    roas: MetricContract,
    cost_per_mql: MetricContract | None,
    settings: RecommendationSettings,
    model_label: str,
) -> tuple[str, str, str | None, str | None]:
    """(recommendation, reason, ROAS status, cost per MQL status) over the trailing 3 months.

    ROAS decides, because it is the return on the money: reduce when it is red, scale when it
    is green, test when it is yellow. Cost per MQL can only hold a green campaign back: green
    ROAS with red cost per MQL is a test (cheap leads are not the goal, but an expensive lead
    flow that happens to close is fragile). Below the minimum spend nothing is judged: test.
    """
    roas_status = _status_of(roas, figures.roas_3m)
    cost_status = _status_of(cost_per_mql, figures.cost_per_mql_3m)
    spend = figures.spend_3m or Decimal(0)
    money = (
        f"spend {_money(figures.spend_3m)} for {_money(figures.attributed_3m)} attributed "
        f"revenue ({model_label})"
    )
    if spend < settings.minimum_spend_usd:
        return (
            "test",
            f"spend {_money(figures.spend_3m)} over the last 3 months is below the "
            f"{_money(settings.minimum_spend_usd)} needed to judge it; keep testing",
            roas_status,
            cost_status,
        )
    if figures.too_young:
        # Its ROAS reads low while its leads are still on their way to revenue.
        assert figures.started_on is not None
        return (
            "test",
            f"started on {figures.started_on:%d %b %Y}, within the last two months of the "
            f"{TRAILING_PERIODS['month']}-month window it is judged on: too young to judge; "
            f"keep testing (spend so far {_money(figures.spend_3m)})",
            None,
            None,
        )
    assert roas.thresholds is not None
    roas_text = "no ROAS" if figures.roas_3m is None else f"ROAS {figures.roas_3m:.1f}"
    cost_text = ""
    if figures.cost_per_mql_3m is not None and cost_per_mql is not None:
        cost_text = f"; cost per MQL {_money(figures.cost_per_mql_3m)} is {cost_status}"
    if roas_status == "red":
        lead = f"{roas_text} over the last 3 months is below the red line ({roas.thresholds.red})"
        return "reduce", f"{lead}; {money}{cost_text}", roas_status, cost_status
    if roas_status == "green" and cost_status == "red":
        assert cost_per_mql is not None and cost_per_mql.thresholds is not None
        return (
            "test",
            f"{roas_text} over the last 3 months is green ({roas.thresholds.green}) but cost per"
            f" MQL {_money(figures.cost_per_mql_3m)} is in the red ({cost_per_mql.thresholds.red}):"
            f" test cheaper audiences or bids before scaling; {money}",
            roas_status,
            cost_status,
        )
    if roas_status == "green":
        return (
            "scale",
            f"{roas_text} over the last 3 months is green ({roas.thresholds.green}); "
            f"{money}{cost_text}",
            roas_status,
            cost_status,
        )
    return (
        "test",
        f"{roas_text} over the last 3 months is {roas_status or 'not judged'} "
        f"({roas.thresholds.yellow}); {money}{cost_text}",
        roas_status,
        cost_status,
    )


def _build_campaign_recommendations(
    cursor: psycopg.Cursor,
    schema: str,
    contracts: Mapping[str, MetricContract],
    settings: RecommendationSettings,
    business_day: date | None,
) -> int:
    table = sql.Identifier(schema, "campaign_recommendations")
    create_table(cursor, table, _CAMPAIGN_TABLE, primary_key=("campaign_key",))
    roas = contracts.get(settings.roas_metric)
    spend = contracts.get(settings.spend_metric)
    if roas is None or spend is None or not isinstance(spend.calculation, SimpleCalculation):
        return 0
    if business_day is None:
        return 0
    month = latest_complete("month", business_day)
    window_start = shift("month", month, 1 - TRAILING_PERIODS["month"])
    cost_per_mql = contracts.get(settings.cost_per_mql_metric)
    attributed = contracts.get(settings.attributed_metric)
    default_model = "w_shaped"
    if attributed is not None and isinstance(attributed.calculation, SimpleCalculation):
        default_model = attributed.calculation.default_filters.get(
            "attribution_model", default_model
        )
    model_label = _MODEL_LABELS.get(default_model, default_model.replace("_", " "))
    spend_calculation = spend.calculation
    monthly_columns = spend.dimension_columns_at("month")
    campaign_column = monthly_columns.get("campaign")
    channel_column = monthly_columns.get("channel")
    if campaign_column is None:
        return 0
    # Campaigns that spent in the last complete month (a paused campaign needs no advice);
    # a campaign's channel is the one its spend is booked to (the latest, should it move),
    # and its first day of spend tells whether it is old enough to judge.
    cursor.execute(
        sql.SQL(
            "WITH spend AS (SELECT {campaign} AS campaign_key, {channel} AS channel, "
            "{time} AS day FROM {model} WHERE {time} < {end}), "
            "started AS (SELECT campaign_key, min(day) AS first_day FROM spend GROUP BY 1) "
            "SELECT DISTINCT ON (campaign_key) campaign_key, channel, started.first_day "
            "FROM spend JOIN started USING (campaign_key) "
            "WHERE campaign_key IS NOT NULL AND day >= {start} ORDER BY campaign_key, day DESC"
        ).format(
            campaign=sql.Identifier(campaign_column),
            channel=sql.Identifier(channel_column) if channel_column else sql.SQL("NULL::text"),
            time=sql.Identifier(spend_calculation.time_column),
            model=sql.Identifier(schema, spend_calculation.model),
            start=sql.Literal(month),
            end=sql.Literal(shift("month", month, 1)),
        )
    )
    started = {campaign: (channel, first_day) for campaign, channel, first_day in cursor}
    figures = _campaign_figures(cursor, settings, month, started)
    rows = []
    for item in figures:
        recommendation, reason, roas_status, cost_status = recommend(
            item, roas, cost_per_mql, settings, model_label
        )
        rows.append(
            (
                item.campaign_key,
                item.channel,
                month,
                window_start,
                default_model,
                item.spend_month,
                item.spend_3m,
                item.attributed_month,
                item.attributed_3m,
                item.roas_month,
                item.roas_3m,
                roas_status,
                item.mqls_3m,
                item.cost_per_mql_3m,
                cost_status,
                recommendation,
                reason,
            )
        )
    if rows:
        insert_rows(cursor, table, _CAMPAIGN_FIGURES, rows)
        _write_out_campaigns(cursor, table, roas, contracts.get(settings.spend_metric))
    return len(rows)


def _write_out_campaigns(
    cursor: psycopg.Cursor,
    table: sql.Identifier,
    roas: MetricContract,
    spend: MetricContract | None,
) -> None:
    """The campaign table's figures as the dashboard shows them (units, labels, colours)."""
    money = sql.Literal(spend.format if spend else "usd")
    colors = {"scale": STATUS_COLORS["green"], "reduce": STATUS_COLORS["red"]}
    cursor.execute(
        sql.SQL(
            "UPDATE {table} SET channel_label = {channel}, "
            "display_spend_3m = coalesce({spend}, '$0'), "
            "display_attributed_revenue_3m = coalesce({attributed}, '$0'), "
            "display_roas_3m = coalesce({roas_value}, 'no spend'), "
            "display_cost_per_mql_3m = coalesce({cost}, 'no MQL'), "
            "roas_status_label = {status_label}, roas_status_color = {status_color}, "
            "recommendation_color = CASE recommendation WHEN 'scale' THEN {scale} "
            "WHEN 'reduce' THEN {reduce} ELSE {test} END"
        ).format(
            table=table,
            channel=label_case_sql("channel", sql.Identifier("channel")),
            spend=display_sql(sql.Identifier("spend_3m_usd"), money),
            attributed=display_sql(sql.Identifier("attributed_revenue_3m_usd"), money),
            roas_value=display_sql(sql.Identifier("roas_3m"), sql.Literal(roas.format)),
            cost=display_sql(sql.Identifier("cost_per_mql_3m"), money),
            status_label=status_label_sql(
                sql.Identifier("roas_status"), sql.Literal("Not judged yet")
            ),
            status_color=status_color_sql(sql.Identifier("roas_status")),
            scale=sql.Literal(colors["scale"]),
            reduce=sql.Literal(colors["reduce"]),
            test=sql.Literal(STATUS_COLORS["yellow"]),
        )
    )


def _campaign_figures(
    cursor: psycopg.Cursor,
    settings: RecommendationSettings,
    month: date,
    started: Mapping[str, tuple[str | None, date | None]],
) -> list[_CampaignFigures]:
    """The month's and the trailing 3 months' values of the campaign's KPIs, as computed."""
    metrics = [
        settings.spend_metric,
        settings.attributed_metric,
        settings.roas_metric,
        settings.mql_metric,
        settings.cost_per_mql_metric,
    ]
    cursor.execute(
        "SELECT dimension_value, metric_name, value, trailing_value FROM kpi_work "
        "WHERE period_grain = 'month' AND dimension_name = 'campaign' AND period_start = %s "
        "AND metric_name = ANY(%s)",
        (month, metrics),
    )
    values: dict[str, dict[str, tuple[Decimal | None, Decimal | None]]] = {}
    for campaign, metric, value, trailing in cursor.fetchall():
        values.setdefault(campaign, {})[metric] = (value, trailing)
    figures = []
    judged_if_started_before = shift("month", month, -1)
    for campaign in sorted(started):
        channel, started_on = started[campaign]
        found = values.get(campaign, {})

        def pick(metric: str, index: int, found=found) -> Decimal | None:
            return found.get(metric, (None, None))[index]

        figures.append(
            _CampaignFigures(
                campaign_key=campaign,
                channel=channel,
                spend_month=pick(settings.spend_metric, 0),
                spend_3m=pick(settings.spend_metric, 1),
                attributed_month=pick(settings.attributed_metric, 0),
                attributed_3m=pick(settings.attributed_metric, 1),
                roas_month=pick(settings.roas_metric, 0),
                roas_3m=pick(settings.roas_metric, 1),
                mqls_3m=pick(settings.mql_metric, 1),
                cost_per_mql_3m=pick(settings.cost_per_mql_metric, 1),
                started_on=started_on,
                judged_if_started_before=judged_if_started_before,
            )
        )
    return figures


def contract_models_as_of(
    contract: MetricContract,
    contracts: Mapping[str, MetricContract],
    as_of: Mapping[str, date | None],
) -> date | None:
    """The earliest as-of day of the models behind a metric: how far all of it reaches."""
    days = [
        as_of.get(model) for model in models_behind(contract, contracts) if model in AS_OF_COLUMNS
    ]
    if not days or any(day is None for day in days):
        return None
    return min(day for day in days if day is not None)
