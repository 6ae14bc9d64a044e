"""The shipped metric contracts load, and a bad contract fails naming its file and field."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from revenue_os.metrics import METRICS_DIR, MetricContractError, load_contracts
from revenue_os.metrics.kpi_sql import simple_query

REQUIRED_KPIS = [
    "total_revenue",
    "revenue_growth_pct",
    "gross_margin_pct",
    "roas",
    "cac",
    "cost_per_mql",
    "mqls",
    "sqls",
    "lead_to_mql_pct",
    "mql_to_sql_pct",
    "sql_to_opportunity_pct",
    "opportunity_to_won_pct",
    "pipeline_created",
    "marketing_sourced_pipeline",
    "marketing_influenced_pipeline",
    "win_rate",
    "sales_cycle_days",
    "pipeline_velocity",
    "pipeline_coverage",
    "nrr",
    "grr",
    "inventory_turnover",
]
REQUIRED_SUPPORTING = [
    "paid_spend",
    "attributed_revenue",
    "cogs",
    "gross_margin_usd",
    "new_customers",
    "leads",
    "opportunities_created",
    "won_deals",
    "lost_deals",
    "open_pipeline_count",
    "average_deal_size",
    "average_inventory_value",
    "win_rate_by_amount",
]


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


def test_every_required_kpi_has_thresholds_and_an_action(contracts):
    for name in REQUIRED_KPIS:
        contract = contracts[name]
        assert contract.tier == "kpi", name
        assert contract.thresholds is not None, name
        assert contract.action_on_breach is not None, name
    for name in REQUIRED_SUPPORTING:
        assert name in contracts, name


def test_contracts_come_inputs_first(contracts):
    position = {name: index for index, name in enumerate(contracts)}
    assert position["paid_spend"] < position["roas"]
    assert position["win_rate"] < position["pipeline_velocity"]


def test_revenue_breaks_down_by_product_and_channel(contracts):
    assert {"product_family", "channel"} <= set(contracts["total_revenue"].dimensions)
    assert "product_family" in contracts["gross_margin_pct"].dimensions
    roas = contracts["roas"]
    assert {"attribution_model", "channel", "campaign"} <= set(roas.dimensions)
    numerator = contracts[roas.calculation.numerator].calculation
    assert numerator.default_filters == {"attribution_model": "w_shaped"}


def test_pipeline_coverage_is_judged_per_quarter_at_three_times(contracts):
    thresholds = contracts["pipeline_coverage"].thresholds
    assert thresholds.period == "quarter"
    conditions = thresholds.conditions()
    assert conditions["green"].holds(3.0) and not conditions["green"].holds(2.99)


# --- bad contracts ------------------------------------------------------------------------


def _copy_shipped(tmp_path: Path) -> Path:
    folder = tmp_path / "metrics"
    shutil.copytree(METRICS_DIR, folder, ignore=shutil.ignore_patterns("*.md"))
    return folder


def _edit(folder: Path, name: str, change) -> None:
    path = folder / f"{name}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def _problems(folder: Path) -> list[str]:
    with pytest.raises(MetricContractError) as error:
        load_contracts(folder)
    return error.value.problems


def test_a_copy_of_the_shipped_contracts_loads(tmp_path):
    assert len(load_contracts(_copy_shipped(tmp_path))) == len(load_contracts())


def test_missing_field_and_wrong_enum_are_named(tmp_path):
    folder = _copy_shipped(tmp_path)
    _edit(folder, "mqls", lambda data: data.pop("owner"))
    _edit(folder, "cac", lambda data: data.update(tier="headline"))
    _edit(folder, "win_rate", lambda data: data["action_on_breach"].update(type="panic"))
    problems = _problems(folder)
    assert "metrics/mqls.yaml: owner: Field required" in problems
    assert any(p.startswith("metrics/cac.yaml: tier: Input should be 'kpi'") for p in problems)
    assert any(p.startswith("metrics/win_rate.yaml: action_on_breach.type:") for p in problems)


def test_every_bad_file_is_reported_in_one_error(tmp_path):
    folder = _copy_shipped(tmp_path)
    _edit(folder, "mqls", lambda data: data.pop("label"))
    _edit(folder, "sqls", lambda data: data.pop("label"))
    problems = _problems(folder)
    assert "metrics/mqls.yaml: label: Field required" in problems
    assert "metrics/sqls.yaml: label: Field required" in problems


def test_unknown_column_in_expression_and_unknown_model(tmp_path):
    folder = _copy_shipped(tmp_path)
    _edit(folder, "paid_spend", lambda data: data["calculation"].update(expression="sum(cost)"))
    _edit(folder, "cogs", lambda data: data["calculation"].update(model="fct_costs"))
    _edit(folder, "leads", lambda data: data["dimensions"].update(channel="utm_source"))
    problems = _problems(folder)
    assert any(
        p.startswith("metrics/paid_spend.yaml: calculation.expression: unknown column 'cost'")
        for p in problems
    )
    assert any(
        p.startswith("metrics/cogs.yaml: calculation.model: unknown mart model 'fct_costs'")
        for p in problems
    )
    assert (
        "metrics/leads.yaml: dimensions.channel: unknown column 'utm_source' of fct_funnel"
        in problems
    )


def test_ratio_referencing_an_unknown_metric(tmp_path):
    folder = _copy_shipped(tmp_path)
    _edit(folder, "roas", lambda data: data["calculation"].update(denominator="ad_costs"))
    assert "metrics/roas.yaml: calculation.denominator: unknown metric 'ad_costs'" in _problems(
        folder
    )


def test_dimension_on_neither_side_of_a_ratio(tmp_path):
    folder = _copy_shipped(tmp_path)
    _edit(folder, "cac", lambda data: data["dimensions"].append("product_family"))
    assert any(
        p.startswith("metrics/cac.yaml: dimensions.product_family: a dimension of neither")
        for p in _problems(folder)
    )


def test_campaigns_are_broken_out_by_month_only(contracts):
    leads = contracts["leads"]
    by_grain = {
        grain: simple_query(leads, leads.calculation, grain, "mart").as_string(None)
        for grain in leads.grain
    }
    assert '"acquisition_campaign_key"' in by_grain["month"]
    assert '"acquisition_campaign_key"' not in by_grain["week"]
    assert '"acquisition_campaign_key"' not in by_grain["quarter"]
    assert '"acquisition_channel"' in by_grain["week"]  # the other dimensions stay
    assert contracts["roas"].dimensions_at("week") == ["attribution_model", "channel"]


def test_dimension_grains_outside_the_metric_are_named(tmp_path):
    folder = _copy_shipped(tmp_path)
    _edit(folder, "leads", lambda data: data.update(dimension_grains={"platform": ["month"]}))
    _edit(folder, "won_deals", lambda data: data.update(dimension_grains={"segment": ["day"]}))
    problems = _problems(folder)
    assert "metrics/leads.yaml: dimension_grains.platform: not a dimension of this metric" in (
        problems
    )
    assert any(p.startswith("metrics/won_deals.yaml: dimension_grains.segment") for p in problems)


def test_a_ratio_cannot_break_out_by_week_what_an_input_has_by_month(tmp_path):
    # Weekly ROAS by campaign over spend without campaigns by week would divide each
    # campaign's revenue by every campaign's spend.
    folder = _copy_shipped(tmp_path)
    _edit(folder, "roas", lambda data: data.pop("dimension_grains"))
    _edit(folder, "paid_attributed_revenue", lambda data: data.pop("dimension_grains"))
    assert (
        "metrics/roas.yaml: dimension_grains.campaign: broken out by week here, but "
        "'paid_spend' (an input) breaks it out only by month"
    ) in _problems(folder)


def test_a_defaulted_dimension_is_broken_out_at_every_grain(tmp_path):
    folder = _copy_shipped(tmp_path)
    _edit(
        folder,
        "paid_attributed_revenue",
        lambda data: data["dimension_grains"].update(attribution_model=["month"]),
    )
    assert any(
        p.startswith(
            "metrics/paid_attributed_revenue.yaml: dimension_grains.attribution_model: a "
            "dimension with a default filter"
        )
        for p in _problems(folder)
    )


def test_overlapping_and_gapped_thresholds(tmp_path):
    folder = _copy_shipped(tmp_path)
    _edit(folder, "win_rate", lambda data: data["thresholds"].update(yellow=">= 18 and <= 25"))
    _edit(folder, "sqls", lambda data: data["thresholds"].update(red="< 20"))
    problems = _problems(folder)
    assert any(
        p.startswith(
            "metrics/win_rate.yaml: thresholds: green and yellow overlap (both hold for 25"
        )
        for p in problems
    )
    assert any(
        p.startswith("metrics/sqls.yaml: thresholds: no status holds for 20") for p in problems
    )


def test_name_must_equal_the_file_stem(tmp_path):
    folder = _copy_shipped(tmp_path)
    _edit(folder, "leads", lambda data: data.update(name="new_leads"))
    assert any(
        p.startswith("metrics/leads.yaml: name: 'new_leads' differs from the file name")
        for p in _problems(folder)
    )


def test_cycle_between_metrics(tmp_path):
    folder = _copy_shipped(tmp_path)
    _edit(folder, "win_rate", lambda data: data["calculation"].update(denominator="win_rate_x"))
    path = folder / "win_rate_x.yaml"
    data = yaml.safe_load((folder / "win_rate_by_amount.yaml").read_text())
    data.update(name="win_rate_x")
    data["calculation"].update(numerator="win_rate", denominator="closed_deals")
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    assert (
        "metrics/win_rate.yaml: calculation: cycle win_rate -> win_rate_x -> win_rate"
        in _problems(folder)
    )


def test_kpi_without_thresholds_and_unknown_field(tmp_path):
    folder = _copy_shipped(tmp_path)
    _edit(folder, "nrr", lambda data: data.pop("thresholds"))
    _edit(folder, "grr", lambda data: data.update(colour="blue"))
    problems = _problems(folder)
    assert "metrics/nrr.yaml: thresholds: required for tier kpi" in problems
    assert "metrics/grr.yaml: colour: unknown field (not part of a metric contract)" in problems


# --- the KPI layer's source per grain -----------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "grain", "reads"),
    [
        ("total_revenue", "month", "fct_revenue_monthly"),
        ("total_revenue", "quarter", "fct_revenue_monthly"),
        ("total_revenue", "week", "fct_revenue_lines"),  # weeks need days
        ("paid_spend", "month", "fct_ad_spend_monthly"),
        # broken out by campaign: only the campaign roll-up keeps the column
        ("attributed_revenue", "month", "fct_campaign_attribution_monthly"),
        # by quarter campaigns are not broken out: the roll-up ten times smaller answers
        ("attributed_revenue", "quarter", "fct_attribution_monthly"),
        ("pipeline_created", "quarter", "fct_opportunities_created_monthly"),
        ("arr", "month", "fct_arr_monthly"),
        ("churned_arr", "quarter", "fct_arr_monthly"),
        # a count of fact rows is the roll-up's row count summed
        ("opportunities_created", "month", "fct_opportunities_created_monthly"),
        ("won_deals", "quarter", "fct_opportunities_closed_monthly"),
        ("won_deals", "week", "fct_opportunities"),
        ("average_deal_size", "month", "fct_opportunities"),  # an average stays on the fact
        ("leads", "month", "fct_funnel"),  # no roll-up
    ],
)
def test_the_kpi_layer_reads_a_rollup_only_where_it_gives_the_same_sums(
    contracts, metric, grain, reads
):
    contract = contracts[metric]
    statement = simple_query(contract, contract.calculation, grain, "mart").as_string(None)
    tables = set(re.findall(r'"mart"\."([a-z_]+)"', statement))
    assert tables == {reads}


def test_the_weekly_forum_reads_weeks_of_kpis(tmp_path):
    folder = _copy_shipped(tmp_path)
    _edit(folder, "grr", lambda data: data.update(forums=["weekly", "monthly"]))
    _edit(folder, "leads", lambda data: data.update(forums=["weekly"]))
    problems = _problems(folder)
    assert any(
        p.startswith("metrics/grr.yaml: forums: the weekly forum reads weeks, add week to grain")
        for p in problems
    )
    assert any(
        "metrics/leads.yaml: forums: only a tier kpi metric is reviewed in the weekly forum" in p
        for p in problems
    )


def test_a_rule_names_what_the_kpi_layer_cannot_judge(tmp_path):
    folder = _copy_shipped(tmp_path)

    def broken_rules(data):
        rule = data["rules"][0]
        data["rules"] = [
            {**rule, "baseline": 6},  # no 6-week window is kept
            {**rule, "name": "by_product", "dimensions": ["product"]},
            {**rule, "name": "monthly", "grain": "month", "compare": 13},
            {**rule, "name": "unparsed", "change": "down a lot"},
        ]

    _edit(folder, "win_rate", broken_rules)
    _edit(folder, "sales_cycle_days", lambda data: data["rules"].append(data["rules"][0]))
    _edit(
        folder,
        "gross_margin_pct",
        lambda data: data.update(
            rules=[
                {
                    "kind": "level",
                    "name": "thin_next",
                    "label": "Next month thin",
                    "grain": "month",
                    "period": "next",
                    "value": "< 50",
                    "action": {"type": "investigate", "action": "Look."},
                }
            ]
        ),
    )
    problems = "\n".join(_problems(folder))
    for expected in (
        "win_rate.yaml: rules.3.change: 'down a lot': write comparisons like",
        "sales_cycle_days.yaml: rules: a rule name is used twice",
        "gross_margin_pct.yaml: rules.0 (thin_next).period: only a forward-looking KPI",
    ):
        assert expected in problems, expected
    # The refused `change` stops win_rate's model; fixed, the others are named one by one.
    _edit(folder, "win_rate", lambda data: data["rules"].pop())
    problems = "\n".join(_problems(folder))
    for expected in (
        "win_rate.yaml: rules.0 (falling_against_8_weeks).baseline: the KPI layer keeps "
        "windows of 1, 4, 8, 13 weeks, not 6",
        "rules.1 (by_product).dimensions: 'product' is not broken out at week",
        "rules.2 (monthly).compare: the KPI layer keeps windows of 1, 3 months, not 13",
    ):
        assert expected in problems, expected
    # A minimum is read over the rule's slices: the metric must break them out.
    _edit(
        folder,
        "win_rate",
        lambda data: data.update(
            rules=[
                {
                    **data["rules"][0],
                    "baseline": 8,
                    "minimum": {"metric": "hardware_cogs", "at_least": 5},
                }
            ]
        ),
    )
    assert (
        "metrics/win_rate.yaml: rules.0 (falling_against_8_weeks).minimum.metric: "
        "'hardware_cogs' is not kept by week"
    ) in _problems(folder)
