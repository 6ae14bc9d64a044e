"""The unprivileged OS user the local stack's services run as when `demo` runs as root.

Postgres refuses to run as root; the rest of the stack would not, and then DAG code, Superset
and the mock APIs would execute as root. As root, `demo` runs every service as the system
user `revenue-os` (created if missing: no login shell, no home), which may read the checkout
and write only its profile's service folders: never the secrets file (services receive their
secrets in their environment) nor the PID files `down` trusts.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from revenue_os_stack.profile import Profile

SERVICE_USER = "revenue-os"
# Debian's own interpreter: one under root's home (pyenv, a root-only ~/.local) is out of
# reach of the service user, and so would be every venv made from it.
SYSTEM_PYTHON = Path("/usr/bin/python3.11")


class ServiceUserError(RuntimeError):
    """The service user cannot be created or cannot reach what it must run."""


@dataclass(frozen=True)
class ServiceUser:
    name: str
    uid: int
    gid: int

    def popen_options(self) -> dict:
        """What subprocess.Popen needs to start a process as this user, with no extra groups."""
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    @staticmethod
    def options_for(user: ServiceUser | None) -> dict:
        """Popen options that run a command as `user`, or as the caller when None."""
        return user.popen_options() if user else {}

    def env(self, env: Mapping[str, str], home: Path) -> dict[str, str]:
        """`env` for a process of this user: its own HOME and USER, not root's."""
        return {**env, "HOME": str(home), "USER": self.name, "LOGNAME": self.name}


def venv_python() -> str:
    """The interpreter the venvs are made from: Debian's python3.11 when present."""
    return str(SYSTEM_PYTHON) if SYSTEM_PYTHON.exists() else "python3.11"


def made_from(venv: Path, python: str) -> bool:
    """True when `venv` exists and was made from the interpreter `python` (its pyvenv.cfg)."""
    try:
        config = (venv / "pyvenv.cfg").read_text()
    except FileNotFoundError:
        return False
    if not Path(python).is_absolute():
        return True  # whatever python3.11 was on PATH: nothing better to compare with
    return f"home = {Path(python).parent}" in config.splitlines()


def service_user(create: bool = True) -> ServiceUser | None:
    """The user services run as: None when not root (they run as the caller)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        if not create:
            return None
        useradd = shutil.which("useradd") or "/usr/sbin/useradd"
        result = subprocess.run(
            [useradd, "--system", "--user-group", "--no-create-home", "--home-dir",
             "/nonexistent", "--shell", "/usr/sbin/nologin", SERVICE_USER],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise ServiceUserError(
                f"could not create the OS user {SERVICE_USER!r} the services run as: "
                f"{result.stderr.strip()}"
            ) from None
        entry = pwd.getpwnam(SERVICE_USER)
    return ServiceUser(SERVICE_USER, entry.pw_uid, entry.pw_gid)


def writable_dirs(profile: Profile) -> list[Path]:
    """The folders of `profile` the services write: their homes, mail, exports, the watch's
    status. Logs are opened by the starting process and handed over, so need no grant."""
    return [
        profile.service_home,
        profile.airflow_home,
        profile.superset_home,
        profile.mail_dir,
        profile.state_dir / "exports",
        profile.watch_dir,
    ]


def hand_over(user: ServiceUser, folders: Iterable[Path]) -> None:
    """Make each folder, and everything in it, the service user's (created if missing).

    The folders are the user's to change while root walks them: every step is taken relative
    to an open folder and never through a link, so a folder swapped for a link to /etc
    mid-walk cannot make root give away what lies outside."""
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, user.uid, user.gid, follow_symlinks=False)
        for _, dirs, files, dir_fd in os.fwalk(folder, follow_symlinks=False):
            for name in dirs + files:
                os.chown(name, user.uid, user.gid, dir_fd=dir_fd, follow_symlinks=False)


def check_reachable(user: ServiceUser, interpreters: Iterable[Path]) -> None:
    """Fail early, naming the fix, when the service user cannot run the stack's code."""
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    for python in interpreters:
        result = subprocess.run(
            [runuser, "-u", user.name, "--", str(python), "-c", "import sys"],
            capture_output=True, text=True, check=False, cwd="/",
        )  # fmt: skip
        if result.returncode != 0:
            raise ServiceUserError(
                f"the services run as the OS user {user.name!r}, which cannot run {python} "
                f"({(result.stderr or result.stdout).strip()[-300:]}). Keep the checkout and "
                "the interpreter its venvs come from where that user can read them (not under "
                "a root-only home), then rebuild the venvs: `make clean && make demo`"
            )
