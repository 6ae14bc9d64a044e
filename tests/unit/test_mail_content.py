"""What recipients read: the MIME structure of the mail, changes in points, periods in words,
links that open anywhere, and a failed refresh that names what was refused. No stack needed:
every message is built from hand-made facts and checked against answers worked out here."""

from __future__ import annotations

import dataclasses
import email
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from email import policy

import psycopg
import pytest

from revenue_os.metrics import load_contracts
from revenue_os.metrics.formatting import format_change_vs_prior, format_condition, period_label
from revenue_os.notifications import freshness, kpi_alerts, refresh_alerts, runbook
from revenue_os.notifications.delivery import mime_message
from revenue_os.notifications.message import AlertMessage
from revenue_os.notifications.settings import AlertSettings
from revenue_os.reporting.pack import ForwardKpi, PackCalendar
from revenue_os.reporting.render import render_html, render_text, sparkline, sparkline_svg
from tests.unit.test_reporting import _kpi, _pack


def _structure(message: email.message.EmailMessage) -> list[tuple[int, str]]:
    found = []

    def walk(part, depth=0):
        found.append((depth, part.get_content_type()))
        if part.is_multipart():
            for child in part.iter_parts():
                walk(child, depth + 1)

    walk(message)
    return found


def _failed(task_id: str, error, **options) -> AlertMessage:
    """The failure alert of `task_id` on its last try (3 of 3 unless said), unpublished docs."""
    return refresh_alerts.failure_message(
        dag_id="revenue_refresh",
        task_id=task_id,
        run_id="r1",
        try_number=options.pop("try_number", 3),
        max_tries=3,
        error=error,
        log_url="http://airflow.example/log",
        settings=options.pop("settings", AlertSettings()),
        **options,
    )


def test_a_mail_has_a_text_part_beside_the_html_and_the_pdf_typed_as_pdf(tmp_path):
    pdf = tmp_path / "revenue-os-pack-2026-10.pdf"
    pdf.write_bytes(b"%PDF-1.4 hand-made\n")
    built = mime_message(
        ["cfo@x.example"],
        "Revenue OS monthly pack: October 2026",
        "<p>HTML</p>",
        text="Plain words\n",
        from_email="revenue-os@x.example",
        attachments=[pdf],
    )
    # What a receiving client parses, byte for byte.
    parsed = email.message_from_bytes(built.as_bytes(), policy=policy.default)
    assert _structure(parsed) == [
        (0, "multipart/mixed"),
        (1, "multipart/alternative"),
        (2, "text/plain"),
        (2, "text/html"),
        (1, "application/pdf"),
    ]
    assert parsed.get_body(preferencelist=("plain",)).get_content() == "Plain words\n"
    (attachment,) = list(parsed.iter_attachments())
    assert attachment.get_filename() == "revenue-os-pack-2026-10.pdf"
    assert attachment.get_content() == b"%PDF-1.4 hand-made\n"
    assert parsed["To"] == "cfo@x.example" and parsed["Message-ID"]


@pytest.mark.parametrize(
    ("value", "prior", "fmt", "shown"),
    [
        (Decimal("77.5"), Decimal("71.9"), "percent", "+5.6 pts"),  # a margin moves in points
        (Decimal("34.6"), Decimal("48.5"), "percent", "-13.9 pts"),
        (Decimal("1125"), Decimal("1000"), "usd", "+12.5 %"),  # money in per cent of prior
        (Decimal("1.58"), Decimal("3.31"), "ratio", "-52.3 %"),
        (Decimal("70"), Decimal("70"), "percent", "±0.0 pts"),
        (Decimal("5"), None, "usd", "n/a"),
        (Decimal("5"), Decimal("0"), "usd", "n/a"),  # no per cent of nothing
    ],
)
def test_changes_of_percentages_are_in_points(value, prior, fmt, shown):
    assert format_change_vs_prior(value, prior, fmt) == shown


@pytest.mark.parametrize(
    ("condition", "fmt", "shown"),
    [
        ("< 700000", "usd", "< $700,000"),
        (">= 18 and < 25", "percent", ">= 18 % and < 25 %"),
        (">= 1 and < 3", "ratio", ">= 1x and < 3x"),
        (">= 90", "days", ">= 90 days"),
        ("< 2.5", "percent", "< 2.5 %"),  # a fraction keeps the value's own decimals
        ("<= -5", "percent", "<= -5 %"),
        ("< 1000", "count", "< 1,000"),
        (None, "usd", None),
    ],
)
def test_thresholds_are_written_in_the_unit_of_the_value(condition, fmt, shown):
    assert format_condition(condition, fmt) == shown


@pytest.mark.parametrize(
    ("grain", "start", "shown"),
    [
        ("month", date(2026, 10, 1), "October 2026"),
        ("quarter", date(2026, 4, 1), "Q2 2026"),
        ("quarter", date(2026, 10, 1), "Q4 2026"),
        ("week", date(2026, 10, 5), "Week of 5 Oct 2026"),
    ],
)
def test_periods_are_written_as_people_write_them(grain, start, shown):
    assert period_label(grain, start) == shown


def _all_links(settings: AlertSettings) -> list[str]:
    reading = kpi_alerts.KpiReading(
        metric_name="pipeline_coverage",
        label="Pipeline coverage",
        period_grain="quarter",
        period_start=date(2026, 4, 1),
        value=Decimal("1.5"),
        prior_value=Decimal("2.5"),
        delta_pct=Decimal("-40"),
        trailing_value=None,
        format="ratio",
        status="red",
        threshold_red="< 2",
        kpi_owner="Head of Sales",
    )
    contract = load_contracts()["pipeline_coverage"]
    from revenue_os.metrics.formatting import format_value

    red = kpi_alerts.red_message(
        reading,
        contract,
        [(date(2026, 1, 1), Decimal("2.5"), "yellow"), (date(2026, 4, 1), Decimal("1.5"), "red")],
        format_value,
        settings,
        dashboard=("pipeline-retention", "Pipeline & Retention"),
    )
    failed = _failed("audit_mart", RuntimeError("audit failed"), settings=settings)
    stale = freshness.stale_message(
        freshness.Freshness(
            target="netsuite",
            last_success=datetime(2026, 11, 1, 6, tzinfo=UTC),
            hours_old=50,
            sla_hours=26,
        ),
        settings,
    )
    messages = [red, failed, stale]
    links = [url for message in messages for _, url in message.links]
    hrefs = [href for message in messages for href in re.findall(r'href="([^"]+)"', message.html())]
    return links + hrefs + [red.title, red.plain()]


def test_no_link_in_mail_points_at_a_file_on_the_sending_machine():
    unpublished = _all_links(AlertSettings())
    assert not any("file://" in item for item in unpublished)
    # With no docs address, the runbook section is named in words instead of linked.
    assert runbook.reference("a-kpi-turned-red") == "docs/runbook.md, “A KPI turned red”"


def test_runbook_links_go_to_the_published_docs_and_kpi_alerts_to_their_dashboard():
    settings = AlertSettings.from_env(
        {
            "REVENUE_OS_DOCS_URL": "https://docs.example/revenue-os/",
            "REVENUE_OS_SUPERSET_URL": "https://bi.example/",
        }
    )
    items = _all_links(settings)
    assert "https://docs.example/revenue-os/runbook.md#a-kpi-turned-red" in items
    assert (
        "https://docs.example/revenue-os/runbook.md#the-audit-or-quality-gate-blocked-the-publish"
        in items
    )
    assert "https://bi.example/superset/dashboard/pipeline-retention/" in items
    title, plain = items[-2], items[-1]
    assert title == "Pipeline coverage is red: 1.50x in Q2 2026"
    assert "Change: -40.0 % vs the quarter before" in plain
    assert "Trend: Q1 2026 2.50x (yellow) → Q2 2026 1.50x (red)" in plain


def test_a_refused_warehouse_connection_names_postgres_its_address_and_the_first_step():
    error = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 55532 failed: '
        "Connection refused\n\tIs the server running on that host and accepting TCP/IP "
        "connections?"
    )
    message = _failed("build_staging", error)
    facts = dict(message.facts)
    assert facts["Refused"] == (
        "the Postgres warehouse at 127.0.0.1:55532 refused or did not answer the connection"
    )
    assert (
        message.title
        == "revenue_refresh failed at build_staging: the Postgres warehouse unreachable"
    )
    assert facts["What readers see"].startswith("Nothing changed for readers")
    assert facts["First step"] == runbook.section("a-mart-build-failed").first_step
    assert facts["Runbook"] == "docs/runbook.md, “A mart build failed”"


def test_a_refused_superset_names_it_from_its_connection_and_says_the_mart_is_live():
    message = _failed(
        "publish_dashboards",
        ConnectionRefusedError("[Errno 111] Connection refused"),
        lookup=lambda conn_id: {"superset": ("superset.internal", 8088)}[conn_id],
    )
    facts = dict(message.facts)
    assert facts["Refused"].startswith("Superset at superset.internal:8088")
    assert "already live" in facts["What readers see"]
    assert facts["First step"].startswith("Connection refused / timeout: Superset is down.")
    # Not a connection error: nothing claims a service refused.
    other = _failed("publish_dashboards", RuntimeError("chart 12 answered 400"), try_number=1)
    assert "Refused" not in dict(other.facts)


def test_sparklines_rank_each_value_between_the_lowest_and_highest():
    assert sparkline([Decimal(1), Decimal(2), Decimal(3)]) == "▁▅█"
    assert sparkline([Decimal(5), None, Decimal(5)]) == "▅ ▅"  # flat: the middle block
    svg = sparkline_svg([Decimal(1), Decimal(3)], months=6).decode()
    assert svg.count("<rect") == 2 and 'width="60"' in svg
    # The two months are the last two of six slots: x = 40 and 50.
    assert 'x="40"' in svg and 'x="50"' in svg


def test_the_pack_shows_the_calendar_coverage_points_and_links_in_html_and_text():
    margin = dataclasses.replace(
        _kpi(),
        metric_name="gross_margin_pct",
        label="Gross margin %",
        format="percent",
        value=Decimal("77.5"),
        prior_value=Decimal("71.9"),
        trailing_basis="average",
    )
    pack = dataclasses.replace(
        _pack(kpis=[margin]),
        calendar=PackCalendar(
            date(2026, 11, 7), date(2026, 10, 1), date(2026, 10, 1), datetime(2026, 12, 5, 1, 49)
        ),
        trends={"gross_margin_pct": (Decimal("70"), Decimal("80"), Decimal("77.5"))},
        forward=(
            ForwardKpi("Pipeline coverage", "Q4 2026", "all", "3.20x", "green", "On track", None),
            ForwardKpi(
                "Pipeline coverage", "Q4 2026", "Mid-market", "1.84x", "red", "Off track", None
            ),
        ),
    )
    links = [
        ("Executive Performance", "https://bi.example/superset/dashboard/executive-performance/")
    ]
    calendar = (
        "Data through 7 Nov 2026 · latest complete month October 2026 (closed for reporting: "
        "October 2026) · mart published 5 Dec 2026 01:49 UTC"
    )
    html = render_html(pack, links)
    text = render_text(pack, links)
    for body in (html, text):
        assert calendar in body
        assert "+5.6 pts" in body
        assert "Pipeline coverage" in body and "1.84x" in body and "Mid-market" in body
        assert "https://bi.example/superset/dashboard/executive-performance/" in body
    assert "▁█▆" in html  # 70, 80, 77.5: lowest, highest, three quarters up (round(5.25) = 5)
    assert "3-month average" in html and "3-month average" in text


def test_alerts_say_how_far_the_published_data_runs_when_they_know():
    line = "Data through 7 Nov 2026 · latest complete month: October 2026 · published 5 Dec"
    failed = _failed("load_hubspot__contacts", RuntimeError("HTTP 503"), as_of=line)
    assert dict(failed.facts)["Published mart"] == line
    stale = freshness.stale_message(
        freshness.Freshness("hubspot", datetime(2026, 11, 1, tzinfo=UTC), 50, 26),
        AlertSettings(),
        line,
    )
    assert dict(stale.facts)["Dashboards show"] == line


def test_a_failed_audit_is_not_retried_and_its_mail_says_so():
    from airflow.sdk.exceptions import AirflowFailException

    message = _failed(
        "audit_mart",
        AirflowFailException(
            "the built mart failed its audits; the published mart is unchanged:\n"
            "FAIL quality_tier_1 fct_ad_spend_daily: spend_usd measured 3 (failed), "
            "e.g. 2026-10-01|c1, expected 0"
        ),
        try_number=1,
    )
    facts = dict(message.facts)
    assert facts["Try"] == "1 of 3 (not retried: the same data fails the same way)"
    assert "quality_tier_1 fct_ad_spend_daily: spend_usd" in message.detail
    assert "e.g. 2026-10-01|c1" in message.detail
