"""The decision log: a forum's decision on a KPI breach, with owner, due date and success metric.

A decision names the KPI by its contract, so the log, the alerts and the reporting pack speak
of the same metric; the action type is the contracts' taxonomy (investigate, mitigate,
reallocate, escalate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import get_args

import psycopg
from psycopg.rows import class_row

from revenue_os.metrics.contract import ActionOnBreach

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

    def is_overdue(self, today: date) -> bool:
        return self.status == "open" and self.due_on < today


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
) -> int:
    """Record a decision; return its id. Checks what the database cannot: the KPI exists."""
    if known_metrics is None:
        from revenue_os.metrics import load_contracts

        known_metrics = set(load_contracts())
    problems = []
    if metric_name not in known_metrics:
        problems.append(f"--kpi: {metric_name!r} is not a metric contract in metrics/")
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
        " action_type, action, due_on, success_metric) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING decision_id",
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
        ),
    ).fetchone()[0]


def list_decisions(conn: psycopg.Connection, *, open_only: bool = False) -> list[Decision]:
    """Open actions first, soonest due first; then the closed ones, latest first."""
    with conn.cursor(row_factory=class_row(Decision)) as cursor:
        cursor.execute(
            "SELECT decision_id, decided_on, forum, owner, metric_name, trigger, action_type,"
            " action, due_on, success_metric, status, closed_on FROM ops.decision_log"
            + (" WHERE status = 'open'" if open_only else "")
            + " ORDER BY status <> 'open', CASE WHEN status = 'open' THEN due_on END,"
            " closed_on DESC, decision_id"
        )
        return cursor.fetchall()


def close_decision(
    conn: psycopg.Connection, decision_id: int, *, closed_on: date, dropped: bool = False
) -> None:
    """Mark an open action done (or dropped)."""
    row = conn.execute(
        "UPDATE ops.decision_log SET status = %s, closed_on = %s"
        " WHERE decision_id = %s AND status = 'open' RETURNING decision_id",
        ("dropped" if dropped else "done", closed_on, decision_id),
    ).fetchone()
    if row is None:
        raise DecisionError(f"decision {decision_id} is not an open action")
