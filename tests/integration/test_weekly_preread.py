"""Known answers: the weekly pre-read of the hand-made world (tests/integration/test_kpi_layer.py)
for the week of 3 March 2025, frozen from KPI tables the real KPI layer built.

The weekly forum's KPIs (their contracts list `forums: [weekly, ...]`), week of 3 March:
  MQLs: 3 (linkedin 3 and 4 March, display 5 March); the week before 2 (linkedin 1 and 2
    March), so +50.0 %; 4 weeks (10 February to 9 March) 8 MQLs, 2 a week; 13 weeks (from 9
    December) 14 MQLs, 14 / 13 = 1.08 a week; 4 against 13 weeks +85.7 %.
  Pipeline created: nothing created this week (0); 8,000 the week before (O4 on Saturday 1
    March), so -100.0 %; 4 weeks 8,000 = 2,000 a week; 13 weeks 1,000 + 500 + 3,000 + 8,000 =
    12,500 = 961.54 a week.
  Sales cycle: O3 closed on 7 March after 30 days; no deal closed the week before; 4 weeks
    30.0; 13 weeks (O1's 20 and O3's 30) 25.0 days.
  Win rate: O3 won this week, 100 %; 4 weeks O2 lost and O3 won, 50 %; 13 weeks 2 of 3, 66.7 %.
Each status is the KPI's own, on its thresholds' period as the scorecard judged it: March 2025
  for MQLs (8, red: < 55), pipeline created (10,000, red) and velocity (204 a day, red), win
  rate (2 of 2, green); Q1 2025 for the sales cycle (23 days, green).
Exceptions, red first then by area and label: MQLs, pipeline created, pipeline velocity.
Looking ahead: pipeline coverage of Q2 2025, 8,000 / 4,000 = 2.00x, yellow; at-risk renewal
  ARR of April 2025, R5's 5,000 (green).
Rules that fired: next quarter's (Q3 2025) coverage 0 / 5,000 = 0.00x, under 3.0x, overall
  and in SMB.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pypdfium2 as pdfium
import pytest

from revenue_os.metrics import load_contracts
from revenue_os.metrics.kpi_layer import build_kpi_tables
from revenue_os.operations.decisions import add_decision, check_due_decisions
from revenue_os.reporting import PackError
from revenue_os.reporting.deliver import build_preread
from revenue_os.reporting.preread import gather_preread
from revenue_os.reporting.preread_render import render_preread_text
from revenue_os.reporting.snapshot import freeze_week
from revenue_os.warehouse.migrations import migrate
from tests.integration.conftest import ScratchDatabases
from tests.integration.test_kpi_layer import create_hand_made_mart

WEEK = date(2025, 3, 3)
TODAY = date(2025, 4, 2)
BUILD = uuid.UUID(int=7)


@pytest.fixture(scope="module")
def world(warehouse_server):
    databases = ScratchDatabases(warehouse_server)
    conn = databases.create("weekly_preread")
    migrate(conn)
    create_hand_made_mart(conn, "mart")
    build_kpi_tables(conn, "mart", load_contracts())
    conn.execute(
        "INSERT INTO ops.mart_builds (build_id, started_at, finished_at, status) "
        "VALUES (%s, %s, %s, 'published')",
        (BUILD, datetime(2025, 4, 2, 5, tzinfo=UTC), datetime(2025, 4, 2, 6, tzinfo=UTC)),
    )
    add_decision(
        conn,
        metric_name="mqls",
        forum="Weekly revenue meeting",
        owner="CMO",
        trigger="MQLs red in February",
        action_type="reallocate",
        action="Move paid social budget to search",
        due_on=date(2025, 3, 28),
        success_metric="MQLs back over 55 a month",
        decided_on=date(2025, 3, 3),
        assignee="Head of Marketing Ops",
        expected_impact="55 MQLs in March",
        evidence_url="https://wiki.example.com/mql-review",
        success_when=">= 55",
    )
    # The refresh checks it: data through 31 March is past its due date (28 March); March's
    # 8 MQLs do not meet 55, so it stays open and says so.
    check_due_decisions(conn, load_contracts(), today=TODAY)
    yield conn
    conn.close()
    databases.drop_all()


def test_a_running_week_or_a_tuesday_is_refused_by_name(world):
    with pytest.raises(PackError, match=r"week of 2025-03-31 has not ended .* began on 2025-03-24"):
        freeze_week(world, date(2025, 3, 31), today=TODAY)
    with pytest.raises(PackError, match="2025-03-04 is not a Monday"):
        freeze_week(world, date(2025, 3, 4), today=TODAY)
    with pytest.raises(PackError, match=r"no weekly values for week of 2024-06-03 \(its weeks run"):
        freeze_week(world, date(2024, 6, 3), today=TODAY)


def test_the_week_is_frozen_once_with_its_windows(world):
    first = freeze_week(world, WEEK, today=TODAY)
    assert (first.kept, first.build_id, first.grain) == (False, BUILD, "week")
    row = world.execute(
        "SELECT value, prior_value, trailing_value, trailing_8_week_value, "
        "trailing_13_week_value FROM ops.kpi_snapshots WHERE period_grain = 'week' AND "
        "period_start = %s AND metric_name = 'mqls' AND dimension_name = 'overall'",
        (WEEK,),
    ).fetchone()
    assert row == (3, 2, 8, 9, 14)  # 8 weeks from 13 January: 1 + 3 + 4 + 1
    again = freeze_week(world, WEEK, today=TODAY)
    assert (again.kept, again.rows, again.written) == (True, first.rows, 0)
    assert first.summary() == f"week of 2025-03-03: {first.rows} KPI rows frozen from build {BUILD}"


def test_the_preread_shows_the_week_its_windows_and_each_kpis_own_status(world):
    freeze_week(world, WEEK, today=TODAY)
    preread = gather_preread(world, WEEK, today=TODAY)
    lines = {kpi.metric_name: kpi for kpi in preread.kpis}
    weekly = {name for name, c in load_contracts().items() if "weekly" in c.forums}
    # Coverage (by quarter) and at-risk renewals (by month) are judged on the period in
    # progress: they are read under "Looking ahead", not as a week.
    assert set(lines) == weekly - {"pipeline_coverage", "renewal_risk_arr"}

    mqls = lines["mqls"]
    assert (mqls.value, mqls.prior_value, mqls.vs_last_week) == (3, 2, "+50.0 %")
    assert mqls.per_week and mqls.four_weeks == 2
    assert mqls.thirteen_weeks == pytest.approx(Decimal(14) / 13)
    assert mqls.short_vs_long == "+85.7 %"
    assert (mqls.status, mqls.judged.period_label, mqls.judged.display_value) == (
        "red",
        "March 2025",
        "8",
    )
    created = lines["pipeline_created"]
    assert (created.value, created.prior_value, created.vs_last_week) == (0, 8000, "-100.0 %")
    assert created.four_weeks == 2000
    assert created.thirteen_weeks == pytest.approx(Decimal(12500) / 13)
    cycle = lines["sales_cycle_days"]
    assert not cycle.per_week
    assert (cycle.value, cycle.prior_value, cycle.vs_last_week) == (30, None, "n/a")
    assert (cycle.four_weeks, cycle.thirteen_weeks) == (30, 25)
    assert (cycle.status, cycle.judged.period_label) == ("green", "Q1 2025")
    win = lines["win_rate"]
    assert (win.value, win.four_weeks) == (100, 50)
    assert float(win.thirteen_weeks) == pytest.approx(200 / 3)
    assert (win.status, win.status_text) == ("green", "GREEN")

    assert [(item.kpi.metric_name, item.reason) for item in preread.exceptions] == [
        ("mqls", "red on March 2025: 8"),
        ("pipeline_created", "red on March 2025: $10,000"),
        ("pipeline_velocity", "red on March 2025: $204"),
    ]
    assert [
        (card.label, card.period_label, card.display_value, card.status)
        for card in preread.forward
        if card.dimension_label == "all"
    ] == [
        # R5, 5,000 due 30 April in Best Case (the hand-made mart's renewals)
        ("At-risk renewal ARR", "April 2025", "$5,000", "green"),
        ("Pipeline coverage", "Q2 2025", "2.00x", "yellow"),
    ]
    assert [(a.metric_name, a.overdue) for a in preread.open_actions] == [("mqls", True)]
    # Next quarter's coverage rule: Q3 2025, 0 open pipeline against 5,000, overall and SMB.
    assert [(r.rule_label, r.where, r.period_label, r.reading) for r in preread.fired_rules] == [
        ("Next quarter's pipeline coverage under 3.0x in a segment", "overall", "Q3 2025", "0.00x"),
        (
            "Next quarter's pipeline coverage under 3.0x in a segment",
            "Segment SMB",
            "Q3 2025",
            "0.00x",
        ),
    ]
    assert preread.subject == (
        "Revenue OS weekly pre-read: week of 3 Mar 2025 (3 red, 0 yellow, 2 rules fired, "
        "1 overdue action)"
    )
    # Up to 13 weeks: the world starts in the week of 30 December, ten weeks before.
    assert preread.trends["mqls"][:3] == (1, 4, 0)
    assert len(preread.trends["mqls"]) == 10


def test_the_preread_reads_as_html_text_and_pdf(world, tmp_path):
    result = build_preread(world, WEEK, tmp_path, send=False, today=TODAY)
    assert result.pdf_path.name == "revenue-os-preread-2025-03-03.pdf"
    preread = gather_preread(world, WEEK, today=TODAY)
    html = result.html_path.read_text(encoding="utf-8")
    # The weekly view first among the dashboards linked.
    assert html.index("/dashboard/weekly-revenue-meeting/") < html.index("/dashboard/pipeline-")
    text = render_preread_text(preread)
    for rendered in (html, text):
        assert "Move paid social budget to search" in rendered
        assert "+85.7 %" in rendered and "$962" in rendered and "25.0 days" in rendered
    assert (
        "- Marketing-qualified leads (MQLs): 3 this week (+50.0 % vs last week), 4 weeks 2, 13 weeks 1.1"
        in text
    )
    document = pdfium.PdfDocument(result.pdf_path)
    assert len(document) <= 5
    pdf_text = " ".join(
        " ".join(document[index].get_textpage().get_text_range().split())
        for index in range(len(document))
    )
    assert "2025-03-28 OVERDUE" in pdf_text
    assert "Marketing-qualified leads (MQLs) red on March 2025: 8" in pdf_text
    # The decision log's loop: who carries the action out, what is expected, the check read at
    # the due date (not met), the evidence, and the check among this week's.
    for expected in (
        "carried out by <strong>Head of Marketing Ops</strong>",
        "Expected: 55 MQLs in March.",
        'Marketing-qualified leads (MQLs) &gt;= 55; <span style="color:#8b1a1a;font-weight:bold;">'
        "not met: 8 in March 2025</span>",
        '<a href="https://wiki.example.com/mql-review"',
        "NOT MET</strong> Marketing-qualified leads (MQLs): Move paid social budget to search",
    ):
        assert expected in html, expected
    assert "Success check: Marketing-qualified leads (MQLs) >= 55: not met: 8 in March 2025" in (
        pdf_text
    )
    assert "Pipeline coverage Q2 2025 2.00x YELLOW" in pdf_text
    assert (
        "RULE Next quarter's pipeline coverage under 3.0x in a segment Segment SMB, Q3 2025: 0.00x"
        in pdf_text
    )
    assert result.delivery.detail == "not sent: not asked to (--send)"


def test_a_week_the_data_does_not_reach_yet_reads_the_latest_complete_one(world, tmp_path):
    """The schedule's Monday run when the business's data stops earlier (a refresh behind):
    the pre-read covers the mart's latest complete week (data through 1 April: the week of 24
    March) and says so, instead of failing the meeting's packet."""
    result = build_preread(
        world,
        date(2025, 4, 7),
        tmp_path,
        send=False,
        today=date(2025, 4, 14),
        or_latest_complete=True,
    )
    assert result.week == date(2025, 3, 24)
    assert result.snapshot.grain == "week" and result.snapshot.month == date(2025, 3, 24)
    html = result.html_path.read_text(encoding="utf-8")
    assert "The data does not cover the week of 7 Apr 2025 yet" in html
    with pytest.raises(PackError, match="no weekly values for week of 2025-04-07"):
        build_preread(world, date(2025, 4, 7), tmp_path, send=False, today=date(2025, 4, 14))
