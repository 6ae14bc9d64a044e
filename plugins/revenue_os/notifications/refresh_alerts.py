"""On-call alerts for the refresh: a task that finally failed, and the run that recovered.

`task_failed` is every Revenue OS task's `on_failure_callback`: Airflow calls it once, after
the last retry (retries call `on_retry_callback`, which is not set), so on-call gets one alert
per failed task, not one per try. The failure also opens a `refresh_failed` spell for the DAG;
the next run that records its success closes it and sends the recovery notice.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from revenue_os.notifications import spells
from revenue_os.notifications.delivery import notify_oncall
from revenue_os.notifications.message import AlertMessage
from revenue_os.notifications.settings import AlertSettings

log = logging.getLogger(__name__)

REFRESH_FAILED = "refresh_failed"
ERROR_LINES, ERROR_CHARS = 12, 1500

# The runbook section for a failed task, by the task id's prefix (docs/runbook.md headings).
RUNBOOK_SECTIONS = (
    ("load_", "a-source-load-failed"),
    ("build_", "a-mart-build-failed"),
    ("audit_mart", "the-audit-or-quality-gate-blocked-the-publish"),
    ("publish_mart", "publishing-the-mart-failed"),
    ("publish_dashboards", "importing-the-dashboards-failed"),
    ("alert_kpi_owners", "kpi-alerts-could-not-be-sent"),
    ("check_freshness", "the-freshness-watchdog-failed"),
    ("migrate_warehouse", "a-warehouse-migration-failed"),
    ("freeze_kpi_snapshot", "the-monthly-reporting-pack-failed"),
    ("send_reporting_pack", "the-monthly-reporting-pack-failed"),
)
DEFAULT_SECTION = "a-refresh-task-failed"


def runbook_section(task_id: str) -> str:
    return next(
        (s for prefix, s in RUNBOOK_SECTIONS if task_id.startswith(prefix)), DEFAULT_SECTION
    )


def error_summary(error: BaseException | str | None) -> str:
    """The error's type and its first lines: enough to triage, short enough for a chat post."""
    if error is None:
        return "no exception was recorded (the task may have been killed or timed out)"
    text = str(error) if isinstance(error, str) else f"{type(error).__name__}: {error}"
    lines = text.strip().splitlines()
    summary = "\n".join(lines[:ERROR_LINES]) + ("\n..." if len(lines) > ERROR_LINES else "")
    return summary if len(summary) <= ERROR_CHARS else summary[: ERROR_CHARS - 3] + "..."


def failure_message(
    *,
    dag_id: str,
    task_id: str,
    run_id: str,
    try_number: int | None,
    max_tries: int | None,
    error: BaseException | str | None,
    log_url: str,
    settings: AlertSettings,
) -> AlertMessage:
    tries = f"{try_number} of {max_tries}" if try_number and max_tries else str(try_number or "?")
    return AlertMessage(
        kind_label="Failed refresh",
        title=f"{dag_id} failed at {task_id}",
        summary=(
            "The task failed after its retries. The published mart and dashboards still show "
            "the last good refresh until a run succeeds."
        ),
        facts=[("DAG", dag_id), ("Task", task_id), ("Run", run_id), ("Try", tries)],
        detail=error_summary(error),
        links=[
            ("Task log", log_url),
            ("Runbook", settings.runbook_link(runbook_section(task_id))),
        ],
    )


def task_failed(context: dict[str, Any]) -> None:
    """on_failure_callback: alert on-call once for a task that failed after its retries.

    Never raises: Airflow would only log it, and the spell bookkeeping must not stop the alert.
    """
    ti = context["ti"]
    settings = AlertSettings.from_env()
    message = failure_message(
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        run_id=context.get("run_id") or ti.run_id,
        try_number=getattr(ti, "try_number", None),
        max_tries=_max_tries(ti),
        error=context.get("exception"),
        log_url=ti.log_url,
        settings=settings,
    )
    # notify_oncall logs a channel's failure; the spell below is recorded regardless.
    with contextlib.suppress(Exception):
        notify_oncall(message, settings)
    try:
        _open_refresh_spell(ti.dag_id, ti.task_id, message.facts, settings.oncall_emails)
    except Exception:
        log.exception("could not record the failed run in ops.alert_spells")


def _max_tries(ti: Any) -> int | None:
    retries = getattr(getattr(ti, "task", None), "retries", None)
    return retries + 1 if isinstance(retries, int) else None


def _open_refresh_spell(dag_id: str, task_id: str, facts, recipients) -> None:
    from revenue_os.warehouse.connection import connect, warehouse_uri

    with connect(warehouse_uri()) as conn:
        spells.open_spell(
            conn, REFRESH_FAILED, dag_id, {**dict(facts), "first_failed_task": task_id}, recipients
        )


def notify_recovery(dag_id: str, run_id: str, conn, settings: AlertSettings | None = None) -> bool:
    """After a successful run: close the DAG's failure spell; announce it if one was open."""
    settings = settings or AlertSettings.from_env()
    cleared = spells.clear_spells(conn, REFRESH_FAILED, [dag_id])
    if not cleared:
        return False
    spell = cleared[0]
    message = AlertMessage(
        kind_label="Recovered",
        title=f"{dag_id} recovered",
        summary=(
            "The refresh succeeded again: the mart and the dashboards are up to date. "
            "No action needed."
        ),
        facts=[
            ("DAG", dag_id),
            ("Recovering run", run_id),
            ("Failing since", f"{spell.opened_at:%Y-%m-%d %H:%M} UTC"),
            ("First failed run", str(spell.details.get("Run", "?"))),
            ("First failed task", str(spell.details.get("first_failed_task", "?"))),
        ],
        links=[
            ("Run", f"{settings.airflow_url}/dags/{dag_id}/runs/{run_id}"),
            ("Runbook", settings.runbook_link("recovered")),
        ],
        tone="resolved",
    )
    return notify_oncall(message, settings)
