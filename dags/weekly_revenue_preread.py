"""The weekly pre-read: on Monday at 06:00 UTC, the week just ended, to the weekly forum.

The weekly revenue meeting reads it before it starts ("pre-read required"): open actions
first, then the KPIs the contracts put in the weekly forum (`forums: [weekly, ...]`), each week
against the week before and against its 4- and 13-week windows, the exceptions with their
owners' proposed decisions, and the known data issues.

1. freeze the week's KPI values from the published mart into ops.kpi_snapshots (once: a
   rerun keeps what was frozen), write the pre-read as HTML and PDF to the export folder's
   packs/ and e-mail it to REVENUE_OS_PREREAD_RECIPIENTS through `smtp_default`.

The week is the one the run's data interval starts in: the run of Monday 7 December 06:00
covers the week of 30 November. By hand: `revenue-os preread --week 2026-11-30 [--send]`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from revenue_os.orchestration import reporting
from revenue_os.orchestration.defaults import DEFAULT_ARGS, REPORTING_TAG, dag_tags


# A data-interval timetable, as the monthly pack's: the interval of the Monday run is the
# week before it, which is the week the pre-read covers.
@dag(
    dag_id="weekly_revenue_preread",
    description="Freezes the week just ended and e-mails the weekly revenue meeting's pre-read.",
    schedule=CronDataIntervalTimetable("0 6 * * 1", timezone="UTC"),
    start_date=datetime(2026, 1, 5, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=dag_tags(REPORTING_TAG),
    doc_md=__doc__,
)
def weekly_revenue_preread():
    @task
    def send_weekly_preread() -> dict:
        """Freeze the week, write its pre-read (HTML and PDF) and e-mail it."""
        return reporting.send_weekly_preread(get_current_context()["data_interval_start"])

    send_weekly_preread()


weekly_revenue_preread()
