"""The Revenue OS refresh: bring the warehouse up to date and record what ran.

1. migrate the warehouse schemas (sql/migrations);
2. extract every source object from its vendor API and load it into its raw table, in
   parallel within the `source_apis` pool (which caps concurrent API calls);
3. record the run in ops.refresh_runs.

Trigger with params to re-pull: `{"mode": "full"}`, or `{"mode": "backfill", "start":
"2026-01-01", "end": "2026-01-31"}` for a date range; the default is incremental.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, Param, dag, get_current_context, task

from revenue_os.orchestration import refresh
from revenue_os.orchestration.defaults import DEFAULT_ARGS, SOURCE_POOL
from revenue_os.raw.objects import RAW_OBJECTS


@dag(
    dag_id="revenue_refresh",
    schedule="0 6 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["revenue-os"],
    doc_md=__doc__,
    params={
        "mode": Param("incremental", enum=["incremental", "full", "backfill"]),
        "start": Param(None, type=["null", "string"], format="date"),
        "end": Param(None, type=["null", "string"], format="date"),
    },
)
def revenue_refresh():
    @task
    def migrate_warehouse() -> list[str]:
        """Apply pending SQL migrations (sql/migrations) to the warehouse, in order, once each."""
        return refresh.migrate_warehouse()

    @task(pool=SOURCE_POOL)
    def extract_load(object_name: str) -> dict:
        """Extract one source object from its vendor API and load it into its raw table.

        Incremental from the stored watermark unless the run's params ask for a full
        refresh or a backfill; a failed load changes nothing and keeps the watermark.
        """
        return refresh.extract_load_object(object_name, get_current_context()["params"])

    @task
    def record_refresh_run(applied: list[str]) -> int:
        """Record this run in ops.refresh_runs, the warehouse's own history of refreshes."""
        dag_run = get_current_context()["dag_run"]
        return refresh.record_refresh_run(
            run_id=dag_run.run_id,
            dag_id=dag_run.dag_id,
            run_type=getattr(dag_run.run_type, "value", str(dag_run.run_type)),
            logical_date=dag_run.logical_date,
            started_at=dag_run.start_date,
            migrations_applied=len(applied),
        )

    migrated = migrate_warehouse()
    loads = [
        extract_load.override(
            task_id=f"load_{name.replace('.', '__')}",
            outlets=[Asset(name=f"raw.{obj.table}", uri=f"revenue-os://warehouse/raw/{obj.table}")],
        )(name)
        for name, obj in RAW_OBJECTS.items()
    ]
    recorded = record_refresh_run(migrated)
    migrated >> loads >> recorded


revenue_refresh()
