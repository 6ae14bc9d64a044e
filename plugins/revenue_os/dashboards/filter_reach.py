"""Which dashboard filters a KPI chart follows, and the dataset that lets it follow them.

The KPI tables keep each metric by one breakdown at a time: the total, each segment, each
channel, never a segment within a channel, because a ratio of two facts cannot be re-added
across slices. So a Segment filter is not a WHERE on a column there: for a chart of totals
it picks the segment's row in place of the total's, and for a chart broken out by channel
it cannot apply at all. Each KPI chart therefore reads a dataset made for what it shows:

- a chart broken out by a filterable dimension (ROAS by channel) reads that breakdown's
  rows with the filter's column beside them, so the filter is an ordinary WHERE;
- a chart of totals reads a virtual dataset whose Jinja swaps in the chosen slice's rows
  (`filter_values(..., remove_filter=True)`, so Superset reports the filter as applied);
- every other filter is one the chart's dataset has no column for, and Superset itself
  says so on the chart ("incompatible filter") rather than showing the total as if it were
  filtered.

Which filters a chart of totals follows comes from its contracts: the dimensions each of its
metrics is kept by (every metric's for a tile or a trend; any metric's for a scorecard,
whose other rows keep the total with a note saying so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from psycopg import sql

from revenue_os.dashboards.datasets import SCHEMA, Dataset, column_label, label_dimension
from revenue_os.dashboards.specs import KPI_DATASETS, WRITTEN_OUT, ChartSpec, DashboardSpec
from revenue_os.metrics.contract import MetricContract
from revenue_os.metrics.kpi_sql import OVERALL
from revenue_os.metrics.labels import CHANNEL, label_case_sql

BREAKDOWN_NOTE = "breakdown_note"
"""The column of a chart of totals saying which slice a row shows ("Segment: SMB"), or that
its metric is not kept by the chosen breakdown and the row is the company's total."""

_ROWS = sql.SQL("k")  # the KPI table's alias in every generated query


def kpi_dimension(filter_column: str) -> str | None:
    """The KPI dimension a dashboard filter's column names: `segment`, or `channel` for a
    filter on `sourced_channel` (the pipeline's channel is the one that sourced the deal)."""
    return label_dimension(filter_column.removesuffix("_label"))


def filter_columns(specs: Iterable[DashboardSpec]) -> dict[str, str]:
    """The column each dashboard filter sends (`segment_label`) → the KPI dimension it picks.

    The filters list labels ("Paid search"), so the column a chart receives is the label
    twin of the spec's column wherever the dimension has labels.
    """
    columns = {}
    for spec in specs:
        for item in spec.filters:
            if item.column is None or (dimension := kpi_dimension(item.column)) is None:
                continue
            columns[f"{item.column}_label"] = dimension
    return dict(sorted(columns.items()))


def followed_dimensions(
    chart: ChartSpec, contracts: Mapping[str, MetricContract], dimensions: Iterable[str]
) -> tuple[str, ...]:
    """The filterable dimensions a chart of totals follows, in a stable order."""
    assert chart.kpi is not None
    kept = [set(contracts[name].dimensions_at(chart.kpi.grain)) for name in chart.kpi.metrics]
    if chart.viz in WRITTEN_OUT and chart.viz != "kpi_tile":
        by = set().union(*kept)  # a scorecard: each row follows what its metric can
    else:
        by = set.intersection(*kept)  # one figure or one trend: all its metrics, or none
    return tuple(sorted(set(dimensions) & by))


def kpi_chart_dataset(
    chart: ChartSpec,
    base: Dataset,
    contracts: Mapping[str, MetricContract],
    columns: Mapping[str, str],
) -> Dataset:
    """The dataset a chart over the KPI tables reads to follow the dashboards' filters."""
    if chart.kpi is None or base.name not in KPI_DATASETS:
        return base
    breakdown = chart.kpi.dimension
    if breakdown == OVERALL:
        followed = followed_dimensions(chart, contracts, set(columns.values()))
        if not followed:
            return base
        return _totals_dataset(base, followed, columns)
    sent = {column: dimension for column, dimension in columns.items() if dimension == breakdown}
    if sent:
        return _breakdown_dataset(base, breakdown, sent)
    if breakdown == "campaign" and any(dimension == CHANNEL for dimension in columns.values()):
        return _campaigns_dataset(base, columns)
    return base


def _derived(base: Dataset, name: str, query: str, added: Sequence[str], about: str) -> Dataset:
    return Dataset(
        name=name,
        columns={**base.columns, **dict.fromkeys(added, "text")},
        main_dttm_col=base.main_dttm_col,
        metrics=base.metrics,
        sql=query,
        column_formats=base.column_formats,
        description=f"{base.description}; {about}",
        calculated=base.calculated,
    )


def _label(dimension: str, value: sql.Composable) -> sql.Composed:
    return label_case_sql(dimension, value)


def _breakdown_dataset(base: Dataset, breakdown: str, sent: Mapping[str, str]) -> Dataset:
    """A breakdown's rows with the filter's column beside them: the filter is a WHERE."""
    value = sql.SQL("{}.dimension_value").format(_ROWS)
    query = sql.SQL(
        "SELECT {rows}.*, {labels} FROM {table} AS {rows} WHERE {rows}.dimension_name = {breakdown}"
    ).format(
        rows=_ROWS,
        labels=sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(_label(breakdown, value), sql.Identifier(column))
            for column in sent
        ),
        table=sql.Identifier(SCHEMA, base.name),
        breakdown=sql.Literal(breakdown),
    )
    return _derived(
        base,
        f"{base.name}__by_{breakdown}",
        query.as_string(None),
        list(sent),
        f"the rows by {column_label(breakdown).lower()}, which its filter narrows",
    )


def _campaigns_dataset(base: Dataset, columns: Mapping[str, str]) -> Dataset:
    """The campaigns' rows with each campaign's channel: the Channel filter narrows them."""
    sent = [column for column, dimension in columns.items() if dimension == CHANNEL]
    channel = _label(CHANNEL, sql.SQL("campaigns.channel"))
    query = sql.SQL(
        "SELECT {rows}.*, {labels} FROM {table} AS {rows} LEFT JOIN {campaigns} AS campaigns "
        "ON campaigns.campaign_key = {rows}.dimension_value WHERE {rows}.dimension_name = "
        "'campaign'"
    ).format(
        rows=_ROWS,
        labels=sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(channel, sql.Identifier(column)) for column in sent
        ),
        table=sql.Identifier(SCHEMA, base.name),
        campaigns=sql.Identifier(SCHEMA, "dim_campaign"),
    )
    return _derived(
        base,
        f"{base.name}__by_campaign",
        query.as_string(None),
        sent,
        "the rows by campaign with the campaign's channel, which the Channel filter narrows",
    )


def _asked(dimension: str) -> str:
    return f"asked_{dimension}"


def _chosen(dimension: str) -> str:
    return f"chosen_{dimension}"


def _totals_dataset(base: Dataset, followed: Sequence[str], columns: Mapping[str, str]) -> Dataset:
    """The totals, or the one slice the dashboard's filters choose in their place.

    Jinja reads the filters (and removes them from the outer query, which could not apply
    them); the SQL is composed here, the values are quoted by Superset's `where_in`.
    """
    table = sql.Identifier(SCHEMA, base.name)
    value = sql.SQL("{}.dimension_value").format(_ROWS)
    # `filter` lists the query's filters without marking them applied, as `filter_values`
    # does: two breakdowns at once leave both unapplied, and Superset marks them so.
    lines = ["{%- set asked = (filter or []) | map(attribute='col') | list -%}"]
    for dimension in followed:
        sent = [column for column, kept in columns.items() if kept == dimension]
        lines.append(
            f"{{%- set {_asked(dimension)} = "
            + " or ".join(f"{column!r} in asked" for column in sent)
            + " -%}"
        )
    lines.append(
        "{%- if [" + ", ".join(map(_asked, followed)) + "] | select | list | length > 1 -%}"
    )
    lines.append(
        sql.SQL(
            "SELECT {rows}.*, {note_text} AS {note} FROM {table} AS {rows} WHERE {rows}.dimension_name = {overall}"
        )
        .format(
            rows=_ROWS,
            note_text=sql.Literal(
                "Not filtered: no KPI is kept by two breakdowns at once, choose one"
            ),
            note=sql.Identifier(BREAKDOWN_NOTE),
            table=table,
            overall=sql.Literal(OVERALL),
        )
        .as_string(None)
    )
    for dimension in followed:
        reads = " + ".join(
            f"filter_values({column!r}, remove_filter=True)"
            for column, kept in columns.items()
            if kept == dimension
        )
        lines.append("{%- elif " + _asked(dimension) + " -%}")
        lines.append(f"{{%- set {_chosen(dimension)} = {reads} -%}}")
        lines.append(
            sql.SQL(
                "SELECT {rows}.*, {name} || ': ' || slice.label AS {note} FROM {table} AS {rows} "
                "CROSS JOIN LATERAL (SELECT {label} AS label) AS slice "
                "WHERE {rows}.dimension_name = {dimension} AND slice.label IN "
            )
            .format(
                rows=_ROWS,
                name=sql.Literal(column_label(dimension)),
                label=_label(dimension, value),
                note=sql.Identifier(BREAKDOWN_NOTE),
                table=table,
                dimension=sql.Literal(dimension),
            )
            .as_string(None)
            + "{{ "
            + _chosen(dimension)
            + " | where_in }} "
            # A metric not kept by the dimension keeps its total, and says so.
            + sql.SQL(
                "UNION ALL SELECT {rows}.*, {note_text} FROM {table} AS {rows} WHERE "
                "{rows}.dimension_name = {overall} AND NOT EXISTS (SELECT FROM {table} AS kept "
                "WHERE kept.metric_name = {rows}.metric_name AND kept.period_grain = "
                "{rows}.period_grain AND kept.dimension_name = {dimension})"
            )
            .format(
                rows=_ROWS,
                note_text=sql.Literal(
                    f"Not kept by {column_label(dimension).lower()}: the company's total"
                ),
                table=table,
                overall=sql.Literal(OVERALL),
                dimension=sql.Literal(dimension),
            )
            .as_string(None)
        )
    lines.append("{%- else -%}")
    lines.append(
        sql.SQL(
            "SELECT {rows}.*, NULL::text AS {note} FROM {table} AS {rows} WHERE "
            "{rows}.dimension_name = {overall}"
        )
        .format(
            rows=_ROWS,
            note=sql.Identifier(BREAKDOWN_NOTE),
            table=table,
            overall=sql.Literal(OVERALL),
        )
        .as_string(None)
    )
    lines.append("{%- endif -%}")
    return _derived(
        base,
        f"{base.name}__totals_by_{'_'.join(followed)}",
        "\n".join(lines),
        [BREAKDOWN_NOTE],
        "the totals, or the one "
        + " or ".join(column_label(dimension).lower() for dimension in followed)
        + " the dashboard's filters choose",
    )


def default_choice_dataset(chart: ChartSpec, base: Dataset) -> Dataset:
    """The dataset of a chart with `default` filters: each column at its default value,
    unless the dashboard's filter on the column (its label twin) chooses another.

    A chart of attributed revenue by campaign shows one attribution model at a time this
    way: the six models side by side would be six times the groups, and added up they would
    be wrong.
    """
    defaults = [item for item in chart.filters if item.op == "default"]
    if not defaults:
        return base
    reads, conditions = [], []
    for item in defaults:
        dimension = kpi_dimension(item.column) or item.column
        chosen = f"chosen_{item.column}"
        reads.append(
            f"{{%- set {chosen} = filter_values({item.column + '_label'!r}, remove_filter=True) -%}}"
        )
        label = _label(dimension, sql.Identifier(item.column)).as_string(None)
        default = (
            sql.SQL("{} = {}")
            .format(sql.Identifier(item.column), sql.Literal(item.value))
            .as_string(None)
        )
        conditions.append(
            f"{{% if {chosen} %}}{label} IN {{{{ {chosen} | where_in }}}}"
            f"{{% else %}}{default}{{% endif %}}"
        )
    query = "\n".join(
        [
            *reads,
            sql.SQL("SELECT * FROM {} WHERE ")
            .format(sql.Identifier(SCHEMA, base.name))
            .as_string(None)
            + " AND ".join(conditions),
        ]
    )
    chosen_columns = "_".join(item.column for item in defaults)
    return Dataset(
        name=f"{base.name}__one_{chosen_columns}",
        columns=base.columns,
        main_dttm_col=base.main_dttm_col,
        metrics=base.metrics,
        sql=query,
        column_formats=base.column_formats,
        description=f"{base.description}; one {chosen_columns.replace('_', ' ')} at a time, "
        + ", ".join(
            f"{item.value} unless the dashboard's filter picks another" for item in defaults
        ),
        calculated=base.calculated,
    )
