"""`make demo` twice in a row is safe; the stack fits its memory budget; `make down` stops only it."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from revenue_os_stack.stack import REFRESH_DAG_ID
from tests.integration.conftest import run_make_demo

MEMORY_BUDGET_MIB = 4096


def test_make_demo_printed_where_to_look(stack, first_demo):
    out = first_demo.stdout
    assert stack.profile.airflow_url in out and stack.profile.superset_url in out
    assert stack.secrets["AIRFLOW_ADMIN_PASSWORD"] in out
    assert "Refresh   " in out and ": success" in out


def test_make_demo_twice_in_a_row(stack, airflow_client, warehouse):
    secrets_before = hashlib.sha256(stack.profile.secrets_file.read_bytes()).hexdigest()
    pids_before = {s.name: s.pid() for s in stack.services()}
    runs_before = warehouse.execute("SELECT count(*) FROM ops.refresh_runs").fetchone()[0]

    second = run_make_demo("demo-second.log")

    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "already running" in second.stdout
    assert "already initialised" in second.stdout
    assert hashlib.sha256(stack.profile.secrets_file.read_bytes()).hexdigest() == secrets_before
    assert {s.name: s.pid() for s in stack.services()} == pids_before
    assert (
        warehouse.execute("SELECT count(*) FROM ops.refresh_runs").fetchone()[0] == runs_before + 1
    )
    latest = airflow_client.dag_runs(REFRESH_DAG_ID, limit=1)[0]
    assert latest["state"] == "success" and latest["run_type"] == "manual"


def test_stack_fits_its_memory_budget(stack):
    status = stack.status()
    assert all(row["pid"] for row in status["services"]), status
    total = sum(row["pss_mib"] for row in status["services"])
    assert 0 < total < MEMORY_BUDGET_MIB, status


@pytest.mark.last
def test_make_down_stops_exactly_what_demo_started(stack):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    pids = {s.name: s.pid() for s in stack.services()}
    assert all(pids.values())
    pg = stack.postgres()
    try:
        result = subprocess.run(
            ["make", "down"],
            cwd=stack.profile.state_dir.parents[1],
            env={"PATH": "/usr/bin:/bin", "REVENUE_OS_PROFILE": "test"},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        for name in pids:
            assert f"stopped {name}" in result.stdout
        assert "stopped postgres" in result.stdout
        assert all(s.pid() is None for s in stack.services())
        assert not pg.is_running()
        assert bystander.poll() is None, "make down signalled a process it did not start"
    finally:
        bystander.kill()
        bystander.wait()
