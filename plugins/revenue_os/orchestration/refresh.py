"""The callables behind the refresh DAG's tasks, testable without a scheduler."""

from __future__ import annotations

import logging
from datetime import date, datetime

from revenue_os.warehouse.connection import (
    LOADER_CONN_ID,
    OWNER_CONN_ID,
    connect,
    warehouse_uri,
)
from revenue_os.warehouse.migrations import migrate
from revenue_os.warehouse.refresh_runs import RefreshRun, record_success

log = logging.getLogger(__name__)


def migrate_warehouse(conn_id: str = OWNER_CONN_ID) -> list[str]:
    """Apply pending warehouse migrations; return the names of those applied now."""
    with connect(warehouse_uri(conn_id)) as conn:
        applied = migrate(conn)
    names = [f"{m.version:04d}_{m.name}" for m in applied]
    log.info("applied %d migration(s): %s", len(names), ", ".join(names) or "none pending")
    return names


def record_refresh_run(
    *,
    run_id: str,
    dag_id: str,
    run_type: str,
    logical_date: datetime | None,
    started_at: datetime,
    migrations_applied: int,
    conn_id: str = LOADER_CONN_ID,
) -> int:
    """Record the run in ops.refresh_runs; return the warehouse schema version.

    The last task of a green run, so it also ends an open failure spell and sends on-call the
    recovery notice (in one transaction: a notice that could not be sent keeps the spell open).
    """
    from revenue_os.notifications.refresh_alerts import notify_recovery

    run = RefreshRun(run_id, dag_id, run_type, logical_date, started_at, migrations_applied)
    with connect(warehouse_uri(conn_id)) as conn:
        version = record_success(conn, run)
        with conn.transaction():
            if notify_recovery(dag_id, run_id, conn):
                log.info("%s recovered: on-call notified", dag_id)
    log.info("recorded run %s in ops.refresh_runs (schema version %d)", run_id, version)
    return version


def extract_load_object(object_name: str, params: dict | None = None) -> dict:
    """Extract one source object through its Airflow connection and load it into raw.

    `params` are the DAG run's: mode (incremental | full | backfill) and, for a backfill,
    start and end dates (ISO). Returns the load's figures for XCom and the run summary.
    """
    from revenue_os.connectors.base import connection_from_airflow
    from revenue_os.orchestration.extract_load import Request, extract_load

    params = params or {}
    request = Request(
        mode=params.get("mode") or "incremental",
        start=date.fromisoformat(params["start"]) if params.get("start") else None,
        end=date.fromisoformat(params["end"]) if params.get("end") else None,
    )
    vendor = object_name.split(".", 1)[0]
    result = extract_load(
        object_name, warehouse_uri(LOADER_CONN_ID), connection_from_airflow(vendor), request
    )
    return {
        "object": object_name,
        "batch_id": str(result.batch_id),
        "extracted": result.extracted,
        "inserted": result.inserted,
        "updated": result.updated,
        "deleted": result.deleted,
        "unchanged": result.unchanged,
        "quarantined": result.quarantined,
        "watermark": result.watermark.isoformat() if result.watermark else None,
    }
