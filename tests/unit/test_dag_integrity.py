"""Every DAG imports, is acyclic, and each task can be operated: retries, an owner, a doc."""

from __future__ import annotations

import pytest
from airflow.models import DagBag

from revenue_os.orchestration.defaults import OWNER
from revenue_os.paths import DAGS_DIR


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
    assert [t.task_id for t in dag.topological_sort()] == [
        "migrate_warehouse",
        "record_refresh_run",
    ]
    assert dag.max_active_runs == 1
    assert dag.catchup is False


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
