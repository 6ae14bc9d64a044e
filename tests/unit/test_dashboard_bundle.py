"""The dashboard specs compile into a Superset bundle that imports cleanly and stays governed."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from pathlib import Path

import pytest
import yaml

from revenue_os.dashboards.bundle import (
    DATABASE_FILE,
    NAMESPACE,
    PASSWORD_MASK,
    build_bundle,
    bundle_files,
    template_names_in,
)
from revenue_os.dashboards.datasets import D3_FORMATS, channel_monthly_dataset, contract_metrics
from revenue_os.dashboards.filter_reach import BREAKDOWN_NOTE
from revenue_os.dashboards.specs import DashboardSpecError, load_specs
from revenue_os.metrics import load_contracts
from revenue_os.metrics.contract import SimpleCalculation
from revenue_os.metrics.rollups import rolled_up
from revenue_os.paths import DASHBOARDS_DIR

SECRET = "s3cret-Pa55word"
URI = f"postgresql://mart_reader:{SECRET}@127.0.0.1:55432/warehouse"


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


@pytest.fixture(scope="module")
def bundle(contracts) -> bytes:
    return build_bundle(URI, contracts=contracts)


@pytest.fixture(scope="module")
def files(bundle) -> dict[str, dict]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return {
            name.split("/", 1)[1]: yaml.safe_load(archive.read(name)) for name in archive.namelist()
        }


def test_shipped_specs_load(contracts):
    specs = load_specs(DASHBOARDS_DIR, contracts)
    assert set(specs) == {
        "data_health",
        "executive_performance",
        "marketing_roi",
        "pipeline_retention",
        "recurring_revenue",
        "weekly_revenue_meeting",
    }
    assert all(spec.charts for spec in specs.values())


def test_bundle_is_byte_identical_when_built_twice(bundle, contracts):
    assert build_bundle(URI, contracts=contracts) == bundle


def test_one_top_level_folder_metadata_and_one_database_without_password(bundle, files):
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        names = archive.namelist()
        assert {name.split("/", 1)[0] for name in names} == {"revenue_os_dashboards"}
        assert all(info.date_time == (2026, 1, 1, 0, 0, 0) for info in archive.infolist())
    assert SECRET.encode() not in bundle
    assert files["metadata.yaml"]["type"] == "assets"
    databases = [path for path in files if path.startswith("databases/")]
    assert databases == [DATABASE_FILE]
    database = files[DATABASE_FILE]
    assert database["database_name"] == "Revenue OS warehouse"
    assert database["sqlalchemy_uri"] == (
        f"postgresql+psycopg2://mart_reader:{PASSWORD_MASK}@127.0.0.1:55432/warehouse"
    )


def test_every_chart_has_a_query_context_naming_its_dataset(files):
    charts = {path: config for path, config in files.items() if path.startswith("charts/")}
    datasets = {
        config["uuid"]: config for path, config in files.items() if path.startswith("datasets/")
    }
    assert len(charts) >= 30
    for path, chart in charts.items():
        context = json.loads(chart["query_context"])
        assert context["datasource"]["type"] == "table", path
        assert context["queries"] and context["queries"][0]["filters"] is not None, path
        assert context["form_data"]["viz_type"] == chart["viz_type"], path
        dataset = datasets[chart["dataset_uuid"]]  # the chart's dataset ships in the bundle
        used = set(context["queries"][0].get("metrics") or [])
        assert used <= {metric["metric_name"] for metric in dataset["metrics"]}, path


def test_contract_metrics_carry_the_contract_sql_filter_and_format(files, contracts):
    datasets = {
        config["table_name"]: config
        for path, config in files.items()
        if path.startswith("datasets/")
    }
    checked = 0
    for contract in contracts.values():
        calculation = contract.calculation
        if not isinstance(calculation, SimpleCalculation) or calculation.model not in datasets:
            continue
        metrics = {
            metric["metric_name"]: metric for metric in datasets[calculation.model]["metrics"]
        }
        metric = metrics[contract.name]
        predicate = f"{calculation.time_column} IS NOT NULL"
        if calculation.filter:
            predicate = f"({calculation.filter}) AND {predicate}"
        assert f"FILTER (WHERE {predicate})" in metric["expression"], contract.name
        assert metric["d3format"] == D3_FORMATS[contract.format]
        assert metric["verbose_name"] == contract.label
        checked += 1
    assert checked >= 10
    won = datasets["fct_opportunities"]["metrics"]
    won_deals = next(metric for metric in won if metric["metric_name"] == "won_deals")
    assert won_deals["expression"] == (
        "count(*) FILTER (WHERE (is_won and opportunity_type in ('new_business', 'expansion'))"
        " AND close_date IS NOT NULL)"
    )
    win_rate = next(metric for metric in won if metric["metric_name"] == "win_rate")
    assert win_rate["expression"].startswith("(count(*) FILTER (WHERE (is_won")
    assert "* 100.0 / nullif(count(*) FILTER (WHERE (is_closed" in win_rate["expression"]
    assert win_rate["d3format"] == D3_FORMATS["percent"]


def test_no_cross_fact_ratio_is_rebuilt_as_a_dataset_metric(files):
    names = {
        metric["metric_name"]
        for path, config in files.items()
        if path.startswith("datasets/") and config["table_name"] != "channel_monthly"
        for metric in config["metrics"]
    }
    assert not names & {"roas", "cac", "cost_per_mql", "pipeline_coverage"}


def test_the_channel_table_divides_the_kpi_layers_sums(files):
    """Over kpi_values' channel rows both sides of a ratio sit on one row per channel and
    month, so the ratio of their sums is the contract's ratio over any range of months."""
    (channels,) = [
        config
        for path, config in files.items()
        if path.startswith("datasets/") and config["table_name"] == "channel_monthly"
    ]
    expressions = {metric["metric_name"]: metric["expression"] for metric in channels["metrics"]}
    assert expressions["paid_spend"] == "sum(paid_spend)"
    assert expressions["roas"] == (
        "sum(paid_attributed_revenue) * 1.0 / nullif(sum(paid_spend), 0)"
    )
    assert expressions["cost_per_lead"] == "sum(paid_spend) * 1.0 / nullif(sum(leads), 0)"
    assert 'FROM "mart"."kpi_values"' in channels["sql"]
    assert "cac" not in expressions  # new customers are not kept by channel


def test_the_channel_dataset_lays_out_only_the_sums_its_charts_need(files, contracts):
    (channels,) = [
        config
        for path, config in files.items()
        if path.startswith("datasets/") and config["table_name"] == "channel_monthly"
    ]
    pivoted = set(re.findall(r"WHERE metric_name = '([a-z_]+)'", channels["sql"]))
    # the channel table's sums, and the sides of its three ratios (ROAS needs paid revenue)
    assert pivoted == {
        "paid_spend",
        "leads",
        "mqls",
        "pipeline_created",
        "attributed_revenue",
        "paid_attributed_revenue",
    }
    assert {"roas", "cost_per_lead", "cost_per_mql"} <= {
        m["metric_name"] for m in channels["metrics"]
    }
    # the unnarrowed dataset, which the specs are checked against, keeps every channel sum
    assert "won_amount" in channel_monthly_dataset(contracts).columns


def test_every_chart_appears_in_its_dashboard_position(files):
    charts = {path: config for path, config in files.items() if path.startswith("charts/")}
    for path, dashboard in files.items():
        if not path.startswith("dashboards/"):
            continue
        slug = dashboard["slug"]
        own = {
            config["uuid"] for key, config in charts.items() if key.startswith(f"charts/{slug}/")
        }
        placed = {
            item["meta"]["uuid"]
            for item in dashboard["position"].values()
            if isinstance(item, dict) and item.get("type") == "CHART"
        }
        assert own and placed == own, slug
        for native in dashboard["metadata"]["native_filter_configuration"]:
            for target in native["targets"]:
                if "datasetUuid" in target:
                    assert any(
                        config["uuid"] == target["datasetUuid"]
                        for key, config in files.items()
                        if key.startswith("datasets/")
                    )


def test_uuids_are_uuid5_and_stable(files):
    for path, config in files.items():
        if "uuid" not in config:
            continue
        value = uuid.UUID(config["uuid"])
        assert value.version == 5, path
    again = bundle_files(URI)
    assert {path: config.get("uuid") for path, config in again.items()} == {
        path: config.get("uuid") for path, config in files.items()
    }
    assert files[DATABASE_FILE]["uuid"] == str(uuid.uuid5(NAMESPACE, "database:warehouse"))


GOOD_CHART = {
    "key": "revenue",
    "title": "Revenue by month, USD",
    "viz": "line",
    "dataset": "fct_revenue_lines",
    "metrics": ["total_revenue"],
    "time_column": "invoice_date",
}


def _write(tmp_path: Path, chart: dict, **extra) -> Path:
    directory = tmp_path / "dashboards"
    directory.mkdir(exist_ok=True)
    spec = {"title": "Test", "slug": "test", "description": "a test", "rows": [{"charts": [chart]}]}
    spec.update(extra)
    (directory / "test.yaml").write_text(yaml.safe_dump(spec))
    return directory


def _refusal(directory: Path, contracts) -> DashboardSpecError:
    """What loading the specs in `directory` fails with (it must fail)."""
    with pytest.raises(DashboardSpecError) as error:
        load_specs(directory, contracts)
    return error.value


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"dataset": "fct_nothing"}, "rows.0.charts.0.dataset: unknown dataset 'fct_nothing'"),
        ({"metrics": ["roas"]}, "rows.0.charts.0.metrics.0: unknown metric 'roas'"),
        ({"series": ["colour"]}, "rows.0.charts.0.series.0: unknown column 'colour'"),
        ({"time_column": "close_date"}, "rows.0.charts.0.time_column: unknown column"),
        ({"colour": "red"}, "rows.0.charts.0.colour: unknown field"),
        (
            {"last_periods": 26},
            "rows.0.charts.0.last_periods: only a KPI trend over kpi_values keeps its latest",
        ),
    ],
)
def test_bad_chart_fails_naming_file_and_field(tmp_path, contracts, change, expected):
    error = _refusal(_write(tmp_path, {**GOOD_CHART, **change}), contracts)
    assert f"dashboards/test.yaml: {expected}" in str(error)


def test_missing_title_fails_naming_the_field(tmp_path, contracts):
    directory = _write(tmp_path, GOOD_CHART)
    spec = yaml.safe_load((directory / "test.yaml").read_text())
    del spec["title"]
    (directory / "test.yaml").write_text(yaml.safe_dump(spec))
    error = _refusal(directory, contracts)
    assert "dashboards/test.yaml: title: Field required" in str(error)


def test_every_problem_is_listed_at_once(tmp_path, contracts):
    directory = _write(tmp_path, {**GOOD_CHART, "metrics": ["nope"], "series": ["colour"]})
    assert len(_refusal(directory, contracts).problems) == 2


def test_a_good_spec_loads(tmp_path, contracts):
    assert list(load_specs(_write(tmp_path, GOOD_CHART), contracts)) == ["test"]


def test_a_kpi_chart_by_a_dimension_not_broken_out_at_its_grain_is_refused(tmp_path, contracts):
    chart = {
        "key": "weekly_roas",
        "title": "ROAS by campaign, latest complete week",
        "viz": "kpi_table",
        "dataset": "kpi_scorecard",
        "kpi": {"metrics": ["roas"], "grain": "week", "dimension": "campaign"},
    }
    error = _refusal(_write(tmp_path, chart), contracts)
    assert (
        "dashboards/test.yaml: rows.0.charts.0.kpi.dimension: 'roas' breaks 'campaign' out only"
        " by month (its dimension_grains)"
    ) in str(error)
    monthly = {**chart, "kpi": {**chart["kpi"], "grain": "month"}}
    assert list(load_specs(_write(tmp_path, monthly), contracts)) == ["test"]


def test_attributed_revenue_summed_across_models_is_refused(tmp_path, contracts):
    chart = {
        **GOOD_CHART,
        "dataset": "fct_attribution",
        "metrics": ["attributed_revenue"],
        "time_column": "conversion_date",
    }
    error = _refusal(_write(tmp_path, chart), contracts)
    assert "has one row per attribution_model" in str(error)
    chart["series"] = ["attribution_model"]
    assert load_specs(_write(tmp_path, chart), contracts)


def test_a_metric_charted_over_another_date_is_refused(tmp_path, contracts):
    chart = {
        **GOOD_CHART,
        "dataset": "fct_opportunities",
        "metrics": ["won_amount"],
        "time_column": "created_date",
    }
    error = _refusal(_write(tmp_path, chart), contracts)
    assert "'won_amount' is dated by 'close_date'" in str(error)


def _reach(files, slug: str, chart_key: str, filter_name: str) -> str:
    """What a dashboard filter does to a chart: `applied` (a column of the chart's dataset,
    or read by the dataset's Jinja), `incompatible` (in scope, but the dataset cannot take
    it: Superset marks it so on the chart) or `out of scope`."""
    dashboard = files[f"dashboards/{slug}.yaml"]
    chart = files[f"charts/{slug}/{chart_key}.yaml"]
    chart_id = next(
        item["meta"]["chartId"]
        for item in dashboard["position"].values()
        if isinstance(item, dict) and item.get("meta", {}).get("uuid") == chart["uuid"]
    )
    native = next(
        item
        for item in dashboard["metadata"]["native_filter_configuration"]
        if item["name"] == filter_name
    )
    if chart_id in native["scope"]["excluded"]:
        return "out of scope"
    column = native["targets"][0]["column"]["name"]
    (dataset,) = [
        config
        for path, config in files.items()
        if path.startswith("datasets/") and config["uuid"] == chart["dataset_uuid"]
    ]
    columns = {item["column_name"] for item in dataset["columns"]}
    if column in columns or f"filter_values('{column}', remove_filter=True)" in (
        dataset["sql"] or ""
    ):
        return "applied"
    return "incompatible"


@pytest.mark.parametrize(
    ("slug", "chart_key", "filter_name", "expected"),
    [
        # ROAS is kept by attribution model, channel and campaign: its tile follows the first
        # two and says it cannot follow a segment.
        ("marketing-roi", "roas_headline", "Attribution model", "applied"),
        ("marketing-roi", "roas_headline", "Channel", "applied"),
        ("marketing-roi", "roas_headline", "Segment", "incompatible"),
        # CAC is kept by channel only.
        ("marketing-roi", "cac_headline", "Channel", "applied"),
        ("marketing-roi", "cac_headline", "Attribution model", "incompatible"),
        # A breakdown by channel narrows to the channel; its rows are W-shaped only.
        ("marketing-roi", "roas_by_channel", "Channel", "applied"),
        ("marketing-roi", "roas_by_channel", "Attribution model", "incompatible"),
        ("marketing-roi", "roas_by_channel", "Region", "incompatible"),
        # Campaigns narrow to a channel through the campaign's own channel.
        ("marketing-roi", "roas_by_campaign", "Channel", "applied"),
        ("marketing-roi", "roas_by_campaign", "Segment", "incompatible"),
        # The stage conversions are all kept by channel, segment and region.
        ("marketing-roi", "stage_conversion", "Segment", "applied"),
        ("marketing-roi", "stage_conversion", "Attribution model", "incompatible"),
        # A fact with the column: an ordinary filter.
        ("marketing-roi", "spend_by_channel", "Channel", "applied"),
        ("marketing-roi", "spend_by_channel", "Segment", "incompatible"),
        # The executive scorecard follows what any of its KPIs is kept by (revenue by
        # segment; ROAS and CAC keep their totals and say so).
        ("executive-performance", "kpi_scorecard", "Segment", "applied"),
        ("executive-performance", "revenue_headline", "Region", "applied"),
        ("executive-performance", "roas_headline", "Region", "incompatible"),
        # The pipeline's channel is the one that sourced the deal.
        ("pipeline-retention", "win_rate_headline", "Sourced channel", "applied"),
        ("pipeline-retention", "nrr_headline", "Sourced channel", "incompatible"),
        ("pipeline-retention", "coverage_by_segment", "Segment", "applied"),
        # Attributed revenue by campaign shows one model, W-shaped unless the filter picks.
        ("marketing-roi", "attributed_revenue_by_campaign", "Attribution model", "applied"),
        ("marketing-roi", "attributed_revenue_by_campaign", "Channel", "applied"),
        # The "data as of" banner is about the data, not the business.
        ("executive-performance", "as_of", "Segment", "out of scope"),
    ],
)
def test_each_filter_reaches_the_charts_whose_data_has_its_dimension(
    files, slug, chart_key, filter_name, expected
):
    assert _reach(files, slug, chart_key, filter_name) == expected


def test_value_filters_pick_one_value_from_a_mart_table(files):
    for path, dashboard in files.items():
        if not path.startswith("dashboards/"):
            continue
        for native in dashboard["metadata"]["native_filter_configuration"]:
            if native["filterType"] != "filter_select":
                continue
            assert native["controlValues"]["multiSelect"] is False, native["name"]
            (listed,) = [
                config
                for name, config in files.items()
                if name.startswith("datasets/")
                and config["uuid"] == native["targets"][0]["datasetUuid"]
            ]
            assert listed["sql"] is None, (native["name"], listed["table_name"])


def test_cli_build_writes_the_same_bundle_twice(tmp_path):
    from revenue_os.cli import main

    first, second = tmp_path / "one.zip", tmp_path / "two.zip"
    assert main(["--profile", "demo", "dashboards", "build", "--output", str(first)]) == 0
    assert main(["--profile", "demo", "dashboards", "build", "--output", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    assert zipfile.ZipFile(first).testzip() is None


def _charts(files) -> dict[str, dict]:
    """chart key (file stem) → chart config, over every dashboard."""
    return {
        f"{path.split('/')[1]}/{Path(path).stem}": config
        for path, config in files.items()
        if path.startswith("charts/")
    }


def _dataset_of(files, chart) -> dict:
    return next(
        config
        for path, config in files.items()
        if path.startswith("datasets/") and config["uuid"] == chart["dataset_uuid"]
    )


def test_kpi_tiles_are_templates_over_the_scorecard_on_one_line(files):
    tile = _charts(files)["executive-performance/revenue_headline"]
    assert tile["viz_type"] == "handlebars"
    template = tile["params"]["handlebarsTemplate"]
    # Rendered as Markdown: one line, so no indented line turns into a code block.
    assert "\n" not in template and template.startswith("{{!--")
    assert "{{display_value}}" in template and "{{status_color}}" in template
    assert _dataset_of(files, tile)["table_name"].startswith("kpi_scorecard")
    query = json.loads(tile["query_context"])["queries"][0]
    assert {"col": "metric_name", "op": "==", "val": "total_revenue"} in query["filters"]
    assert "display_change" in query["columns"] and "metrics" not in query  # raw rows


def test_a_trend_over_a_fact_leaves_out_the_period_in_progress(files):
    chart = _charts(files)["executive-performance/revenue_by_channel"]
    query = json.loads(chart["query_context"])["queries"][0]
    state = {"col": "month_start_state", "op": "IN", "val": ["Final", "Provisional"]}
    assert state in query["filters"]
    dataset = _dataset_of(files, chart)
    (column,) = [c for c in dataset["columns"] if c["column_name"] == "month_start_state"]
    assert "reporting_calendar" in column["expression"]
    assert "'In progress'" in column["expression"]


def test_a_weekly_trend_shows_the_latest_26_weeks_of_the_calendar(files):
    chart = _charts(files)["weekly-revenue-meeting/win_rate_weekly_windows"]
    query = json.loads(chart["query_context"])["queries"][0]
    assert {"col": "periods_back", "op": ">=", "val": 0} in query["filters"]
    assert {"col": "periods_back", "op": "<", "val": 26} in query["filters"]
    assert query["metrics"] == ["value", "four_weeks_as_a_week", "thirteen_weeks_as_a_week"]
    (column,) = [
        c for c in _dataset_of(files, chart)["columns"] if c["column_name"] == "periods_back"
    ]
    assert "reporting_calendar WHERE period_grain = 'week'" in column["expression"]


def test_the_revenue_bars_are_split_by_final_and_provisional_months(files):
    chart = _charts(files)["executive-performance/revenue_by_month"]
    assert chart["params"]["groupby"] == ["month_start_state"]


def test_legends_show_labels_from_the_taxonomy_not_keys(files):
    chart = _charts(files)["executive-performance/revenue_by_channel"]
    assert chart["params"]["groupby"] == ["channel_label"]
    dataset = _dataset_of(files, chart)
    (column,) = [c for c in dataset["columns"] if c["column_name"] == "channel_label"]
    assert "WHEN 'paid_search' THEN 'Paid search'" in column["expression"]
    assert column["verbose_name"] == "Channel"
    colors = files["dashboards/executive-performance.yaml"]["metadata"]["label_colors"]
    assert colors["Paid search"] == "#1f77b4" and colors["Mid-market"] == "#f28e2b"


def test_every_column_a_table_shows_has_a_header_in_words(files):
    for key, chart in _charts(files).items():
        if chart["viz_type"] != "table":
            continue
        dataset = _dataset_of(files, chart)
        names = {c["column_name"]: c.get("verbose_name") for c in dataset["columns"]}
        shown = chart["params"].get("all_columns") or chart["params"].get("groupby")
        for column in shown:
            assert names[column] and "_" not in names[column], (key, column)


def test_a_kpi_chart_shows_only_periods_that_have_a_value(files):
    chart = _charts(files)["pipeline-retention/retention_by_month"]
    query = json.loads(chart["query_context"])["queries"][0]
    assert {"col": "value", "op": "IS NOT NULL"} in query["filters"]
    assert {"col": "is_complete", "op": "IS TRUE"} in query["filters"]
    # Coverage is judged on the quarter in progress: its chart keeps incomplete quarters.
    coverage = _charts(files)["pipeline-retention/coverage_by_segment"]
    filters = json.loads(coverage["query_context"])["queries"][0]["filters"]
    assert {"col": "is_complete", "op": "IS TRUE"} not in filters
    assert coverage["params"]["groupby"] == ["dimension_label"]


def test_an_aggregated_table_lists_only_rows_its_metric_counts(files):
    chart = _charts(files)["marketing-roi/attributed_revenue_by_campaign"]
    where = json.loads(chart["query_context"])["queries"][0]["extras"]["where"]
    # The contract's filter: a campaign without a paid, won conversion has no row (not N/A).
    assert "conversion_type = 'won_opportunity'" in where
    assert "channel in ('paid_search', 'paid_display', 'paid_social')" in where
    assert where.endswith("month_start IS NOT NULL)")


def test_one_line_charts_have_no_legend_that_says_value(files):
    chart = _charts(files)["marketing-roi/cac_trend"]
    assert chart["params"]["metrics"] == ["trailing_value"]
    assert chart["params"]["show_legend"] is False


def _revenue(**change) -> SimpleCalculation:
    fields = {
        "kind": "simple",
        "model": "fct_revenue_lines",
        "expression": "sum(revenue_usd)",
        "time_column": "invoice_date",
    }
    return SimpleCalculation(**{**fields, **change})


@pytest.mark.parametrize(
    "change",
    [
        {"expression": "count(revenue_usd)"},  # the fact's values, which the roll-up sums
        {"expression": "count(distinct account_key)"},
        {"expression": "avg(revenue_usd)"},  # an average of sums is no average
        {"expression": "sum(revenue_local)"},  # a column the roll-up does not keep
        {"filter": "currency_code = 'EUR'"},
        {"time_column": "month_start"},
        {"model": "fct_opportunities"},
    ],
)
def test_a_contract_that_would_change_on_a_rollup_stays_on_its_fact(change):
    assert rolled_up(_revenue(**change), "fct_revenue_monthly") is None


def test_a_sum_rolls_up_with_its_filter_bucketed_by_month():
    calculation = _revenue(filter="product_family = 'hardware'")
    rolled = rolled_up(calculation, "fct_revenue_monthly")
    assert (rolled.model, rolled.time_column) == ("fct_revenue_monthly", "month_start")
    assert (rolled.expression, rolled.filter) == (calculation.expression, calculation.filter)
    assert rolled_up(calculation, "fct_attribution_monthly") is None  # another fact's


def test_a_count_of_rows_rolls_up_as_the_sum_of_the_row_count():
    # fct_revenue_monthly counts the revenue lines it sums in `invoice_lines`; a month whose lines
    # the filter leaves out counts 0, as count(*) would, not null.
    rolled = rolled_up(_revenue(expression="count(*) + sum(revenue_usd)"), "fct_revenue_monthly")
    assert rolled.expression == "coalesce(sum(invoice_lines), 0) + sum(revenue_usd)"


def test_the_win_rate_by_count_reads_the_closed_rollup(contracts):
    win_rate = contract_metrics(contracts)["fct_opportunities_closed_monthly"]["win_rate"]
    closed = "(is_closed and opportunity_type in ('new_business', 'expansion'))"
    won = "(is_won and opportunity_type in ('new_business', 'expansion'))"
    assert win_rate.expression == (
        f"(coalesce(sum(opportunities) FILTER (WHERE {won} AND month_start IS NOT NULL), 0))"
        f" * 100.0 / nullif(coalesce(sum(opportunities) FILTER (WHERE {closed} AND month_start"
        " IS NOT NULL), 0), 0)"
    )


def test_the_rollups_carry_the_fact_contracts_that_sum(contracts):
    metrics = contract_metrics(contracts)
    assert set(metrics["fct_revenue_monthly"]) == {
        "total_revenue",
        "cogs",
        "hardware_cogs",
        "gross_margin_usd",
        "gross_margin_pct",
        "list_price_revenue",
    }
    assert set(metrics["fct_ad_spend_monthly"]) == {"paid_spend"}
    margin = metrics["fct_revenue_monthly"]["gross_margin_pct"].expression
    assert margin == (
        "(sum(gross_margin_usd) FILTER (WHERE month_start IS NOT NULL)) * 100.0"
        " / nullif(sum(revenue_usd) FILTER (WHERE month_start IS NOT NULL), 0)"
    )
    for rollup in ("fct_attribution_monthly", "fct_campaign_attribution_monthly"):
        revenue = metrics[rollup]["attributed_revenue"]
        assert revenue.per_column == {"attribution_model": "w_shaped"}
        assert revenue.time_column == "month_start"


def test_a_written_out_chart_asks_only_for_the_columns_its_template_shows(files):
    chart = _charts(files)["marketing-roi/roas_by_campaign"]
    query = json.loads(chart["query_context"])["queries"][0]
    assert query["columns"] == chart["params"]["all_columns"]
    assert set(query["columns"]) == {
        "value",  # the order
        "period_label",
        "dimension_label",
        "display_value",
        "display_change",
        "change_arrow",
        "change_color",
        "display_trailing",
        "sparkline",
        "status_label",
        "status_color",
    }
    # Every name a template shows is a column its chart asks for, so a typo shows here, not
    # as a blank cell on the dashboard.
    helpers = {"data", "each", "if", "else", "index", "lookup", "division", "multiplication"}
    helpers |= {"difference", "sprintf", "formatNumber"}
    for key, chart in _charts(files).items():
        if chart["viz_type"] != "handlebars":
            continue
        columns = json.loads(chart["query_context"])["queries"][0]["columns"]
        template = chart["params"]["handlebarsTemplate"]
        names = template_names_in(template) - helpers
        # The slice note is there only where a filter can choose a slice (filter_reach).
        optional = {BREAKDOWN_NOTE}
        assert names and names - optional <= set(columns), (key, names - set(columns))
