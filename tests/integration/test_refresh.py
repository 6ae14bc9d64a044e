"""The refresh DAG runs through the real scheduler and under `airflow dags test`, and records itself."""

from __future__ import annotations

from datetime import datetime

import httpx

from revenue_os.raw.objects import RAW_OBJECTS
from revenue_os.warehouse.migrations import discover
from revenue_os_stack.stack import REFRESH_DAG_ID
from tests.integration.conftest import airflow_dags_test, demo_run_id


def test_make_demo_runs_exactly_one_refresh(first_demo, stack, airflow_client, warehouse):
    """One run per `make demo`: the schedule's latest slot on a fresh stack (started by
    unpausing), a manual run when that slot already ran; never one of each."""
    run_id = demo_run_id(first_demo)
    during = [
        r
        for r in airflow_client.dag_runs(REFRESH_DAG_ID, limit=50)
        # Runs of `airflow dags test` (later tests) are never queued: they have no queued_at.
        if r["queued_at"]
        and first_demo.started_at <= datetime.fromisoformat(r["queued_at"]) <= first_demo.ended_at
    ]
    assert [r["dag_run_id"] for r in during] == [run_id]
    run = during[0]
    assert run["state"] == "success"
    states = {
        ti["task_id"]: ti["state"]
        for ti in airflow_client.task_instances(REFRESH_DAG_ID, run["dag_run_id"])
    }
    loads = {f"load_{name.replace('.', '__')}": "success" for name in RAW_OBJECTS}
    mart_steps = ["build_staging", "build_intermediate", "build_marts", "build_kpis"]
    mart_steps += ["audit_mart", "publish_mart", "publish_dashboards", "alert_kpi_owners"]
    assert states == {
        "migrate_warehouse": "success",
        "record_refresh_run": "success",
        **loads,
        **dict.fromkeys(mart_steps, "success"),
    }
    published = warehouse.execute(
        "SELECT status FROM ops.mart_builds WHERE run_id = %s", (run["dag_run_id"],)
    ).fetchall()
    assert published == [("published",)]
    recorded = warehouse.execute(
        "SELECT dag_id, run_type, state, schema_version FROM ops.refresh_runs WHERE run_id = %s",
        (run["dag_run_id"],),
    ).fetchone()
    assert recorded == (REFRESH_DAG_ID, run["run_type"], "success", len(discover()))


def test_the_watchdog_and_the_monthly_pack_are_scheduled_after_the_first_publish(airflow_client):
    from revenue_os_stack.stack import OPERATIONS_DAG_IDS

    assert {dag_id: airflow_client.dag(dag_id)["is_paused"] for dag_id in OPERATIONS_DAG_IDS} == {
        "freshness_watchdog": False,
        "monthly_reporting_pack": False,
        "weekly_revenue_preread": False,
    }


def test_demo_loaded_every_source_object_completely(stack, warehouse):
    """The demo's first run is a full pull: each raw table holds what the mock source serves."""
    expected = httpx.get(
        f"{stack.profile.mock_apis_url}/_admin/counts",
        headers={"Authorization": f"Bearer {stack.secrets['MOCK_API_ADMIN_TOKEN']}"},
        timeout=60,
    ).json()["objects"]
    loaded = {
        name: warehouse.execute(f"SELECT count(*) FROM raw.{obj.table}").fetchone()[0]
        for name, obj in RAW_OBJECTS.items()
    }
    assert loaded == {name: expected[name]["total"] for name in RAW_OBJECTS}
    assert all(n > 0 for n in loaded.values()), loaded


def test_every_migration_applied_exactly_once(warehouse):
    rows = warehouse.execute(
        "SELECT version, checksum FROM ops.schema_migrations ORDER BY version"
    ).fetchall()
    assert rows == [(m.version, m.checksum) for m in discover()]
    # Only the first run of all applied anything; every later run found nothing pending.
    applied = warehouse.execute(
        "SELECT migrations_applied FROM ops.refresh_runs ORDER BY started_at"
    ).fetchall()
    assert sum(n for (n,) in applied) == len(discover())


def test_refresh_dag_passes_under_airflow_dags_test(stack, warehouse, airflow_client):
    result = airflow_dags_test(airflow_client, REFRESH_DAG_ID, "2026-02-01", stack.airflow_env())
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    row = warehouse.execute(
        "SELECT state, migrations_applied FROM ops.refresh_runs "
        "WHERE logical_date = '2026-02-01T00:00:00+00:00' ORDER BY finished_at DESC LIMIT 1"
    ).fetchone()
    assert row == ("success", 0)
