"""The decision log: a forum's decision on a KPI breach, with owner, due date and success metric.

A decision names the KPI by its contract, so the log, the alerts and the reporting pack speak
of the same metric; the action type is the contracts' taxonomy (investigate, mitigate,
reallocate, escalate). It records who decided (the owner) and who does it (the assignee), the
impact expected, a link to the evidence, and a success check (a metric contract and a
condition on its value) that the refresh evaluates at the due date: met closes the action,
not met keeps it open and marked for the next meeting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import get_args

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from revenue_os.metrics.contract import ActionOnBreach, MetricContract
from revenue_os.metrics.thresholds import parse_condition

# The contracts' own taxonomy (`action_on_breach.type`): a decision and the breach it answers
# speak of the same kinds of action.
ACTION_TYPES: tuple[str, ...] = get_args(ActionOnBreach.model_fields["type"].annotation)


class DecisionError(ValueError):
    """A decision that cannot be recorded; the message names the field to fix."""


@dataclass
class Decision:
    decision_id: int
    decided_on: date
    forum: str
    owner: str
    metric_name: str
    trigger: str
    action_type: str
    action: str
    due_on: date
    success_metric: str
    status: str
    closed_on: date | None
    assignee: str | None = None
    expected_impact: str | None = None
    evidence_url: str | None = None
    success_metric_name: str | None = None
    success_condition: str | None = None
    success_checked_on: date | None = None
    success_period_grain: str | None = None
    success_period_start: date | None = None
    success_value: Decimal | None = None
    success_result: str | None = None

    def is_overdue(self, today: date) -> bool:
        return self.status == "open" and self.due_on < today

    @property
    def doer(self) -> str:
        """Who carries the action out: the assignee, else the owner who decided it."""
        return self.assignee or self.owner


def add_decision(
    conn: psycopg.Connection,
    *,
    metric_name: str,
    forum: str,
    owner: str,
    trigger: str,
    action_type: str,
    action: str,
    due_on: date,
    success_metric: str,
    decided_on: date,
    known_metrics: set[str] | None = None,
    assignee: str | None = None,
    expected_impact: str | None = None,
    evidence_url: str | None = None,
    success_when: str | None = None,
    success_kpi: str | None = None,
) -> int:
    """Record a decision; return its id. Checks what the database cannot: the KPI exists.

    `success_when` is a condition on a metric's value (`>= 3`), checked at the due date on
    `success_kpi` (the decision's KPI unless named)."""
    if known_metrics is None:
        from revenue_os.metrics import load_contracts

        known_metrics = set(load_contracts())
    problems = []
    if metric_name not in known_metrics:
        problems.append(f"--kpi: {metric_name!r} is not a metric contract in metrics/")
    checked_metric = (success_kpi or metric_name) if success_when else None
    if success_kpi and not success_when:
        problems.append("--success-kpi: give the condition it must meet with --success-when")
    if checked_metric is not None and checked_metric not in known_metrics:
        problems.append(f"--success-kpi: {checked_metric!r} is not a metric contract in metrics/")
    if success_when:
        try:
            parse_condition(success_when)
        except ValueError as error:
            problems.append(f"--success-when: {error}")
    if evidence_url is not None and not re.fullmatch(r"https?://\S+", evidence_url.strip()):
        problems.append(f"--evidence: {evidence_url!r} is not a web address (http:// or https://)")
    for flag, optional in (
        ("--assignee", assignee),
        ("--impact", expected_impact),
    ):
        if optional is not None and not optional.strip():
            problems.append(f"{flag}: must not be empty when given")
    if action_type not in ACTION_TYPES:
        problems.append(f"--type: {action_type!r} is not one of {', '.join(ACTION_TYPES)}")
    if due_on < decided_on:
        problems.append(f"--due: {due_on} is before the decision ({decided_on})")
    for flag, value in (
        ("--forum", forum),
        ("--owner", owner),
        ("--trigger", trigger),
        ("--action", action),
        ("--success", success_metric),
    ):
        if not value.strip():
            problems.append(f"{flag}: must not be empty")
    if problems:
        raise DecisionError("; ".join(problems))
    return conn.execute(
        "INSERT INTO ops.decision_log (decided_on, forum, owner, metric_name, trigger,"
        " action_type, action, due_on, success_metric, assignee, expected_impact, evidence_url,"
        " success_metric_name, success_condition) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s, %s, %s, %s) RETURNING decision_id",
        (
            decided_on,
            forum.strip(),
            owner.strip(),
            metric_name,
            trigger.strip(),
            action_type,
            action.strip(),
            due_on,
            success_metric.strip(),
            assignee.strip() if assignee else None,
            expected_impact.strip() if expected_impact else None,
            evidence_url.strip() if evidence_url else None,
            checked_metric,
            success_when.strip() if success_when else None,
        ),
    ).fetchone()[0]


def list_decisions(conn: psycopg.Connection, *, open_only: bool = False) -> list[Decision]:
    """Open actions first, soonest due first; then the closed ones, latest first."""
    with conn.cursor(row_factory=class_row(Decision)) as cursor:
        cursor.execute(
            "SELECT decision_id, decided_on, forum, owner, metric_name, trigger, action_type,"
            " action, due_on, success_metric, status, closed_on, assignee, expected_impact,"
            " evidence_url, success_metric_name, success_condition, success_checked_on,"
            " success_period_grain, success_period_start, success_value, success_result"
            " FROM ops.decision_log"
            + (" WHERE status = 'open'" if open_only else "")
            + " ORDER BY status <> 'open', CASE WHEN status = 'open' THEN due_on END,"
            " closed_on DESC, decision_id"
        )
        return cursor.fetchall()


def close_decision(
    conn: psycopg.Connection, decision_id: int, *, closed_on: date, dropped: bool = False
) -> None:
    """Mark an open action done (or dropped). An action with a success check closes as done
    only by meeting it (`check_due_decisions`); by hand it can only be dropped."""
    if not dropped:
        check = conn.execute(
            "SELECT success_metric_name, success_condition, success_result FROM ops.decision_log"
            " WHERE decision_id = %s AND status = 'open'",
            (decision_id,),
        ).fetchone()
        if check is not None and check[1] is not None and check[2] != "met":
            raise DecisionError(
                f"decision {decision_id} closes when its success check ({check[0]} "
                f"{check[1]}) is met at the due date, which the refresh checks; to stop it "
                "without meeting it, close it with --dropped"
            )
    row = conn.execute(
        "UPDATE ops.decision_log SET status = %s, closed_on = %s"
        " WHERE decision_id = %s AND status = 'open' RETURNING decision_id",
        ("dropped" if dropped else "done", closed_on, decision_id),
    ).fetchone()
    if row is None:
        raise DecisionError(f"decision {decision_id} is not an open action")


@dataclass(frozen=True)
class SuccessCheck:
    decision_id: int
    metric_name: str
    condition: str
    period_grain: str | None
    period_start: date | None
    value: Decimal | None
    result: str  # met, not_met or not_measured


def check_due_decisions(
    conn: psycopg.Connection,
    contracts: Mapping[str, MetricContract],
    *,
    today: date,
    schema: str = "mart",
) -> list[SuccessCheck]:
    """Check the success of each open action whose due date the data has reached.

    Read in the published mart on the first refresh whose data runs past the due date: the
    success metric's total in its latest complete period of the grain its thresholds judge
    (its first grain without thresholds). The result is written back; met closes the
    action as done on `today`, not met keeps it open, and a metric without a value there is
    `not_measured` (open too). Each action is checked once.
    """
    found = conn.execute(
        "SELECT to_regclass(%s), to_regclass(%s)",
        (f"{schema}.kpi_values", f"{schema}.reporting_calendar"),
    ).fetchone()
    if found is None or None in found:
        return []
    due = conn.execute(
        sql.SQL(
            "SELECT d.decision_id, d.success_metric_name, d.success_condition"
            " FROM ops.decision_log AS d CROSS JOIN (SELECT business_day FROM {}"
            " WHERE period_grain = 'month') AS calendar"
            " WHERE d.status = 'open' AND d.success_condition IS NOT NULL"
            " AND d.success_result IS NULL AND calendar.business_day > d.due_on"
            " ORDER BY d.decision_id"
        ).format(sql.Identifier(schema, "reporting_calendar"))
    ).fetchall()
    checks = []
    for decision_id, metric_name, condition in due:
        contract = contracts.get(metric_name)
        grain = (
            contract.thresholds.period
            if contract is not None and contract.thresholds is not None
            else (contract.grain[0] if contract is not None else "month")
        )
        row = conn.execute(
            sql.SQL(
                "SELECT period_start, value FROM {} WHERE metric_name = %s"
                " AND period_grain = %s AND dimension_name = 'overall' AND is_complete"
                " ORDER BY period_start DESC LIMIT 1"
            ).format(sql.Identifier(schema, "kpi_values")),
            (metric_name, grain),
        ).fetchone()
        period_start, value = row if row else (None, None)
        if value is None:
            result = "not_measured"
        else:
            result = "met" if parse_condition(condition).holds(float(value)) else "not_met"
        conn.execute(
            "UPDATE ops.decision_log SET success_checked_on = %s, success_period_grain = %s,"
            " success_period_start = %s, success_value = %s, success_result = %s,"
            " status = CASE WHEN %s = 'met' THEN 'done' ELSE status END,"
            " closed_on = CASE WHEN %s = 'met' THEN %s ELSE closed_on END"
            " WHERE decision_id = %s AND success_result IS NULL",
            (
                today,
                grain if row else None,
                period_start,
                value,
                result,
                result,
                result,
                today,
                decision_id,
            ),
        )
        checks.append(
            SuccessCheck(
                decision_id,
                metric_name,
                condition,
                grain if row else None,
                period_start,
                value,
                result,
            )
        )
    return checks


def _state_label(decision: Decision, today: date) -> str:
    if decision.status != "open":
        return decision.status.capitalize()
    if decision.success_result in ("not_met", "not_measured"):
        return "Success not met"
    return "Overdue" if decision.is_overdue(today) else "Open"


def success_reading(decision: Decision, contracts: Mapping[str, MetricContract]) -> str | None:
    """What the success check read, in words: `met: 3.40x in October 2026`."""
    from revenue_os.metrics.formatting import format_value, period_label

    if decision.success_condition is None:
        return None
    if decision.success_result is None:
        return "not checked yet"
    if decision.success_result == "not_measured":
        return f"not measured: no value on {decision.success_checked_on}"
    contract = contracts.get(decision.success_metric_name or "")
    shown = format_value(decision.success_value, contract.format if contract else "count")
    period = (
        period_label(decision.success_period_grain, decision.success_period_start)
        if decision.success_period_grain and decision.success_period_start
        else "its latest period"
    )
    return f"{decision.success_result.replace('_', ' ')}: {shown} in {period}"


def build_decision_log_table(
    cursor: psycopg.Cursor,
    schema: str,
    contracts: Mapping[str, MetricContract],
    today: date,
) -> int:
    """(Re)create `decision_log` in `schema` from ops.decision_log, written out for the
    dashboards; empty where the warehouse has no log (a scratch database)."""
    from revenue_os.metrics.kpi_tables import create_kpi_table

    table = create_kpi_table(cursor, schema, "decision_log")
    found = cursor.execute("SELECT to_regclass('ops.decision_log')").fetchone()
    if found is None or found[0] is None:
        return 0
    decisions = list_decisions(cursor.connection)

    def label(name: str | None) -> str:
        contract = contracts.get(name or "")
        return contract.label if contract else (name or "")

    rows = [
        (
            d.decision_id,
            d.decided_on,
            d.forum,
            d.owner,
            d.doer,
            d.metric_name,
            label(d.metric_name),
            d.trigger,
            d.action_type,
            d.action,
            d.expected_impact,
            d.evidence_url,
            d.due_on,
            d.status,
            _state_label(d, today),
            d.success_metric,
            f"{label(d.success_metric_name)} {d.success_condition}"
            if d.success_condition
            else None,
            success_reading(d, contracts),
            d.closed_on,
        )
        for d in decisions
    ]
    if rows:
        cursor.executemany(
            sql.SQL("INSERT INTO {} VALUES ({})").format(
                table, sql.SQL(", ").join(sql.Placeholder() * len(rows[0]))
            ),
            rows,
        )
    return len(rows)
