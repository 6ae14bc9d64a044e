"""Default task arguments and tags for every Revenue OS DAG.

Retries absorb the transient faults of vendor APIs and of a busy warehouse; a task that still
fails after them is a real failure that on-call must see (revenue_os.notifications).
"""

from __future__ import annotations

import os
from datetime import timedelta

from revenue_os.notifications.refresh_alerts import task_failed

OWNER = "data-platform"

DEFAULT_ARGS = {
    "owner": OWNER,
    # Tunable per deployment (and shortened by the tests that exercise the retries).
    "retries": int(os.environ.get("REVENUE_OS_TASK_RETRIES", "2")),
    "retry_delay": timedelta(seconds=float(os.environ.get("REVENUE_OS_RETRY_DELAY_SECONDS", "30"))),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=1),
    # Called once, after the last retry: on-call gets one alert per failed task.
    "on_failure_callback": task_failed,
}

# The Airflow pool every extract task runs in: it caps concurrent calls to the vendor APIs
# (created by `revenue-os demo` and by compose's airflow-init).
SOURCE_POOL = "source_apis"
SOURCE_POOL_SLOTS = 3

# Every DAG carries the product tag, so one click in the DAG list shows all of Revenue OS, and
# exactly one role tag, so the list also filters by kind of job.
PRODUCT_TAG = "revenue-os"
REFRESH_TAG = "refresh"
MONITORING_TAG = "monitoring"
REPORTING_TAG = "reporting"
ROLE_TAGS = (REFRESH_TAG, MONITORING_TAG, REPORTING_TAG)


def dag_tags(role: str) -> list[str]:
    """The tags of a Revenue OS DAG: the product tag and its role tag."""
    if role not in ROLE_TAGS:
        raise ValueError(f"unknown DAG role {role!r}; expected one of {', '.join(ROLE_TAGS)}")
    return [PRODUCT_TAG, role]
