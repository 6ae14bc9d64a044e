"""Campaign recommendations: scale, reduce or test each campaign that spent last month, in words.

Read from the KPI layer's work table after the metrics are computed, so a campaign's ROAS,
spend and cost per MQL are the contracts' own numbers; the statuses are the contracts'
thresholds, and what is not a metric's (the minimum spend to judge) is in
metrics/campaign_recommendations.yml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import yaml
from psycopg import sql

from revenue_os.metrics.contract import MetricContract, SimpleCalculation
from revenue_os.metrics.kpi_tables import create_kpi_table
from revenue_os.metrics.labels import label_case_sql
from revenue_os.metrics.periods import TRAILING_PERIODS, latest_complete, shift
from revenue_os.metrics.scorecard import (
    STATUS_COLORS,
    display_sql,
    insert_rows,
    status_color_sql,
    status_label_sql,
)
from revenue_os.metrics.thresholds import STATUSES
from revenue_os.paths import METRICS_DIR
from revenue_os.yaml_files import read_yaml

SETTINGS_FILE = METRICS_DIR / "campaign_recommendations.yml"


class RecommendationSettingsError(ValueError):
    """The recommendations' settings file cannot be used; the message names the fix."""


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
    """When a campaign has spent enough to be judged, and which contracts judge it."""

    minimum_spend_usd: Decimal = Decimal(3000)
    roas_metric: str = "roas"
    spend_metric: str = "paid_spend"
    attributed_metric: str = "paid_attributed_revenue"
    cost_per_mql_metric: str = "cost_per_mql"
    mql_metric: str = "mqls"

    @classmethod
    def load(
        cls,
        path: Path = SETTINGS_FILE,
        contracts: Mapping[str, MetricContract] | None = None,
    ) -> RecommendationSettings:
        """The settings in `path`; with `contracts`, each metric it names must be one."""
        try:
            raw = read_yaml(path) or {}
        except (OSError, yaml.YAMLError) as error:
            raise RecommendationSettingsError(f"{path}: {error}") from None
        metrics = raw.get("metrics") or {}
        expected = {"roas", "spend", "attributed_revenue", "cost_per_mql", "mqls"}
        problems = []
        if set(raw) != {"minimum_spend_usd", "metrics"}:
            problems.append("holds minimum_spend_usd and metrics, nothing else")
        if set(metrics) != expected:
            problems.append(f"metrics: name {', '.join(sorted(expected))}")
        spend = raw.get("minimum_spend_usd")
        if isinstance(spend, bool) or not isinstance(spend, int | float) or spend < 0:
            problems.append("minimum_spend_usd: a number of dollars, 0 or more")
        if contracts is not None:
            problems += [
                f"metrics.{role}: {name!r} is no contract in metrics/"
                for role, name in metrics.items()
                if name not in contracts
            ]
        if problems:
            raise RecommendationSettingsError(f"{path.name}: {'; '.join(problems)}")
        return cls(
            minimum_spend_usd=Decimal(str(spend)),
            roas_metric=metrics["roas"],
            spend_metric=metrics["spend"],
            attributed_metric=metrics["attributed_revenue"],
            cost_per_mql_metric=metrics["cost_per_mql"],
            mql_metric=metrics["mqls"],
        )


# What the recommendations insert; the rest of the table is written out for the dashboard.
_CAMPAIGN_FIGURES = (
    "campaign_key",
    "channel",
    "month_start",
    "window_start",
    "attribution_model",
    "spend_month_usd",
    "spend_3m_usd",
    "attributed_revenue_month_usd",
    "attributed_revenue_3m_usd",
    "roas_month",
    "roas_3m",
    "roas_status",
    "mqls_3m",
    "cost_per_mql_3m",
    "cost_per_mql_status",
    "recommendation",
    "reason",
)


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


def build_campaign_recommendations(
    cursor: psycopg.Cursor,
    schema: str,
    contracts: Mapping[str, MetricContract],
    settings: RecommendationSettings,
    business_day: date | None,
) -> int:
    table = create_kpi_table(cursor, schema, "campaign_recommendations")
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
