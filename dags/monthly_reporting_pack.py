"""The monthly reporting pack: on the 8th, the month just closed, to its recipients.

The 8th because the metric contracts say when a month is final: a week after it ends
(`refresh_sla.final_after_days`: restated ad spend, back-dated deals, the books closed on the
fifth business day). A pack sent earlier would freeze numbers still moving.

1. freeze the month's KPI values from the published mart into ops.kpi_snapshots (once: a
   rerun keeps what was frozen, so the pack sent is the pack that can be rebuilt);
2. draw the pack from that snapshot (open actions of the decision log, KPI summary,
   exceptions with their owners and actions, known data issues, confidence notes), write it
   as HTML and PDF to the export folder's packs/, and e-mail the HTML with the PDF attached
   to REVENUE_OS_PACK_RECIPIENTS through the `smtp_default` connection.

The month is the one the run's data interval starts in: the run of 8 November 07:00 covers
October. To rebuild or resend a month by hand: `revenue-os pack --month 2026-10 [--send]`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from revenue_os.orchestration import reporting
from revenue_os.orchestration.defaults import DEFAULT_ARGS, REPORTING_TAG, dag_tags


# An explicit data-interval timetable: with a bare cron string Airflow 3 makes each run a
# point in time (the interval starts on the 8th itself), and the pack would name the new month.
@dag(
    dag_id="monthly_reporting_pack",
    description="Freezes the closed month's KPIs and e-mails the monthly reporting pack.",
    schedule=CronDataIntervalTimetable("0 7 8 * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=dag_tags(REPORTING_TAG),
    doc_md=__doc__,
)
def monthly_reporting_pack():
    @task
    def freeze_kpi_snapshot() -> dict:
        """Freeze the closed month's KPI values from the published mart (once per month)."""
        return reporting.freeze_kpi_snapshot(get_current_context()["data_interval_start"])

    @task
    def send_reporting_pack(snapshot: dict) -> dict:
        """Write the month's pack (HTML and PDF) from the snapshot and e-mail it."""
        return reporting.send_reporting_pack(snapshot["requested_month"])

    send_reporting_pack(freeze_kpi_snapshot())


monthly_reporting_pack()
