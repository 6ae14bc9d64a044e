"""Where the project's files live, so that no module hard-codes a layout.

The library is installed from plugins/ in place (editable) locally and copied with the same
layout into the Airflow image, so the project root is two levels above this package unless
REVENUE_OS_HOME says otherwise.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("REVENUE_OS_HOME") or Path(__file__).resolve().parents[2])
DAGS_DIR = PROJECT_ROOT / "dags"
PLUGINS_DIR = PROJECT_ROOT / "plugins"
SQL_DIR = PROJECT_ROOT / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
BOOTSTRAP_SQL = SQL_DIR / "bootstrap" / "roles_and_databases.sql"
SUPERSET_DIR = PROJECT_ROOT / "superset"
LOCAL_DIR = PROJECT_ROOT / ".local"
MODELS_DIR = SQL_DIR / "models"
SEEDS_DIR = SQL_DIR / "seeds"
MODEL_SETTINGS = SQL_DIR / "model_settings.yaml"
DASHBOARDS_DIR = SUPERSET_DIR / "dashboards"
SODA_DIR = PROJECT_ROOT / "soda"
SODA_CONTRACTS_DIR = SODA_DIR / "contracts"
DOCS_DIR = PROJECT_ROOT / "docs"
METRICS_DIR = PROJECT_ROOT / "metrics"
