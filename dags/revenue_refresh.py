"""The Revenue OS refresh: bring the warehouse up to date and record what ran.

1. migrate the warehouse schemas (sql/migrations);
2. extract every source object from its vendor API and load it into its raw table, in
   parallel within the `source_apis` pool (which caps concurrent API calls);
3. build the mart aside (sql/models: staging, intermediate, marts; then the KPI tables
   compiled from the metric contracts in metrics/), audit it, and publish it
   by an atomic schema swap: a failed build or audit leaves the published mart as it was;
4. export the Superset bundle (dashboards as code) and import it when Superset is configured,
   and alert the owners of KPIs that turned red;
5. record the run in ops.refresh_runs (and tell on-call when it ends a failing spell).

In the graph, the stages are task groups: `extract_load` (one group per vendor), `build`,
`audit_publish` and `deliver`, between `migrate_warehouse` and `record_refresh_run`. Task ids
carry no group prefix, so each keeps its name in alerts, the runbook and the CLI.

A task that fails after its retries alerts on-call (revenue_os.notifications; docs/runbook.md).

Trigger with params to re-pull: `{"mode": "full"}`, or `{"mode": "backfill", "start":
"2026-01-01", "end": "2026-01-31"}` for a date range; the default is incremental.
"""

from __future__ import annotations

from datetime import UTC, datetime

from airflow.sdk import Asset, Param, TaskGroup, dag, get_current_context, task

from revenue_os.orchestration import dashboards, mart, operations, refresh
from revenue_os.orchestration.defaults import DEFAULT_ARGS, REFRESH_TAG, SOURCE_POOL, dag_tags
from revenue_os.raw.objects import RAW_OBJECTS


def objects_by_vendor() -> dict[str, list[str]]:
    """The source objects' names by vendor, the prefix of each name (`salesforce.accounts`)."""
    by_vendor: dict[str, list[str]] = {}
    for name in RAW_OBJECTS:
        by_vendor.setdefault(name.split(".", 1)[0], []).append(name)
    return by_vendor


def stage(group_id: str, tooltip: str) -> TaskGroup:
    """A task group that leaves the ids of its tasks as they are (no `group.` prefix)."""
    return TaskGroup(group_id, tooltip=tooltip, prefix_group_id=False)


@dag(
    dag_id="revenue_refresh",
    description=(
        "Loads every source; builds, audits and publishes the mart; refreshes the dashboards "
        "and alerts KPI owners."
    ),
    schedule="0 6 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=dag_tags(REFRESH_TAG),
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
    def build_mart_layer(layer: str, build_id: str | None = None) -> str:
        """Build one layer of SQL models aside (staging opens the build); returns the build id.
        A `full` run rebuilds the incremental staging models from all of raw as well."""
        context = get_current_context()
        return mart.build_mart_layer(
            layer,
            build_id,
            context["dag_run"].run_id,
            full=context["params"].get("mode") == "full",
        )

    @task
    def build_kpis(build_id: str) -> str:
        """Compile the metric contracts into kpi_values and campaign_recommendations."""
        mart.build_kpis(build_id, full=get_current_context()["params"].get("mode") == "full")
        return build_id

    @task
    def audit_mart(build_id: str) -> str:
        """Audit the built mart (unique grains, non-empty facts, attribution sums to 1)."""
        mart.audit_mart(build_id)
        return build_id

    @task(outlets=[Asset(name="mart", uri="revenue-os://warehouse/mart")])
    def publish_mart(build_id: str) -> None:
        """Swap the audited build in as the published mart, atomically; keep the previous."""
        mart.publish_mart(build_id)

    @task
    def publish_dashboards() -> dict:
        """Export the Superset bundle built from the dashboard specs and metric contracts;
        import it into Superset when the `superset` connection is configured."""
        return dashboards.export_and_import()

    @task
    def alert_kpi_owners() -> dict:
        """E-mail the owner of each KPI that turned red in the published mart, once per red
        spell, with the value, threshold, trend and the contract's action on breach."""
        return operations.alert_kpi_owners()

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

    def load_object(name: str):
        table = RAW_OBJECTS[name].table
        return extract_load.override(
            task_id=f"load_{name.replace('.', '__')}",
            outlets=[Asset(name=f"raw.{table}", uri=f"revenue-os://warehouse/raw/{table}")],
        )(name)

    migrated = migrate_warehouse()
    with stage("extract_load", "Extract every source object and load its raw table") as loads:
        for vendor, names in objects_by_vendor().items():
            with stage(vendor, f"The {vendor} objects, each into its raw table"):
                for name in names:
                    load_object(name)
    with stage("build", "Build the mart aside, layer by layer, then the KPIs") as build:
        staging = build_mart_layer.override(task_id="build_staging")("staging")
        intermediate = build_mart_layer.override(task_id="build_intermediate")(
            "intermediate", staging
        )
        marts = build_mart_layer.override(task_id="build_marts")("marts", intermediate)
        built = build_kpis(marts)
    with stage("audit_publish", "Audit the built mart, then swap it in as the published mart"):
        published = publish_mart(audit_mart(built))
    with stage("deliver", "Refresh the dashboards and alert the owners of red KPIs") as deliver:
        publish_dashboards()
        alert_kpi_owners()
    recorded = record_refresh_run(migrated)
    # Stage to stage: the graph draws one edge through each group's join node, not one per task.
    migrated >> loads >> build
    published >> deliver >> recorded


revenue_refresh()
