"""The callables behind the refresh DAG's tasks, testable without a scheduler."""

from __future__ import annotations

import logging
from datetime import datetime

from revenue_os.warehouse.connection import connect, warehouse_uri
from revenue_os.warehouse.migrations import migrate
from revenue_os.warehouse.refresh_runs import RefreshRun, record_success

log = logging.getLogger(__name__)


def migrate_warehouse(conn_id: str = "warehouse") -> list[str]:
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
    conn_id: str = "warehouse",
) -> int:
    """Record the run in ops.refresh_runs; return the warehouse schema version."""
    run = RefreshRun(run_id, dag_id, run_type, logical_date, started_at, migrations_applied)
    with connect(warehouse_uri(conn_id)) as conn:
        version = record_success(conn, run)
    log.info("recorded run %s in ops.refresh_runs (schema version %d)", run_id, version)
    return version
