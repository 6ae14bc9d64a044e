"""The monthly pack of the refreshed test warehouse, e-mailed through the stack's SMTP server.

The pack's own tests (test_reporting_pack.py) work out every figure on a hand-made mart; this
one checks the same pack on the mart a real refresh published: its numbers are the mart's, and
the e-mail that arrives carries the HTML and the very PDF that was written.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import date

import pytest

from revenue_os.metrics import load_contracts
from revenue_os.metrics.formatting import format_value
from revenue_os.notifications import mailbox
from revenue_os.notifications.settings import AlertSettings
from revenue_os.reporting.deliver import build_pack
from revenue_os.reporting.pack import gather_pack


@pytest.fixture
def pack_month(warehouse) -> date:
    """The latest month the published mart has complete KPI values for."""
    (month,) = warehouse.execute(
        "SELECT max(period_start) FROM mart.kpi_values WHERE period_grain = 'month' AND is_complete"
    ).fetchone()
    assert month is not None, "the refresh published no complete month"
    return month


def test_the_pack_of_the_published_mart_is_mailed_with_its_pdf(
    stack, warehouse, pack_month, tmp_path, monkeypatch
):
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT", stack.airflow_env()["AIRFLOW_CONN_SMTP_DEFAULT"]
    )
    recipient = f"leadership-{uuid.uuid4().hex[:10]}@test.example"
    settings = AlertSettings(pack_recipients=(recipient,), from_email="revenue-os@test.example")

    result = build_pack(
        warehouse, pack_month, tmp_path, send=True, refreeze=True, settings=settings
    )

    assert result.delivery.sent, result.delivery.detail
    # The pack's numbers are the published mart's, KPI by KPI.
    mart = dict(
        warehouse.execute(
            "SELECT metric_name, value FROM mart.kpi_values WHERE period_grain = 'month' "
            "AND period_start = %s AND dimension_name = 'overall' AND tier = 'kpi'",
            (pack_month,),
        ).fetchall()
    )
    pack = gather_pack(warehouse, pack_month)
    assert {kpi.metric_name: kpi.value for kpi in pack.kpis} == mart
    # Every KPI with a monthly grain is in the pack, none left out for want of a value; a
    # forward-looking one (at-risk renewals) looks ahead instead, from the month in progress.
    monthly_kpis = {
        c.name
        for c in load_contracts().values()
        if c.tier == "kpi" and "month" in c.grain and not c.is_forward_looking
    }
    assert set(mart) == monthly_kpis
    # One message, to the pack's recipient, with the HTML and the PDF written to disk.
    (summary,) = [
        m for m in mailbox.list_messages(stack.profile.mail_dir) if recipient in m.recipients
    ]
    assert summary.subject == result.subject
    message = mailbox.read_message(summary.path)
    ((name, pdf),) = mailbox.attachments(message)
    assert name == result.pdf_path.name
    assert (
        hashlib.sha256(pdf).hexdigest() == hashlib.sha256(result.pdf_path.read_bytes()).hexdigest()
    )
    # multipart/mixed: the alternatives (text, then HTML, as clients prefer the last they can
    # show) and the PDF, typed as a PDF.
    assert message.get_content_type() == "multipart/mixed"
    alternative, attached = list(message.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert attached.get_content_type() == "application/pdf"
    html = message.get_body(preferencelist=("html",)).get_content()
    # The MIME body ends with a line break the file does not have.
    assert html.rstrip("\n") == result.html_path.read_text(encoding="utf-8").rstrip("\n")
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert pack.title in text
    for kpi in pack.kpis:
        assert format_value(kpi.value, kpi.format) in text, kpi.metric_name
    for kpi in pack.kpis:
        assert format_value(kpi.value, kpi.format) in html, kpi.metric_name
    # The KPIs judged on the quarter, as the scorecard writes out their latest complete
    # quarter, each in its own section (bookings against target has no month row at all).
    quarterly = {
        c.label
        for c in load_contracts().values()
        if c.thresholds is not None
        and c.thresholds.period == "quarter"
        and not c.is_forward_looking
    }
    scorecard = dict(
        warehouse.execute(
            "SELECT label, display_value FROM mart.kpi_scorecard WHERE period_grain = 'quarter' "
            "AND dimension_name = 'overall' AND label = ANY(%s)",
            (sorted(quarterly),),
        ).fetchall()
    )
    assert "Bookings against target" in scorecard
    assert {card.label: card.display_value for card in pack.quarter} == scorecard
    heading = f"Judged on the quarter: {pack.quarter[0].period_label}"
    assert heading in text and heading in html
    for card in pack.quarter:
        assert f"{card.label}: {card.display_value}" in text
