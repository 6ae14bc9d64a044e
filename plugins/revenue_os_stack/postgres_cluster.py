"""A project-local PostgreSQL cluster on 127.0.0.1, one per profile.

The cluster listens on loopback only, on a non-default port, with scram passwords for every
role the applications use; the superuser is reachable only through a Unix socket in a folder
that only the cluster's OS user can enter.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from revenue_os.paths import BOOTSTRAP_SQL
from revenue_os_stack.profile import Profile

PREFERRED_MAJOR = "15"


class PostgresSetupError(RuntimeError):
    """The Postgres server cannot be installed, initialised or started."""


def find_server_bin_dir() -> Path | None:
    """The bin folder of the installed server (15 preferred, else the newest found)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        found = shutil.which("initdb")
        return Path(found).parent if found else None
    preferred = [c for c in candidates if f"/{PREFERRED_MAJOR}/" in c]
    return Path((preferred or candidates)[-1]).parent


def ensure_server_installed(log) -> Path:
    """Install Debian's PostgreSQL server when it is absent (needs root); return its bin dir."""
    bin_dir = find_server_bin_dir()
    if bin_dir:
        return bin_dir
    if os.geteuid() != 0:
        raise PostgresSetupError(
            "the PostgreSQL server is not installed: run `sudo apt-get install -y postgresql` "
            "(or run this command as root, which installs it)"
        )
    log("installing the PostgreSQL server (apt-get install postgresql)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-qq"],
        [
            "apt-get",
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            "postgresql",
            "postgresql-client",
        ],
    ):
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PostgresSetupError(f"`{' '.join(argv)}` failed:\n{result.stderr[-2000:]}")
    bin_dir = find_server_bin_dir()
    if not bin_dir:
        raise PostgresSetupError("apt-get installed postgresql but no initdb was found")
    return bin_dir


# The secrets sql/bootstrap reads from its environment: one password per role it creates.
BOOTSTRAP_PASSWORDS = (
    "WAREHOUSE_PASSWORD",
    "WAREHOUSE_LOADER_PASSWORD",
    "WAREHOUSE_BUILDER_PASSWORD",
    "MART_READER_PASSWORD",
    "AIRFLOW_DB_PASSWORD",
    "SUPERSET_DB_PASSWORD",
)


class LocalPostgres:
    """The cluster of one profile: data under <postgres_dir>/data, socket in <postgres_dir>/socket."""

    def __init__(self, profile: Profile, bin_dir: Path):
        self.profile = profile
        self.bin_dir = bin_dir
        self.base_dir = profile.postgres_dir
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "socket"
        # The server writes its log as the cluster's OS user, which may not reach the checkout;
        # logs/postgres.log links to it so every service's log is found in one folder.
        self.log_file = self.base_dir / "server.log"
        self.log_link = profile.log_dir / "postgres.log"
        self.port = profile.postgres_port
        # As root the server must run as an unprivileged OS user; otherwise as the caller.
        self.os_user = "postgres" if os.geteuid() == 0 else None

    # -- commands run as the cluster's OS user -------------------------------------------
    def _as_owner(self, argv: Sequence[str]) -> list[str]:
        if self.os_user:
            # /usr/sbin is not on every root PATH (e.g. `su` without `-`).
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            return [runuser, "-u", self.os_user, "--", *argv]
        return list(argv)

    def _run(
        self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, hint: str = ""
    ) -> str:
        result = subprocess.run(
            self._as_owner(argv),
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            # The cluster's OS user may not be allowed into the caller's working directory.
            cwd=self.base_dir if self.base_dir.exists() else "/",
            check=False,
        )
        if result.returncode != 0:
            raise PostgresSetupError(
                f"`{' '.join(argv)}` failed (exit {result.returncode}):\n"
                f"{(result.stderr or result.stdout)[-3000:]}" + (f"\n({hint})" if hint else "")
            )
        return result.stdout

    def _chown(self, *paths: Path) -> None:
        if self.os_user:
            shutil.chown(paths[0], self.os_user, self.os_user)
            for path in paths[1:]:
                shutil.chown(path, self.os_user, self.os_user)

    # -- lifecycle --------------------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> bool:
        """Create the cluster if it does not exist yet; True when it was created now."""
        if self.initialised:
            return False
        for folder in (self.base_dir, self.data_dir, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(0o700)
        self._chown(self.base_dir, self.data_dir, self.socket_dir)
        self._run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ]
        )
        # The superuser only over the socket (whose folder is private to the cluster's OS
        # user); every application role over TCP on loopback with a scram password.
        hba = (
            "# Written by revenue-os. TYPE DATABASE USER ADDRESS METHOD\n"
            "local all postgres trust\n"
            "host  all all 127.0.0.1/32 scram-sha-256\n"
        )
        (self.data_dir / "pg_hba.conf").write_text(hba)
        settings = (
            "\n# revenue-os: loopback only, on the profile's port\n"
            "listen_addresses = '127.0.0.1'\n"
            f"port = {self.port}\n"
            f"unix_socket_directories = '{self.socket_dir}'\n"
            "password_encryption = 'scram-sha-256'\n"
            "max_connections = 100\n"
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(settings)
        self._chown(self.data_dir / "pg_hba.conf")
        return True

    def is_running(self) -> bool:
        if not self.initialised:
            return False
        result = subprocess.run(
            self._as_owner([str(self.bin_dir / "pg_ctl"), "status", "-D", str(self.data_dir)]),
            capture_output=True,
            cwd=self.base_dir,
            check=False,
        )
        return result.returncode == 0

    def running_port(self) -> int | None:
        """The port the running server listens on (postmaster.pid's fourth line), or None."""
        if not self.is_running():
            return None
        lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        return int(lines[3]) if len(lines) > 3 and lines[3].strip().isdigit() else None

    def start(self) -> bool:
        """Start the server unless it runs; True when it was started now."""
        if self.is_running():
            return False
        self.log_file.touch()
        self._chown(self.log_file)
        self.log_link.parent.mkdir(parents=True, exist_ok=True)
        if not self.log_link.is_symlink():
            self.log_link.unlink(missing_ok=True)
            self.log_link.symlink_to(self.log_file)
        self._run(
            [
                str(self.bin_dir / "pg_ctl"),
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                "60",
                # Settings are repeated on the command line so that a port override via
                # REVENUE_OS_POSTGRES_PORT takes effect on an existing cluster too.
                "-o",
                f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1",
            ]
        )
        return True

    def stop(self) -> bool:
        if not self.is_running():
            return False
        self._run(
            [str(self.bin_dir / "pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w"]
        )
        return True

    # -- SQL as the superuser ---------------------------------------------------------
    def psql(
        self,
        *,
        database: str = "postgres",
        file: Path | None = None,
        command: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> str:
        psql = self.bin_dir / "psql"
        argv = [
            str(psql),
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-At",
        ]
        if file is not None:
            argv += ["-f", str(file)]
        if command is not None:
            argv += ["-c", command]
        return self._run(argv, env=env)

    def bootstrap_roles(self, secrets: Mapping[str, str]) -> None:
        """Create or update the roles and databases of sql/bootstrap (idempotent)."""
        # psql reads the file as the cluster's OS user, which may not reach the checkout.
        sql = BOOTSTRAP_SQL.read_text()
        staged = self.base_dir / "bootstrap.sql"
        staged.write_text(sql)
        self._chown(staged)
        # The passwords travel in psql's environment (read with \getenv), never on a
        # command line where `ps` would show them.
        try:
            self.psql(file=staged, env={name: secrets[name] for name in BOOTSTRAP_PASSWORDS})
        finally:
            staged.unlink(missing_ok=True)

    def url(self, user: str, password: str, database: str, driver: str = "postgresql") -> str:
        return f"{driver}://{user}:{password}@127.0.0.1:{self.port}/{database}"
