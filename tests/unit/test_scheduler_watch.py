"""The scheduler watch decides from the health endpoint's real answers and mails through SMTP.

A real HTTP server on loopback plays Airflow's API server (its health JSON, scripted answer by
answer); the project's own mail store, served by aiosmtpd on loopback, is on-call's mailbox.
Heartbeats are scripted relative to now, so "down for 2 minutes" and "down for 6 minutes" need
no clock of the test's own.
"""

from __future__ import annotations

import json
import re
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from revenue_os.cli import build_parser, main
from revenue_os.notifications import mailbox
from revenue_os.notifications.runbook import section
from revenue_os.notifications.scheduler_watch import (
    HEALTH_PATH,
    RUNBOOK_SECTION,
    OperatorHints,
    SchedulerWatch,
    read_health,
    read_status,
    status_line,
)
from revenue_os.notifications.settings import AlertSettings
from revenue_os_stack import scheduler_watch_service
from revenue_os_stack.airflow_services import TASK_HEARTBEAT_TIMEOUT_S, airflow_env
from revenue_os_stack.mail_server import MailStore, smtp_connection_uri
from revenue_os_stack.profile import load_profile
from revenue_os_stack.secret_store import SECRET_GENERATORS
from revenue_os_stack.stack import Stack
from tests.unit.scripted_server import ScriptedServer

ONCALL = "oncall@watch.example"
HINTS = OperatorHints(
    scheduler_log="/srv/revenue-os/logs/airflow-scheduler.log",
    restart="revenue-os demo --no-refresh",
)
FIVE_MINUTES = timedelta(minutes=5)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def health(status: str, heartbeat_ago: timedelta | None, database: str = "healthy") -> dict:
    """Airflow's /api/v2/monitor/health body, as its api-server writes it."""
    beat = (datetime.now(UTC) - heartbeat_ago).isoformat() if heartbeat_ago is not None else None
    return {
        "metadatabase": {"status": database},
        "scheduler": {"status": status, "latest_scheduler_heartbeat": beat},
        "triggerer": {"status": None, "latest_triggerer_heartbeat": None},
        "dag_processor": {"status": "healthy", "latest_dag_processor_heartbeat": beat},
    }


HEALTHY = (200, {}, health("healthy", timedelta(seconds=3)))


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory):
    """The project's mail store behind a real SMTP server on loopback, for the whole module."""
    from aiosmtpd.controller import Controller

    folder = tmp_path_factory.mktemp("mail")
    port = free_port()
    controller = Controller(
        MailStore(folder, echo=lambda *args, **kwargs: None), hostname="127.0.0.1", port=port
    )
    controller.start()
    folder.joinpath(".port").write_text(str(port))
    yield folder
    controller.stop()


@pytest.fixture
def smtp(mail_dir, monkeypatch):
    """Airflow's smtp_default pointing at the module's server, as the stack sets it."""
    port = int(mail_dir.joinpath(".port").read_text())
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection_uri(port))
    return mail_dir


@pytest.fixture
def api():
    server = ScriptedServer()
    yield server
    server.close()


def mail_to(mail_dir: Path, address: str) -> list[tuple[str, str]]:
    """(subject, text) of every message delivered to `address`, oldest first."""
    return [
        (summary.subject, mailbox.body_text(mailbox.read_message(summary.path)))
        for summary in mailbox.list_messages(mail_dir)
        if address in summary.recipients
    ]


def watch_for(
    url: str, oncall: str, tmp_path: Path, down_after: timedelta = FIVE_MINUTES
) -> SchedulerWatch:
    settings = AlertSettings(oncall_emails=(oncall,), airflow_url="http://airflow.example:8080")
    return SchedulerWatch(
        url,
        down_after=down_after,
        settings=settings,
        hints=HINTS,
        status_file=tmp_path / "scheduler-watch.json",
    )


def test_a_healthy_scheduler_sends_nothing(api, smtp, tmp_path):
    oncall = "healthy-" + ONCALL
    api.script(HEALTH_PATH, HEALTHY)
    watch = watch_for(api.url, oncall, tmp_path)
    try:
        readings = [watch.check() for _ in range(3)]
    finally:
        watch.close()
    assert all(reading.scheduler_healthy for reading in readings)
    assert api.hits[HEALTH_PATH] == 3
    assert mail_to(smtp, oncall) == []
    assert read_status(tmp_path / "scheduler-watch.json")["scheduler"] == "healthy"


def test_one_alert_per_outage_past_the_threshold_then_one_recovery(api, smtp, tmp_path):
    oncall = "outage-" + ONCALL
    api.script(
        HEALTH_PATH,
        HEALTHY,
        (200, {}, health("unhealthy", timedelta(minutes=2))),  # down, not for long enough
        (200, {}, health("unhealthy", timedelta(minutes=6))),  # past the 5 minutes: alert
        (200, {}, health("unhealthy", timedelta(minutes=7))),  # still down: no second alert
        HEALTHY,  # back: the recovery notice
        HEALTHY,  # and nothing after it
    )
    watch = watch_for(api.url, oncall, tmp_path)
    sent_after_each_check = []
    try:
        for _ in range(6):
            watch.check()
            sent_after_each_check.append(len(mail_to(smtp, oncall)))
    finally:
        watch.close()

    assert sent_after_each_check == [0, 0, 1, 1, 2, 2]
    (alert_subject, alert), (back_subject, back) = mail_to(smtp, oncall)
    assert alert_subject == "[Revenue OS] Airflow scheduler down: no heartbeat for 6 min"
    assert "Airflow says: scheduler unhealthy; metadata database healthy" in alert
    assert re.search(r"Last heartbeat: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(6 min ago\)", alert)
    # What it means for the data, where to look and how to restart, the runbook's first step.
    assert "no freshness watchdog" in alert and "last published mart" in alert
    assert f"Scheduler log: {HINTS.scheduler_log}" in alert
    assert f"Restart it: {HINTS.restart}" in alert
    assert f"First step: {section(RUNBOOK_SECTION).first_step}" in alert
    assert "Airflow UI: http://airflow.example:8080\n" in alert  # as readers open it
    assert back_subject == "[Revenue OS] Airflow scheduler is back"
    assert re.search(r"Down for: [67] min", back)
    assert "latest missed run of each DAG" in back


def test_a_restart_shorter_than_the_threshold_sends_nothing(api, smtp, tmp_path):
    oncall = "blip-" + ONCALL
    api.script(
        HEALTH_PATH,
        (200, {}, health("unhealthy", timedelta(seconds=40))),
        (200, {}, health("unhealthy", timedelta(minutes=1))),
        HEALTHY,
    )
    watch = watch_for(api.url, oncall, tmp_path)
    try:
        states = [watch.check().scheduler_healthy for _ in range(3)]
    finally:
        watch.close()
    assert states == [False, False, True]
    assert mail_to(smtp, oncall) == []  # neither an alert nor a recovery of one never sent


def test_an_api_server_that_does_not_answer_is_an_outage_too(api, smtp, tmp_path):
    oncall = "api-" + ONCALL
    api.script(HEALTH_PATH, (503, {}, {"detail": "starting"}), (503, {}, {}), HEALTHY)
    watch = watch_for(api.url, oncall, tmp_path, down_after=timedelta(seconds=1))
    try:
        first = watch.check()
        assert mail_to(smtp, oncall) == []  # just found down: no heartbeat says since when
        time.sleep(1.2)
        watch.check()
        assert read_status(tmp_path / "scheduler-watch.json")["alerted"] is True
        watch.check()
    finally:
        watch.close()
    assert first.error == "HTTP 503"
    (alert_subject, alert), (back_subject, _) = mail_to(smtp, oncall)
    assert alert_subject.startswith("[Revenue OS] Airflow API server not answering for")
    assert f"Health check: {api.url}{HEALTH_PATH}: HTTP 503" in alert
    assert "Last heartbeat: none known to this watch" in alert
    assert back_subject == "[Revenue OS] Airflow scheduler is back"


def test_an_alert_the_mail_server_refused_is_sent_at_the_next_check(
    api, smtp, tmp_path, monkeypatch
):
    oncall = "retry-" + ONCALL
    api.script(HEALTH_PATH, (200, {}, health("unhealthy", timedelta(minutes=9))))
    watch = watch_for(api.url, oncall, tmp_path)
    working = smtp_connection_uri(int(smtp.joinpath(".port").read_text()))
    try:
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp_connection_uri(free_port()))
        watch.check()  # nothing listens there: not sent, and not counted as sent
        assert mail_to(smtp, oncall) == []
        assert read_status(tmp_path / "scheduler-watch.json")["alerted"] is False
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", working)
        watch.check()
        watch.check()
    finally:
        watch.close()
    assert [subject for subject, _ in mail_to(smtp, oncall)] == [
        "[Revenue OS] Airflow scheduler down: no heartbeat for 9 min"
    ]


def test_no_answer_at_all_is_read_as_a_reading_not_an_exception():
    reading = read_health_from(f"http://127.0.0.1:{free_port()}")
    assert not reading.scheduler_healthy
    assert reading.error.startswith("ConnectError")
    assert reading.verdict().startswith("the API server did not answer")


def read_health_from(url: str):
    import httpx

    with httpx.Client(timeout=5) as http:
        return read_health(http, url)


def test_once_exits_by_the_schedulers_health_and_sends_nothing(api, capsys):
    api.script(HEALTH_PATH, HEALTHY, (200, {}, health("unhealthy", timedelta(minutes=30))))
    assert main(["--profile", "bench", "watch-scheduler", "--once", "--api-url", api.url]) == 0
    assert "scheduler healthy" in capsys.readouterr().out
    assert main(["--profile", "bench", "watch-scheduler", "--once", "--api-url", api.url]) == 1
    assert "scheduler unhealthy, latest heartbeat" in capsys.readouterr().out


def test_status_says_since_when_it_is_down_and_whether_on_call_knows():
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    healthy = {"checked_at": (now - timedelta(seconds=12)).isoformat(), "scheduler": "healthy"}
    assert status_line(healthy, now) == "scheduler healthy (checked 12 s ago)"
    down = {
        "checked_at": now.isoformat(),
        "scheduler": "unhealthy",
        "down_since": (now - timedelta(minutes=8)).isoformat(),
        "alerted": True,
    }
    assert status_line(down, now) == (
        "scheduler unhealthy since 2026-03-01 11:52:00 UTC, on-call alerted (checked 0 s ago)"
    )
    assert status_line(None) == "no check yet"


def test_the_stack_runs_the_watch_last_with_airflows_alert_settings(monkeypatch):
    monkeypatch.delenv("REVENUE_OS_SCHEDULER_DOWN_AFTER_S", raising=False)
    monkeypatch.delenv("REVENUE_OS_SCHEDULER_WATCH_INTERVAL_S", raising=False)
    profile = load_profile("test")
    (service,) = scheduler_watch_service.services(profile)
    assert service.name == "scheduler-watch"
    assert service.argv[1:] == [
        "--profile",
        "test",
        "watch-scheduler",
        "--api-url",
        profile.airflow_url,
        "--down-after",
        "20",  # the test profile's short threshold, for the integration test
        "--interval",
        "3",
        "--status-file",
        str(profile.watch_dir / "scheduler-watch.json"),
    ]
    assert service.log_file == profile.log_dir / "scheduler-watch.log"
    demo = scheduler_watch_service.services(load_profile("demo"))[0].argv
    assert demo[demo.index("--down-after") + 1] == "300"
    monkeypatch.setenv("REVENUE_OS_SCHEDULER_DOWN_AFTER_S", "600")
    assert scheduler_watch_service.down_after_s(load_profile("demo")) == 600
    # Last in the list: `down` stops services in reverse, so the watch goes before the scheduler.
    names = [service.name for service in Stack(load_profile("bench")).services()]
    assert names[-1] == "scheduler-watch" and "airflow-scheduler" in names


def test_a_dead_task_is_failed_after_two_minutes_not_airflows_five():
    from airflow.configuration import conf

    # The option exists under that name in the installed Airflow, with its default of 300 s.
    assert conf.get_default_value("scheduler", "task_instance_heartbeat_timeout") == "300"
    env = airflow_env(load_profile("bench"), dict.fromkeys(SECRET_GENERATORS, "unused"))
    assert env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"] == "120"
    assert TASK_HEARTBEAT_TIMEOUT_S == 120


def test_the_runbook_has_the_section_the_alert_quotes():
    found = section(RUNBOOK_SECTION)
    assert found is not None and found.title == "The Airflow scheduler is down"
    assert "revenue-os status" in found.first_step


def test_watch_scheduler_explains_itself():
    text = build_parser().format_help()
    line = next(line for line in text.splitlines() if line.strip().startswith("watch-scheduler"))
    assert len(line.split()) > 3, "watch-scheduler has no explanation in --help"
    args = build_parser().parse_args(["watch-scheduler", "--once", "--down-after", "60"])
    assert (args.once, args.down_after, args.interval) == (True, 60.0, None)


def test_the_status_file_is_json_a_reader_can_parse(api, smtp, tmp_path):
    api.script(HEALTH_PATH, (200, {}, health("unhealthy", None, database="unhealthy")))
    watch = watch_for(api.url, "status-" + ONCALL, tmp_path)
    try:
        watch.check()
    finally:
        watch.close()
    status = json.loads((tmp_path / "scheduler-watch.json").read_text())
    assert status["scheduler"] == "unhealthy" and status["latest_heartbeat"] is None
    assert status["down_since"] == status["checked_at"]  # no heartbeat: since first found down
    assert list(tmp_path.glob(".scheduler-watch.*")) == []  # no temporary file left behind
