"""Long-running services as detached processes, each known by a PID file.

A PID file holds the PID and the process's start time (from /proc), so that `down` never
signals an unrelated process that happens to reuse a recorded PID. Each service is started in
a session of its own and stopped by signalling its whole process group: its workers (gunicorn,
the LocalExecutor) go with it and nothing else does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from revenue_os_stack.service_user import ServiceUser


def _start_time(pid: int) -> str | None:
    """The kernel's start time of `pid` in clock ticks since boot, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces; fields after it are split safely.
    after_name = stat.rsplit(")", 1)[1].split()
    state = after_name[0]
    if state == "Z":
        return None
    return after_name[19]


class ServiceDied(RuntimeError):
    """A service the stack started is gone; the message carries the end of its log."""


class PortTaken(RuntimeError):
    """A port the stack needs is held by another process."""


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on host:port (a bind there would fail)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the servers themselves do: connections of a just-stopped server linger in
        # TIME_WAIT, and without this they would make a free port look taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


# Variables of the stack's own that change what a service does when they change.
CONFIG_PREFIXES = ("AIRFLOW", "SUPERSET", "REVENUE_OS", "MOCK_API", "FLASK")


@dataclass(frozen=True)
class Service:
    """One long-running process of the stack."""

    name: str
    argv: Sequence[str]
    run_dir: Path
    log_dir: Path
    # Files the service reads at start-up only (Superset's config): an edit restarts it.
    config_files: Sequence[Path] = ()

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        """The PID of this service if the process recorded in its PID file is still alive."""
        try:
            pid_text, started = self.pid_file.read_text().split()
            pid = int(pid_text)
        except (FileNotFoundError, ValueError):
            return None
        return pid if _start_time(pid) == started else None

    @property
    def config_file(self) -> Path:
        return self.run_dir / f"{self.name}.config"

    def _config_digest(self, env: Mapping[str, str], user: ServiceUser | None = None) -> str:
        """What the service was started with that matters to it: its command line and the
        stack's own variables (connections, secrets, ports), not the caller's whole shell."""
        relevant = sorted((k, v) for k, v in env.items() if k.startswith(CONFIG_PREFIXES))
        files = [
            hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
            for path in self.config_files
        ]
        identity = [list(self.argv), relevant] + ([files] if files else [])
        if user is not None:  # a service left running as root is restarted as the user
            identity.append(user.name)
        return hashlib.sha256(json.dumps(identity).encode()).hexdigest()

    def start(self, env: Mapping[str, str], cwd: Path, user: ServiceUser | None = None) -> int:
        """Start the service unless it already runs with this configuration; return its PID.

        A service running with another configuration (a connection added by an upgrade, a
        moved port) is restarted, or it would keep serving the old one until someone notices.
        With `user`, it runs as that OS user (its log is opened here, so needs no grant).
        """
        digest = self._config_digest(env, user)
        running = self.pid()
        if running:
            try:
                current = self.config_file.read_text().strip()
            except FileNotFoundError:
                current = None  # started by an older version: its configuration is unknown
            if current == digest:
                return running
            self.stop()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            log.write(
                f"\n--- starting {self.name} at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode()
            )
            log.flush()
            proc = subprocess.Popen(
                list(self.argv),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **ServiceUser.options_for(user),
            )
        started = _start_time(proc.pid)
        if started is None:
            raise RuntimeError(f"{self.name} exited at once; see {self.log_file}")
        self.pid_file.write_text(f"{proc.pid} {started}\n")
        self.config_file.write_text(digest + "\n")
        return proc.pid

    def ensure_alive(self) -> None:
        """Raise ServiceDied, with the end of its log, when the service is no longer running."""
        if self.pid() is not None:
            return
        try:
            tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-15:])
        except FileNotFoundError:
            tail = "(no log)"
        raise ServiceDied(f"{self.name} exited; the end of {self.log_file}:\n{tail}")

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the process group this service started; True if something was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.2)
        if _group_alive(pid):
            _signal_group(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """True while any non-zombie process remains in the process group."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def wait_until(
    check,
    *,
    timeout: float,
    interval: float = 0.5,
    what: str,
    fatal: tuple[type[Exception], ...] = (),
) -> None:
    """Poll `check()` until it returns truthy; raise TimeoutError naming `what`.

    Exceptions from `check` mean "not yet" (a service still starting), except those in
    `fatal`, which no amount of waiting will cure and which propagate at once.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except fatal:
            raise
        except Exception as error:  # the service is still coming up
            last_error = error
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s{detail}")
