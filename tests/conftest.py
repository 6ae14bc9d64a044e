"""Shared test set-up: markers by folder, an isolated AIRFLOW_HOME, ordering of `last` tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration at import: give unit tests a home of their own (under the
# ignored .local/) with no example DAGs, so they never touch an operator's ~/airflow. The
# stack's own processes get their full environment from revenue_os_stack and ignore these.
UNIT_AIRFLOW_HOME = ROOT / ".local" / "unit-tests" / "airflow"
UNIT_AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
os.environ.setdefault("AIRFLOW_HOME", str(UNIT_AIRFLOW_HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(ROOT / "plugins"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        folder = Path(str(item.fspath)).parent.name
        if folder in ("unit", "integration", "compose"):
            item.add_marker(getattr(pytest.mark, folder))
    # Tests that stop the shared stack run after every other test.
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


def pytest_configure(config):
    config.addinivalue_line("markers", "last: runs after every other test (it stops the stack)")
