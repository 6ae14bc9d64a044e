"""Alerts end to end, on the test stack's real SMTP server (and a real webhook on loopback).

- a task forced to fail under `airflow dags test` alerts on-call exactly once, after its
  retries, and the next green run sends the recovery notice;
- the freshness watchdog alerts once when a source goes stale, and once when it is fresh again;
- a KPI turning red alerts its owner once, not again while it stays red, and again after it
  left red and came back.

Each test sends to addresses of its own, so messages from other tests never count.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from psycopg import sql

from revenue_os.metrics import load_contracts
from revenue_os.metrics.formatting import format_value
from revenue_os.metrics.kpi_tables import create_kpi_table, table_definition
from revenue_os.notifications import mailbox
from revenue_os.notifications.freshness import check_freshness
from revenue_os.notifications.kpi_alerts import alert_kpi_owners
from revenue_os.notifications.settings import AlertSettings
from revenue_os.warehouse.connection import LOADER_ROLE, OWNER_ROLE
from revenue_os.warehouse.migrations import migrate
from revenue_os_stack.stack import REFRESH_DAG_ID
from tests.integration.conftest import airflow_dags_test


def _address(role: str) -> str:
    return f"{role}-{uuid.uuid4().hex[:10]}@test.example"


def _mail_to(stack, address: str) -> list:
    """The messages the stack's mail server received for `address`, oldest first."""
    found = []
    for summary in mailbox.list_messages(stack.profile.mail_dir):
        if address in summary.recipients:
            message = mailbox.read_message(summary.path)
            found.append((summary, mailbox.body_text(message)))
    return found


class Webhook:
    """A Slack-compatible incoming webhook on loopback that keeps what was posted."""

    def __init__(self) -> None:
        posts = self.posts = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                posts.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def smtp_env(stack, monkeypatch):
    """The stack's `smtp_default` connection, for alerts sent from this process."""
    env = stack.airflow_env()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", env["AIRFLOW_CONN_SMTP_DEFAULT"])
    return env


@pytest.fixture
def ops_warehouse(scratch_database):
    conn = scratch_database("alerts_scratch")
    migrate(conn)
    yield conn
    conn.close()


def scratch_uri(stack, name: str, role: str = OWNER_ROLE) -> str:
    return stack.warehouse_uri(role).rsplit("/", 1)[0] + f"/{name}"


# --- the freshness watchdog ----------------------------------------------------------------


def _loaded(conn, source_object: str, hours_ago: float) -> None:
    conn.execute(
        "INSERT INTO ops.load_batches (batch_id, source_object, mode, started_at, finished_at, "
        "rows_extracted, rows_inserted, rows_updated, rows_deleted, rows_quarantined) "
        "VALUES (gen_random_uuid(), %s, 'incremental', now() - make_interval(secs => %s), "
        "now() - make_interval(secs => %s), 1, 1, 0, 0, 0)",
        (source_object, hours_ago * 3600 + 60, hours_ago * 3600),
    )


def _published(conn, hours_ago: float) -> None:
    conn.execute(
        "INSERT INTO ops.mart_builds (build_id, started_at, finished_at, status) VALUES "
        "(gen_random_uuid(), now() - make_interval(secs => %s), now() - make_interval(secs => %s), "
        "'published')",
        (hours_ago * 3600 + 600, hours_ago * 3600),
    )


def test_a_stale_source_alerts_once_then_once_when_fresh(stack, smtp_env, ops_warehouse, webhook):
    conn = ops_warehouse
    for source in (
        "hubspot.contacts",
        "google_ads.campaigns",
        "linkedin_ads.campaigns",
        "netsuite.invoice_lines",
    ):
        _loaded(conn, source, hours_ago=1)
    _loaded(conn, "salesforce.opportunities", hours_ago=30)  # older than its 26 h SLA
    _loaded(conn, "salesforce.accounts", hours_ago=31)
    _published(conn, hours_ago=2)
    oncall = _address("oncall")
    settings = AlertSettings(oncall_emails=(oncall,), webhook_url=webhook.url)
    contracts = load_contracts()

    first = check_freshness(conn, contracts, settings)
    again = check_freshness(conn, contracts, settings)  # still stale: nothing new

    assert first == {"stale": ["salesforce"], "alerted": ["salesforce"], "recovered": []}
    assert again == {"stale": ["salesforce"], "alerted": [], "recovered": []}
    (alert,) = _mail_to(stack, oncall)
    summary, body = alert
    assert summary.subject == "[Revenue OS] Salesforce is stale: last loaded 30.0 hours ago"
    assert "26 hours (from the metric contracts)" in body
    # No docs address configured: the section is named and its first step quoted, and no
    # link points at a file of the machine that sent it.
    assert "Runbook: docs/runbook.md, “Stale data”" in body
    assert "First step: Look at the refresh runs" in body and "file://" not in body
    (post,) = webhook.posts
    assert post["text"].startswith("*[Revenue OS] Salesforce is stale")

    _loaded(conn, "salesforce.opportunities", hours_ago=0.5)
    recovered = check_freshness(conn, contracts, settings)

    assert recovered == {"stale": [], "alerted": [], "recovered": ["salesforce"]}
    messages = _mail_to(stack, oncall)
    assert [s.subject for s, _ in messages] == [
        "[Revenue OS] Salesforce is stale: last loaded 30.0 hours ago",
        "[Revenue OS] Salesforce is fresh again",
    ]
    spells = conn.execute(
        "SELECT alert_kind, subject_key, cleared_at IS NOT NULL FROM ops.alert_spells"
    ).fetchall()
    assert spells == [("stale_source", "salesforce", True)]


def test_the_watchdog_dag_alerts_on_a_stale_source_underairflow_dags_test(
    stack, airflow_client, scratch_database
):
    """The watchdog DAG itself, on a warehouse of its own where NetSuite stopped loading."""
    conn = scratch_database("watchdog_scratch")
    migrate(conn)
    for source in (
        "hubspot.contacts",
        "salesforce.accounts",
        "google_ads.campaigns",
        "linkedin_ads.campaigns",
    ):
        _loaded(conn, source, hours_ago=3)
    _loaded(conn, "netsuite.invoice_lines", hours_ago=50)
    _published(conn, hours_ago=3)
    oncall = _address("oncall")
    env = {
        **stack.airflow_env(),
        "AIRFLOW_CONN_WAREHOUSE_LOADER": scratch_uri(stack, "watchdog_scratch", LOADER_ROLE),
        "REVENUE_OS_ONCALL_EMAILS": oncall,
    }

    result = airflow_dags_test(airflow_client, "freshness_watchdog", "2026-03-01", env)

    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    ((summary, body),) = _mail_to(stack, oncall)
    assert summary.subject == "[Revenue OS] NetSuite is stale: last loaded 50.0 hours ago"
    assert f"{stack.profile.airflow_url}/dags/revenue_refresh/runs" in body
    assert conn.execute(
        "SELECT alert_kind, subject_key FROM ops.alert_spells WHERE cleared_at IS NULL"
    ).fetchall() == [("stale_source", "netsuite")]
    conn.close()


def test_a_mart_never_published_is_stale_and_nothing_is_sent_unconfigured(
    stack, smtp_env, ops_warehouse, caplog
):
    conn = ops_warehouse
    for source in (
        "hubspot.contacts",
        "salesforce.accounts",
        "google_ads.campaigns",
        "linkedin_ads.campaigns",
        "netsuite.invoice_lines",
    ):
        _loaded(conn, source, hours_ago=1)
    before = len(mailbox.list_messages(stack.profile.mail_dir))

    result = check_freshness(conn, load_contracts(), AlertSettings())

    assert result["stale"] == ["mart"]
    assert len(mailbox.list_messages(stack.profile.mail_dir)) == before
    assert "not sent: no on-call channel is configured" in caplog.text


# --- KPI threshold alerts ------------------------------------------------------------------


def _kpi_world(conn) -> None:
    conn.execute(
        sql.SQL("CREATE TABLE mart.kpi_values ({})").format(table_definition("kpi_values"))
    )


def _kpi(
    conn,
    name: str,
    period: date,
    value: str,
    status: str,
    *,
    prior: str | None,
    complete=True,
    final=None,
):
    """One overall row of a KPI as the KPI layer writes it (metadata from its contract)."""
    contract = load_contracts()[name]
    grain = contract.thresholds.period
    delta = None if prior is None else (Decimal(value) - Decimal(prior)) * 100 / Decimal(prior)
    conn.execute(
        "INSERT INTO mart.kpi_values VALUES (%s, %s, 'kpi', %s, %s, %s, %s, %s, 'overall', 'all', "
        "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            name,
            contract.label,
            contract.area,
            grain,
            period,
            complete,
            complete if final is None else final,
            Decimal(value),
            None if prior is None else Decimal(prior),
            delta,
            Decimal("1.5"),
            contract.format,
            contract.direction,
            status,
            contract.thresholds.green,
            contract.thresholds.yellow,
            contract.thresholds.red,
            contract.owner.kpi_owner,
            contract.owner.steward,
            contract.confidence.level,
            contract.action_on_breach.type,
            contract.action_on_breach.action,
        ),
    )


def test_a_kpi_turning_red_alerts_its_owner_once_per_red_spell(
    stack, smtp_env, ops_warehouse, webhook
):
    conn = ops_warehouse
    _kpi_world(conn)
    cmo = _address("cmo")
    settings = AlertSettings(owner_emails={"CMO": (cmo,)}, webhook_url=webhook.url)
    contracts = load_contracts()
    _kpi(conn, "roas", date(2026, 8, 1), "3.2", "green", prior=None)
    _kpi(conn, "roas", date(2026, 9, 1), "1.6", "yellow", prior="3.2")
    _kpi(conn, "roas", date(2026, 10, 1), "0.8", "red", prior="1.6")
    # November is complete but inside the contract's final_after_days: spend may be restated.
    _kpi(conn, "roas", date(2026, 11, 1), "0.4", "red", prior="0.8", final=False)
    _kpi(conn, "roas", date(2026, 12, 1), "3.5", "green", prior="0.4", complete=False)

    first = alert_kpi_owners(conn, contracts, format_value, settings)
    second = alert_kpi_owners(conn, contracts, format_value, settings)

    assert first["alerted"] == ["roas"] and second["alerted"] == []
    ((summary, body),) = _mail_to(stack, cmo)
    assert summary.subject == "[Revenue OS] Return on ad spend (ROAS) is red: 0.80x in October 2026"
    for expected in (
        "Period: October 2026",
        "Value: 0.80x",
        "Red when: < 1x",  # the threshold in the unit of the value
        "Change: -50.0 % vs the month before",  # (0.8 - 1.6) / 1.6
        "Prior: 1.60x",
        "August 2026 3.20x (green) → September 2026 1.60x (yellow) → October 2026 0.80x (red)",
        "reallocate: Head of Marketing Ops moves budget",
        # ROAS is on the Executive Performance dashboard's tiles: the alert links there.
        "Executive Performance dashboard: http://127.0.0.1:8088/superset/dashboard/"
        "executive-performance/",
    ):
        assert expected in " ".join(body.split()), expected

    # November becomes final, still red: the same spell, no repeat.
    conn.execute("UPDATE mart.kpi_values SET is_final = true WHERE period_start = '2026-11-01'")
    assert alert_kpi_owners(conn, contracts, format_value, settings)["alerted"] == []
    # December final and yellow closes the spell; January red again is a new one.
    conn.execute(
        "UPDATE mart.kpi_values SET (is_complete, is_final, value, status) = (true, true, 1.2, 'yellow') "
        "WHERE period_start = '2026-12-01'"
    )
    assert alert_kpi_owners(conn, contracts, format_value, settings)["cleared"] == ["roas"]
    _kpi(conn, "roas", date(2027, 1, 1), "0.5", "red", prior="1.2")
    assert alert_kpi_owners(conn, contracts, format_value, settings)["alerted"] == ["roas"]

    assert [s.subject for s, _ in _mail_to(stack, cmo)] == [
        "[Revenue OS] Return on ad spend (ROAS) is red: 0.80x in October 2026",
        "[Revenue OS] Return on ad spend (ROAS) is red: 0.50x in January 2027",
    ]
    assert webhook.posts == []  # on-call's channel: a red KPI is the owner's, by e-mail


def test_a_forward_looking_kpi_is_judged_on_the_period_in_progress(stack, smtp_env, ops_warehouse):
    """Pipeline coverage (judged_on: current): past quarters' coverage is zero by nature (their
    deals have closed), future quarters have little pipeline yet; only the current one counts."""
    conn = ops_warehouse
    _kpi_world(conn)
    sales = _address("head-of-sales")
    settings = AlertSettings(owner_emails={"Head of Sales": (sales,)})
    contracts = load_contracts()
    _kpi(conn, "pipeline_coverage", date(2026, 7, 1), "0", "red", prior=None)
    _kpi(conn, "pipeline_coverage", date(2026, 10, 1), "2.7", "yellow", prior=None, complete=False)
    _kpi(conn, "pipeline_coverage", date(2027, 1, 1), "0.7", "red", prior="2.7", complete=False)

    assert alert_kpi_owners(conn, contracts, format_value, settings)["red"] == []

    conn.execute(
        "UPDATE mart.kpi_values SET (value, status) = (1.5, 'red') WHERE period_start = '2026-10-01'"
    )
    assert alert_kpi_owners(conn, contracts, format_value, settings)["alerted"] == [
        "pipeline_coverage"
    ]
    assert [s.subject for s, _ in _mail_to(stack, sales)] == [
        "[Revenue OS] Pipeline coverage is red: 1.50x in Q4 2026"
    ]


def _signal(conn, rule: str, period: date, dimension_value: str, value, baseline, fired: bool):
    """One judgement of win rate's change rule, as the KPI layer writes it in kpi_signals."""
    contract = load_contracts()["win_rate"]
    (spec,) = [r for r in contract.rules if r.name == rule]
    change = (
        None if baseline is None else (Decimal(value) - Decimal(baseline)) * 100 / Decimal(baseline)
    )
    conn.execute(
        "INSERT INTO mart.kpi_signals VALUES ('win_rate', %s, %s, 'change', 'week', %s, %s, %s, "
        "%s, %s, %s, 'change <= -15 %%', 14, true, %s, true, false, 'Head of Sales', %s, %s, "
        "'percent')",
        (
            rule,
            spec.label,
            period,
            "overall" if dimension_value == "all" else "segment",
            dimension_value,
            Decimal(value),
            None if baseline is None else Decimal(baseline),
            change,
            fired,
            spec.action.type,
            spec.action.action,
        ),
    )
    # As the KPI layer marks them: each slice's latest judgement is the one the alerts read.
    conn.execute(
        "UPDATE mart.kpi_signals AS s SET is_latest = (s.period_start = (SELECT max(period_start) "
        "FROM mart.kpi_signals AS t WHERE t.rule_name = s.rule_name "
        "AND t.dimension_value = s.dimension_value))"
    )


def test_a_rule_firing_alerts_its_owner_once_per_spell_and_slice(stack, smtp_env, ops_warehouse):
    """Win rate down 15 % against its 8 weeks before, in SMB: one mail, none while it keeps
    firing, none for the total that never fired; a new spell after a week without it."""
    conn = ops_warehouse
    _kpi_world(conn)
    with conn.cursor() as cursor:
        create_kpi_table(cursor, "mart", "kpi_signals")
    sales = _address("head-of-sales")
    settings = AlertSettings(owner_emails={"Head of Sales": (sales,)})
    contracts = load_contracts()
    rule = "falling_against_8_weeks"
    _signal(conn, rule, date(2026, 11, 16), "smb", "20", "25", True)
    _signal(conn, rule, date(2026, 11, 16), "all", "24", "25", False)

    first = alert_kpi_owners(conn, contracts, format_value, settings)
    assert first["rules_fired"] == ["win_rate:falling_against_8_weeks:segment=smb"]
    assert first["rules_alerted"] == first["rules_fired"]
    ((summary, body),) = _mail_to(stack, sales)
    assert summary.subject == (
        "[Revenue OS] Win rate down 15 % or more against its 8 weeks before, segment SMB: "
        "20.0 % in Week of 16 Nov 2026"
    )
    text = " ".join(body.split())
    for expected in ("Window before: 25.0 %", "Change: -20.0 %", "Judged on: 14 deals"):
        assert expected in text, expected

    # The next week fires again in SMB: the same spell, nothing sent.
    _signal(conn, rule, date(2026, 11, 23), "smb", "19", "24", True)
    assert alert_kpi_owners(conn, contracts, format_value, settings)["rules_alerted"] == []
    # A week without it closes the spell; firing again after is news.
    _signal(conn, rule, date(2026, 11, 30), "smb", "26", "23", False)
    assert alert_kpi_owners(conn, contracts, format_value, settings)["rules_cleared"] == [
        "win_rate:falling_against_8_weeks:segment=smb"
    ]
    _signal(conn, rule, date(2026, 12, 7), "smb", "15", "24", True)
    assert alert_kpi_owners(conn, contracts, format_value, settings)["rules_alerted"] == [
        "win_rate:falling_against_8_weeks:segment=smb"
    ]
    assert len(_mail_to(stack, sales)) == 2


# --- a failed refresh under `airflow dags test`, and its recovery ---------------------------

# Everything before the dashboards is marked successful without running: the failure under
# test is the dashboards' import, and the mart is the one the demo published.
SKIPPED = "load_.*|build_.*|audit_mart|publish_mart"


def _dags_test(stack, airflow_client, logical_date: str, extra_env: dict[str, str]):
    env = {**stack.airflow_env(), **extra_env}
    return airflow_dags_test(
        airflow_client, REFRESH_DAG_ID, logical_date, env, "--mark-success-pattern", SKIPPED
    )


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the probe is: nothing listens


def test_a_failed_task_alerts_on_call_once_after_its_retries_then_recovers(
    stack, airflow_client, warehouse
):
    oncall = _address("oncall")
    alerting = {
        "REVENUE_OS_ONCALL_EMAILS": oncall,
        "REVENUE_OS_TASK_RETRIES": "2",
        "REVENUE_OS_RETRY_DELAY_SECONDS": "1",
    }
    closed = _closed_port()
    superset_down = f"http://admin:unused@127.0.0.1:{closed}"

    failed = _dags_test(
        stack, airflow_client, "2026-03-01", {**alerting, "AIRFLOW_CONN_SUPERSET": superset_down}
    )

    assert failed.returncode != 0, "the run should fail at publish_dashboards"
    output = failed.stdout + failed.stderr
    messages = _mail_to(stack, oncall)
    assert len(messages) == 1, output[-4000:]  # one alert, not one per try
    summary, body = messages[0]
    text = " ".join(body.split())
    assert summary.subject == (
        "[Revenue OS] revenue_refresh failed at publish_dashboards: Superset unreachable"
    )
    assert "Try: 3 of 3" in text  # the retries were spent before the alert
    # What was refused, where; what readers see meanwhile; what to do first.
    assert f"Refused: Superset at 127.0.0.1:{closed} refused or did not answer" in text
    assert "The new mart is already live" in text
    assert "First step: Connection refused / timeout: Superset is down." in text
    run_id = warehouse.execute(
        "SELECT details->>'Run' FROM ops.alert_spells WHERE alert_kind = 'refresh_failed' "
        "AND subject_key = %s AND cleared_at IS NULL",
        (REFRESH_DAG_ID,),
    ).fetchone()[0]
    assert f"Run: {run_id}" in text
    assert "ConnectError" in text or "onnection refused" in text
    assert (
        f"/dags/{REFRESH_DAG_ID}/runs/" in text and "tasks/publish_dashboards?try_number=3" in text
    )
    assert "docs/runbook.md, “Importing the dashboards failed”" in text and "file://" not in text

    green = _dags_test(stack, airflow_client, "2026-03-02", alerting)

    assert green.returncode == 0, (green.stdout + green.stderr)[-4000:]
    messages = _mail_to(stack, oncall)
    assert [s.subject for s, _ in messages] == [
        "[Revenue OS] revenue_refresh failed at publish_dashboards: Superset unreachable",
        "[Revenue OS] revenue_refresh recovered",
    ]
    recovery = " ".join(messages[1][1].split())
    assert (
        f"First failed run: {run_id}" in recovery
        and "First failed task: publish_dashboards" in recovery
    )
    assert warehouse.execute(
        "SELECT count(*) FROM ops.alert_spells WHERE alert_kind = 'refresh_failed' AND cleared_at IS NULL"
    ).fetchone() == (0,)
