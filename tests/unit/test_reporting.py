"""The reporting pack without a database: formatting, months, rendering, delivery, the DAG."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pendulum
import pypdfium2 as pdfium
import pytest

from revenue_os.notifications.settings import AlertSettings
from revenue_os.orchestration.reporting import month_of
from revenue_os.paths import DAGS_DIR
from revenue_os.reporting import PackError, deliver_pack, render_html, render_pdf
from revenue_os.reporting import render as render_module
from revenue_os.reporting.formatting import STATUS_RGB, format_change, format_delta
from revenue_os.reporting.pack import KpiLine, OpenAction, ReportingPack
from revenue_os.reporting.snapshot import (
    check_closed,
    last_closed_month,
    next_month,
    parse_month,
    previous_month,
)


@pytest.mark.parametrize(
    ("delta", "shown"),
    [
        (Decimal("-12.52205714"), "-12.5 %"),
        (Decimal("14.58333333"), "+14.6 %"),
        (Decimal("9.375"), "+9.4 %"),
        (Decimal("1234.56"), "+1,234.6 %"),
        (Decimal("-0.04"), "0.0 %"),  # shows as zero: no sign
        (Decimal("0"), "0.0 %"),
        (None, "n/a"),
    ],
)
def test_the_change_against_the_prior_month_is_signed_in_percent(delta, shown):
    assert format_delta(delta) == shown


@pytest.mark.parametrize(
    ("change", "fmt", "shown"),
    [
        (Decimal("-50000"), "usd", "-$50,000"),
        (Decimal("27654.40"), "usd", "+$27,654"),
        (Decimal("-0.35"), "ratio", "-0.35x"),
        (Decimal("2.5"), "percent", "+2.5 %"),
        (Decimal("12"), "count", "+12"),
        (Decimal("-3.25"), "days", "-3.3 days"),  # halves away from zero
        (Decimal("-0.001"), "ratio", "0.00x"),
        (None, "usd", "n/a"),
    ],
)
def test_a_breakdowns_change_is_signed_in_the_metrics_own_format(change, fmt, shown):
    assert format_change(change, fmt) == shown


def test_pdf_text_is_latin_1_without_losing_what_can_be_spelt():
    # En dash, curly quotes and a CJK character escaped; x-sign, e-acute and one half are Latin-1.
    text = "ROAS \u2265 3 \u2013 \u201cscale\u201d \u2192 2.4\u00d7 caf\u00e9 \u0160 \u00bd \u65e5"
    assert render_module.latin1(text) == 'ROAS >= 3 - "scale" -> 2.4\u00d7 caf\u00e9 S \u00bd ?'


# --- months --------------------------------------------------------------------------------


def test_months_parse_and_step_across_the_year():
    assert parse_month("2026-10") == date(2026, 10, 1) == parse_month(" 2026-10-01 ")
    assert next_month(date(2026, 12, 1)) == date(2027, 1, 1)
    assert previous_month(date(2026, 1, 1)) == date(2025, 12, 1)
    assert last_closed_month(date(2026, 1, 1)) == date(2025, 12, 1)
    assert last_closed_month(date(2026, 11, 30)) == date(2026, 10, 1)
    for text in ("2026-13", "Oct 2026", "2026-10-15", "26-10"):
        with pytest.raises(PackError, match=r"is not a month: write it as YYYY-MM"):
            parse_month(text)


def test_only_a_closed_month_can_be_packed():
    check_closed(date(2026, 10, 1), today=date(2026, 11, 1))  # the 1st: October has closed
    with pytest.raises(PackError, match=r"2026-11 is not closed yet \(it ends on 2026-12-01"):
        check_closed(date(2026, 11, 1), today=date(2026, 11, 30))
    with pytest.raises(PackError, match="last closed month is 2026-10"):
        check_closed(date(2027, 3, 1), today=date(2026, 11, 30))


# --- rendering -----------------------------------------------------------------------------


def _kpi(**fields) -> KpiLine:
    defaults = dict(
        metric_name="total_revenue",
        label="Total revenue",
        area="revenue",
        value=Decimal("912345.6"),
        prior_value=Decimal("800000"),
        delta_pct=Decimal("14.04320"),
        trailing_value=Decimal("2500000"),
        format="usd",
        direction="higher_is_better",
        status="green",
        threshold_green=">= 850000",
        threshold_yellow=">= 700000 and < 850000",
        threshold_red="< 700000",
        kpi_owner="CRO",
        confidence="high",
        action_type="investigate",
        action="Analytics breaks the month down.",
        is_final=True,
    )
    return KpiLine(**{**defaults, **fields})


def _pack(kpis=(), actions=()) -> ReportingPack:
    return ReportingPack(
        month=date(2026, 10, 1),
        as_of=date(2026, 11, 2),
        build_id=uuid.UUID(int=7),
        frozen_at=datetime(2026, 11, 1, 7, tzinfo=UTC),
        kpis=tuple(kpis),
        exceptions=(),
        checks_run=0,
        known_issues=(),
        confidence_notes=(),
        open_actions=tuple(actions),
    )


def test_an_empty_month_says_so_in_every_section():
    html = render_html(_pack(kpis=[_kpi()]))
    assert "No open actions in the decision log." in html
    assert "No KPI is red or yellow this month." in html
    assert "No data-quality results are recorded for the mart build" in html
    with_checks = render_html(dataclasses.replace(_pack(kpis=[_kpi()]), checks_run=61))
    assert "All 61 data-quality checks passed on the mart build" in with_checks
    assert "$912,346" in html and "+14.0 %" in html and "from $800,000" in html


def test_user_text_is_escaped_in_the_e_mail_and_drawn_in_the_pdf(tmp_path):
    action = OpenAction(
        decision_id=1,
        metric_name="total_revenue",
        metric_label="Total revenue",
        owner="CRO <cro@example.com>",
        action_type="escalate",
        action="Bring the <b>plan</b> \u2013 by Friday \u2265 2 options, \u65e5\u672c team too",
        decided_on=date(2026, 10, 20),
        due_on=date(2026, 11, 1),
        forum="Monthly review",
        trigger="Revenue red",
        success_metric="Green in December",
        overdue=True,
    )
    pack = _pack(kpis=[_kpi(label="Revenue & <margin>")], actions=[action])
    html = render_html(pack)
    assert "Bring the &lt;b&gt;plan&lt;/b&gt; \u2013 by Friday \u2265 2 options" in html
    assert "Revenue &amp; &lt;margin&gt;" in html and "<margin>" not in html
    path = render_pdf(pack, tmp_path / "pack.pdf")
    document = pdfium.PdfDocument(path)
    assert len(document) == 1
    text = " ".join(document[0].get_textpage().get_text_range().split())
    assert "Bring the <b>plan</b> - by Friday >= 2 options, ?? team too" in text
    assert "Revenue & <margin>" in text


def test_status_colours_are_used_for_nothing_else_on_the_page():
    statuses = set(STATUS_RGB.values())
    assert len(statuses) == 3
    others = {
        value
        for name, value in vars(render_module).items()
        if name.isupper() and isinstance(value, tuple) and len(value) == 3
    }
    assert others and not others & statuses
    template = (render_module.TEMPLATES_DIR / "pack.html").read_text().lower()
    written = set(re.findall(r"#[0-9a-f]{6}", template))
    assert written and not written & {"#{:02x}{:02x}{:02x}".format(*rgb) for rgb in statuses}


# --- delivery ------------------------------------------------------------------------------


def test_a_pack_without_recipients_is_not_sent_and_says_why(tmp_path):
    delivery = deliver_pack(
        _pack(kpis=[_kpi()]), "<html></html>", tmp_path / "pack.pdf", AlertSettings()
    )
    assert delivery.sent is False and delivery.recipients == ()
    assert delivery.detail == "not sent: no recipients (set REVENUE_OS_PACK_RECIPIENTS)"


def test_the_subject_counts_statuses_and_overdue_actions():
    pack = _pack(kpis=[_kpi(status="red"), _kpi(status="yellow"), _kpi(status="red")])
    assert pack.subject == "Revenue OS monthly pack: October 2026 (2 red, 1 yellow)"


# --- the DAG -------------------------------------------------------------------------------


def test_the_run_on_the_first_reports_the_month_just_closed():
    from airflow.models import DagBag
    from airflow.timetables.interval import CronDataIntervalTimetable

    dag = DagBag(dag_folder=str(DAGS_DIR / "monthly_reporting_pack.py")).dags[
        "monthly_reporting_pack"
    ]
    assert [t.task_id for t in dag.topological_sort()] == [
        "freeze_kpi_snapshot",
        "send_reporting_pack",
    ]
    assert dag.catchup is False
    # A data-interval timetable: the run on 8 November covers the interval starting 8 October.
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert dag.timetable.expression == "0 7 8 * *"
    interval = CronDataIntervalTimetable("0 7 8 * *", "UTC").infer_manual_data_interval(
        run_after=pendulum.datetime(2026, 11, 8, 7, tz="UTC")
    )
    assert month_of(interval.start) == date(2026, 10, 1)
    assert interval.end == pendulum.datetime(2026, 11, 8, 7, tz="UTC")


def test_the_monday_run_reports_the_week_just_ended():
    from airflow.models import DagBag
    from airflow.timetables.interval import CronDataIntervalTimetable

    from revenue_os.orchestration.reporting import week_of

    dag = DagBag(dag_folder=str(DAGS_DIR / "weekly_revenue_preread.py")).dags[
        "weekly_revenue_preread"
    ]
    assert [t.task_id for t in dag.topological_sort()] == ["send_weekly_preread"]
    assert (dag.catchup, dag.timetable.expression) == (False, "0 6 * * 1")
    interval = CronDataIntervalTimetable("0 6 * * 1", "UTC").infer_manual_data_interval(
        run_after=pendulum.datetime(2026, 12, 7, 6, tz="UTC")
    )
    assert week_of(interval.start) == date(2026, 11, 30)
    # A run started by hand mid-week still reports the Monday of its interval's week.
    assert week_of(date(2026, 12, 2)) == date(2026, 11, 30)
