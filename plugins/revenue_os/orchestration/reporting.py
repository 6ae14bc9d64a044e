"""The callables behind the monthly reporting pack and weekly pre-read DAGs, testable
without a scheduler.

The run on the 8th covers the month just closed, the Monday run the week just ended: the start
of their data interval. The files go to the export folder's packs/ (REVENUE_OS_EXPORT_DIR),
next to the dashboards bundle.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from pathlib import Path

from revenue_os.orchestration.dashboards import export_dir
from revenue_os.warehouse.connection import LOADER_CONN_ID, connect, warehouse_uri

log = logging.getLogger(__name__)


def pack_dir() -> Path:
    return export_dir() / "packs"


def month_of(interval_start: datetime | date) -> date:
    """The month a run reports on: the month its data interval starts in."""
    return date(interval_start.year, interval_start.month, 1)


def freeze_kpi_snapshot(interval_start: datetime | date) -> dict:
    """Freeze the month's KPI values from the published mart (kept if already frozen), or
    those of the mart's latest complete month when its data stops before the month ends: a
    month frozen half-loaded would stay frozen once its data arrives."""
    from revenue_os.reporting.snapshot import freeze_month, month_the_data_covers

    requested = month_of(interval_start)
    with connect(warehouse_uri(LOADER_CONN_ID)) as conn:
        month = month_the_data_covers(conn, requested)
        result = freeze_month(conn, month)
    log.info(result.summary())
    return {
        "month": month.isoformat(),
        "requested_month": requested.isoformat(),
        "build_id": str(result.build_id) if result.build_id else None,
        "rows": result.rows,
        "kept": result.kept,
    }


def send_reporting_pack(month: str, output_dir: Path | None = None) -> dict:
    """Write the month's pack (HTML and PDF) and e-mail it to the pack's recipients; the
    latest complete month's, saying so, when the data stops before `month` ends.

    A pack with no recipients or no SMTP connection configured is written, logged as not
    sent, and the task succeeds: distribution is configuration, not a failure of the run.
    """
    from revenue_os.reporting.deliver import build_pack

    with connect(warehouse_uri(LOADER_CONN_ID)) as conn:
        result = build_pack(
            conn,
            date.fromisoformat(month),
            output_dir or pack_dir(),
            send=True,
            or_latest_complete=True,
        )
    log.info(
        "%s: %s (%s, %s)", result.subject, result.delivery.detail, result.html_path, result.pdf_path
    )
    return result.as_dict()


def week_of(interval_start: datetime | date) -> date:
    """The week a weekly run reports on: the Monday of the week its data interval starts in."""
    from revenue_os.metrics.periods import period_start

    return period_start("week", date(interval_start.year, interval_start.month, interval_start.day))


def send_weekly_preread(interval_start: datetime | date, output_dir: Path | None = None) -> dict:
    """Freeze the week (kept if already frozen), write its pre-read and e-mail it to the
    weekly forum's recipients; a pre-read with nowhere to go is written and logged as not
    sent, and the task succeeds (distribution is configuration, not a failure of the run)."""
    from revenue_os.reporting.deliver import build_preread

    week = week_of(interval_start)
    with connect(warehouse_uri(LOADER_CONN_ID)) as conn:
        result = build_preread(
            conn, week, output_dir or pack_dir(), send=True, or_latest_complete=True
        )
    log.info(result.snapshot.summary())
    log.info(
        "%s: %s (%s, %s)", result.subject, result.delivery.detail, result.html_path, result.pdf_path
    )
    return result.as_dict()
