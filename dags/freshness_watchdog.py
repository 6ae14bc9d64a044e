"""The freshness watchdog: alert on-call when a source or the published mart is past its SLA.

Separate from the refresh on purpose: failure callbacks do not fire when a worker is killed or
a run hangs, and a refresh that is never scheduled fails nothing. This DAG reads only the
warehouse's ledgers (last committed load per source, last publish) against the SLAs of the
metric contracts, and alerts once per stale spell, then once when the data is fresh again.
It runs only while the scheduler runs: a stopped scheduler is reported by the scheduler watch
(`revenue-os watch-scheduler`), a process outside Airflow.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import dag, task

from revenue_os.orchestration import operations
from revenue_os.orchestration.defaults import DEFAULT_ARGS, MONITORING_TAG, dag_tags


@dag(
    dag_id="freshness_watchdog",
    description="Alerts on-call when a source or the published mart is past its freshness SLA.",
    schedule="*/30 * * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 1, "execution_timeout": timedelta(minutes=5)},
    tags=dag_tags(MONITORING_TAG),
    doc_md=__doc__,
)
def freshness_watchdog():
    @task
    def check_freshness() -> dict:
        """Measure each source's and the mart's age against its SLA; alert on-call on a change."""
        return operations.check_freshness()

    check_freshness()


freshness_watchdog()
