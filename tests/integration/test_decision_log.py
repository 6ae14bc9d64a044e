"""The decision log on a real warehouse: decisions recorded against metric contracts, open
actions first with the overdue ones marked, closing, and refusals that name the flag."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

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


# --- the loop closed: the success check at the due date ---------------------------------


def _published(conn, business_day: date, rows: list[tuple[str, str, date, str]]) -> None:
    """A published mart of KPI rows (metric, grain, period, value), data through the day."""
    from psycopg import sql

    from revenue_os.metrics import load_contracts
    from revenue_os.metrics.kpi_tables import create_kpi_table

    contracts = load_contracts()
    with conn.cursor() as cursor:
        create_kpi_table(cursor, "mart", "reporting_calendar")
        cursor.execute(
            "INSERT INTO mart.reporting_calendar (period_grain, business_day, "
            "reporting_close_days, built_at) VALUES ('month', %s, 7, now())",
            (business_day,),
        )
        values = create_kpi_table(cursor, "mart", "kpi_values")
        for metric, grain, start, value in rows:
            contract = contracts[metric]
            cursor.execute(
                sql.SQL(
                    "INSERT INTO {} (metric_name, label, tier, area, period_grain, period_start, "
                    "is_complete, is_final, dimension_name, dimension_value, value, format, "
                    "direction, kpi_owner, steward, confidence) VALUES (%s, %s, 'kpi', %s, %s, %s, "
                    "true, true, 'overall', 'all', %s, %s, %s, 'CMO', 'RevOps', 'high')"
                ).format(values),
                (
                    metric,
                    contract.label,
                    contract.area,
                    grain,
                    start,
                    value,
                    contract.format,
                    contract.direction,
                ),
            )


def test_the_success_check_closes_a_met_action_and_keeps_an_unmet_one_open(log):
    """Data through 8 November: ROAS 3.40x in October meets `>= 3` (closed as done on the day
    checked); win rate 15.0 % misses `>= 25` (open, escalated); NRR has no value (not
    measured, open); an action due in December is not checked yet."""
    from revenue_os.metrics import load_contracts
    from revenue_os.operations.decisions import build_decision_log_table, check_due_decisions

    contracts = load_contracts()
    _published(
        log,
        date(2026, 11, 8),
        [
            ("roas", "month", date(2026, 9, 1), "2.1"),
            ("roas", "month", date(2026, 10, 1), "3.4"),
            ("win_rate", "month", date(2026, 10, 1), "15"),
        ],
    )
    decided = date(2026, 10, 20)
    met = decide(
        log,
        "roas",
        date(2026, 11, 1),
        decided,
        success_when=">= 3",
        assignee="Marketing Ops",
        expected_impact="ROAS back over 3x by November",
        evidence_url="https://wiki.example/roas-review",
    )
    missed = decide(
        log, "win_rate", date(2026, 11, 1), decided, success_when=">= 25", action_type="investigate"
    )
    unmeasured = decide(log, "nrr", date(2026, 11, 1), decided, success_when=">= 100")
    later = decide(log, "roas", date(2026, 12, 1), decided, success_when=">= 3")
    checked_on = date(2026, 11, 9)

    checks = check_due_decisions(log, contracts, today=checked_on)
    assert [(c.decision_id, c.result, c.value, c.period_start) for c in checks] == [
        (met, "met", Decimal("3.4"), date(2026, 10, 1)),
        (missed, "not_met", 15, date(2026, 10, 1)),
        (unmeasured, "not_measured", None, None),
    ]
    assert check_due_decisions(log, contracts, today=checked_on) == []  # checked once
    by_id = {d.decision_id: d for d in list_decisions(log)}
    assert (by_id[met].status, by_id[met].closed_on) == ("done", checked_on)
    assert (by_id[missed].status, by_id[missed].success_result) == ("open", "not_met")
    assert by_id[later].success_result is None

    # An unmet check is not closed by saying so; it can be dropped.
    with pytest.raises(DecisionError, match=r"closes when its success check \(win_rate >= 25\)"):
        close_decision(log, missed, closed_on=checked_on)
    close_decision(log, unmeasured, closed_on=checked_on, dropped=True)

    # The dashboards' copy, written out.
    with log.cursor() as cursor:
        # Built on 20 November: the December action is not overdue yet.
        assert build_decision_log_table(cursor, "mart", contracts, date(2026, 11, 20)) == 4
    rows = log.execute(
        "SELECT decision_id, state_label, assignee, decision_owner, success_check, "
        "success_reading, evidence_url FROM mart.decision_log ORDER BY decision_id"
    ).fetchall()
    assert rows == [
        (
            met,
            "Done",
            "Marketing Ops",
            "CMO",
            "Return on ad spend (ROAS) >= 3",
            "met: 3.40x in October 2026",
            "https://wiki.example/roas-review",
        ),
        (
            missed,
            "Success not met",
            "CMO",
            "CMO",
            "Win rate (by count) >= 25",
            "not met: 15.0 % in October 2026",
            None,
        ),
        (
            unmeasured,
            "Dropped",
            "CMO",
            "CMO",
            "Net revenue retention (NRR) >= 100",
            "not measured: no value on 2026-11-09",
            None,
        ),
        (later, "Open", "CMO", "CMO", "Return on ad spend (ROAS) >= 3", "not checked yet", None),
    ]


def test_the_loops_fields_are_refused_by_flag(log):
    with pytest.raises(DecisionError, match=r"--success-when: 'about 3': write comparisons"):
        decide(log, "roas", date(2026, 12, 1), success_when="about 3")
    with pytest.raises(DecisionError, match=r"--evidence: 'file:///tmp/x' is not a web address"):
        decide(log, "roas", date(2026, 12, 1), evidence_url="file:///tmp/x")
    with pytest.raises(DecisionError, match=r"--success-kpi: give the condition"):
        decide(log, "roas", date(2026, 12, 1), success_kpi="win_rate")
    with pytest.raises(DecisionError, match=r"--success-kpi: 'roass' is not a metric contract"):
        decide(log, "roas", date(2026, 12, 1), success_when=">= 3", success_kpi="roass")
    assert list_decisions(log) == []
