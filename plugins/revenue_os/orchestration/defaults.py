"""Default task arguments for every Revenue OS DAG.

Retries absorb the transient faults of vendor APIs and of a busy warehouse; a task that still
fails after them is a real failure that on-call must see.
"""

from __future__ import annotations

from datetime import timedelta

OWNER = "data-platform"

DEFAULT_ARGS = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=10),
    "execution_timeout": timedelta(hours=1),
}

# The Airflow pool every extract task runs in: it caps concurrent calls to the vendor APIs
# (created by `revenue-os demo` and by compose's airflow-init).
SOURCE_POOL = "source_apis"
SOURCE_POOL_SLOTS = 3
