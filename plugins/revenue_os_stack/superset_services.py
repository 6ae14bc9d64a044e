"""Superset 6.1 on the local stack, in a venv of its own (.venv-superset).

Superset's Flask/SQLAlchemy 1.4 stack cannot share a venv with Airflow's, so it is installed
from superset/requirements.lock into a separate venv and driven through its own executables.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import httpx

from revenue_os.paths import PROJECT_ROOT, SUPERSET_DIR
from revenue_os_stack.processes import Service
from revenue_os_stack.profile import Profile
from revenue_os_stack.service_user import ServiceUser, made_from, venv_python

SUPERSET_CONFIG = SUPERSET_DIR / "superset_config.py"

VENV_DIR = PROJECT_ROOT / ".venv-superset"
LOCK_FILE = SUPERSET_DIR / "requirements.lock"
ADMIN_USER = "admin"


def _lock_digest() -> str:
    return hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()


def find_uv() -> str:
    """uv as bootstrapped by the Makefile, else one on PATH."""
    candidates = [
        os.environ.get("UV"),
        str(PROJECT_ROOT / ".local" / "tools" / "uv" / "bin" / "uv"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    from shutil import which

    found = which("uv")
    if not found:
        raise RuntimeError("uv not found: run `make venv` first (it bootstraps uv with pip)")
    return found


def ensure_venv(log) -> bool:
    """Install or update the Superset venv when its lock changed; True when it did work."""
    stamp = VENV_DIR / ".revenue-os-lock.sha256"
    digest = _lock_digest()
    python = venv_python()
    if not made_from(VENV_DIR, python):
        shutil.rmtree(VENV_DIR, ignore_errors=True)  # made from an interpreter we no longer use
    elif stamp.exists() and stamp.read_text().strip() == digest:
        return False
    uv = find_uv()
    if not (VENV_DIR / "bin" / "python").exists():
        log(f"creating {VENV_DIR.name} from {python}")
        subprocess.run([uv, "venv", "-q", "-p", python, str(VENV_DIR)], check=True)
    log("installing Superset from superset/requirements.lock")
    subprocess.run(
        [uv, "pip", "sync", "-q", "-p", str(VENV_DIR / "bin" / "python"), str(LOCK_FILE)],
        check=True,
    )
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n")
    return True


def superset_env(profile: Profile, secrets: Mapping[str, str]) -> dict[str, str]:
    pg = f"127.0.0.1:{profile.postgres_port}"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV"))},
        "PATH": f"{VENV_DIR / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "SUPERSET_CONFIG_PATH": str(SUPERSET_CONFIG),
        "SUPERSET_HOME": str(profile.superset_home),
        "SUPERSET_SECRET_KEY": secrets["SUPERSET_SECRET_KEY"],
        "SUPERSET_METADATA_DB_URI": (
            f"postgresql+psycopg2://superset:{secrets['SUPERSET_DB_PASSWORD']}@{pg}/superset"
        ),
        "FLASK_APP": "superset.app:create_app()",
    }


def _run_in_venv(
    executable: str,
    args: list[str],
    env: Mapping[str, str],
    what: str,
    timeout: float = 600,
    user: ServiceUser | None = None,
) -> str:
    """One of Superset's venv executables, secrets in the environment (never in argv); with
    `user`, as that user, who owns SUPERSET_HOME."""
    result = subprocess.run(
        [str(VENV_DIR / "bin" / executable), *args],
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
            f"{what} failed (exit {result.returncode}):\n{(result.stderr + result.stdout)[-4000:]}"
        )
    return result.stdout + result.stderr


def run_superset(
    env: Mapping[str, str], *args: str, timeout: float = 600, user: ServiceUser | None = None
) -> str:
    return _run_in_venv("superset", list(args), env, f"`superset {' '.join(args)}`", timeout, user)


EXECUTIVE_ROLE_SCRIPT = SUPERSET_DIR / "executive_role.py"
ADMIN_USER_SCRIPT = SUPERSET_DIR / "admin_user.py"


def _run_superset_python(
    args: list[str], env: Mapping[str, str], what: str, user: ServiceUser | None = None
) -> None:
    """Superset's own Python, for the admin user and the Executive role."""
    _run_in_venv("python", args, env, what, user=user)


def _initialised_digest(secrets: Mapping[str, str]) -> str:
    """What the initialisation depends on: the lock, the role script, the executive password."""
    parts = [
        _lock_digest(),
        hashlib.sha256(EXECUTIVE_ROLE_SCRIPT.read_bytes()).hexdigest(),
        hashlib.sha256(ADMIN_USER_SCRIPT.read_bytes()).hexdigest(),
        hashlib.sha256(secrets["SUPERSET_EXECUTIVE_PASSWORD"].encode()).hexdigest(),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def initialise(
    profile: Profile,
    env: Mapping[str, str],
    secrets: Mapping[str, str],
    log,
    user: ServiceUser | None = None,
) -> bool:
    """db upgrade, admin user, roles and permissions, the Executive role and user; skipped when
    already done for this lock, role script and password."""
    # Beside the PID files, which only the caller writes: not in SUPERSET_HOME, the user's.
    stamp = profile.run_dir / "superset.initialised"
    digest = _initialised_digest(secrets)
    if stamp.exists() and stamp.read_text().strip() == digest:
        return False
    profile.superset_home.mkdir(parents=True, exist_ok=True)
    log("superset db upgrade")
    run_superset(env, "db", "upgrade", user=user)
    log("creating the admin user")
    # The password travels through the script's environment, not through argv.
    _run_superset_python(
        [str(ADMIN_USER_SCRIPT)],
        {**env, "SUPERSET_ADMIN_PASSWORD": secrets["SUPERSET_ADMIN_PASSWORD"]},
        "creating the Superset admin",
        user,
    )
    log("superset init (roles and permissions)")
    run_superset(env, "init", user=user)
    log("the Executive role and user")
    _run_superset_python(
        [str(EXECUTIVE_ROLE_SCRIPT)],
        {**env, "SUPERSET_EXECUTIVE_PASSWORD": secrets["SUPERSET_EXECUTIVE_PASSWORD"]},
        "creating the Executive role",
        user,
    )
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n")
    return True


# How Superset's web server runs, here and in docker-compose.yml (a test holds them equal):
# two workers of four threads; 120 s for a slow chart query instead of gunicorn's 30; and, as
# Superset's own run-server script sets, no limit on the request line and header sizes, which
# long explore URLs (a chart's whole form data) exceed.
GUNICORN_SETTINGS = (
    "--workers",
    "2",
    "--worker-class",
    "gthread",
    "--threads",
    "4",
    "--timeout",
    "120",
    "--limit-request-line",
    "0",
    "--limit-request-field_size",
    "0",
)


def services(profile: Profile) -> list[Service]:
    gunicorn = str(VENV_DIR / "bin" / "gunicorn")
    argv = [
        gunicorn,
        *GUNICORN_SETTINGS,
        "--bind",
        f"127.0.0.1:{profile.superset_port}",
        # Without it gunicorn writes a control socket under ~/.gunicorn.
        "--no-control-socket",
        "superset.app:create_app()",
    ]
    return [
        Service(
            "superset",
            argv,
            profile.run_dir,
            profile.log_dir,
            config_files=(SUPERSET_CONFIG, SUPERSET_DIR / "access.py"),
        )
    ]


def health(profile: Profile) -> bool:
    response = httpx.get(f"{profile.superset_url}/health", timeout=5)
    return response.status_code == 200 and response.text.strip() == "OK"
