"""Alert content, routing and settings, without a server: what on-call and owners will read."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from revenue_os.metrics import load_contracts
from revenue_os.metrics.formatting import format_value
from revenue_os.notifications import freshness, refresh_alerts
from revenue_os.notifications.message import AlertMessage
from revenue_os.notifications.settings import AlertSettings, load_owner_emails
from revenue_os.paths import DOCS_DIR

RUNBOOK = DOCS_DIR / "runbook.md"


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", markdown, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_runbook_link_of_an_alert_has_its_section():
    anchors = _anchors(RUNBOOK.read_text())
    linked = {section for _, section in refresh_alerts.RUNBOOK_SECTIONS}
    linked |= {refresh_alerts.DEFAULT_SECTION, "recovered", "stale-data", "a-kpi-turned-red"}
    assert linked - anchors == set()


@pytest.mark.parametrize(
    ("task_id", "section"),
    [
        ("load_hubspot__contacts", "a-source-load-failed"),
        ("build_intermediate", "a-mart-build-failed"),
        ("audit_mart", "the-audit-or-quality-gate-blocked-the-publish"),
        ("record_refresh_run", "a-refresh-task-failed"),
    ],
)
def test_a_failed_task_links_to_its_own_runbook_section(task_id, section):
    assert refresh_alerts.runbook_section(task_id) == section


def test_settings_read_addresses_and_channels_from_the_environment():
    settings = AlertSettings.from_env(
        {
            "REVENUE_OS_ONCALL_EMAILS": " a@x.example, ,b@x.example ",
            "REVENUE_OS_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hook",
            "REVENUE_OS_RUNBOOK_URL": "https://wiki.example/runbook",
            "AIRFLOW__API__BASE_URL": "http://airflow.example:8080/",
        }
    )
    assert settings.oncall_emails == ("a@x.example", "b@x.example")
    assert settings.webhook_url == "http://127.0.0.1:9/hook"
    assert settings.pack_recipients == ()
    assert settings.runbook_link("stale-data") == "https://wiki.example/runbook#stale-data"
    assert settings.airflow_url == "http://airflow.example:8080"
    assert AlertSettings.from_env({}).oncall_emails == ()  # unconfigured: nothing is sent


def test_every_kpi_owner_role_of_the_contracts_has_an_address():
    owners = load_owner_emails()
    roles = {c.owner.kpi_owner for c in load_contracts().values()}
    assert roles - set(owners) == set()
    assert all(addresses and all("@" in a for a in addresses) for addresses in owners.values())


def test_owners_file_problems_name_the_role(tmp_path):
    path = tmp_path / "owners.yaml"
    path.write_text("owners:\n  CMO: [1, 2]\n")
    with pytest.raises(ValueError, match=r"owners.CMO must be an address"):
        load_owner_emails(path)


def test_the_failure_alert_carries_every_field_and_escapes_the_error():
    settings = AlertSettings(runbook_url="https://wiki.example/runbook")
    message = refresh_alerts.failure_message(
        dag_id="revenue_refresh",
        task_id="load_netsuite__invoice_lines",
        run_id="manual__2026-11-30T06:00:00+00:00",
        try_number=3,
        max_tries=3,
        error=RuntimeError("HTTP 503 from <netsuite> {{ not a template }}"),
        log_url="http://airflow.example/dags/revenue_refresh/runs/r/tasks/t?try_number=3",
        settings=settings,
    )
    html = message.html()
    assert message.subject == "[Revenue OS] revenue_refresh failed at load_netsuite__invoice_lines"
    for expected in ("revenue_refresh", "load_netsuite__invoice_lines", "3 of 3"):
        assert expected in html
    assert "RuntimeError: HTTP 503 from &lt;netsuite&gt; {{ not a template }}" in html
    assert 'href="https://wiki.example/runbook#a-source-load-failed"' in html
    text = message.text()
    assert (
        "Try: 3 of 3" in text
        and "<https://wiki.example/runbook#a-source-load-failed|Runbook>" in text
    )


def test_a_long_error_is_cut_to_its_first_lines():
    error = RuntimeError("\n".join(f"line {n}" for n in range(40)))
    summary = refresh_alerts.error_summary(error)
    assert summary.splitlines()[0] == "RuntimeError: line 0"
    assert summary.splitlines()[-2:] == ["line 11", "..."]
    assert refresh_alerts.error_summary(None).startswith("no exception was recorded")


def test_freshness_slas_are_the_strictest_contract_naming_the_source_plus_slack():
    contracts = load_contracts()
    cac = contracts["cac"]  # names Google Ads, LinkedIn Ads and Salesforce
    tightened = {
        **contracts,
        "cac": cac.model_copy(
            update={"refresh_sla": cac.refresh_sla.model_copy(update={"hours": 6})}
        ),
    }
    slas = freshness.freshness_slas(tightened)
    assert slas["google_ads"] == slas["linkedin_ads"] == slas["salesforce"] == 6 + 2
    assert slas["mart"] == 8  # the strictest of all contracts
    assert slas["hubspot"] == slas["netsuite"] == 24 + 2
    # Every source has an SLA, as the data-quality gate's 26 hours for the 24-hour contracts.
    assert freshness.freshness_slas(contracts) == dict.fromkeys(
        ["mart", *freshness.SOURCE_NAMES], 26
    )


def test_every_source_the_refresh_loads_has_a_freshness_sla():
    from revenue_os.raw.objects import RAW_OBJECTS

    sources = {name.split(".", 1)[0] for name in RAW_OBJECTS}
    assert sources - set(freshness.freshness_slas(load_contracts())) == set()


@pytest.mark.parametrize(
    ("value", "fmt", "shown"),
    [
        (Decimal("1234567.4"), "usd", "$1,234,567"),
        (Decimal("-42.5"), "usd", "-$42.50"),
        (Decimal("12.345"), "percent", "12.3 %"),
        (Decimal("25.25"), "percent", "25.3 %"),  # halves away from zero, as the dashboards
        (Decimal("-0.125"), "ratio", "-0.13x"),
        (Decimal("2.4"), "ratio", "2.40x"),
        (Decimal("45"), "days", "45.0 days"),
        (Decimal("4.25"), "months", "4.3 months"),
        (Decimal("1234"), "count", "1,234"),
        (None, "usd", "n/a"),
    ],
)
def test_values_are_shown_in_their_contract_format(value, fmt, shown):
    assert format_value(value, fmt) == shown


def test_an_unknown_format_names_the_formats_there_are():
    with pytest.raises(ValueError, match="expected usd, percent, ratio, days, months or count"):
        format_value(1, "euro")


def test_a_resolved_message_is_green_and_a_problem_red():
    assert AlertMessage("x", "t", tone="resolved").colour != AlertMessage("x", "t").colour
