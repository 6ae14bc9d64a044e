"""ops.refresh_runs: one row per refresh DAG run, the warehouse's own record of what ran.

Airflow's metadata database says what Airflow did; this table says what the warehouse received,
and it survives an Airflow reinstall. Written last in a run, so a row means the run got there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg


@dataclass(frozen=True)
class RefreshRun:
    run_id: str
    dag_id: str
    run_type: str
    logical_date: datetime | None
    started_at: datetime
    migrations_applied: int


def record_success(conn: psycopg.Connection, run: RefreshRun) -> int:
    """Upsert the run as succeeded; return the warehouse's schema version afterwards."""
    with conn.transaction():
        schema_version = conn.execute(
            "SELECT coalesce(max(version), 0) FROM ops.schema_migrations"
        ).fetchone()[0]
        conn.execute(
            """
            INSERT INTO ops.refresh_runs (run_id, dag_id, run_type, logical_date, started_at,
                                          finished_at, state, migrations_applied, schema_version)
            VALUES (%s, %s, %s, %s, %s, now(), 'success', %s, %s)
            ON CONFLICT (run_id) DO UPDATE SET
                finished_at = excluded.finished_at,
                state = excluded.state,
                migrations_applied = excluded.migrations_applied,
                schema_version = excluded.schema_version
            """,
            (
                run.run_id,
                run.dag_id,
                run.run_type,
                run.logical_date,
                run.started_at,
                run.migrations_applied,
                schema_version,
            ),
        )
    return schema_version
