"""The contracts' rules that fired: tell the KPI's owner once per spell, like a KPI in red.

A rule's spell is keyed by metric, rule and slice (`win_rate:falling_against_8_weeks:segment=smb`),
judged on the latest complete period of the rule's grain (a change rule) or on the period its
level rule names (next quarter's coverage, still to come). A rule that no longer fires closes
its spell, so the next time it fires is news again.
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
from revenue_os.metrics.formatting import period_label
from revenue_os.metrics.labels import label_of
from revenue_os.notifications import spells
from revenue_os.notifications.delivery import deliver
from revenue_os.notifications.message import AlertMessage
from revenue_os.notifications.runbook import runbook_facts
from revenue_os.notifications.settings import AlertSettings

log = logging.getLogger(__name__)

KPI_RULE = "kpi_rule"


@dataclass(frozen=True)
class RuleReading:
    metric_name: str
    rule_name: str
    rule_label: str
    rule_kind: str
    period_grain: str
    period_start: date
    dimension_name: str
    dimension_value: str
    value: Decimal | None
    baseline_value: Decimal | None
    change_pct: Decimal | None
    condition: str
    minimum_value: Decimal | None
    judged: bool
    fired: bool
    kpi_owner: str
    action_type: str
    action: str

    @property
    def key(self) -> str:
        return f"{self.metric_name}:{self.rule_name}:{self.dimension_name}={self.dimension_value}"

    @property
    def where(self) -> str:
        if self.dimension_name == "overall":
            return "overall"
        return (
            f"{self.dimension_name.replace('_', ' ')} "
            f"{label_of(self.dimension_name, self.dimension_value)}"
        )


def latest_rule_readings(conn: psycopg.Connection, schema: str = "mart") -> list[RuleReading]:
    """Each rule's latest judgement per slice: its latest complete period, or for a rule on a
    period still to come (next quarter) that period. None without `kpi_signals` (a mart built
    before the rules)."""
    found = conn.execute("SELECT to_regclass(%s)", (f"{schema}.kpi_signals",)).fetchone()
    if not found or found[0] is None:
        return []
    query = sql.SQL(
        "SELECT metric_name, rule_name, rule_label, rule_kind, period_grain, period_start, "
        "dimension_name, dimension_value, value, baseline_value, change_pct, condition, "
        "minimum_value, judged, fired, kpi_owner, action_type, action FROM {} WHERE is_latest "
        "ORDER BY metric_name, rule_name, dimension_name, dimension_value"
    ).format(sql.Identifier(schema, "kpi_signals"))
    with conn.cursor(row_factory=class_row(RuleReading)) as cursor:
        return cursor.execute(query).fetchall()


def alert_rule_owners(
    conn: psycopg.Connection,
    contracts: Mapping[str, MetricContract],
    format_value: Callable[[Decimal | None, str], str],
    settings: AlertSettings,
    dashboards_of: Callable[[], Mapping[str, tuple[str, str]]],
    schema: str = "mart",
) -> dict[str, list[str]]:
    """Alert the owner of each rule that fired; close the spells of those that no longer do.
    `dashboards_of` gives where each KPI is shown, read only when a rule fired."""
    readings = latest_rule_readings(conn, schema)
    fired = [r for r in readings if r.fired]
    dashboards = dashboards_of() if fired else {}
    alerted, unrouted = [], []
    for reading in fired:
        contract = contracts.get(reading.metric_name)
        if contract is None:
            continue
        recipients = settings.owner_emails.get(reading.kpi_owner, ())
        with conn.transaction():
            details = {
                "period_start": reading.period_start.isoformat(),
                "value": str(reading.value),
            }
            if not spells.open_spell(conn, KPI_RULE, reading.key, details, recipients):
                continue
            if not recipients:
                log.warning(
                    "rule %s fired but owner %r has no address in metrics/owners.yaml: not sent",
                    reading.key,
                    reading.kpi_owner,
                )
                unrouted.append(reading.key)
                continue
            message = rule_message(
                reading, contract, format_value, settings, dashboards.get(reading.metric_name)
            )
            deliver(message, recipients, settings, webhook=False)
            alerted.append(reading.key)
    quiet = [r.key for r in readings if not r.fired]
    cleared = [s.subject_key for s in spells.clear_spells(conn, KPI_RULE, quiet)]
    log.info(
        "rules fired: %s; owners alerted now: %s; no longer firing: %s",
        ", ".join(r.key for r in fired) or "none",
        ", ".join(alerted) or "none",
        ", ".join(cleared) or "none",
    )
    return {
        "rules_fired": [r.key for r in fired],
        "rules_alerted": alerted,
        "rules_cleared": cleared,
        "rules_unrouted": unrouted,
    }


def rule_message(
    reading: RuleReading,
    contract: MetricContract,
    format_value: Callable[[Decimal | None, str], str],
    settings: AlertSettings,
    dashboard: tuple[str, str] | None = None,
) -> AlertMessage:
    fmt = contract.format
    period = period_label(reading.period_grain, reading.period_start)
    value = format_value(reading.value, fmt)
    facts = [
        ("KPI", f"{contract.label} ({reading.metric_name})"),
        ("Rule", f"{reading.rule_label} ({reading.condition})"),
        ("Where", reading.where),
        ("Period", period),
        ("Value", value),
    ]
    if reading.rule_kind == "change":
        change = "n/a" if reading.change_pct is None else f"{reading.change_pct:+.1f} %"
        facts += [
            ("Window before", format_value(reading.baseline_value, fmt)),
            ("Change", change),
        ]
    if reading.minimum_value is not None:
        facts.append(("Judged on", f"{format_value(reading.minimum_value, 'count')} deals"))
    facts += [
        ("Owner", f"{contract.owner.kpi_owner} (steward: {contract.owner.steward})"),
        ("Action", f"{reading.action_type}: {reading.action}"),
        ("Confidence", f"{contract.confidence.level}: {contract.confidence.note}"),
        *runbook_facts("a-kpi-rule-fired", settings.runbook_url),
    ]
    links = []
    if dashboard is not None:
        slug, title = dashboard
        links.append((f"{title} dashboard", settings.dashboard_link(slug)))
    links += settings.runbook_links("a-kpi-rule-fired")
    where = "" if reading.where == "overall" else f", {reading.where}"
    return AlertMessage(
        kind_label="KPI rule fired",
        title=f"{reading.rule_label}{where}: {value} in {period}",
        summary=contract.definition,
        facts=facts,
        links=links,
        tone="problem",
    )
