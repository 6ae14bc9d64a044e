"""KPI threshold alerts: tell a KPI's owner when it turns red, once per red spell (and when one
of its contract's rules fires, once per spell: `rule_alerts`).

Judged where the contract judges it: the overall value at the contract's threshold grain
(`thresholds.period`) in the published mart's kpi_values, in the latest final period (complete,
and `refresh_sla.final_after_days` past, so a young cohort or restated spend does not page
anyone), or in the period in progress for a forward-looking KPI (`thresholds.judged_on:
current`, pipeline coverage).
A KPI that stays red sends nothing more; one that leaves red closes its spell, so the next
time it turns red is news again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from revenue_os.metrics.contract import MetricContract
from revenue_os.metrics.formatting import format_change_vs_prior, format_condition, period_label
from revenue_os.metrics.scorecard import as_of_line
from revenue_os.notifications import spells
from revenue_os.notifications.delivery import deliver
from revenue_os.notifications.message import AlertMessage
from revenue_os.notifications.rule_alerts import alert_rule_owners
from revenue_os.notifications.runbook import runbook_facts
from revenue_os.notifications.settings import AlertSettings

log = logging.getLogger(__name__)

KPI_RED = "kpi_red"
TREND_PERIODS = 4


@dataclass(frozen=True)
class KpiReading:
    metric_name: str
    label: str
    period_grain: str
    period_start: date
    value: Decimal | None
    prior_value: Decimal | None
    delta_pct: Decimal | None
    trailing_value: Decimal | None
    format: str
    status: str | None
    threshold_red: str | None
    kpi_owner: str


def latest_readings(
    conn: psycopg.Connection, contracts: Mapping[str, MetricContract], schema: str = "mart"
) -> list[KpiReading]:
    """Each KPI's overall value in the period its contract judges: the latest final period
    of its threshold grain, or the period in progress for `judged_on: current`."""
    current = sorted(name for name, contract in contracts.items() if contract.is_forward_looking)
    # The period in progress is the first one not complete yet (later ones are the future).
    query = sql.SQL(
        "SELECT DISTINCT ON (metric_name) metric_name, label, period_grain, period_start, value, "
        "prior_value, delta_pct, trailing_value, format, status, threshold_red, kpi_owner "
        "FROM {} WHERE tier = 'kpi' AND dimension_name = 'overall' AND status IS NOT NULL "
        "AND ((metric_name <> ALL(%(current)s) AND is_final) "
        "  OR (metric_name = ANY(%(current)s) AND NOT is_complete)) "
        "ORDER BY metric_name, "
        "CASE WHEN metric_name = ANY(%(current)s) THEN period_start END ASC, "
        "period_start DESC"
    ).format(sql.Identifier(schema, "kpi_values"))
    with conn.cursor(row_factory=class_row(KpiReading)) as cursor:
        return cursor.execute(query, {"current": current}).fetchall()


def trend(
    conn: psycopg.Connection, reading: KpiReading, schema: str = "mart"
) -> list[tuple[date, Decimal | None, str | None]]:
    """The last few periods' values and statuses, oldest first, ending with the reading's."""
    rows = conn.execute(
        sql.SQL(
            "SELECT period_start, value, status FROM {} WHERE metric_name = %s "
            "AND period_grain = %s AND dimension_name = 'overall' AND period_start <= %s "
            "ORDER BY period_start DESC LIMIT %s"
        ).format(sql.Identifier(schema, "kpi_values")),
        (reading.metric_name, reading.period_grain, reading.period_start, TREND_PERIODS),
    ).fetchall()
    return list(reversed(rows))


def alert_kpi_owners(
    conn: psycopg.Connection,
    contracts: Mapping[str, MetricContract],
    format_value: Callable[[Decimal | None, str], str],
    settings: AlertSettings | None = None,
    schema: str = "mart",
) -> dict[str, list[str]]:
    """Alert the owner of each KPI that turned red; close the spells of those no longer red."""
    settings = settings or AlertSettings.from_env()
    readings = latest_readings(conn, contracts, schema)
    red = [r for r in readings if r.status == "red"]
    dashboards = _dashboards(contracts) if red else {}
    as_of = as_of_line(conn, schema) if red else None
    alerted, unrouted = [], []
    for reading in red:
        contract = contracts[reading.metric_name]
        recipients = settings.owner_emails.get(reading.kpi_owner, ())
        with conn.transaction():  # a message that could not be sent leaves the spell unopened
            details = {
                "period_start": reading.period_start.isoformat(),
                "value": str(reading.value),
            }
            if not spells.open_spell(conn, KPI_RED, reading.metric_name, details, recipients):
                continue
            if not recipients:
                log.warning(
                    "%s is red but owner %r has no address in metrics/owners.yaml: not sent",
                    reading.metric_name,
                    reading.kpi_owner,
                )
                unrouted.append(reading.metric_name)
                continue
            message = red_message(
                reading,
                contract,
                trend(conn, reading, schema),
                format_value,
                settings,
                dashboard=dashboards.get(reading.metric_name),
                as_of=as_of,
            )
            # The owner's inbox only: the webhook is on-call's channel, and a red KPI is not
            # an operational incident.
            deliver(message, recipients, settings, webhook=False)
            alerted.append(reading.metric_name)
    not_red = [r.metric_name for r in readings if r.status != "red"]
    cleared = [s.subject_key for s in spells.clear_spells(conn, KPI_RED, not_red)]
    rules = alert_rule_owners(
        conn,
        contracts,
        format_value,
        settings,
        lambda: dashboards or _dashboards(contracts),
        schema,
    )
    log.info(
        "KPIs red: %s; owners alerted now: %s; out of red now: %s",
        ", ".join(r.metric_name for r in red) or "none",
        ", ".join(alerted) or "none",
        ", ".join(cleared) or "none",
    )
    return {
        "red": [r.metric_name for r in red],
        "alerted": alerted,
        "cleared": cleared,
        "unrouted": unrouted,
        **rules,
    }


def _dashboards(contracts: Mapping[str, MetricContract]) -> dict[str, tuple[str, str]]:
    """Where each KPI is shown; no links when the specs cannot be read (the alert still goes)."""
    try:
        from revenue_os.dashboards.specs import dashboards_by_metric, load_specs

        return dashboards_by_metric(load_specs(contracts=contracts))
    except Exception:
        log.exception("dashboard specs unreadable: KPI alerts go without dashboard links")
        return {}


def red_message(
    reading: KpiReading,
    contract: MetricContract,
    history: list[tuple[date, Decimal | None, str | None]],
    format_value: Callable[[Decimal | None, str], str],
    settings: AlertSettings,
    dashboard: tuple[str, str] | None = None,
    as_of: str | None = None,
) -> AlertMessage:
    fmt = reading.format
    period = period_label(reading.period_grain, reading.period_start)
    change = format_change_vs_prior(reading.value, reading.prior_value, fmt)
    trend_text = " → ".join(
        f"{period_label(reading.period_grain, start)} {format_value(value, fmt)} ({status or '-'})"
        for start, value, status in history
    )
    action = contract.action_on_breach
    links = []
    if dashboard is not None:
        slug, title = dashboard
        links.append((f"{title} dashboard", settings.dashboard_link(slug)))
    links += settings.runbook_links("a-kpi-turned-red")
    return AlertMessage(
        kind_label="KPI in red",
        title=f"{reading.label} is red: {format_value(reading.value, fmt)} in {period}",
        summary=contract.definition,
        facts=[
            ("KPI", f"{reading.label} ({reading.metric_name})"),
            ("Period", period),
            ("Value", format_value(reading.value, fmt)),
            ("Red when", format_condition(reading.threshold_red, fmt) or "?"),
            ("Change", f"{change} vs the {reading.period_grain} before"),
            ("Prior", format_value(reading.prior_value, fmt)),
            (f"Trailing {reading.period_grain}s", format_value(reading.trailing_value, fmt)),
            ("Trend", trend_text),
            ("Owner", f"{contract.owner.kpi_owner} (steward: {contract.owner.steward})"),
            (
                "Action on breach",
                f"{action.type}: {action.action}" if action else "none in the contract",
            ),
            ("Confidence", f"{contract.confidence.level}: {contract.confidence.note}"),
            *([("Data as of", as_of)] if as_of else []),
            *runbook_facts("a-kpi-turned-red", settings.runbook_url),
        ],
        links=links,
        tone="problem",
    )
