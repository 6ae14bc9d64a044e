"""Compile the dashboard specs into the ZIP `POST /api/v1/assets/import/` takes.

The bundle is a pure function of the specs, the contracts and the database URI: uuids are
uuid5 of stable names, entries are sorted and every ZIP timestamp is fixed, so building twice
gives the same bytes and importing again updates the objects it created instead of adding
copies. The database password never enters the bundle; the importer passes it separately.
"""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from revenue_os.dashboards.datasets import (
    CHANNEL_MONTHLY,
    D3_FORMATS,
    IN_PROGRESS,
    PERIOD_STATES,
    SCHEMA,
    Dataset,
    build_datasets,
    channel_monthly_dataset,
)
from revenue_os.dashboards.filter_reach import (
    BREAKDOWN_NOTE,
    default_choice_dataset,
    filter_columns,
    kpi_chart_dataset,
)
from revenue_os.dashboards.specs import (
    KPI_DATASETS,
    WRITTEN_OUT,
    ChartFilter,
    ChartSpec,
    DashboardSpec,
    chart_format,
    load_specs,
)
from revenue_os.metrics.contract import MetricContract
from revenue_os.metrics.labels import label_colors
from revenue_os.paths import SUPERSET_DIR

TEMPLATES_DIR = SUPERSET_DIR / "templates"

NAMESPACE = uuid.UUID("5b0f4a52-3c1e-4d8e-9a65-2f1d7f6c9e10")
"""Fixed forever: every uuid in the bundle is uuid5(NAMESPACE, '<kind>:<stable name>')."""

ROOT = "revenue_os_dashboards"
DATABASE_NAME = "Revenue OS warehouse"
DATABASE_FILE = "databases/warehouse.yaml"
VERSION = "1.0.0"
TIMESTAMP = "2026-01-01T00:00:00+00:00"  # fixed, so that the bytes do not change per build
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)

_GRAINS = {"week": "P1W", "month": "P1M", "quarter": "P3M"}
_VIZ_TYPES = {
    "big_number": "big_number",
    "line": "echarts_timeseries_line",
    "bar": "echarts_timeseries_bar",
    "table": "table",
    "pie": "pie",
    "funnel": "funnel",
    "pivot": "pivot_table_v2",
    **dict.fromkeys(WRITTEN_OUT, "handlebars"),
}
_SHOWN_STATES = [state for state in PERIOD_STATES if state != IN_PROGRESS]
_OPERATORS = {
    "eq": "==",
    "in": "IN",
    "not_in": "NOT IN",
    "is_true": "IS TRUE",
    "is_false": "IS FALSE",
    "not_null": "IS NOT NULL",
    "at_least": ">=",
    "below": "<",
}
_PLACEHOLDER_DATASOURCE = "0__table"  # rewritten to the real id on import


def stable_uuid(kind: str, name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


def database_uuid() -> str:
    return stable_uuid("database", "warehouse")


def dataset_uuid(name: str) -> str:
    return stable_uuid("dataset", name)


def chart_uuid(spec: DashboardSpec, chart: ChartSpec) -> str:
    return stable_uuid("chart", f"{spec.slug}/{chart.key}")


def dashboard_uuid(spec: DashboardSpec) -> str:
    return stable_uuid("dashboard", spec.slug)


PASSWORD_MASK = "XXXXXXXXXX"
"""Superset's placeholder for a password given apart (what its own exports write).

A URI with no password at all makes the import clear the stored password, even one passed
in `passwords`; with the mask Superset keeps the password it is given separately.
"""


def uri_without_password(uri: str) -> str:
    """`uri` with its password replaced by the mask, on the psycopg2 driver Superset ships."""
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    if parts.username:
        netloc = f"{parts.username}:{PASSWORD_MASK}@{netloc}"
    scheme = parts.scheme
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        scheme = "postgresql+psycopg2"
    return urlunsplit((scheme, netloc, parts.path, parts.query, parts.fragment))


# --- charts ---------------------------------------------------------------------------


def _forward_looking(chart: ChartSpec, contracts: Mapping[str, MetricContract]) -> bool:
    """A chart of KPIs judged on the period in progress (pipeline coverage): their periods
    are the current and the next, never complete."""
    if chart.kpi is None:
        return False
    return any(
        (contract := contracts.get(name)) is not None and contract.is_forward_looking
        for name in chart.kpi.metrics
    )


def _filters(
    chart: ChartSpec,
    contracts: Mapping[str, MetricContract] | None = None,
    dataset: Dataset | None = None,
) -> list[ChartFilter]:
    """The chart's own filters plus the rows a KPI selection means. A `default` filter is
    the dataset's to apply (`filter_reach.default_choice_dataset`), not the chart's."""
    filters = [item for item in chart.filters if item.op != "default"]
    if chart.kpi is not None and chart.dataset in KPI_DATASETS:
        names = chart.kpi.metrics
        filters.append(
            ChartFilter(column="metric_name", op="in", value=list(names))
            if len(names) > 1
            else ChartFilter(column="metric_name", op="eq", value=names[0])
        )
        filters.append(ChartFilter(column="period_grain", op="eq", value=chart.kpi.grain))
        if dataset is None or not dataset.has(BREAKDOWN_NOTE):
            # A dataset of totals chooses the breakdown itself: the slice a filter picks.
            filters.append(ChartFilter(column="dimension_name", op="eq", value=chart.kpi.dimension))
        if chart.dataset == "kpi_values":
            # Complete periods with a value: a period the KPI has no value for is absent from
            # the chart, never drawn as 0.
            if not _forward_looking(chart, contracts or {}):
                filters.append(ChartFilter(column="is_complete", op="is_true"))
            filters.append(ChartFilter(column="value", op="not_null"))
        elif chart.kpi.dimension != "overall":
            filters.append(ChartFilter(column="value", op="not_null"))
    if chart.dataset == "reporting_calendar":
        filters.append(ChartFilter(column="period_grain", op="eq", value=chart.time_grain))
    return filters


def _state_column(chart: ChartSpec, dataset: Dataset) -> str | None:
    """The column telling whether the chart's period is final, provisional or in progress."""
    if chart.dataset == "kpi_values":
        return "period_state"
    if chart.time_column and dataset.has(f"{chart.time_column}_state"):
        return f"{chart.time_column}_state"
    return None


def _trend_filters(chart: ChartSpec, dataset: Dataset) -> list[ChartFilter]:
    """A trend over a fact leaves out the period in progress: half a month is no month."""
    state = _state_column(chart, dataset)
    if state is None or chart.dataset == "kpi_values" or chart.viz in WRITTEN_OUT:
        return []
    return [ChartFilter(column=state, op="in", value=list(_SHOWN_STATES))]


def _contract_where(chart: ChartSpec, dataset: Dataset) -> str | None:
    """The rows an aggregated table's contract metrics count, so it lists no row without a
    value (a campaign with no paid touch has no paid attributed revenue: no row, not N/A)."""
    predicates = set()
    for name in chart.metrics:
        metric = dataset.metrics.get(name)
        if metric is None or metric.predicate is None:
            return None
        predicates.add(metric.predicate)
    return predicates.pop() if len(predicates) == 1 else None


def _latest_periods(chart: ChartSpec) -> list[ChartFilter]:
    """A KPI trend's latest periods, counted back from the mart's latest complete one (the
    dataset's `periods_back`, from the reporting calendar), so a weekly chart shows the weeks a
    meeting reads, not three years."""
    if chart.last_periods is None:
        return []
    return [
        ChartFilter(column="periods_back", op="at_least", value=0),
        ChartFilter(column="periods_back", op="below", value=chart.last_periods),
    ]


def _adhoc_filters(
    chart: ChartSpec, filters: list[ChartFilter], where: str | None = None
) -> list[dict[str, Any]]:
    adhoc: list[dict[str, Any]] = []
    if where:
        adhoc.append(
            {
                "clause": "WHERE",
                "expressionType": "SQL",
                "sqlExpression": where,
                "filterOptionName": f"filter_{chart.key}_rows",
            }
        )
    if chart.time_column:
        adhoc.append(
            {
                "clause": "WHERE",
                "comparator": "No filter",
                "expressionType": "SIMPLE",
                "operator": "TEMPORAL_RANGE",
                "subject": chart.time_column,
            }
        )
    for index, item in enumerate(filters):
        entry: dict[str, Any] = {
            "clause": "WHERE",
            "expressionType": "SIMPLE",
            "operator": _OPERATORS[item.op],
            "subject": item.column,
            "filterOptionName": f"filter_{chart.key}_{index}",
        }
        if item.value is not None:
            entry["comparator"] = item.value
        adhoc.append(entry)
    return adhoc


def _query_filters(chart: ChartSpec, filters: list[ChartFilter]) -> list[dict[str, Any]]:
    query: list[dict[str, Any]] = []
    if chart.time_column:
        query.append({"col": chart.time_column, "op": "TEMPORAL_RANGE", "val": "No filter"})
    for item in filters:
        entry: dict[str, Any] = {"col": item.column, "op": _OPERATORS[item.op]}
        if item.value is not None:
            entry["val"] = item.value
        query.append(entry)
    return query


def _axis_column(chart: ChartSpec, axis: str | None, dated: bool) -> Any:
    """The x axis as a query column: a date axis is bucketed by the chart's grain."""
    if not dated:
        return axis
    return {
        "timeGrain": _GRAINS[chart.time_grain],
        "columnType": "BASE_AXIS",
        "sqlExpression": axis,
        "label": axis,
        "expressionType": "SQL",
        "isColumnReference": True,
    }


def minified_template(name: str) -> str:
    """A template of superset/templates/ on one line: Superset renders a Handlebars chart's
    output as Markdown, where an indented line would become a code block."""
    text = (TEMPLATES_DIR / f"{name}.hbs").read_text(encoding="utf-8")
    return "".join(line.strip() for line in text.splitlines())


# Superset's grid counts heights in 8-pixel units. A scorecard row is two lines high once a
# laptop's width wraps its KPI's name; the title and the table's header take the rest.
_SCORECARD_HEADER_UNITS = 14
_SCORECARD_ROW_UNITS = 8


def layout_height(chart: ChartSpec) -> int:
    """The chart's height on the grid: its spec's, or, for a scorecard of one row per KPI, as
    many rows as it lists KPIs, so no KPI hides below the chart's fold."""
    if chart.viz == "kpi_table" and chart.kpi is not None and chart.kpi.dimension == "overall":
        rows = len(chart.kpi.metrics)
        return max(chart.height, _SCORECARD_HEADER_UNITS + _SCORECARD_ROW_UNITS * rows)
    return chart.height


def template_names_in(text: str) -> set[str]:
    """Every name a Handlebars template mentions inside `{{ }}`: the columns its chart needs.

    A written-out row has some 36 columns; a chart that asked for all of them made Superset
    carry, process and cache three times the cells it shows.
    """
    text = re.sub(r"{{!--.*?--}}|{{!.*?}}", "", text, flags=re.DOTALL)  # comments
    return {
        word
        for expression in re.findall(r"{{(.*?)}}", text, re.DOTALL)
        for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", re.sub(r'"[^"]*"', "", expression))
    } | set(re.findall(r'lookup [^)]*"([a-z_]+)"', text))  # a column read by name


_TEMPLATES = {
    "kpi_tile": "kpi_tile",
    "kpi_table": "kpi_table",
    "kpi_funnel": "funnel",
    "campaign_table": "recommendations",
    "as_of": "as_of",
    "health_summary": "health_summary",
}


def _template_of(chart: ChartSpec) -> str:
    if chart.viz == "kpi_table" and chart.kpi is not None and chart.kpi.dimension != "overall":
        return "kpi_breakdown"
    return _TEMPLATES[chart.viz]


def _orderby(chart: ChartSpec) -> list[list[Any]]:
    if chart.order_by:
        return [[item.lstrip("-"), not item.startswith("-")] for item in chart.order_by]
    if chart.metrics and chart.viz != "big_number":
        return [[chart.metrics[0], False]]
    return []


def _timeseries_post_processing(
    axis: str | None, series: list[str], metrics: list[str]
) -> list[dict[str, Any]]:
    """What Superset's time-series charts ask the server to do with the rows: one column per
    series (and metric), named by the series alone when there is one metric."""
    steps: list[dict[str, Any]] = [
        {
            "operation": "pivot",
            "options": {
                "index": [axis],
                "columns": series,
                "aggregates": {metric: {"operator": "mean"} for metric in metrics},
                "drop_missing_columns": False,
            },
        }
    ]
    if series and len(metrics) == 1:
        steps.append(
            {
                "operation": "rename",
                "options": {"columns": {metrics[0]: None}, "level": 0, "inplace": True},
            }
        )
    steps.append({"operation": "flatten"})
    return steps


def chart_params_and_query(
    chart: ChartSpec, dataset: Dataset, contracts: Mapping[str, MetricContract]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The chart's form data (`params`) and the saved query the data API replays.

    The saved query is the one Superset's own front end builds from the form data (its
    buildQuery, key for key): the cache key of a result is a digest of the query, so the
    refresh's warm-up, which replays the saved query, fills exactly the entries a browser
    opening the dashboard asks for (tests/integration/test_dashboards_browser.py)."""
    viz_type = _VIZ_TYPES[chart.viz]
    number_format = chart_format(chart, dataset, contracts)
    d3 = D3_FORMATS[number_format] if number_format else None
    filters = (
        _filters(chart, contracts, dataset)
        + _trend_filters(chart, dataset)
        + _latest_periods(chart)
    )
    where = _contract_where(chart, dataset) if chart.viz == "table" else None
    axis = chart.x_axis or chart.time_column
    dated_axis = axis is not None and dataset.is_date(axis)
    if axis is not None and not dated_axis:
        axis = dataset.labelled(axis)
    series = [dataset.labelled(column) for column in chart.series]
    state = _state_column(chart, dataset)
    if chart.mark_provisional and state is not None:
        series = [state]
    params: dict[str, Any] = {
        "datasource": _PLACEHOLDER_DATASOURCE,
        "viz_type": viz_type,
        "adhoc_filters": _adhoc_filters(chart, filters, where),
        "row_limit": chart.row_limit,
        "extra_form_data": {},
        "dashboards": [],
    }
    query: dict[str, Any] = {
        "filters": _query_filters(chart, filters),
        "extras": {"having": "", "where": f"({where})" if where else ""},
        "applied_time_extras": {},
        "orderby": _orderby(chart),
        "row_limit": chart.row_limit,
        "series_limit": 0,
        "order_desc": True,
        "annotation_layers": [],
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
        "group_others_when_limit_reached": False,
    }
    if chart.viz in WRITTEN_OUT:
        template = minified_template(_template_of(chart))
        shown = template_names_in(template) | {name for name, _ in _orderby(chart)}
        columns = [column for column in dataset.columns if column in shown]
        params.update(
            {
                "query_mode": "raw",
                "all_columns": columns,
                "order_by_cols": [
                    json.dumps([column, ascending]) for column, ascending in _orderby(chart)
                ],
                "handlebarsTemplate": template,
                "styleTemplate": "",
            }
        )
        query["columns"] = columns
        if not query["orderby"]:
            del query["orderby"]
    elif chart.viz == "big_number":
        params.update(
            {
                "metric": chart.metrics[0],
                "x_axis": axis,
                "time_grain_sqla": _GRAINS[chart.time_grain],
                "show_trend_line": True,
                "start_y_axis_at_zero": False,
                "header_font_size": 0.4,
                "subheader_font_size": 0.15,
                "compare_lag": 1,
                "compare_suffix": f"vs prior {chart.time_grain}",
                "y_axis_format": d3 or "SMART_NUMBER",
                "time_format": "smart_date",
            }
        )
        query.update({"columns": [_axis_column(chart, axis, dated_axis)], "metrics": chart.metrics})
        query["orderby"] = []
    elif chart.viz in ("line", "bar"):
        params.update(
            {
                "x_axis": axis,
                "time_grain_sqla": _GRAINS[chart.time_grain],
                "metrics": chart.metrics,
                "groupby": series,
                "y_axis_format": d3 or "SMART_NUMBER",
                # One line needs no legend: the title says what it is ("Value" says nothing).
                "show_legend": bool(series) or len(chart.metrics) > 1,
                "legendOrientation": "top",
                "legendType": "scroll",
                "rich_tooltip": True,
                "x_axis_sort_asc": True,
                "truncate_metric": True,
                "markerEnabled": chart.viz == "line",
                "stack": "Stack" if chart.viz == "bar" and series and chart.stacked else None,
                "only_total": True,
                "order_desc": True,
            }
        )
        if dated_axis:
            params["x_axis_time_format"] = "smart_date"
        query.update(
            {
                "columns": [_axis_column(chart, axis, dated_axis), *series],
                "series_columns": series,
                "metrics": chart.metrics,
                "orderby": [[chart.metrics[0], False]],
                "post_processing": _timeseries_post_processing(axis, series, chart.metrics),
                "time_offsets": [],
            }
        )
        if dated_axis:
            query["extras"] = {**query["extras"], "time_grain_sqla": _GRAINS[chart.time_grain]}
    elif chart.viz == "pivot":
        rows = [axis]
        params.update(
            {
                "groupbyRows": rows,
                "groupbyColumns": series,
                "metrics": chart.metrics,
                "aggregateFunction": "Sum",
                "valueFormat": d3 or "SMART_NUMBER",
                "metricsLayout": "COLUMNS",
                "rowTotals": False,
                "colTotals": False,
                "transposePivot": False,
                "combineMetric": False,
                "rowOrder": "value_z_to_a",
                "colOrder": "key_a_to_z",
            }
        )
        query.update(
            {
                "columns": [*series, *rows],
                "metrics": chart.metrics,
                "orderby": [[chart.metrics[0], False]],
            }
        )
    elif chart.viz in ("pie", "funnel"):
        groupby = [axis] if chart.x_axis else series
        params.update({"groupby": groupby, "metric": chart.metrics[0], "number_format": d3})
        if chart.viz == "pie":
            params.update({"show_labels": True, "label_type": "key_percent", "donut": True})
        else:
            params.update(
                {
                    "sort_by_metric": True,
                    "show_labels": True,
                    "label_type": "key_value_percent",
                    "percent_calculation_type": "prev_step",
                    "show_legend": False,
                }
            )
        query.update({"columns": groupby, "metrics": chart.metrics})
        if chart.viz == "pie":
            metric = chart.metrics[0]
            query["post_processing"] = [
                {
                    "operation": "contribution",
                    "options": {"columns": [metric], "rename_columns": [f"{metric}__contribution"]},
                }
            ]
    else:  # table
        column_config = {
            column: {"d3NumberFormat": D3_FORMATS[fmt]}
            for column, fmt in dataset.column_formats.items()
            if column in chart.columns
        }
        if chart.metrics:
            for metric in chart.metrics:
                fmt = dataset.metrics[metric].format or number_format
                if fmt:
                    column_config[metric] = {"d3NumberFormat": D3_FORMATS[fmt]}
            groupby = [*([axis] if chart.x_axis else []), *series]
            params.update(
                {
                    "query_mode": "aggregate",
                    "groupby": groupby,
                    "metrics": chart.metrics,
                    "order_desc": True,
                    "timeseries_limit_metric": chart.metrics[0],
                }
            )
            query.update(
                {
                    "columns": groupby,
                    "metrics": chart.metrics,
                    "series_limit_metric": chart.metrics[0],
                    "post_processing": [],
                    "time_offsets": [],
                }
            )
        else:
            shown = [dataset.labelled(column) for column in chart.columns]
            params.update(
                {
                    "query_mode": "raw",
                    "all_columns": shown,
                    "order_by_cols": [
                        json.dumps([column, ascending]) for column, ascending in _orderby(chart)
                    ],
                }
            )
            query.update({"columns": shown, "post_processing": [], "time_offsets": []})
        timestamped = any(dataset.columns.get(column) == "timestamptz" for column in chart.columns)
        params.update(
            {
                "column_config": column_config,
                # Times of day where the table shows moments (loads, checks), dates otherwise.
                "table_timestamp_format": "%d %b %Y %H:%M" if timestamped else "%d %b %Y",
                "show_cell_bars": False,
                "include_search": True,
                "server_pagination": False,
            }
        )
    query_context = {
        "datasource": {"id": 0, "type": "table"},
        "force": False,
        "queries": [query],
        "form_data": params,
        "result_format": "json",
        "result_type": "full",
    }
    return params, query_context


def chart_config(
    spec: DashboardSpec,
    chart: ChartSpec,
    dataset: Dataset,
    contracts: Mapping[str, MetricContract],
) -> dict[str, Any]:
    params, query_context = chart_params_and_query(chart, dataset, contracts)
    return {
        "slice_name": chart.title,
        "description": chart.description,
        "viz_type": params["viz_type"],
        "params": params,
        "query_context": json.dumps(query_context, sort_keys=True),
        "cache_timeout": None,
        "certified_by": None,
        "certification_details": None,
        "uuid": chart_uuid(spec, chart),
        "dataset_uuid": dataset_uuid(dataset.name),
        "version": VERSION,
    }


# --- dashboards -------------------------------------------------------------------------


def _placeholder_ids(spec: DashboardSpec) -> dict[str, int]:
    """chart key → a placeholder chart id, rewritten to the real id on import."""
    return {chart.key: index for index, chart in enumerate(spec.charts, start=1)}


def position(spec: DashboardSpec) -> dict[str, Any]:
    """The v2 layout: a header, then one row per spec row, each chart in its row."""
    ids = _placeholder_ids(spec)
    layout: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": spec.title}},
    }
    rows = []
    for row_index, row in enumerate(spec.rows):
        row_id = f"ROW-{row_index + 1}"
        children = []
        for chart in row.charts:
            chart_id = f"CHART-{chart.key}"
            children.append(chart_id)
            layout[chart_id] = {
                "type": "CHART",
                "id": chart_id,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "chartId": ids[chart.key],
                    "uuid": chart_uuid(spec, chart),
                    "sliceName": chart.title,
                    "width": chart.width,
                    "height": layout_height(chart),
                },
            }
        layout[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": children,
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        rows.append(row_id)
    layout["GRID_ID"] = {
        "type": "GRID",
        "id": "GRID_ID",
        "children": rows,
        "parents": ["ROOT_ID"],
    }
    return layout


def native_filters(spec: DashboardSpec, datasets: Mapping[str, Dataset]) -> list[dict[str, Any]]:
    """One native filter per spec filter. `datasets`: chart key → the dataset it reads.

    A value filter is scoped to every chart with business data, so that a chart whose
    dataset cannot take it says so (Superset marks the filter incompatible on the chart)
    instead of silently showing its unfiltered numbers; it lists the values of a mart
    table's column (a virtual KPI dataset's rows are chosen by the filter, not listed for
    it). One value at a time: the KPIs are kept per value, and a ratio of several segments is
    not the sum of their ratios.
    """
    ids = _placeholder_ids(spec)
    configuration = []
    for index, item in enumerate(spec.filters):
        column = item.column
        if column is None:
            applies = [chart for chart in spec.charts if chart.time_column]
        else:
            # The list shows labels ("Paid search"), where the dataset has them.
            labelled = {datasets[chart.key].labelled(column) for chart in spec.charts}
            column = f"{column}_label" if f"{column}_label" in labelled else column
            applies = [chart for chart in spec.charts if chart.dataset != "reporting_calendar"]
            listed_by = [
                chart
                for chart in spec.charts
                if datasets[chart.key].sql is None and datasets[chart.key].has(column)
            ]
        excluded = sorted(ids[chart.key] for chart in spec.charts if chart not in applies)
        entry: dict[str, Any] = {
            "id": f"NATIVE_FILTER-{stable_uuid('filter', f'{spec.slug}/{index}')[:12]}",
            "name": item.name,
            "type": "NATIVE_FILTER",
            "description": "",
            "cascadeParentIds": [],
            "scope": {"rootPath": ["ROOT_ID"], "excluded": excluded},
            "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
        }
        if item.column is None:
            entry.update(
                {
                    "filterType": "filter_time",
                    "targets": [{}],
                    "controlValues": {"enableEmptyFilter": False},
                }
            )
        else:
            target = datasets[listed_by[0].key].name
            entry.update(
                {
                    "filterType": "filter_select",
                    "targets": [{"column": {"name": column}, "datasetUuid": dataset_uuid(target)}],
                    "controlValues": {
                        "enableEmptyFilter": False,
                        "defaultToFirstItem": False,
                        "multiSelect": False,
                        "searchAllOptions": False,
                        "inverseSelection": False,
                    },
                }
            )
            if item.default:
                entry["defaultDataMask"] = {
                    "extraFormData": {
                        "filters": [{"col": column, "op": "IN", "val": item.default}]
                    },
                    "filterState": {"value": item.default},
                    "ownState": {},
                }
        configuration.append(entry)
    return configuration


def dashboard_config(spec: DashboardSpec, datasets: Mapping[str, Dataset]) -> dict[str, Any]:
    """The dashboard file; `datasets`: chart key → the dataset the chart reads."""
    return {
        "dashboard_title": spec.title,
        "description": spec.description,
        "css": "",
        "slug": spec.slug,
        "certified_by": None,
        "certification_details": None,
        "published": spec.published,
        "uuid": dashboard_uuid(spec),
        "position": position(spec),
        "metadata": {
            "native_filter_configuration": native_filters(spec, datasets),
            "color_scheme": "supersetColors",
            "refresh_frequency": 0,
            "expanded_slices": {},
            # One colour per meaning on every dashboard: the taxonomy's and the seeds' palette.
            "label_colors": label_colors(),
            "timed_refresh_immune_slices": [],
            "cross_filters_enabled": False,
            "default_filters": "{}",
            "chart_configuration": {},
            "global_chart_configuration": {},
        },
        "version": VERSION,
    }


# --- datasets and the database ----------------------------------------------------------


def dataset_config(dataset: Dataset) -> dict[str, Any]:
    return {
        "table_name": dataset.name,
        "schema": SCHEMA,
        "sql": dataset.sql,
        "description": dataset.description,
        "main_dttm_col": dataset.main_dttm_col,
        "default_endpoint": None,
        "offset": 0,
        "cache_timeout": None,
        "filter_select_enabled": True,
        "fetch_values_predicate": None,
        "extra": None,
        "normalize_columns": False,
        "always_filter_main_dttm": False,
        "uuid": dataset_uuid(dataset.name),
        "database_uuid": database_uuid(),
        "metrics": [
            {
                "metric_name": metric.name,
                "verbose_name": metric.verbose_name,
                "metric_type": None,
                "expression": metric.expression,
                "description": metric.description,
                "d3format": metric.d3format,
                "warning_text": None,
                "extra": None,
            }
            for metric in dataset.metrics.values()
        ],
        "columns": dataset.superset_columns,
        "version": VERSION,
    }


def database_config(database_uri: str) -> dict[str, Any]:
    return {
        "database_name": DATABASE_NAME,
        "sqlalchemy_uri": uri_without_password(database_uri),
        "cache_timeout": None,
        "expose_in_sqllab": True,
        "allow_run_async": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_dml": False,
        "allow_file_upload": False,
        "extra": {"allows_virtual_table_explore": True},
        "uuid": database_uuid(),
        "version": VERSION,
    }


def _dump(config: Mapping[str, Any]) -> bytes:
    return yaml.safe_dump(
        dict(config), sort_keys=True, allow_unicode=True, default_flow_style=False, width=100
    ).encode("utf-8")


def bundle_files(
    database_uri: str,
    *,
    specs: Mapping[str, DashboardSpec] | None = None,
    contracts: Mapping[str, MetricContract] | None = None,
) -> dict[str, dict[str, Any]]:
    """Every file of the bundle (path inside the top folder → its YAML content)."""
    if contracts is None:
        from revenue_os.metrics import load_contracts

        contracts = load_contracts()
    if specs is None:
        specs = load_specs(contracts=contracts)
    datasets = build_datasets(contracts)
    shown_by_channel = {
        metric
        for spec in specs.values()
        for chart in spec.charts
        if chart.dataset == CHANNEL_MONTHLY
        for metric in chart.metrics
    }
    datasets = {
        **datasets,
        CHANNEL_MONTHLY: channel_monthly_dataset(contracts, shown=shown_by_channel),
    }
    files: dict[str, dict[str, Any]] = {
        "metadata.yaml": {"version": VERSION, "type": "assets", "timestamp": TIMESTAMP},
        DATABASE_FILE: database_config(database_uri),
    }
    followed = filter_columns(specs.values())
    used: dict[str, Dataset] = {}
    for name in sorted(specs):
        spec = specs[name]
        read = chart_datasets(spec, datasets, contracts, followed)
        for chart in spec.charts:
            used[read[chart.key].name] = read[chart.key]
            files[f"charts/{spec.slug}/{chart.key}.yaml"] = chart_config(
                spec, chart, read[chart.key], contracts
            )
        files[f"dashboards/{spec.slug}.yaml"] = dashboard_config(spec, read)
    for name in sorted(used):
        files[f"datasets/warehouse/{name}.yaml"] = dataset_config(used[name])
    return files


def chart_datasets(
    spec: DashboardSpec,
    datasets: Mapping[str, Dataset],
    contracts: Mapping[str, MetricContract],
    followed: Mapping[str, str],
) -> dict[str, Dataset]:
    """chart key → the dataset it reads: the one its spec names, or for a KPI chart the
    variant that follows the dashboards' filters (`filter_reach`)."""
    return {
        chart.key: default_choice_dataset(
            chart, kpi_chart_dataset(chart, datasets[chart.dataset], contracts, followed)
        )
        for chart in spec.charts
    }


def build_bundle(
    database_uri: str,
    *,
    specs: Mapping[str, DashboardSpec] | None = None,
    contracts: Mapping[str, MetricContract] | None = None,
) -> bytes:
    """The import ZIP for the specs (default: superset/dashboards/*.yaml), deterministic."""
    return zip_bundle(bundle_files(database_uri, specs=specs, contracts=contracts))


def zip_bundle(files: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The ZIP of bundle files: sorted entries with fixed times, so equal files give equal bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{ROOT}/{path}", date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, _dump(files[path]))
    return buffer.getvalue()
