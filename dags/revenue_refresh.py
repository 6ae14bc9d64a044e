"""The Revenue OS refresh: bring the warehouse up to date and record what ran.

Today it migrates the warehouse schemas and records the run; extraction, transforms, the
data-quality gate and the dashboard export join as they are built.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import dag, get_current_context, task

from revenue_os.orchestration import refresh
from revenue_os.orchestration.defaults import DEFAULT_ARGS


@dag(
    dag_id="revenue_refresh",
    schedule="0 6 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["revenue-os"],
    doc_md=__doc__,
)
def revenue_refresh():
    @task
    def migrate_warehouse() -> list[str]:
        """Apply pending SQL migrations (sql/migrations) to the warehouse, in order, once each."""
        return refresh.migrate_warehouse()

    @task
    def record_refresh_run(applied: list[str]) -> int:
        """Record this run in ops.refresh_runs, the warehouse's own history of refreshes."""
        context = get_current_context()
        dag_run = context["dag_run"]
        return refresh.record_refresh_run(
            run_id=dag_run.run_id,
            dag_id=dag_run.dag_id,
            run_type=getattr(dag_run.run_type, "value", str(dag_run.run_type)),
            logical_date=dag_run.logical_date,
            started_at=dag_run.start_date,
            migrations_applied=len(applied),
        )

    record_refresh_run(migrate_warehouse())


revenue_refresh()
