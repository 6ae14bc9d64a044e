"""The decision log on a real warehouse: decisions recorded against metric contracts, open
actions first with the overdue ones marked, closing, and refusals that name the flag."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from revenue_os.operations.decisions import (
    DecisionError,
    add_decision,
    close_decision,
    list_decisions,
)
from revenue_os.warehouse.migrations import migrate

KPIS = {"roas", "win_rate", "nrr"}


@pytest.fixture
def log(scratch_database):
    conn = scratch_database("decision_log")
    migrate(conn)
    return conn


def decide(conn, kpi: str, due: date, decided: date = date(2026, 11, 2), **overrides) -> int:
    fields = dict(
        metric_name=kpi,
        forum="Monthly revenue review",
        owner="CMO",
        trigger=f"{kpi} in the red for October",
        action_type="reallocate",
        action="move budget",
        due_on=due,
        success_metric=f"{kpi} back to yellow in December",
        decided_on=decided,
        known_metrics=KPIS,
    )
    fields.update(overrides)
    return add_decision(conn, **fields)


def test_open_actions_first_soonest_due_and_overdue_marked(log):
    late = decide(log, "roas", date(2026, 11, 20))
    later = decide(log, "win_rate", date(2026, 12, 20), action_type="investigate")
    done = decide(log, "nrr", date(2026, 11, 10), action_type="escalate")
    close_decision(log, done, closed_on=date(2026, 11, 9))
    decisions = list_decisions(log)
    assert [d.decision_id for d in decisions] == [late, later, done]
    today = date(2026, 11, 30)
    assert [d.is_overdue(today) for d in decisions] == [True, False, False]
    assert [d.decision_id for d in list_decisions(log, open_only=True)] == [late, later]
    assert decisions[2].status == "done" and decisions[2].closed_on == date(2026, 11, 9)


def test_refusals_name_the_flag_and_write_nothing(log):
    with pytest.raises(DecisionError, match="--kpi: 'roass' is not a metric contract"):
        decide(log, "roass", date(2026, 12, 1))
    with pytest.raises(DecisionError, match=r"--due: 2026-10-01 is before the decision"):
        decide(log, "roas", date(2026, 10, 1))
    with pytest.raises(DecisionError, match="--type: 'panic' is not one of"):
        decide(log, "roas", date(2026, 12, 1), action_type="panic")
    with pytest.raises(DecisionError, match="--owner: must not be empty"):
        decide(log, "roas", date(2026, 12, 1), owner="  ")
    assert list_decisions(log) == []


def test_closing_twice_or_an_unknown_id_is_refused(log):
    decision = decide(log, "roas", date(2026, 12, 1))
    close_decision(log, decision, closed_on=date(2026, 11, 30), dropped=True)
    with pytest.raises(DecisionError, match=f"decision {decision} is not an open action"):
        close_decision(log, decision, closed_on=date(2026, 11, 30))
    with pytest.raises(DecisionError, match="decision 999 is not an open action"):
        close_decision(log, 999, closed_on=date(2026, 11, 30))
    assert list_decisions(log)[0].status == "dropped"


def test_the_table_itself_refuses_an_inconsistent_row(log):
    with pytest.raises(psycopg.errors.CheckViolation):
        log.execute(
            "INSERT INTO ops.decision_log (decided_on, forum, owner, metric_name, trigger,"
            " action_type, action, due_on, success_metric, status) VALUES ('2026-11-02', 'f',"
            " 'o', 'roas', 't', 'reallocate', 'a', '2026-12-01', 's', 'done')"
        )
