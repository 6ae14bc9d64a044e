"""The integration stack: `make demo` on the test profile, once per session, stopped at the end.

Bringing the stack up through the very command an operator runs is itself the first test of
`make demo`; its output is kept in .local/test/demo-*.log for the reader of a failed run.
"""

from __future__ import annotations

import os
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from revenue_os.paths import PROJECT_ROOT
from revenue_os.warehouse.connection import BUILDER_ROLE, LOADER_ROLE, OWNER_ROLE
from revenue_os.warehouse.migrations import migrate
from revenue_os_stack import airflow_services
from revenue_os_stack.postgres_cluster import LocalPostgres, find_server_bin_dir
from revenue_os_stack.profile import load_profile
from revenue_os_stack.service_user import ServiceUser, service_user
from revenue_os_stack.stack import Stack

DEMO_TIMEOUT_S = 30 * 60  # a fresh machine installs the Postgres server and both venvs


def run_make_demo(log_name: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "REVENUE_OS_PROFILE": "test"}
    started_at = datetime.now(UTC)
    result = subprocess.run(
        ["make", "demo"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        check=False,
    )
    log = load_profile("test").state_dir / log_name
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(result.stdout + "\n--- stderr ---\n" + result.stderr)
    result.started_at, result.ended_at = started_at, datetime.now(UTC)
    return result


def demo_run_id(demo: subprocess.CompletedProcess) -> str:
    """The refresh run a `make demo` reported ("Refresh   <run id>: <state>")."""
    found = re.search(r"^  Refresh   (\S+): ", demo.stdout, re.MULTILINE)
    assert found, f"make demo reported no refresh run:\n{demo.stdout[-2000:]}"
    return found.group(1)


@pytest.fixture(scope="session")
def first_demo() -> subprocess.CompletedProcess:
    result = run_make_demo("demo-first.log")
    yield result
    Stack(load_profile("test")).down(echo=lambda *_: None)


@pytest.fixture(scope="session")
def stack(first_demo) -> Stack:
    if first_demo.returncode != 0:
        pytest.fail(
            f"make demo failed (exit {first_demo.returncode}):\n"
            f"{first_demo.stdout[-3000:]}\n{first_demo.stderr[-3000:]}"
        )
    return Stack(load_profile("test"))


@pytest.fixture
def warehouse(stack):
    """The owner's login, as the migrations use it."""
    with psycopg.connect(stack.warehouse_uri(OWNER_ROLE), autocommit=True) as conn:
        yield conn


@pytest.fixture
def warehouse_loader(stack):
    """The login of the loads and the operations tasks."""
    with psycopg.connect(stack.warehouse_uri(LOADER_ROLE), autocommit=True) as conn:
        yield conn


@pytest.fixture
def warehouse_builder(stack):
    """The login of the mart build: what it builds, the next refresh can replace."""
    with psycopg.connect(stack.warehouse_uri(BUILDER_ROLE), autocommit=True) as conn:
        yield conn


@pytest.fixture
def mart_reader(stack):
    with psycopg.connect(stack.warehouse_uri("mart_reader"), autocommit=True) as conn:
        yield conn


@pytest.fixture
def airflow_client(stack):
    client = stack.airflow_client()
    yield client
    client.close()


class ScratchDatabases:
    """Empty databases owned by revenue_os, each dropped by drop_all()."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.pg = LocalPostgres(stack.profile, find_server_bin_dir())
        self.created: list[str] = []

    def create(self, name: str) -> psycopg.Connection:
        self.pg.psql(command=f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.pg.psql(command=f"CREATE DATABASE {name} OWNER revenue_os")
        self.created.append(name)
        return psycopg.connect(self.uri(name), autocommit=True)

    def uri(self, name: str, role: str = "revenue_os") -> str:
        return self.stack.warehouse_uri(role).rsplit("/", 1)[0] + f"/{name}"

    def drop_all(self) -> None:
        for name in self.created:
            self.pg.psql(command=f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def scratch_database(stack):
    """A factory: an empty database owned by revenue_os, dropped when the test ends."""
    databases = ScratchDatabases(stack)
    yield databases.create
    databases.drop_all()


@pytest.fixture
def warehouses(stack, scratch_database):
    """A factory of fresh warehouse-shaped databases (every migration applied, no data)."""

    def create(name: str) -> str:
        with scratch_database(name) as conn:
            migrate(conn)
        return stack.warehouse_uri("revenue_os").rsplit("/", 1)[0] + f"/{name}"

    return create


def airflow_dags_test(airflow_client, dag_id: str, logical_date: str, env, *options: str):
    """`airflow dags test` in a subprocess, the DAG paused meanwhile so the running scheduler
    keeps its hands off the test's task instances instead of racing it for them."""
    paused = airflow_client.dag(dag_id)["is_paused"]
    airflow_client.set_paused(dag_id, True)
    # As the services run: Airflow imports code from AIRFLOW_HOME, the services' user's folder.
    user = service_user(create=False)
    if user:
        env = user.env(env, load_profile("test").service_home)
    try:
        return subprocess.run(
            [
                str(airflow_services.BIN_DIR / "airflow"),
                "dags",
                "test",
                dag_id,
                logical_date,
                *options,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=PROJECT_ROOT,
            **ServiceUser.options_for(user),
        )
    finally:
        airflow_client.set_paused(dag_id, paused)


def state_file(name: str) -> Path:
    return load_profile("test").state_dir / name
