"""Profiles: two independent copies of the local stack on one machine.

`demo` is what an operator runs; `test` is what `make test` brings up, on its own ports and
its own Postgres cluster, so running the tests never touches the demo's data; `bench` is the
throw-away copy that bench/stack_setup.py creates from nothing and deletes again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from revenue_os.paths import LOCAL_DIR, PROJECT_ROOT

# name -> (postgres, airflow api-server, superset, mock vendor APIs, SMTP mail server) ports;
# all on 127.0.0.1.
DEFAULT_PORTS: dict[str, tuple[int, int, int, int, int]] = {
    "demo": (55432, 8080, 8088, 8900, 2525),
    "test": (55532, 18080, 18088, 18900, 12525),
    "bench": (55632, 28080, 28088, 28900, 22525),
}


class ProfileError(ValueError):
    """A profile name or port override that cannot be used."""


@dataclass(frozen=True)
class Profile:
    name: str
    postgres_port: int
    airflow_port: int
    superset_port: int
    mock_apis_port: int
    mail_port: int

    @property
    def state_dir(self) -> Path:
        """Everything the stack writes for this profile: secrets, logs, PID files, homes."""
        return LOCAL_DIR / self.name

    @property
    def secrets_file(self) -> Path:
        return self.state_dir / "secrets.env"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def mail_dir(self) -> Path:
        """Every message the local mail server received, one .eml file each."""
        return self.state_dir / "mail"

    @property
    def service_home(self) -> Path:
        """HOME of the services (caches, config dot-files), never the caller's."""
        return self.state_dir / "home"

    @property
    def watch_dir(self) -> Path:
        """Where the scheduler watch records its last check."""
        return self.state_dir / "watch"

    @property
    def airflow_home(self) -> Path:
        return self.state_dir / "airflow"

    @property
    def superset_home(self) -> Path:
        return self.state_dir / "superset"

    @cached_property
    def postgres_dir(self) -> Path:
        """Parent of the cluster's data and socket folders.

        Postgres refuses to run as root, so as root the cluster runs as the `postgres` OS user,
        which must be able to reach the folder. A checkout under a root-only home (mode 700)
        is not reachable; then the cluster lives under /var/tmp in a folder named from a hash
        of the checkout path, so two checkouts never share one.
        """
        local = self.state_dir / "postgres"
        if os.geteuid() != 0 or _reachable_by_postgres_user(self.state_dir):
            return local
        digest = hashlib.sha256(str(PROJECT_ROOT).encode()).hexdigest()[:12]
        return Path("/var/tmp") / f"revenue-os-{digest}" / self.name / "postgres"

    @property
    def scheduler_health_port(self) -> int:
        """The scheduler's own health check, beside the API server's port (8974 for 8080, as
        in Airflow's defaults), so that two profiles never collide."""
        return self.airflow_port + 894

    @property
    def airflow_url(self) -> str:
        return f"http://127.0.0.1:{self.airflow_port}"

    @property
    def superset_url(self) -> str:
        return f"http://127.0.0.1:{self.superset_port}"

    @property
    def mock_apis_url(self) -> str:
        return f"http://127.0.0.1:{self.mock_apis_port}"


def _reachable_by_postgres_user(path: Path) -> bool:
    """True when the `postgres` OS user can traverse every folder down to `path`."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    result = subprocess.run(
        [
            shutil.which("runuser") or "/usr/sbin/runuser",
            "-u",
            "postgres",
            "--",
            "test",
            "-x",
            str(probe),
        ],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def _port_override(variable: str, default: int) -> int:
    raw = os.environ.get(variable)
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise ProfileError(f"{variable}={raw!r} is not a port number") from None
    if not 1024 <= port <= 65535:
        raise ProfileError(f"{variable}={port} is outside 1024-65535")
    return port


def load_profile(name: str | None = None) -> Profile:
    """The profile named, else REVENUE_OS_PROFILE, else `demo`; ports overridable by env."""
    name = name or os.environ.get("REVENUE_OS_PROFILE") or "demo"
    if name not in DEFAULT_PORTS:
        known = ", ".join(sorted(DEFAULT_PORTS))
        raise ProfileError(f"unknown profile {name!r} (REVENUE_OS_PROFILE): use one of {known}")
    pg, airflow, superset, mock_apis, mail = DEFAULT_PORTS[name]
    return Profile(
        name=name,
        postgres_port=_port_override("REVENUE_OS_POSTGRES_PORT", pg),
        airflow_port=_port_override("REVENUE_OS_AIRFLOW_PORT", airflow),
        superset_port=_port_override("REVENUE_OS_SUPERSET_PORT", superset),
        mock_apis_port=_port_override("REVENUE_OS_MOCK_APIS_PORT", mock_apis),
        mail_port=_port_override("REVENUE_OS_MAIL_PORT", mail),
    )
