"""A stopped scheduler is noticed from outside Airflow, on the real stack.

The test profile's scheduler watch (the `scheduler-watch` service `make demo` started) alerts
after 20 s down and polls every 3 s (revenue_os_stack.scheduler_watch_service), so the
outage below lasts about a minute. The scheduler is started again whatever happens, with the
very configuration `make demo` gave it, so later tests find the stack as it was.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from revenue_os.notifications import mailbox
from revenue_os.paths import PROJECT_ROOT
from revenue_os_stack import scheduler_watch_service
from revenue_os_stack.airflow_services import LOCAL_MAIL_SETTINGS
from revenue_os_stack.processes import wait_until
from revenue_os_stack.service_user import service_user
from revenue_os_stack.stack import OPERATIONS_DAG_IDS, REFRESH_DAG_ID

ONCALL = LOCAL_MAIL_SETTINGS["REVENUE_OS_ONCALL_EMAILS"]
ALERT = "[Revenue OS] Airflow scheduler down: no heartbeat for "
BACK = "[Revenue OS] Airflow scheduler is back"


def scheduler_mail(stack, since: datetime) -> list[tuple[str, str]]:
    """(subject, text) of the watch's messages to on-call received since `since`."""
    return [
        (summary.subject, mailbox.body_text(mailbox.read_message(summary.path)))
        for summary in mailbox.list_messages(stack.profile.mail_dir)
        if summary.received
        and summary.received >= since
        and ONCALL in summary.recipients
        and summary.subject.startswith(
            ("[Revenue OS] Airflow scheduler", "[Revenue OS] Airflow API")
        )
    ]


def no_run_in_progress(airflow_client) -> bool:
    """Stopping the scheduler kills the tasks it runs: wait for a quiet moment first."""
    for dag_id in (REFRESH_DAG_ID, *OPERATIONS_DAG_IDS):
        runs = airflow_client.dag_runs(dag_id, limit=1)
        if runs and runs[0]["state"] in ("queued", "running"):
            return False
    return True


def test_a_stopped_scheduler_is_alerted_once_and_its_return_announced(
    stack, airflow_client, warehouse
):
    services = {service.name: service for service in stack.services()}
    scheduler, watch = services["airflow-scheduler"], services["scheduler-watch"]
    assert scheduler.pid() and watch.pid(), "make demo starts the scheduler and its watch"
    configurations = {s.name: s.config_file.read_text() for s in (scheduler, watch)}
    down_after = scheduler_watch_service.down_after_s(stack.profile)
    interval = scheduler_watch_service.interval_s(stack.profile)
    # Restarted as `demo` starts them: as the service user when the suite runs as root.
    user = service_user(create=False)
    env = user.env(stack.airflow_env(), stack.profile.service_home) if user else stack.airflow_env()
    wait_until(
        lambda: no_run_in_progress(airflow_client), timeout=300, what="no DAG run in progress"
    )

    stopped_at = datetime.now(UTC)
    try:
        assert scheduler.stop()
        wait_until(
            lambda: scheduler_mail(stack, stopped_at),
            timeout=down_after + 60,
            interval=1,
            what=f"the scheduler-down mail in {stack.profile.mail_dir}",
        )
        alerted_after = (datetime.now(UTC) - stopped_at).total_seconds()

        # A watch restarted during the outage finds the spell its predecessor opened in
        # ops.alert_spells: it neither alerts again nor forgets to announce the recovery.
        assert watch.stop()
        restarted_at = datetime.now(UTC)
        watch.start(env, PROJECT_ROOT, user)
        two_checks_later = restarted_at + timedelta(seconds=2 * interval)
        wait_until(
            lambda: scheduler_watch_service.checked_since(stack.profile, two_checks_later),
            timeout=60,
            what="two checks of the restarted watch",
        )
        after_restart = scheduler_watch_service.latest_check(stack.profile)
        assert after_restart["scheduler"] != "healthy" and after_restart["alerted"] is True
        assert len(scheduler_mail(stack, stopped_at)) == 1
    finally:
        if scheduler.pid() is None:
            scheduler.start(env, PROJECT_ROOT, user)
        if watch.pid() is None:
            watch.start(env, PROJECT_ROOT, user)

    wait_until(
        lambda: airflow_client.health()["scheduler"]["status"] == "healthy",
        timeout=180,
        what="the restarted scheduler's heartbeat",
    )
    wait_until(
        lambda: len(scheduler_mail(stack, stopped_at)) >= 2,
        timeout=interval + 30,
        what="the scheduler-is-back mail",
    )
    time.sleep(2 * interval)  # long enough for a duplicate to show up, were one sent

    (alert_subject, alert), (back_subject, back) = scheduler_mail(stack, stopped_at)
    assert alert_subject.startswith(ALERT)
    assert alerted_after < down_after + 30, "the alert came long after the threshold"
    profile = stack.profile
    assert "Airflow says: scheduler unhealthy; metadata database healthy" in alert
    assert "Last heartbeat: " in alert and "none known" not in alert
    assert f"Scheduler log: {profile.log_dir / 'airflow-scheduler.log'}" in alert
    assert f"Restart it: revenue-os --profile {profile.name} demo --no-refresh" in alert
    assert "First step: revenue-os status" in alert
    assert f"Airflow UI: {profile.airflow_url}\n" in alert
    assert back_subject == BACK and "Down since: " in back

    spells = warehouse.execute(
        "SELECT cleared_at IS NOT NULL, details ? 'down_since' FROM ops.alert_spells "
        "WHERE alert_kind = 'scheduler_down' AND opened_at >= %s",
        (stopped_at,),
    ).fetchall()
    assert spells == [(True, True)]
    # Left as found: the same configuration (no restart at the next `make demo`), and healthy.
    assert {s.name: s.config_file.read_text() for s in (scheduler, watch)} == configurations
    assert stack.status()["scheduler_watch"]["scheduler"] == "healthy"
