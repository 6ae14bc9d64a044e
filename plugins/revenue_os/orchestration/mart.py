"""The callables behind the refresh DAG's mart tasks (write-audit-publish), testable
without a scheduler. A build spans several tasks, so its id travels between them by XCom."""

from __future__ import annotations

import logging
import uuid

from revenue_os.transform import build
from revenue_os.transform.models import discover
from revenue_os.warehouse.connection import BUILDER_CONN_ID, connect, warehouse_uri

log = logging.getLogger(__name__)


def build_mart_layer(
    layer: str, build_id: str | None, run_id: str | None = None, *, full: bool = False
) -> str:
    """Build one layer of models; the staging layer opens the build. Returns the build id.

    A model that fails to build marks the build failed; the published mart is not touched.
    With `full`, incremental staging models are rebuilt from all of raw.
    """
    with connect(warehouse_uri(BUILDER_CONN_ID)) as conn:
        models = discover()  # once for the build's start and its layer
        current = (
            uuid.UUID(build_id)
            if build_id
            else build.start_build(conn, run_id, full=full, models=models)
        )
        try:
            result = build.build_layer(conn, layer, current, models, full=full)
        except Exception as error:
            build.fail_build(conn, current, f"{layer}: {error}")
            raise
    log.info(
        "built %d %s models (%s rows)", len(result.rows), layer, f"{sum(result.rows.values()):,}"
    )
    return str(current)


def build_kpis(build_id: str, *, full: bool = False) -> dict[str, int]:
    """Compile the metric contracts into the built mart's KPI tables; with `full`, every
    simple metric computed whole rather than brought forward by its changed periods."""
    current = uuid.UUID(build_id)
    with connect(warehouse_uri(BUILDER_CONN_ID)) as conn:
        try:
            return build.build_kpis(conn, current, full=full)
        except Exception as error:
            build.fail_build(conn, current, f"kpis: {error}")
            raise


def audit_mart(build_id: str) -> int:
    """Audit the built mart, the data-quality contracts included; fails the task at once,
    without retries, naming each failed check (and publishes nothing) if an audit or a tier 1
    check fails; tier 2 failures are recorded. Any other error is retried: the audit replaces
    the build's recorded results, so a retry is idempotent."""
    from revenue_os.quality.gate import quality_audit

    current = uuid.UUID(build_id)
    uri = warehouse_uri(BUILDER_CONN_ID)
    with connect(uri) as conn:
        try:
            results = build.audit(conn, current, extra_audits=[quality_audit(uri, current)])
        except build.AuditFailed as failed:
            # The checks failed on this build's data: the same build fails them again, so
            # retrying only delays on-call's alert. The message lists each failed check.
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(failed)) from failed
        except Exception as error:  # a check that could not run (e.g. a broken contract file)
            build.fail_build(conn, current, f"audit: {error}")
            raise
    return len(results)


def publish_mart(build_id: str) -> None:
    """Swap the audited build in as the published mart, in one transaction."""
    with connect(warehouse_uri(BUILDER_CONN_ID)) as conn:
        try:
            build.publish(conn, uuid.UUID(build_id))
        except build.PublishBlocked as blocked:
            # A retry cannot change who owns a table: fail at once, naming the tables and fix.
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(str(blocked)) from blocked
    log.info(
        "published mart build %s; the previous mart is kept as %s", build_id, build.PREVIOUS_SCHEMA
    )
