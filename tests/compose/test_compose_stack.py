"""docker-compose.yml brought up for real on a private Docker Engine.

What this proves: the project's Dockerfiles build on (stand-ins of) their base images; every
service of the compose file turns healthy under its hardening (read-only roots, no
capabilities, the init jobs' secret checks); unpausing the refresh through Airflow's REST
API, as docs/deployment-compose.md says, runs a refresh that succeeds on the LocalExecutor,
publishes the mart and imports the four dashboards into Superset; `down -v` removes it all.

What it cannot prove: the official images' own entrypoints and contents (their stand-ins
mirror only what the project relies on: user, paths, entrypoint behaviour, the Python
environment), Docker Hub's digests, or a Docker Engine other than Debian's 20.10.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

from revenue_os.dashboards.specs import load_specs
from revenue_os.dashboards.superset_client import SupersetClient
from revenue_os.metrics import load_contracts
from revenue_os.paths import DASHBOARDS_DIR
from revenue_os_stack.airflow_services import AirflowClient
from tests.compose.engine import (
    ROOT,
    STATE,
    Engine,
    EngineError,
    build_standins,
    compose_plugin,
    private_engine,
    run,
)

pytestmark = pytest.mark.compose

PROJECT = "revenue-os-compose-test"
ONE_SHOT_JOBS = {"airflow-init", "superset-init"}


def published_ports() -> set[int]:
    """The host ports the variants publish, as Compose renders them (profiles applied)."""
    ports = set()
    for files in VARIANTS.values():
        rendered = run(
            [str(compose_plugin()), "--project-directory", str(ROOT)]
            + [arg for name in files for arg in ("-f", str(ROOT / name))]
            + ["--env-file", str(ROOT / ".env.example"), "config", "--format", "json"],
            cwd=ROOT,
        ).stdout
        for service in json.loads(rendered)["services"].values():
            ports |= {int(port["published"]) for port in service.get("ports", [])}
    return ports


def echo(message: str) -> None:
    print(f"[compose-test] {message}", flush=True)


def generated_env(path: Path) -> dict[str, str]:
    """.env.example with every placeholder replaced by a fresh secret, written to `path`."""
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name = line.split("=", 1)[0]
            values[name] = (
                base64.urlsafe_b64encode(os.urandom(32)).decode()
                if name == "AIRFLOW_FERNET_KEY"
                else secrets.token_urlsafe(24)
            )
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    path.chmod(0o600)
    return values


# The compose files each variant runs: the base file alone, and the base file scaled out.
VARIANTS = {
    # The simple auth manager's one admin, the LocalExecutor.
    "single-host": ("docker-compose.yml",),
    # Celery workers, Superset on Redis, and the FAB auth manager's users and roles.
    "scale-out": (
        "docker-compose.yml",
        "docker-compose.scale-out.yml",
        "docker-compose.fab-auth.yml",
    ),
}


@dataclass
class ComposeStack:
    engine: Engine
    variant: str
    env_file: Path
    values: dict[str, str]
    settled: dict[str, dict] = field(default_factory=dict)

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        files = [arg for name in VARIANTS[self.variant] for arg in ("-f", str(ROOT / name))]
        return self.engine.docker(
            "compose", "-p", PROJECT, "--env-file", str(self.env_file), *files, *args,
            cwd=ROOT, check=check,
        )  # fmt: skip

    def services(self) -> dict[str, dict]:
        """Every container by name (a service with replicas has several), with its service."""
        listed = self.compose("ps", "--all", "--format", "json").stdout
        rows = [json.loads(line) for line in listed.splitlines() if line.strip()]
        if len(rows) == 1 and isinstance(rows[0], list):
            rows = rows[0]
        return {row["Name"]: row for row in rows}


def wait_healthy(stack: ComposeStack, timeout: float = 900) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        services = stack.services()
        restarts = stack.engine.docker(
            "inspect", "--format", "{{.Name}} {{.RestartCount}}", *services
        ).stdout.split()
        for name, count in zip(restarts[::2], restarts[1::2], strict=True):
            if int(count) >= 2:  # a crash loop: say why now, not at the timeout
                service = services[name.lstrip("/")]["Service"]
                tail = stack.compose("logs", "--no-color", "--tail", "40", service).stdout
                raise EngineError(f"{name} keeps restarting:\n{tail}")
        pending = {
            name: row.get("Health") or row["State"]
            for name, row in services.items()
            if not (
                (
                    row["Service"] in ONE_SHOT_JOBS
                    and row["State"] == "exited"
                    and not row["ExitCode"]
                )
                or row.get("Health") == "healthy"
            )
        }
        failed = [
            n for n, row in services.items() if row["Service"] in ONE_SHOT_JOBS and row["ExitCode"]
        ]
        if failed or not pending or time.monotonic() > deadline:
            return services
        summary = ", ".join(
            f"{n.removeprefix(PROJECT + '-')}: {s}" for n, s in sorted(pending.items())
        )
        if summary != last:
            echo(f"waiting for {summary}")
            last = summary
        time.sleep(5)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    if os.geteuid() != 0:
        pytest.skip("a private Docker Engine needs root (bridge, iptables): run as root")
    busy = []
    for port in sorted(published_ports()):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    if busy:
        pytest.fail(
            f"127.0.0.1 ports {busy} are in use; the compose file publishes them: stop what "
            "listens there (`make down` stops the demo stack)"
        )
    STATE.mkdir(parents=True, exist_ok=True)

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    # A CI timeout sends SIGTERM: take the stack, the engine and its iptables rules down.
    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        with private_engine(echo) as running:
            build_standins(running, echo)
            yield running
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="module", params=list(VARIANTS))
def stack(engine: Engine, request: pytest.FixtureRequest) -> Iterator[ComposeStack]:
    variant = request.param
    env_file = STATE / "compose.env"
    stack = ComposeStack(engine, variant, env_file, generated_env(env_file))
    logs = STATE / f"compose-{variant}.log"
    try:
        # Containers and volumes of a run killed before its `down` (the data root stays).
        stack.compose("down", "--volumes", "--remove-orphans", check=False)
        started = time.monotonic()
        built = stack.compose("build")
        echo(f"{variant}: project images built in {time.monotonic() - started:.0f} s")
        (STATE / "build.log").write_text(built.stdout + built.stderr)
        started = time.monotonic()
        stack.compose("up", "--detach")
        stack.settled = wait_healthy(stack)
        echo(f"{variant}: services settled {time.monotonic() - started:.0f} s after `up`")
        yield stack
    finally:
        logs.write_text(stack.compose("logs", "--no-color", check=False).stdout)
        echo(f"{variant}: service logs in {logs}")
        stack.compose("down", "--volumes", "--remove-orphans", check=False)


def test_every_service_turns_healthy_and_the_init_jobs_succeed(stack: ComposeStack) -> None:
    containers = stack.settled
    expected = set(stack.compose("config", "--services").stdout.split())
    assert {row["Service"] for row in containers.values()} == expected
    states = {
        name: (row["State"], row.get("Health"), row["ExitCode"]) for name, row in containers.items()
    }
    for name, row in containers.items():
        if row["Service"] in ONE_SHOT_JOBS:
            assert states[name][::2] == ("exited", 0), f"{name}: {states[name]}"
        else:
            assert states[name][:2] == ("running", "healthy"), f"{name}: {states[name]}"
    if stack.variant == "scale-out":
        workers = [row for row in containers.values() if row["Service"] == "airflow-worker"]
        assert len(workers) == 2


def test_unpausing_the_refresh_runs_it_and_publishes_the_mart_and_dashboards(
    stack: ComposeStack,
) -> None:
    airflow = AirflowClient(
        "http://127.0.0.1:8080", "admin", stack.values["AIRFLOW_ADMIN_PASSWORD"]
    )
    try:
        deadline = time.monotonic() + 180
        while True:  # the dag-processor parses dags/ within its refresh interval
            try:
                airflow.dag("revenue_refresh")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(5)
        airflow.set_paused("revenue_refresh", False)
        deadline = time.monotonic() + 120
        while not (runs := airflow.dag_runs("revenue_refresh")):
            assert time.monotonic() < deadline, "unpausing started no run"
            time.sleep(3)
        (run,) = runs  # the schedule's latest slot, and only that one (catchup is off)
        started = time.monotonic()
        finished = airflow.wait_for_run("revenue_refresh", run["dag_run_id"], timeout=1500)
        tasks = airflow.task_instances("revenue_refresh", run["dag_run_id"])
        echo(f"refresh {finished['state']} in {time.monotonic() - started:.0f} s")
        failed = sorted(t["task_id"] for t in tasks if t["state"] != "success")
        assert (finished["state"], failed) == ("success", [])
        hosts = {t.get("hostname") for t in tasks}
        echo(f"{stack.variant}: tasks ran on {sorted(hosts)}")
    finally:
        airflow.close()

    warehouse = (
        f"postgresql://revenue_os:{stack.values['WAREHOUSE_PASSWORD']}@127.0.0.1:55432/warehouse"
    )
    with psycopg.connect(warehouse) as conn:
        build_id, status, run_id = conn.execute(
            "SELECT build_id, status, run_id FROM ops.mart_builds ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        built = conn.execute(
            "SELECT row_count FROM ops.mart_build_models WHERE build_id = %s AND model = %s",
            (build_id, "kpi_values"),
        ).fetchone()[0]
        published = conn.execute("SELECT count(*) FROM mart.kpi_values").fetchone()[0]
    assert (status, run_id) == ("published", run["dag_run_id"])
    assert published == built > 0  # the published KPI table is the one this run built

    with SupersetClient(
        "http://127.0.0.1:8088", "admin", stack.values["SUPERSET_ADMIN_PASSWORD"]
    ) as superset:
        superset.login()
        dashboards = {d["slug"]: d for d in superset.dashboards()}
        charts = superset.charts()
    specs = load_specs(DASHBOARDS_DIR, load_contracts()).values()
    assert set(dashboards) == {spec.slug for spec in specs}
    assert len(charts) == sum(len(spec.charts) for spec in specs)

    if stack.variant == "scale-out":
        # The loads fan out over both workers; the dashboards' warm-up filled Redis.
        # A container's host name is the first 12 characters of its id.
        workers = {
            row["ID"][:12] for row in stack.settled.values() if row["Service"] == "airflow-worker"
        }
        extract_hosts = {t.get("hostname") for t in tasks if t["task_id"].startswith("load_")}
        assert len(extract_hosts) >= 2 and extract_hosts <= workers, (extract_hosts, workers)
        cached = stack.compose("exec", "-T", "redis", "redis-cli", "-n", "1", "dbsize").stdout
        assert int(cached.strip()) > 0
        # The FAB auth manager logged the admin in above, with its roles in place.
        airflow = AirflowClient(
            "http://127.0.0.1:8080", "admin", stack.values["AIRFLOW_ADMIN_PASSWORD"]
        )
        try:
            roles = airflow.request("GET", "/auth/fab/v1/roles").json()["roles"]
        finally:
            airflow.close()
        assert {"Admin", "Op", "User", "Viewer"} <= {role["name"] for role in roles}
