"""Every DAG imports, is acyclic, reads well in the UI, and each task can be operated: retries,
an owner, a doc."""

from __future__ import annotations

import itertools

import pytest
from airflow.models import DagBag
from airflow.sdk import TaskGroup

from revenue_os.orchestration.defaults import (
    MONITORING_TAG,
    OWNER,
    PRODUCT_TAG,
    REFRESH_TAG,
    REPORTING_TAG,
    ROLE_TAGS,
    SOURCE_POOL,
    dag_tags,
)
from revenue_os.paths import DAGS_DIR
from revenue_os.raw.objects import RAW_OBJECTS

ROLE_OF_DAG = {
    "revenue_refresh": REFRESH_TAG,
    "freshness_watchdog": MONITORING_TAG,
    "monthly_reporting_pack": REPORTING_TAG,
    "weekly_revenue_preread": REPORTING_TAG,
}
# The refresh's stages after the loads, by task group; the loads are grouped by vendor.
REFRESH_STAGES = {
    "build": ["build_staging", "build_intermediate", "build_marts", "build_kpis"],
    "audit_publish": ["audit_mart", "publish_mart"],
    "deliver": ["publish_dashboards", "alert_kpi_owners"],
}
REFRESH_UNGROUPED = {"migrate_warehouse", "record_refresh_run"}


def load_task_id(object_name: str) -> str:
    return "load_" + object_name.replace(".", "__")


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS_DIR))


def test_every_dag_file_imports(dagbag):
    assert dagbag.import_errors == {}
    # DagBag skips files without the words "airflow" and "dag": count files to catch that.
    dag_files = [p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_")]
    assert len({dag.fileloc for dag in dagbag.dags.values()}) == len(dag_files)


def test_refresh_dag_exists_with_its_tasks(dagbag):
    dag = dagbag.dags["revenue_refresh"]
    order = [t.task_id for t in dag.topological_sort()]
    assert order[0] == "migrate_warehouse" and order[-1] == "record_refresh_run"
    assert dag.max_active_runs == 1
    assert dag.catchup is False


def test_one_load_task_per_source_object_in_the_api_pool(dagbag):
    dag = dagbag.dags["revenue_refresh"]
    loads = [t for t in dag.tasks if t.task_id.startswith("load_")]
    assert sorted(t.task_id for t in loads) == sorted(load_task_id(name) for name in RAW_OBJECTS)
    for load in loads:
        assert load.pool == SOURCE_POOL
        assert load.upstream_task_ids == {"migrate_warehouse"}
        assert load.downstream_task_ids == {"build_staging"}
        (asset,) = load.outlets
        assert asset.name == f"raw.{RAW_OBJECTS[load.op_args[0]].table}"


def test_mart_is_built_audited_then_published_after_every_load(dagbag):
    dag = dagbag.dags["revenue_refresh"]
    chain = [
        "build_staging",
        "build_intermediate",
        "build_marts",
        "build_kpis",
        "audit_mart",
        "publish_mart",
    ]
    for upstream, downstream in itertools.pairwise(chain):
        assert dag.get_task(upstream).downstream_task_ids == {downstream}
    assert dag.get_task("build_staging").upstream_task_ids == {
        load_task_id(name) for name in RAW_OBJECTS
    }
    assert dag.get_task("publish_mart").downstream_task_ids == {
        "publish_dashboards",
        "alert_kpi_owners",
    }
    assert dag.get_task("publish_dashboards").downstream_task_ids == {"record_refresh_run"}
    assert dag.get_task("alert_kpi_owners").downstream_task_ids == {"record_refresh_run"}
    (asset,) = dag.get_task("publish_mart").outlets
    assert asset.name == "mart"


@pytest.mark.parametrize("attribute", ["retries", "owner", "doc_md"])
def test_every_task_is_operable(dagbag, attribute):
    missing = []
    for dag in dagbag.dags.values():
        assert dag.doc_md, f"DAG {dag.dag_id} has no doc_md"
        for task in dag.tasks:
            value = getattr(task, attribute)
            if not value or (attribute == "owner" and value != OWNER):
                missing.append(f"{dag.dag_id}.{task.task_id}: {attribute}={value!r}")
    assert missing == []


def test_no_cycles(dagbag):
    for dag in dagbag.dags.values():
        # topological_sort raises on a cycle; every task must appear exactly once.
        assert len(dag.topological_sort()) == len(dag.tasks)


def test_every_task_alerts_on_call_once_after_its_last_retry(dagbag):
    from revenue_os.notifications.refresh_alerts import task_failed

    unalerted = [
        f"{dag.dag_id}.{task.task_id}"
        for dag in dagbag.dags.values()
        for task in dag.tasks
        if task_failed not in (task.on_failure_callback or [])
        or task.on_retry_callback  # a retry is not news for on-call
    ]
    assert unalerted == []


def test_the_watchdog_is_its_own_dag_checking_every_half_hour(dagbag):
    watchdog = dagbag.dags["freshness_watchdog"]
    assert [t.task_id for t in watchdog.tasks] == ["check_freshness"]
    assert watchdog.catchup is False
    # No dependency on the refresh: it must alert when the refresh never runs at all.
    assert not any(t.upstream_task_ids for t in watchdog.tasks)
    assert watchdog.schedule == "*/30 * * * *"


def test_every_dag_has_a_one_line_description_for_the_dag_list(dagbag):
    for dag in dagbag.dags.values():
        description = (dag.description or "").strip()
        assert description, f"DAG {dag.dag_id} has no description"
        assert "\n" not in description and len(description) <= 120, dag.dag_id
        assert description != (dag.doc_md or "").strip(), dag.dag_id


def test_every_dag_is_tagged_with_the_product_and_exactly_one_role(dagbag):
    assert set(dagbag.dags) == set(ROLE_OF_DAG), "a new DAG needs its role in ROLE_OF_DAG"
    for dag_id, role in ROLE_OF_DAG.items():
        assert set(dagbag.dags[dag_id].tags) == {PRODUCT_TAG, role}, dag_id
    assert set(ROLE_OF_DAG.values()) == set(ROLE_TAGS)
    with pytest.raises(ValueError, match="unknown DAG role"):
        dag_tags("operations")


def test_refresh_task_ids_are_unchanged_by_the_task_groups(dagbag):
    dag = dagbag.dags["revenue_refresh"]
    expected = (
        REFRESH_UNGROUPED
        | {load_task_id(name) for name in RAW_OBJECTS}
        | {task_id for task_ids in REFRESH_STAGES.values() for task_id in task_ids}
    )
    assert set(dag.task_ids) == expected


def test_refresh_graph_reads_as_stages_between_migrate_and_record(dagbag):
    dag = dagbag.dags["revenue_refresh"]
    stages = {"extract_load", *REFRESH_STAGES}
    top_level = dag.task_group.children
    assert set(top_level) == stages | REFRESH_UNGROUPED
    assert {node_id for node_id, node in top_level.items() if isinstance(node, TaskGroup)} == stages
    ungrouped = {t.task_id for t in dag.tasks if t.task_group is None or t.task_group.is_root}
    assert ungrouped == REFRESH_UNGROUPED
    for group_id, task_ids in REFRESH_STAGES.items():
        for task_id in task_ids:
            assert dag.get_task(task_id).task_group.group_id == group_id, task_id


def test_refresh_loads_are_grouped_by_vendor_under_extract_load(dagbag):
    dag = dagbag.dags["revenue_refresh"]
    vendors = {name.split(".", 1)[0] for name in RAW_OBJECTS}
    extract_load = dag.task_group.children["extract_load"]
    assert set(extract_load.children) == vendors
    for name in RAW_OBJECTS:
        group = dag.get_task(load_task_id(name)).task_group
        assert group.group_id == name.split(".", 1)[0], name
        assert group.parent_group.group_id == "extract_load", name
