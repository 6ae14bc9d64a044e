"""The service user's pure parts: which venv counts as made from which interpreter, and how a
process is started as the user."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from revenue_os_stack.service_user import ServiceUser, made_from, service_user


def _venv(tmp_path: Path, home: str) -> Path:
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / "pyvenv.cfg").write_text(f"home = {home}\nimplementation = CPython\n")
    return venv


def test_a_venv_is_made_from_the_interpreter_its_config_names(tmp_path):
    venv = _venv(tmp_path, "/usr/bin")
    assert made_from(venv, "/usr/bin/python3.11")
    assert not made_from(venv, "/opt/python/3.11/bin/python3.11")


def test_a_venv_from_a_pyenv_interpreter_is_not_from_debians(tmp_path):
    venv = _venv(tmp_path, "/root/.pyenv/versions/3.11.7/bin")
    assert not made_from(venv, "/usr/bin/python3.11")


def test_a_missing_venv_is_made_from_nothing(tmp_path):
    assert not made_from(tmp_path / "absent", "/usr/bin/python3.11")


def test_the_users_environment_has_its_own_home_not_roots(tmp_path):
    user = ServiceUser("revenue-os", 999, 998)
    env = user.env({"HOME": "/root", "USER": "root", "AIRFLOW_HOME": "/a"}, tmp_path / "home")
    assert env == {
        "HOME": str(tmp_path / "home"),
        "USER": "revenue-os",
        "LOGNAME": "revenue-os",
        "AIRFLOW_HOME": "/a",
    }


@pytest.mark.skipif(os.geteuid() != 0, reason="only root starts processes as another user")
def test_a_process_started_with_the_users_options_runs_as_the_user():
    user = service_user()
    assert user is not None
    ids = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getuid(), os.getgid(), os.getgroups())"],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
        **user.popen_options(),
    ).stdout.split(maxsplit=2)
    assert ids == [str(user.uid), str(user.gid), "[]\n"]


def test_not_root_means_no_service_user(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert service_user() is None
