"""Every DAG imports, is acyclic, and each task can be operated: retries, an owner, a doc."""

from __future__ import annotations

import itertools

import pytest
from airflow.models import DagBag

from revenue_os.orchestration.defaults import OWNER, SOURCE_POOL
from revenue_os.paths import DAGS_DIR
from revenue_os.raw.objects import RAW_OBJECTS


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
    assert sorted(t.task_id for t in loads) == sorted(
        "load_" + name.replace(".", "__") for name in RAW_OBJECTS
    )
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
        "load_" + name.replace(".", "__") for name in RAW_OBJECTS
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
