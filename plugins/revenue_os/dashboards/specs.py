"""Dashboard specs (`superset/dashboards/<name>.yaml`): load, validate, or fail listing all.

A spec says what a reader sees: rows of charts, each naming a dataset, the governed metrics
and the columns it groups and filters by, and the dashboard's filters. It never holds SQL or a
number format: metrics come from the contracts, formats from the contracts' `format`. Every
problem of every file is reported at once, one line each, as
`superset/dashboards/<file>.yaml: <field.path>: <message>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from revenue_os.dashboards.datasets import Dataset, build_datasets
from revenue_os.metrics.contract import MetricContract
from revenue_os.paths import DASHBOARDS_DIR
from revenue_os.yaml_files import read_yaml

Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Text = Annotated[str, Field(min_length=1)]
Viz = Literal[
    "big_number",
    "line",
    "bar",
    "table",
    "pie",
    "funnel",
    "pivot",
    "kpi_tile",
    "kpi_table",
    "kpi_funnel",
    "campaign_table",
    "as_of",
    "health_summary",
]
TimeGrain = Literal["week", "month", "quarter"]
KPI_DATASETS = frozenset({"kpi_values", "kpi_scorecard"})
WRITTEN_OUT = {
    "kpi_tile": "kpi_scorecard",
    "kpi_table": "kpi_scorecard",
    "kpi_funnel": "kpi_scorecard",
    "campaign_table": "campaign_recommendations",
    "as_of": "reporting_calendar",
    "health_summary": "data_health_summary",
}
"""The charts whose rows come written out (text, colours) and are laid out by a template in
superset/templates/, and the one dataset each reads."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChartFilter(_Strict):
    """A fixed filter of one chart: `column op value`. `default` is `column = value` unless
    the dashboard's filter on the column chooses another value (one attribution model at a
    time, W-shaped until the reader picks another)."""

    column: Text
    op: Literal[
        "eq", "in", "not_in", "is_true", "is_false", "not_null", "default", "at_least", "below"
    ]
    value: int | str | list[str] | None = None


class KpiSelection(_Strict):
    """Rows of `kpi_values` / `kpi_scorecard`: which metrics, at which grain and breakdown."""

    metrics: Annotated[list[Key], Field(min_length=1)]
    grain: TimeGrain = "month"
    dimension: Key = "overall"


class ChartSpec(_Strict):
    key: Key
    title: Text
    viz: Viz
    dataset: Key
    metrics: list[Key] = Field(default_factory=list)
    time_column: Key | None = None  # the date the chart is filtered (and trended) by
    time_grain: TimeGrain = "month"
    x_axis: Key | None = None  # a category for bar/pie-like charts; default the time column
    series: list[Key] = Field(default_factory=list)  # group by (series, table columns)
    # Bars of a series stack unless they are alternatives of one quantity (attribution models:
    # stacking would add the six models' credit up).
    stacked: bool = True
    columns: list[Key] = Field(default_factory=list)  # raw table columns
    filters: list[ChartFilter] = Field(default_factory=list)
    order_by: list[Annotated[str, Field(pattern=r"^-?[a-z][a-z0-9_]*$")]] = Field(
        default_factory=list
    )  # columns or metrics; a leading '-' sorts descending
    kpi: KpiSelection | None = None
    # A KPI trend's latest periods only, up to the mart's latest complete one (26 weeks).
    last_periods: Annotated[int, Field(ge=2, le=260)] | None = None
    # Split a one-metric time chart by the state of its periods (final, provisional), so a
    # month that can still move is visibly not like the closed ones.
    mark_provisional: bool = False
    description: str | None = None
    width: Annotated[int, Field(ge=1, le=12)] = 6
    height: Annotated[int, Field(ge=10, le=200)] = 50
    # A chart that is empty or 0 when all is well (checks not passed, no renewal at risk):
    # the tests accept it so; every other chart must show values.
    may_be_empty: bool = False
    # A table where a ratio does not apply to some rows (ROAS of a channel without spend):
    # Superset writes those cells N/A, which the browser test accepts here and nowhere else.
    not_applicable_cells: bool = False
    row_limit: Annotated[int, Field(ge=1, le=50000)] = 1000


class RowSpec(_Strict):
    charts: Annotated[list[ChartSpec], Field(min_length=1)]


class FilterSpec(_Strict):
    """A native filter: a date range, or a value list over one column."""

    name: Text
    column: Key | None = None  # None: the date range over each chart's time column
    default: list[str] | None = None


class DashboardSpec(_Strict):
    title: Text
    slug: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
    description: Text
    published: bool = True
    filters: list[FilterSpec] = Field(default_factory=list)
    rows: Annotated[list[RowSpec], Field(min_length=1)]

    @property
    def charts(self) -> list[ChartSpec]:
        return [chart for row in self.rows for chart in row.charts]


class DashboardSpecError(ValueError):
    """Every problem found in the specs, one `<file>: <field>: <message>` per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{count} in the dashboard specs:\n" + "\n".join(problems))


def load_specs(
    directory: Path = DASHBOARDS_DIR,
    contracts: Mapping[str, MetricContract] | None = None,
) -> dict[str, DashboardSpec]:
    """Every spec in `directory`, by file stem, checked against the datasets and contracts."""
    if contracts is None:
        from revenue_os.metrics import load_contracts

        contracts = load_contracts()
    datasets = build_datasets(contracts)
    shown_dir = f"{directory.parent.name}/{directory.name}"
    problems: list[str] = []
    specs: dict[str, DashboardSpec] = {}
    slugs: dict[str, str] = {}
    paths = sorted(directory.glob("*.y*ml"))
    if not paths:
        problems.append(f"{shown_dir}: no dashboard specs (*.yaml)")
    for path in paths:
        shown = f"{shown_dir}/{path.name}"
        try:
            data = read_yaml(path)
        except yaml.YAMLError as error:
            problems.append(f"{shown}: not valid YAML: {' '.join(str(error).split())}")
            continue
        if not isinstance(data, dict):
            problems.append(f"{shown}: the file must hold a mapping of dashboard fields")
            continue
        try:
            spec = DashboardSpec.model_validate(data)
        except ValidationError as error:
            problems.extend(f"{shown}: {problem}" for problem in _describe(error))
            continue
        problems.extend(
            f"{shown}: {problem}" for problem in spec_problems(spec, datasets, contracts)
        )
        if spec.slug in slugs:
            problems.append(f"{shown}: slug: {spec.slug!r} is already used by {slugs[spec.slug]}")
        slugs[spec.slug] = shown
        specs[path.stem] = spec
    if problems:
        raise DashboardSpecError(problems)
    return specs


def _describe(error: ValidationError) -> Iterable[str]:
    for detail in error.errors():
        location = ".".join(str(part) for part in detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = "unknown field (not part of a dashboard spec)"
        yield f"{location}: {message}" if location else message


def chart_format(
    chart: ChartSpec, dataset: Dataset, contracts: Mapping[str, MetricContract]
) -> str | None:
    """The contract format of the numbers a chart plots (the same for all its metrics)."""
    formats = chart_formats(chart, dataset, contracts)
    return formats[0] if len(set(formats)) == 1 else None


def chart_formats(
    chart: ChartSpec, dataset: Dataset, contracts: Mapping[str, MetricContract]
) -> list[str]:
    if chart.kpi is not None and chart.dataset in KPI_DATASETS:
        return [contracts[name].format for name in chart.kpi.metrics if name in contracts]
    return [
        metric.format
        for name in chart.metrics
        if (metric := dataset.metrics.get(name)) is not None and metric.format
    ]


def spec_problems(
    spec: DashboardSpec,
    datasets: Mapping[str, Dataset],
    contracts: Mapping[str, MetricContract],
) -> list[str]:
    """What a spec gets wrong against the datasets and contracts, as `field.path: message`."""
    problems: list[str] = []
    keys: set[str] = set()
    used_columns: set[str] = set()
    for row_index, row in enumerate(spec.rows):
        if sum(chart.width for chart in row.charts) > 12:
            problems.append(f"rows.{row_index}.charts: widths add up to more than 12")
        for chart_index, chart in enumerate(row.charts):
            where = f"rows.{row_index}.charts.{chart_index}"
            if chart.key in keys:
                problems.append(f"{where}.key: {chart.key!r} is used twice in this dashboard")
            keys.add(chart.key)
            dataset = datasets.get(chart.dataset)
            if dataset is None:
                problems.append(
                    f"{where}.dataset: unknown dataset {chart.dataset!r} "
                    f"(known: {', '.join(sorted(datasets))})"
                )
                continue
            used_columns.update(dataset.columns)
            used_columns.update(dataset.calculated)
            problems.extend(
                f"{where}.{problem}" for problem in _chart_problems(chart, dataset, contracts)
            )
    for index, native in enumerate(spec.filters):
        if native.column is not None and native.column not in used_columns:
            problems.append(
                f"filters.{index}.column: no chart's dataset has column {native.column!r}"
            )
    return problems


def _chart_problems(
    chart: ChartSpec, dataset: Dataset, contracts: Mapping[str, MetricContract]
) -> list[str]:
    problems: list[str] = []
    name = dataset.name

    def column(field: str, value: str | None) -> None:
        if value is not None and not dataset.has(value):
            problems.append(f"{field}: unknown column {value!r} of dataset {name}")

    for index, metric in enumerate(chart.metrics):
        if metric not in dataset.metrics:
            known = ", ".join(dataset.metrics) or "none"
            problems.append(
                f"metrics.{index}: unknown metric {metric!r} of dataset {name} (known: {known})"
            )
    column("time_column", chart.time_column)
    if chart.time_column in dataset.columns and not dataset.is_date(chart.time_column):
        problems.append(f"time_column: {chart.time_column!r} is not a date column of {name}")
    column("x_axis", chart.x_axis)
    for index, value in enumerate(chart.series):
        column(f"series.{index}", value)
    for index, value in enumerate(chart.columns):
        column(f"columns.{index}", value)
    for index, item in enumerate(chart.order_by):
        target = item.lstrip("-")
        if not dataset.has(target) and target not in chart.metrics:
            problems.append(
                f"order_by.{index}: {target!r} is neither a column of {name} "
                "nor a metric of the chart"
            )
    for index, item in enumerate(chart.filters):
        column(f"filters.{index}.column", item.column)
        needs_value = item.op in ("eq", "in", "not_in", "default", "at_least", "below")
        if item.op == "default" and not isinstance(item.value, str):
            problems.append(f"filters.{index}.value: op default takes one value")
        if needs_value and item.value is None:
            problems.append(f"filters.{index}.value: required for op {item.op}")
        if not needs_value and item.value is not None:
            problems.append(f"filters.{index}.value: op {item.op} takes no value")

    # Shapes each visualisation needs.
    metric_count = len(chart.metrics) + (1 if chart.kpi and not chart.metrics else 0)
    if chart.viz in ("big_number", "pie", "funnel") and len(chart.metrics) != 1:
        problems.append(f"metrics: a {chart.viz} chart shows exactly one metric")
    if chart.viz == "big_number" and chart.time_column is None:
        problems.append("time_column: a big_number chart trends its metric over a date")
    if chart.viz in ("line", "bar") and not chart.metrics:
        problems.append(f"metrics: a {chart.viz} chart needs at least one metric")
    if chart.viz in ("line", "bar") and chart.x_axis is None and chart.time_column is None:
        problems.append("time_column: a line or bar chart needs a time column or an x_axis")
    if chart.viz in ("pie", "funnel") and not (chart.x_axis or chart.series):
        problems.append(f"series: a {chart.viz} chart needs the column its slices are")
    if chart.viz == "table" and not (chart.columns or chart.series or metric_count):
        problems.append("columns: a table needs columns, series or metrics")
    if chart.viz != "table" and chart.columns:
        problems.append("columns: only a table lists raw columns")
    if chart.viz in WRITTEN_OUT and name != WRITTEN_OUT[chart.viz]:
        problems.append(f"dataset: a {chart.viz} chart reads {WRITTEN_OUT[chart.viz]}")
    if chart.last_periods is not None and (chart.kpi is None or name != "kpi_values"):
        problems.append("last_periods: only a KPI trend over kpi_values keeps its latest periods")
    if chart.viz == "kpi_tile" and (chart.kpi is None or len(chart.kpi.metrics) != 1):
        problems.append("kpi.metrics: a kpi_tile shows exactly one KPI")
    if chart.viz == "pivot" and not (chart.x_axis and chart.series and len(chart.metrics) == 1):
        problems.append("pivot: a pivot needs an x_axis (rows), series (columns) and one metric")
    if chart.mark_provisional and (len(chart.metrics) != 1 or chart.series):
        problems.append("mark_provisional: only a one-metric chart without series is split")

    # KPI tables hold every metric, grain and breakdown: a chart must pick its rows.
    if name in KPI_DATASETS:
        if chart.kpi is None:
            problems.append(f"kpi: a chart over {name} must say which metrics, grain, dimension")
        else:
            for index, metric_name in enumerate(chart.kpi.metrics):
                contract = contracts.get(metric_name)
                if contract is None:
                    problems.append(f"kpi.metrics.{index}: unknown metric contract {metric_name!r}")
                    continue
                if chart.kpi.grain not in contract.grain:
                    problems.append(
                        f"kpi.grain: {chart.kpi.grain!r} is not a grain of {metric_name!r} "
                        f"({', '.join(contract.grain)})"
                    )
                if chart.kpi.dimension != "overall" and chart.kpi.dimension not in (
                    contract.dimensions
                ):
                    problems.append(
                        f"kpi.dimension: {chart.kpi.dimension!r} is not a dimension of "
                        f"{metric_name!r}"
                    )
                elif chart.kpi.dimension != "overall" and chart.kpi.dimension not in (
                    contract.dimensions_at(chart.kpi.grain)
                ):
                    problems.append(
                        f"kpi.dimension: {metric_name!r} breaks {chart.kpi.dimension!r} out "
                        f"only by {', '.join(contract.dimension_grains[chart.kpi.dimension])} "
                        "(its dimension_grains)"
                    )
        selection = chart.kpi
        if selection is not None and chart.metrics:  # aggregated: one value per group
            grouped_by = {chart.x_axis, *chart.series}
            if len(selection.metrics) > 1 and not grouped_by & {"label", "metric_name"}:
                problems.append("series: several KPIs in one chart: group by label or metric_name")
            if selection.dimension != "overall" and "dimension_value" not in grouped_by:
                problems.append(f"series: rows by {selection.dimension}: group by dimension_value")
    elif chart.kpi is not None:
        problems.append(f"kpi: only charts over {', '.join(sorted(KPI_DATASETS))} select KPIs")

    # Governed metrics: dated as their contract says, never summed across what they fan out by.
    grouped = {chart.x_axis, *chart.series, *chart.columns}
    filtered_columns = {item.column for item in chart.filters}
    for index, metric_name in enumerate(chart.metrics):
        metric = dataset.metrics.get(metric_name)
        if metric is None:
            continue
        if (
            metric.time_column is not None
            and chart.time_column is not None
            and chart.time_column != metric.time_column
        ):
            problems.append(
                f"metrics.{index}: {metric_name!r} is dated by {metric.time_column!r}, "
                f"but the chart's time_column is {chart.time_column!r}"
            )
        for fan_out, default in metric.per_column.items():
            if fan_out not in grouped and fan_out not in filtered_columns:
                problems.append(
                    f"metrics.{index}: {metric_name!r} has one row per {fan_out}; group by "
                    f"{fan_out} or filter it (the contract's default is {default!r}), or the "
                    "chart adds them up"
                )
    formats = chart_formats(chart, dataset, contracts)
    if chart.viz not in ("table", "kpi_table") and len(set(formats)) > 1:
        problems.append(
            f"metrics: one axis cannot show formats {', '.join(sorted(set(formats)))}; "
            "split the chart"
        )
    return problems


def dashboards_by_metric(specs: Mapping[str, DashboardSpec]) -> dict[str, tuple[str, str]]:
    """metric → (slug, title) of the dashboard that shows it: where its tile or scorecard is,
    else the first chart that selects it, so an alert can link to the KPI in context."""
    found: dict[str, tuple[str, str]] = {}
    for rank in ("kpi_tile", "kpi_table", None):
        for name in sorted(specs):
            spec = specs[name]
            for chart in spec.charts:
                if chart.kpi is None or (rank is not None and chart.viz != rank):
                    continue
                for metric in chart.kpi.metrics:
                    found.setdefault(metric, (spec.slug, spec.title))
    return found
