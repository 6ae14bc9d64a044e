"""The Superset datasets the dashboards may use, with metrics generated from the contracts.

A chart never carries a formula. Each mart table becomes one dataset whose metrics are the
metric contracts calculated on that table (their SQL, their label, definition and format), so
a dashboard shows the number the KPI layer and the glossary describe. KPIs that divide two
facts (ROAS, CAC, coverage, NRR...) are read from `kpi_values`, where the KPI layer computed
them once with their status and owner; only ratios whose two sides share a table and a date
column are rebuilt as dataset metrics, since only then does the division commute with any
grouping a chart asks for.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from psycopg import sql

from revenue_os.metrics.contract import MetricContract, RatioCalculation, SimpleCalculation
from revenue_os.metrics.kpi_tables import column_types
from revenue_os.metrics.labels import (
    CHANNEL,
    dimension_labels,
    dimension_value_label_sql,
    label_case_sql,
)
from revenue_os.metrics.mart_catalogue import (
    AS_OF_COLUMNS,
    DATE_TYPES,
    MART_MODELS,
    ROLLUPS,
)
from revenue_os.metrics.recommendations import RecommendationSettings
from revenue_os.metrics.rollups import rolled_up
from revenue_os.metrics.sql_text import aggregate_call_ends, is_additive

SCHEMA = "mart"

D3_FORMATS: Mapping[str, str] = {
    "usd": "$,.0f",
    "percent": ",.1f",  # stored in points: 70 means 70 %, so no d3 '%' (which multiplies)
    "ratio": ",.2f",
    "count": ",d",
    "days": ",.1f",
    "months": ",.1f",
}
"""Contract `format` → d3 number format, the only place a number format is written."""

_SUPERSET_TYPES = {
    "date": "DATE",
    "timestamptz": "TIMESTAMP WITH TIME ZONE",
    "text": "TEXT",
    "numeric": "NUMERIC",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class DatasetMetric:
    name: str
    expression: str
    verbose_name: str
    description: str
    format: str | None = None  # a contract format (usd, percent, ...), None when generic
    contract: str | None = None  # the contract it comes from
    time_column: str | None = None  # the date column the contract buckets its rows by
    per_column: Mapping[str, str] = field(default_factory=dict)  # column → value it needs
    predicate: str | None = None  # the rows a simple contract aggregates (contract_predicate)

    @property
    def d3format(self) -> str | None:
        return D3_FORMATS[self.format] if self.format else None


@dataclass(frozen=True)
class Dataset:
    name: str
    columns: Mapping[str, str]  # column → Postgres type
    main_dttm_col: str | None
    metrics: Mapping[str, DatasetMetric]
    sql: str | None = None  # a virtual dataset's query; None for a mart table
    column_formats: Mapping[str, str] = field(default_factory=dict)  # column → contract format
    description: str = ""
    # Columns Superset computes from others (a key's label, a date's period state): name →
    # SQL expression. Their type is text.
    calculated: Mapping[str, str] = field(default_factory=dict)

    def is_date(self, column: str) -> bool:
        return self.columns.get(column) in DATE_TYPES

    def has(self, column: str) -> bool:
        return column in self.columns or column in self.calculated

    def labelled(self, column: str) -> str:
        """The column a reader should see in place of `column`: its label twin if it has one."""
        twin = "dimension_label" if column == "dimension_value" else f"{column}_label"
        return twin if twin in self.calculated else column

    @property
    def superset_columns(self) -> list[dict[str, object]]:
        physical = [
            {
                "column_name": name,
                "verbose_name": column_label(name),
                "type": _SUPERSET_TYPES.get(kind, kind.upper()),
                "is_dttm": kind in DATE_TYPES,
                "groupby": True,
                "filterable": True,
            }
            for name, kind in self.columns.items()
        ]
        computed = [
            {
                "column_name": name,
                "verbose_name": column_label(name),
                "type": "TEXT",
                "is_dttm": False,
                "groupby": True,
                "filterable": True,
                "expression": expression,
            }
            for name, expression in self.calculated.items()
        ]
        return physical + computed


COLUMN_LABELS: Mapping[str, str] = {
    "campaign_key": "Campaign",
    "channel": "Channel",
    "channel_label": "Channel",
    "sourced_channel_label": "Sourced channel",
    "segment_label": "Segment",
    "region_label": "Region",
    "product_family_label": "Product family",
    "product_name": "Product",
    "attribution_model_label": "Attribution model",
    "opportunity_type_label": "Opportunity type",
    "platform_label": "Ad platform",
    "outcome_label": "Outcome",
    "dimension_label": "Breakdown",
    "spend_3m_usd": "Spend, 3 months",
    "attributed_revenue_3m_usd": "Attributed revenue, 3 months",
    "roas_3m": "ROAS, 3 months",
    "roas_status": "ROAS status",
    "cost_per_mql_3m": "Cost per MQL, 3 months",
    "cost_per_mql_status": "Cost per MQL status",
    "recommendation": "Recommendation",
    "reason": "Why",
    "source_object": "Source object",
    "source_object_label": "Source object",
    "status": "Status",
    "hours_since_load": "Hours since last load",
    "sla_hours": "SLA, hours",
    "last_loaded_at": "Last successful load (UTC)",
    "rows_last_load": "Rows in last load",
    "records_in_quarantine": "Records in quarantine",
    "last_full_load_at": "Last full load (UTC)",
    "checked_at": "Checked at (UTC)",
    "run_id": "Refresh run",
    "run_label": "Refresh run",
    "build_status": "Build",
    "tier": "Tier",
    "outcome": "Outcome",
    "dataset": "Table",
    "check_name": "Check",
    "measured": "Measured",
    "threshold": "Threshold",
    "examples": "First failing keys",
    "confidence_note": "What it means for the KPIs",
    "owner": "Fixed by",
    "check_label": "Check",
    "dataset_label": "Table",
    "label": "KPI",
    "period_label": "Period",
    "rule_label": "Rule",
    "display_reading": "Reading",
    "kpi_owner": "Owner",
    "action": "Proposed decision",
    "state_label": "State",
    "due_on": "Due",
    "metric_label": "KPI",
    "evidence_url": "Evidence",
    "success_reading": "Success check read",
}
"""What a table's header says for a column; other columns get their name in words."""

_WORDS = {
    "usd": "(USD)",
    "pct": "%",
    "id": "ID",
    "kpi": "KPI",
    "roas": "ROAS",
    "mqls": "MQLs",
    "sqls": "SQLs",
    "mql": "MQL",
    "sql": "SQL",
    "arr": "ARR",
    "sla": "SLA",
    "3m": "3 months",
}


def column_label(column: str) -> str:
    """A column's header in words: from COLUMN_LABELS, else its name without snake case."""
    if column in COLUMN_LABELS:
        return COLUMN_LABELS[column]
    words = [_WORDS.get(word, word) for word in column.split("_")]
    text = " ".join(words)
    return text[0].upper() + text[1:]


def label_dimension(column: str) -> str | None:
    """The dimension whose labels a key column takes (`sourced_channel` → channel)."""
    labels = dimension_labels()
    if column in labels:
        return column
    if column.endswith("_channel"):
        return CHANNEL
    return None


def label_columns(columns: Mapping[str, str]) -> dict[str, str]:
    """`<column>_label` for each text key column whose values have reader labels."""
    calculated = {}
    if columns.get("source_object") == "text":
        # hubspot.contacts → "HubSpot · contacts"
        source = label_case_sql("source", sql.SQL("split_part(source_object, '.', 1)"))
        calculated["source_object_label"] = (
            sql.SQL("{} || ' · ' || replace(split_part(source_object, '.', 2), '_', ' ')")
            .format(source)
            .as_string(None)
        )
    for name, kind in columns.items():
        dimension = label_dimension(name)
        if kind == "text" and dimension is not None and f"{name}_label" not in columns:
            calculated[f"{name}_label"] = label_case_sql(dimension, sql.Identifier(name)).as_string(
                None
            )
    return calculated


PERIOD_STATES = FINAL, PROVISIONAL, IN_PROGRESS = ("Final", "Provisional", "In progress")
"""A dated row's period against the reporting calendar: closed for reporting, complete but
still provisional, or the period in progress (and anything after it). Trends leave out the
last."""


def periods_back_sql() -> str:
    """How many periods of its grain a KPI row lies before the mart's latest complete one: 0
    for that period, 1 for the one before, negative for the period in progress and later
    (uncorrelated sub-queries on the calendar, evaluated once)."""

    def latest(grain: str) -> str:
        return (
            f"(SELECT latest_complete_period FROM {SCHEMA}.reporting_calendar "
            f"WHERE period_grain = '{grain}')"
        )

    def months(day: str) -> str:
        return f"(extract(year FROM {day}) * 12 + extract(month FROM {day}))"

    return (
        f"CASE period_grain WHEN 'week' THEN ({latest('week')} - period_start) / 7 "
        f"WHEN 'month' THEN ({months(latest('month'))} - {months('period_start')})::integer "
        f"ELSE (({months(latest('quarter'))} - {months('period_start')}) / 3)::integer END"
    )


def period_state_sql(column: str) -> str:
    """The state of the month `column` falls in, read from the published reporting calendar.

    Uncorrelated sub-queries on a one-row-per-grain table: Postgres evaluates each once.
    """

    def calendar(expression: str) -> str:
        return (
            f"(SELECT {expression} FROM {SCHEMA}.reporting_calendar WHERE period_grain = 'month')"
        )

    closed_end = calendar("latest_final_period + interval '1 month'")
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN {column} >= {calendar('current_period')} THEN '{IN_PROGRESS}' "
        f"WHEN {column} >= {closed_end} THEN '{PROVISIONAL}' ELSE '{FINAL}' END"
    )


def filtered(expression: str, predicate: str | None) -> str:
    """`expression` with `FILTER (WHERE predicate)` after every aggregate call it makes.

    A contract's filter restricts the rows each aggregate sees, not the rows of the chart, so
    a dataset metric can sit next to another metric of the same table in one query.
    """
    if not predicate:
        return expression
    ends = aggregate_call_ends(expression)
    text = expression
    for end in sorted(ends, reverse=True):
        text = f"{text[:end]} FILTER (WHERE {predicate}){text[end:]}"
    return text


def contract_predicate(calculation: SimpleCalculation) -> str:
    """The rows a simple contract aggregates: its filter, and only rows dated by its column.

    The KPI layer buckets rows by the contract's time column, so a row without that date (a
    lead that never became an MQL) is in no period; the dataset metric must skip it too.
    """
    parts = [f"({calculation.filter})"] if calculation.filter else []
    parts.append(f"{calculation.time_column} IS NOT NULL")
    return " AND ".join(parts)


def simple_expression(calculation: SimpleCalculation) -> str:
    return filtered(calculation.expression, contract_predicate(calculation))


def _multiplier(value: float) -> str:
    return repr(float(value))  # always a numeric literal: count / count is no integer division


def _on_models(calculation: SimpleCalculation) -> list[SimpleCalculation]:
    """The calculation on its fact, then on every roll-up of the fact that gives its number."""
    variants = [rolled_up(calculation, rollup) for rollup in ROLLUPS]
    return [calculation, *(variant for variant in variants if variant is not None)]


def contract_metrics(
    contracts: Mapping[str, MetricContract],
) -> dict[str, dict[str, DatasetMetric]]:
    """model → metric name → the dataset metric each contract on that model becomes.

    A contract on a fact is also a metric of the fact's monthly roll-ups where it adds up to
    the same number there (`rolled_up`).
    """
    by_model: dict[str, dict[str, DatasetMetric]] = {}

    def add(
        contract: MetricContract,
        model: str,
        expression: str,
        time_column: str,
        per_column: Mapping[str, str],
        predicate: str | None = None,
    ) -> None:
        if not set(per_column) <= set(MART_MODELS[model]):
            return  # a default filter on a column the roll-up does not keep
        by_model.setdefault(model, {})[contract.name] = DatasetMetric(
            name=contract.name,
            expression=expression,
            verbose_name=contract.label,
            description=contract.definition,
            format=contract.format,
            contract=contract.name,
            time_column=time_column,
            per_column=per_column,
            predicate=predicate,
        )

    for contract in contracts.values():
        calculation = contract.calculation
        if isinstance(calculation, SimpleCalculation):
            per_column = {
                contract.dimension_columns[dimension]: value
                for dimension, value in calculation.default_filters.items()
                if dimension in contract.dimension_columns
            }
            for variant in _on_models(calculation):
                add(
                    contract,
                    variant.model,
                    simple_expression(variant),
                    variant.time_column,
                    per_column,
                    contract_predicate(variant),
                )
        elif isinstance(calculation, RatioCalculation):
            numerator = contracts[calculation.numerator].calculation
            denominator = contracts[calculation.denominator].calculation
            if not (
                isinstance(numerator, SimpleCalculation)
                and isinstance(denominator, SimpleCalculation)
                and numerator.model == denominator.model
                and numerator.time_column == denominator.time_column
                and not numerator.default_filters
                and not denominator.default_filters
            ):
                continue  # across two facts: read it from kpi_values
            denominators = {variant.model: variant for variant in _on_models(denominator)}
            for top in _on_models(numerator):
                bottom = denominators.get(top.model)
                if bottom is None:
                    continue
                expression = (
                    f"({simple_expression(top)}) * {_multiplier(calculation.multiplier)}"
                    f" / nullif({simple_expression(bottom)}, 0)"
                )
                add(contract, top.model, expression, top.time_column, {})
    return by_model


KPI_VALUES_TYPES: Mapping[str, str] = column_types("kpi_values")
CAMPAIGN_TYPES: Mapping[str, str] = column_types("campaign_recommendations")

_KPI_METRICS = {
    "value": ("Value", "the metric's value for the row's period and dimension value"),
    "prior_value": ("Prior value", "the value of the period before"),
    "delta_pct": ("Change vs prior period %", "(value - prior value) / prior value x 100"),
    "trailing_value": (
        "Trailing value",
        "over the 4 weeks, 3 months or 4 quarters ending with the period",
    ),
}


# A week's windows in the week's own unit, so the week and its 4- and 13-week windows share an
# axis: a sum's window total divided by its weeks; a rate or average is the window's already.
_WEEKLY_WINDOWS = {
    "four_weeks_as_a_week": (
        "4 weeks, a week's worth",
        "trailing_value",
        4,
        "the 4 weeks ending with the week, in the week's unit (a sum's total divided by 4)",
    ),
    "thirteen_weeks_as_a_week": (
        "13 weeks, a week's worth",
        "trailing_13_week_value",
        13,
        "the 13 weeks ending with the week, in the week's unit (a sum's total divided by 13)",
    ),
}


def _kpi_metrics(weekly_windows: bool = False) -> dict[str, DatasetMetric]:
    metrics = {
        name: DatasetMetric(
            name=name, expression=f"max({name})", verbose_name=label, description=text
        )
        for name, (label, text) in _KPI_METRICS.items()
    }
    if weekly_windows:
        metrics |= {
            name: DatasetMetric(
                name=name,
                expression=f"max(CASE WHEN trailing_basis = 'total' THEN {column} / {weeks} "
                f"ELSE {column} END)",
                verbose_name=label,
                description=text,
            )
            for name, (label, column, weeks, text) in _WEEKLY_WINDOWS.items()
        }
    return metrics


KPI_PERIOD_STATE_SQL = (
    f"CASE WHEN NOT is_complete THEN '{IN_PROGRESS}' WHEN NOT is_final THEN '{PROVISIONAL}' "
    f"ELSE '{FINAL}' END"
)


CHANNEL_MONTHLY = "channel_monthly"


def channel_monthly_dataset(
    contracts: Mapping[str, MetricContract], shown: Collection[str] | None = None
) -> Dataset:
    """One row per channel and month of every sum or count the KPI layer keeps by channel,
    read from `kpi_values` (the one home of those numbers) and laid side by side, so a table
    shows spend, leads, cost per lead, MQLs, pipeline and ROAS of a channel on one row.

    The sums are metrics summed over the chart's months; each ratio contract whose two sides
    are among them is their ratio of sums, which holds for any range of months. A channel
    without a row for a sum in a month has 0 of it, as in the KPI layer.

    `shown`: the metrics the charts on it show; the published dataset lays out only the sums
    those need. Superset parses a virtual dataset's SQL on every chart request, and the
    pivot of every channel sum cost the channel table 45 ms more than its six sums.
    """
    needed = None
    if shown is not None:
        needed = set(shown)
        for name in shown:
            calculation = contracts[name].calculation
            if isinstance(calculation, RatioCalculation):
                needed |= {calculation.numerator, calculation.denominator}
    additive = [
        contract
        for contract in contracts.values()
        if isinstance(contract.calculation, SimpleCalculation)
        and is_additive(contract.calculation.expression)
        and CHANNEL in contract.dimensions_at("month")
        and (needed is None or contract.name in needed)
    ]
    names = [contract.name for contract in additive]
    query = sql.SQL(
        "SELECT period_start AS month_start, dimension_value AS channel, {columns} FROM {table} "
        "WHERE period_grain = 'month' AND dimension_name = {channel} AND metric_name IN ({names}) "
        "GROUP BY 1, 2"
    ).format(
        columns=sql.SQL(", ").join(
            sql.SQL("coalesce(max(value) FILTER (WHERE metric_name = {}), 0) AS {}").format(
                sql.Literal(name), sql.Identifier(name)
            )
            for name in names
        ),
        table=sql.Identifier(SCHEMA, "kpi_values"),
        channel=sql.Literal(CHANNEL),
        names=sql.SQL(", ").join(map(sql.Literal, names)),
    )
    metrics = {
        contract.name: DatasetMetric(
            name=contract.name,
            expression=f"sum({contract.name})",
            verbose_name=contract.label,
            description=contract.definition,
            format=contract.format,
            contract=contract.name,
            time_column="month_start",
        )
        for contract in additive
    }
    for contract in contracts.values():
        calculation = contract.calculation
        if (
            isinstance(calculation, RatioCalculation)
            and calculation.numerator in metrics
            and calculation.denominator in metrics
            and CHANNEL in contract.dimensions_at("month")
            and (needed is None or contract.name in needed)
        ):
            metrics[contract.name] = DatasetMetric(
                name=contract.name,
                expression=f"sum({calculation.numerator}) * {_multiplier(calculation.multiplier)}"
                f" / nullif(sum({calculation.denominator}), 0)",
                verbose_name=contract.label,
                description=contract.definition,
                format=contract.format,
                contract=contract.name,
                time_column="month_start",
            )
    columns = {"month_start": "date", "channel": "text", **dict.fromkeys(names, "numeric")}
    return Dataset(
        name=CHANNEL_MONTHLY,
        columns=columns,
        main_dttm_col="month_start",
        metrics=dict(sorted(metrics.items())),
        sql=query.as_string(None),
        description="each channel's month side by side: the sums and counts the KPI layer "
        "keeps by channel (mart.kpi_values) that the channel charts show, with the ratios of "
        "their sums",
        calculated={
            **label_columns(columns),
            "month_start_state": period_state_sql("month_start"),
        },
    )


def build_datasets(contracts: Mapping[str, MetricContract]) -> dict[str, Dataset]:
    """Every dataset a spec may name: the mart tables, the KPI tables, the scorecard and the
    reporting calendar."""
    generated = contract_metrics(contracts)
    datasets: dict[str, Dataset] = {}
    for model, columns in MART_MODELS.items():
        dates = [name for name, kind in columns.items() if kind in DATE_TYPES]
        as_of = AS_OF_COLUMNS.get(model, (dates[0] if dates else None, 0))[0]
        calculated = label_columns(columns)
        if model in AS_OF_COLUMNS or model in ROLLUPS:
            calculated.update({f"{date}_state": period_state_sql(date) for date in dates})
        datasets[model] = Dataset(
            name=model,
            columns=dict(columns),
            main_dttm_col=as_of,
            metrics=dict(sorted(generated.get(model, {}).items())),
            description=f"mart.{model}, as docs/mart.md describes it",
            calculated=calculated,
        )
    datasets["kpi_values"] = Dataset(
        name="kpi_values",
        columns=dict(KPI_VALUES_TYPES),
        main_dttm_col="period_start",
        metrics=_kpi_metrics(weekly_windows=True),
        column_formats={"delta_pct": "percent"},
        description="every metric contract computed by week, month and quarter, "
        "with its status against the thresholds and its owner",
        calculated={
            "dimension_label": dimension_value_label_sql(
                sql.Identifier("dimension_name"), sql.Identifier("dimension_value")
            ).as_string(None),
            "period_state": KPI_PERIOD_STATE_SQL,
            "periods_back": periods_back_sql(),
        },
    )
    datasets["kpi_scorecard"] = Dataset(
        name="kpi_scorecard",
        columns=column_types("kpi_scorecard"),
        main_dttm_col="period_start",
        metrics=_kpi_metrics(),
        description="each metric's row for the period it is reported on, written out for "
        "tiles and scorecards (value, change, status, trend)",
    )
    datasets[CHANNEL_MONTHLY] = channel_monthly_dataset(contracts)
    datasets["reporting_calendar"] = Dataset(
        name="reporting_calendar",
        columns=column_types("reporting_calendar"),
        main_dttm_col=None,
        metrics={},
        description="how far the data runs, the latest complete and closed periods, and "
        "when the mart was published",
    )
    datasets["kpi_signals"] = Dataset(
        name="kpi_signals",
        columns=column_types("kpi_signals"),
        main_dttm_col="period_start",
        metrics={},
        description="the contracts' change and level rules judged each period, per slice: "
        "the reading, whether it fired, the owner and the proposed decision",
    )
    datasets["decision_log"] = Dataset(
        name="decision_log",
        columns=column_types("decision_log"),
        main_dttm_col="due_on",
        metrics={},
        description="the decision log as of the build: each decision's owner and assignee, "
        "expected impact, evidence, due date and the success check read at the due date",
    )
    settings = RecommendationSettings.load()
    formats = {
        "spend": settings.spend_metric,
        "attributed_revenue": settings.attributed_metric,
        "roas": settings.roas_metric,
        "mqls": settings.mql_metric,
        "cost_per_mql": settings.cost_per_mql_metric,
    }
    column_formats = {
        column: contracts[metric].format
        for column in CAMPAIGN_TYPES
        for prefix, metric in formats.items()
        if column.startswith(prefix + "_")
        and column != "mqls"
        and metric in contracts
        and CAMPAIGN_TYPES[column] == "numeric"
    }
    datasets["campaign_recommendations"] = Dataset(
        name="campaign_recommendations",
        columns=dict(CAMPAIGN_TYPES),
        calculated=label_columns(CAMPAIGN_TYPES),
        main_dttm_col="month_start",
        metrics={},
        column_formats=column_formats,
        description="scale / reduce / test per campaign that spent in the last complete month",
    )
    from revenue_os.quality.health import DATA_HEALTH_TABLES

    for table, columns in DATA_HEALTH_TABLES.items():
        dates = [name for name, kind in columns.items() if kind in DATE_TYPES]
        datasets[table] = Dataset(
            name=table,
            columns=dict(columns),
            main_dttm_col="checked_at" if "checked_at" in columns else dates[0],
            metrics={
                "checks": DatasetMetric(
                    name="checks",
                    expression="count(*)",
                    verbose_name="Rows",
                    description="checks, sources or issues counted",
                )
            },
            description=f"mart.{table}: the data-quality results and source freshness",
            calculated=label_columns(columns),
        )
    return datasets
