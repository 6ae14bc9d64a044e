"""Airflow 3 on the local stack: its environment, its services and a small REST client.

Everything Airflow needs is passed as AIRFLOW__* / AIRFLOW_CONN_* environment variables, so
the same settings can be read in one place and no airflow.cfg drifts from the code.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from revenue_os.orchestration.defaults import SOURCE_POOL, SOURCE_POOL_SLOTS
from revenue_os.paths import DAGS_DIR, PLUGINS_DIR, PROJECT_ROOT
from revenue_os_stack.mail_server import smtp_connection_uri
from revenue_os_stack.mock_api_services import mock_source_connections
from revenue_os_stack.processes import Service
from revenue_os_stack.profile import Profile
from revenue_os_stack.service_user import ServiceUser
from revenue_os_stack.superset_services import ADMIN_USER as SUPERSET_ADMIN_USER

BIN_DIR = Path(sys.executable).parent
ADMIN_USER = "admin"
# [scheduler] task_instance_heartbeat_timeout (Airflow's default 300 s): a task whose process
# died (killed for memory, a lost worker) is failed, retried and alerted 2 minutes after its
# last heartbeat instead of 5. Running tasks heartbeat every few seconds, so 2 minutes of
# silence is no hiccup. docker-compose.yml sets the same value.
TASK_HEARTBEAT_TIMEOUT_S = 120


def airflow_env(profile: Profile, secrets: Mapping[str, str]) -> dict[str, str]:
    """The full environment of every Airflow process of `profile`."""
    pg = f"127.0.0.1:{profile.postgres_port}"
    env = {
        **os.environ,
        "PATH": f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}",
        "REVENUE_OS_HOME": str(PROJECT_ROOT),
        "REVENUE_OS_PROFILE": profile.name,
        "AIRFLOW_HOME": str(profile.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # 2 cores: the default of 32 LocalExecutor workers costs ~1.2 GB for nothing.
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__FERNET_KEY": secrets["AIRFLOW_FERNET_KEY"],
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN_USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords_file(profile)),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{profile.airflow_url}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": (
            f"postgresql+psycopg://airflow:{secrets['AIRFLOW_DB_PASSWORD']}@{pg}/airflow"
        ),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(profile.airflow_port),
        "AIRFLOW__API__BASE_URL": profile.airflow_url,
        # Where readers open the dashboards, for the links in packs and KPI alerts.
        "REVENUE_OS_SUPERSET_URL": profile.superset_url,
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API__SECRET_KEY": secrets["AIRFLOW_API_SECRET_KEY"],
        # Shared by the api-server that signs task tokens and the workers that present them.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets["AIRFLOW_JWT_SECRET"],
        # New DAG files appear within 30 s rather than the default 5 minutes.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "True",
        # Airflow listens on every interface unless told otherwise; nothing of the stack does.
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_HOST": "127.0.0.1",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(
            profile.scheduler_health_port
        ),
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(TASK_HEARTBEAT_TIMEOUT_S),
        # One login per job (revenue_os.warehouse.connection): migrations, loads, the build.
        "AIRFLOW_CONN_WAREHOUSE_OWNER": (
            f"postgresql://revenue_os:{secrets['WAREHOUSE_PASSWORD']}@{pg}/warehouse"
        ),
        "AIRFLOW_CONN_WAREHOUSE_LOADER": (
            f"postgresql://revenue_os_loader:{secrets['WAREHOUSE_LOADER_PASSWORD']}@{pg}/warehouse"
        ),
        "AIRFLOW_CONN_WAREHOUSE_BUILDER": (
            f"postgresql://revenue_os_builder:{secrets['WAREHOUSE_BUILDER_PASSWORD']}@{pg}/warehouse"
        ),
        **source_connections(profile.mock_apis_url, secrets["MOCK_API_TOKEN"]),
        # Superset's read-only login to the mart, and Superset itself: the refresh imports
        # the dashboards there as its last step.
        "AIRFLOW_CONN_MART_READER": (
            f"postgresql://mart_reader:{secrets['MART_READER_PASSWORD']}@{pg}/warehouse"
        ),
        "AIRFLOW_CONN_SUPERSET": json.dumps(
            {
                "conn_type": "http",
                "host": profile.superset_url,
                "login": SUPERSET_ADMIN_USER,
                "password": secrets["SUPERSET_ADMIN_PASSWORD"],
            }
        ),
        "REVENUE_OS_EXPORT_DIR": str(profile.state_dir / "exports"),
        # Alerts and the reporting pack go to the profile's own mail server (revenue-os
        # mail-server), which stores them under .local/<profile>/mail/ for `revenue-os mail`.
        "AIRFLOW_CONN_SMTP_DEFAULT": smtp_connection_uri(profile.mail_port),
        **LOCAL_MAIL_SETTINGS,
    }
    return env


# Addresses under the reserved .example domain: locally every message stays in the profile's
# mailbox, whoever it is addressed to, and none could leak to a real inbox.
LOCAL_MAIL_SETTINGS = {
    "REVENUE_OS_ONCALL_EMAILS": "oncall@revenue-os.example",
    "REVENUE_OS_PACK_RECIPIENTS": "leadership@revenue-os.example",
    "REVENUE_OS_PREREAD_RECIPIENTS": "revenue-meeting@revenue-os.example",
    "REVENUE_OS_ALERT_FROM": "revenue-os@revenue-os.example",
}


def source_connections(base_url: str, token: str) -> dict[str, str]:
    """One Airflow connection per vendor (AIRFLOW_CONN_<ID> as JSON), here the mock APIs'.

    Against the real services only the host and the token change: the connectors speak the
    vendors' own paths under it.
    """
    connections = {}
    for conn_id, source in mock_source_connections(base_url, token).items():
        spec = {"conn_type": "http", "host": source.base_url, "password": source.token}
        if source.extra:
            spec["extra"] = source.extra
        connections[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(spec)
    return connections


def passwords_file(profile: Profile) -> Path:
    return profile.airflow_home / "simple_auth_manager_passwords.json"


def write_passwords_file(profile: Profile, secrets: Mapping[str, str]) -> None:
    """The simple auth manager's login, with our generated password instead of its own."""
    path = passwords_file(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The folder is the services' user's: whatever it left under this name (a link to a
    # system file, say) is removed, not written through.
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({ADMIN_USER: secrets["AIRFLOW_ADMIN_PASSWORD"]}, handle)


def run_airflow(
    env: Mapping[str, str], *args: str, timeout: float = 600, user: ServiceUser | None = None
) -> str:
    """Run one `airflow` CLI command; raise with its output when it fails.

    With `user`, as that user: Airflow imports code from AIRFLOW_HOME (config/), a folder the
    services' user may write, so root must never run Airflow there."""
    result = subprocess.run(
        [str(BIN_DIR / "airflow"), *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=PROJECT_ROOT,
        **ServiceUser.options_for(user),
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"`airflow {' '.join(args)}` failed (exit {result.returncode}):\n"
            f"{(result.stderr + result.stdout)[-4000:]}"
        )
    return result.stdout


def ensure_pools(env: Mapping[str, str], user: ServiceUser | None = None) -> None:
    """The pool that caps concurrent vendor API calls (idempotent)."""
    run_airflow(
        env,
        "pools",
        "set",
        SOURCE_POOL,
        str(SOURCE_POOL_SLOTS),
        "Caps concurrent extract tasks, so vendor rate limits are not hit by our own fan-out",
        user=user,
    )


def services(profile: Profile) -> list[Service]:
    """The Airflow processes of the local stack (the triggerer joins when a DAG defers)."""
    airflow = str(BIN_DIR / "airflow")
    spec = {
        "airflow-api-server": [airflow, "api-server"],
        # The task log server binds every interface, with no setting to narrow it; the API
        # server reads task logs from the folder it shares with the scheduler, so it is off.
        "airflow-scheduler": [airflow, "scheduler", "--skip-serve-logs"],
        "airflow-dag-processor": [airflow, "dag-processor"],
    }
    return [Service(name, argv, profile.run_dir, profile.log_dir) for name, argv in spec.items()]


class AirflowClient:
    """The few calls of Airflow's public REST API (v2) that the CLI and tests need."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self._username = username
        self._password = password
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        self._token: str | None = None

    def close(self) -> None:
        self._http.close()

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            response = self._http.post(
                "/auth/token", json={"username": self._username, "password": self._password}
            )
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        response = self._http.request(method, path, headers=self._headers(), **kwargs)
        response.raise_for_status()
        return response

    def health(self) -> dict:
        response = self._http.get("/api/v2/monitor/health")
        response.raise_for_status()
        return response.json()

    def dag(self, dag_id: str) -> dict:
        return self.request("GET", f"/api/v2/dags/{dag_id}").json()

    def import_errors(self) -> list[dict]:
        return self.request("GET", "/api/v2/importErrors").json().get("import_errors", [])

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self.request("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": paused})

    def trigger(self, dag_id: str, note: str | None = None) -> str:
        body: dict = {"logical_date": None}
        if note:
            body["note"] = note
        return self.request("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body).json()[
            "dag_run_id"
        ]

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()

    def dag_runs(self, dag_id: str, limit: int = 20, order_by: str = "-start_date") -> list[dict]:
        params = {"order_by": order_by, "limit": limit}
        return self.request("GET", f"/api/v2/dags/{dag_id}/dagRuns", params=params).json()[
            "dag_runs"
        ]

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        return self.request("GET", path).json()["task_instances"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float, on_change=None) -> dict:
        """Poll until the run finishes; return the final run. `on_change(tis)` sees progress."""
        deadline = time.monotonic() + timeout
        seen: dict[str, str | None] = {}
        while True:
            run = self.dag_run(dag_id, run_id)
            if on_change is not None:
                states = {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}
                if states != seen:
                    seen = states
                    on_change(states)
            if run["state"] in ("success", "failed"):
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"DAG run {run_id} of {dag_id} still {run['state']} after {timeout:.0f} s; "
                    f"see {self.base_url}/dags/{dag_id}/runs/{run_id}"
                )
            time.sleep(2)
