"""On-call alerts for the refresh: a task that finally failed, and the run that recovered.

`task_failed` is every Revenue OS task's `on_failure_callback`: Airflow calls it once, after
the last retry (retries call `on_retry_callback`, which is not set), so on-call gets one alert
per failed task, not one per try. The failure also opens a `refresh_failed` spell for the DAG;
the next run that records its success closes it and sends the recovery notice.
"""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass
from typing import Any

from revenue_os.metrics.labels import label_of
from revenue_os.notifications import runbook, spells
from revenue_os.notifications.delivery import SMTP_CONN_ID, notify_oncall
from revenue_os.notifications.message import AlertMessage
from revenue_os.notifications.settings import AlertSettings
from revenue_os.orchestration.dashboards import SUPERSET_CONN_ID
from revenue_os.warehouse.connection import LOADER_CONN_ID

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
    ("send_weekly_preread", "the-weekly-pre-read-failed"),
)
DEFAULT_SECTION = "a-refresh-task-failed"


# What readers see while a task is failing, by the task id's prefix: before the publish the
# last good mart stays live; after it the numbers are current and something else is behind.
READERS_SEE = (
    (
        ("migrate_warehouse", "load_", "build_", "audit_mart"),
        "Nothing changed for readers: the dashboards still show the last published mart.",
    ),
    (
        ("publish_mart",),
        "The swap is one transaction: readers see either the new mart or the previous one "
        "(revenue-os mart builds says which), never a half-published one.",
    ),
    (
        ("publish_dashboards",),
        "The new mart is already live, so the dashboards show today's numbers; only changes "
        "to the dashboards' definitions (new or edited charts) are not in Superset yet.",
    ),
    (
        ("alert_kpi_owners",),
        "The mart and dashboards are current; the owners of KPIs that turned red have not been "
        "told yet.",
    ),
    (
        ("record_refresh_run",),
        "The mart and dashboards are current; only the run's record is missing.",
    ),
)

# The service a task talks to besides the warehouse: (name, Airflow connection id). A load
# task talks to its vendor, whose connection id is the vendor (load_<vendor>__<object>).
SERVICES = (
    ("publish_dashboards", ("Superset", SUPERSET_CONN_ID)),
    ("alert_kpi_owners", ("the SMTP server", SMTP_CONN_ID)),
    ("send_reporting_pack", ("the SMTP server", SMTP_CONN_ID)),
)
WAREHOUSE = ("the Postgres warehouse", LOADER_CONN_ID)
_UNREACHABLE = re.compile(
    r"connection refused|could not connect|connecterror|connecttimeout|timed out|"
    r"name or service not known|no route to host|connection reset",
    re.IGNORECASE,
)
_POSTGRES_ADDRESS = re.compile(r'at "([^"]+)", port (\d+)')
_URL_ADDRESS = re.compile(r"https?://([\w.\-]+|\[[0-9a-f:]+\]):(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Unreachable:
    service: str
    host: str | None
    port: int | None

    def __str__(self) -> str:
        where = f" at {self.host}:{self.port}" if self.host and self.port else ""
        return f"{self.service}{where} refused or did not answer the connection"


def readers_see(task_id: str) -> str:
    return next(
        (text for prefixes, text in READERS_SEE if task_id.startswith(prefixes)),
        "Nothing changed for readers: the dashboards still show the last published mart.",
    )


def unreachable_service(task_id: str, error_text: str, lookup: Any = None) -> Unreachable | None:
    """Which service a connection error was about, and its address: from the error when it
    says (Postgres does), else from the task's Airflow connection. None for other errors."""
    if not _UNREACHABLE.search(error_text):
        return None
    service, conn_id = _service_of(task_id)
    postgres = _POSTGRES_ADDRESS.search(error_text)
    if postgres:
        host, port = postgres.groups()
        return Unreachable(WAREHOUSE[0], host, int(port))
    address = _URL_ADDRESS.search(error_text)
    if address:
        return Unreachable(service, address.group(1), int(address.group(2)))
    host, port = (lookup or _connection_address)(conn_id)
    return Unreachable(service, host, port)


def _service_of(task_id: str) -> tuple[str, str]:
    if task_id.startswith("load_"):
        vendor = task_id.removeprefix("load_").split("__", 1)[0]
        return f"the {label_of('source', vendor)} API", vendor
    return next((found for prefix, found in SERVICES if task_id.startswith(prefix)), WAREHOUSE)


def _connection_address(conn_id: str) -> tuple[str | None, int | None]:
    try:
        from airflow.sdk import BaseHook

        connection = BaseHook.get_connection(conn_id)
    except Exception:
        return None, None
    return connection.host, connection.port


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
    lookup: Any = None,
    as_of: str | None = None,
) -> AlertMessage:
    tries = f"{try_number} of {max_tries}" if try_number and max_tries else str(try_number or "?")
    if type(error).__name__ == "AirflowFailException":
        tries += " (not retried: the same data fails the same way)"
    detail = error_summary(error)
    refused = unreachable_service(task_id, detail, lookup) if error is not None else None
    section = runbook_section(task_id)
    facts = [("DAG", dag_id), ("Task", task_id), ("Run", run_id), ("Try", tries)]
    if refused is not None:
        facts.append(("Refused", str(refused)))
    facts.append(("What readers see", readers_see(task_id)))
    if as_of:
        facts.append(("Published mart", as_of))
    facts += runbook.runbook_facts(section, settings.runbook_url)
    return AlertMessage(
        kind_label="Failed refresh",
        title=f"{dag_id} failed at {task_id}"
        + (f": {refused.service} unreachable" if refused is not None else ""),
        summary="The task failed after its retries: what readers see meanwhile and the first "
        "step are below.",
        facts=facts,
        detail=detail,
        links=[("Task log", log_url), *settings.runbook_links(section)],
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
        as_of=_published_as_of(),
    )
    # notify_oncall logs a channel's failure; the spell below is recorded regardless.
    with contextlib.suppress(Exception):
        notify_oncall(message, settings)
    try:
        _open_refresh_spell(ti.dag_id, ti.task_id, message.facts, settings.oncall_emails)
    except Exception:
        log.exception("could not record the failed run in ops.alert_spells")


def _published_as_of() -> str | None:
    """The published mart's calendar line, or None when the warehouse cannot say (it may be
    the very thing that is down)."""
    try:
        from revenue_os.metrics.scorecard import as_of_line
        from revenue_os.warehouse.connection import connect, warehouse_uri

        with connect(warehouse_uri(LOADER_CONN_ID), connect_timeout=5) as conn:
            return as_of_line(conn)
    except Exception:
        log.info("the published mart's calendar could not be read for the alert")
        return None


def _max_tries(ti: Any) -> int | None:
    retries = getattr(getattr(ti, "task", None), "retries", None)
    return retries + 1 if isinstance(retries, int) else None


def _open_refresh_spell(dag_id: str, task_id: str, facts, recipients) -> None:
    from revenue_os.warehouse.connection import connect, warehouse_uri

    with connect(warehouse_uri(LOADER_CONN_ID)) as conn:
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
            *settings.runbook_links("recovered"),
        ],
        tone="resolved",
    )
    return notify_oncall(message, settings)
