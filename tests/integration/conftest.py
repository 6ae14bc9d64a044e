"""Two tiers of integration tests on the test profile.

- **Warehouse tier** (marker `warehouse`, `make test-warehouse`): tests that need only
  Postgres (the raw loader, the mart's known answers, the KPI layer, the quality gate, the
  decision log, migrations, the extract-load against the mock APIs) get the profile's
  Postgres alone, with the project's roles, and work in scratch databases.
- **Stack tier**: tests that need Airflow, Superset or the mail server get the whole stack,
  brought up by `make demo` once per session and stopped at the end. Bringing it up through
  the very command an operator runs is itself the first test of `make demo`; its output is
  kept in .local/test/demo-*.log for the reader of a failed run.

The warehouse tier runs first, and while it runs `make demo` brings the stack up in the
background (it finds Postgres running and keeps it), so the stack's start-up is not waited
for twice.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from revenue_os.paths import PROJECT_ROOT
from revenue_os.warehouse.connection import BUILDER_ROLE, LOADER_ROLE, OWNER_ROLE
from revenue_os.warehouse.migrations import migrate
from revenue_os_stack import airflow_services
from revenue_os_stack.postgres_cluster import LocalPostgres, ensure_server_installed
from revenue_os_stack.profile import load_profile
from revenue_os_stack.secret_store import load_or_create_secrets
from revenue_os_stack.service_user import ServiceUser, service_user
from revenue_os_stack.stack import WAREHOUSE_PASSWORDS, Stack

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


STACK_FIXTURES = frozenset({"stack", "first_demo"})


def needs_stack(item: pytest.Item) -> bool:
    return bool(STACK_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the integration tests that need only Postgres, and run them before the others."""
    here = Path(__file__).parent
    integration = [i for i in items if here in Path(str(i.path)).parents]
    for item in integration:
        if not needs_stack(item):
            item.add_marker(pytest.mark.warehouse)
    ordered = sorted(integration, key=needs_stack)  # stable: the file order within each tier
    slots = iter(ordered)
    items[:] = [next(slots) if here in Path(str(i.path)).parents else i for i in items]
    config.stash[_NEEDS_STACK] = any(needs_stack(i) for i in integration)


_NEEDS_STACK = pytest.StashKey[bool]()


class _BackgroundDemo:
    """`make demo` started once, possibly while the warehouse tier runs; joined when needed."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.result: subprocess.CompletedProcess | None = None

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="make-demo", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        self.result = run_make_demo("demo-first.log")

    def wait(self) -> subprocess.CompletedProcess:
        self.start()
        assert self.thread is not None
        self.thread.join()
        assert self.result is not None
        return self.result


_DEMO = _BackgroundDemo()


class WarehouseServer:
    """The test profile's Postgres alone, with the project's roles and databases: what a test
    that needs only the warehouse starts (no Airflow, no Superset). `warehouse_uri` and
    `profile` as on the Stack, whose cluster it is."""

    def __init__(self) -> None:
        self.profile = load_profile("test")
        self.secrets = load_or_create_secrets(self.profile.secrets_file)
        self.pg = LocalPostgres(self.profile, ensure_server_installed(lambda *_: None))

    def start(self) -> None:
        self.pg.init()
        self.pg.start()
        self.pg.bootstrap_roles(self.secrets)

    def warehouse_uri(self, role: str) -> str:
        password = self.secrets[WAREHOUSE_PASSWORDS[role]]
        return f"postgresql://{role}:{password}@127.0.0.1:{self.profile.postgres_port}/warehouse"


@pytest.fixture(scope="session")
def warehouse_server(request) -> WarehouseServer:
    server = WarehouseServer()
    server.start()
    if request.config.stash.get(_NEEDS_STACK, False):
        _DEMO.start()  # the stack comes up while the warehouse tier runs
    yield server
    if _DEMO.thread is None:
        server.pg.stop()  # the stack tier's `down` stops it otherwise


@pytest.fixture(scope="session")
def first_demo() -> subprocess.CompletedProcess:
    result = _DEMO.wait()
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
    """Empty databases owned by revenue_os, each dropped by drop_all(); on the warehouse
    server or the stack's cluster (the same one)."""

    def __init__(self, server: WarehouseServer | Stack) -> None:
        self.stack = server
        self.pg = LocalPostgres(server.profile, ensure_server_installed(lambda *_: None))
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
def scratch_database(warehouse_server):
    """A factory: an empty database owned by revenue_os, dropped when the test ends."""
    databases = ScratchDatabases(warehouse_server)
    yield databases.create
    databases.drop_all()


@pytest.fixture
def warehouses(warehouse_server, scratch_database):
    """A factory of fresh warehouse-shaped databases (every migration applied, no data)."""

    def create(name: str) -> str:
        with scratch_database(name) as conn:
            migrate(conn)
        return warehouse_server.warehouse_uri("revenue_os").rsplit("/", 1)[0] + f"/{name}"

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
