"""Superset configuration for Revenue OS, read by every runtime (local stack and compose).

Everything secret or deployment-specific comes from the environment; nothing here has a
default secret, so a missing variable fails at start-up with its name.
"""

import os


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"Superset needs {name} in its environment (see .env.example)")
    return value


SECRET_KEY = _required("SUPERSET_SECRET_KEY")
SQLALCHEMY_DATABASE_URI = _required("SUPERSET_METADATA_DB_URI")

# Executives browse dashboards; nobody uploads files or runs arbitrary DML through Superset.
PREVENT_UNSAFE_DB_CONNECTIONS = True
ALLOW_FILE_UPLOAD = False

# One process-local cache per worker is plenty for a handful of dashboards; no Redis needed.
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
DATA_CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
RATELIMIT_STORAGE_URI = "memory://"

# The local stack serves plain HTTP on loopback; compose sits behind whatever proxy the
# platform team puts in front, which then terminates TLS.
TALISMAN_ENABLED = os.environ.get("SUPERSET_TALISMAN_ENABLED", "false").lower() == "true"
WTF_CSRF_ENABLED = True
SESSION_COOKIE_SAMESITE = "Lax"

FEATURE_FLAGS = {
    "DASHBOARD_RBAC": True,
}

# The KPI tiles, scorecards and the "data as of" banner are Handlebars charts whose markup is
# part of the dashboards as code (superset/templates/): they colour a status pill and a change
# with inline styles. Values are escaped by Handlebars; only the style attribute is added to
# the default sanitizing schema, no tag and no URL scheme.
HTML_SANITIZATION = True
HTML_SANITIZATION_SCHEMA_EXTENSIONS = {"attributes": {"*": ["style"]}}
