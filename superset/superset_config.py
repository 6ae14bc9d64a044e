"""Superset configuration for Revenue OS, read by every runtime (local stack and compose).

Everything secret or deployment-specific comes from the environment; nothing here has a
default secret, so a missing variable fails at start-up with its name.
"""

import gc
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

# Metadata caching stays per worker. The charts' data cache is a folder under SUPERSET_HOME
# that every gunicorn worker shares (no Redis needed): the refresh warms it after each publish
# (revenue_os.dashboards.publish), so an executive's first open is served from it whichever
# worker answers. The data changes only when a refresh publishes, and a publish moves every
# dataset's change time, which is part of each entry's key, so an entry may live a day.
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
DATA_CACHE_CONFIG = {
    "CACHE_TYPE": "FileSystemCache",
    "CACHE_DIR": os.path.join(
        os.environ.get("SUPERSET_HOME", os.path.expanduser("~/.superset")), "cache", "data"
    ),
    "CACHE_DEFAULT_TIMEOUT": 24 * 3600,
    "CACHE_THRESHOLD": 20000,
}
RATELIMIT_STORAGE_URI = "memory://"

# Scaled out (docker-compose.scale-out.yml), Superset runs on several hosts: the caches, the
# async results and Celery's broker then live in Redis, which every web worker and host
# shares, instead of in one host's folder.
_REDIS_URL = os.environ.get("SUPERSET_REDIS_URL")
if _REDIS_URL:

    def _on_redis(prefix: str, timeout: int) -> dict:
        return {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": _REDIS_URL,
            "CACHE_KEY_PREFIX": f"superset_{prefix}_",
            "CACHE_DEFAULT_TIMEOUT": timeout,
        }

    CACHE_CONFIG = _on_redis("metadata", CACHE_CONFIG["CACHE_DEFAULT_TIMEOUT"])
    DATA_CACHE_CONFIG = _on_redis("data", DATA_CACHE_CONFIG["CACHE_DEFAULT_TIMEOUT"])
    FILTER_STATE_CACHE_CONFIG = _on_redis("filter", DATA_CACHE_CONFIG["CACHE_DEFAULT_TIMEOUT"])
    EXPLORE_FORM_DATA_CACHE_CONFIG = _on_redis(
        "explore", DATA_CACHE_CONFIG["CACHE_DEFAULT_TIMEOUT"]
    )
    RATELIMIT_STORAGE_URI = _REDIS_URL

    class CeleryConfig:
        broker_url = _REDIS_URL
        result_backend = _REDIS_URL
        imports = ("superset.sql_lab", "superset.tasks.scheduler")
        worker_prefetch_multiplier = 1
        task_acks_late = False

    CELERY_CONFIG = CeleryConfig
    from cachelib.redis import RedisCache as _RedisCache
    from redis import Redis as _Redis

    RESULTS_BACKEND = _RedisCache(_Redis.from_url(_REDIS_URL), key_prefix="superset_results_")


def _flag(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


# The local stack serves plain HTTP on loopback; compose sits behind whatever proxy the
# platform team puts in front, which then terminates TLS: set SUPERSET_SESSION_COOKIE_SECURE
# there, so the session cookie never travels in clear.
SESSION_COOKIE_SECURE = _flag("SUPERSET_SESSION_COOKIE_SECURE", False)
# Behind that proxy, trust its X-Forwarded-For/-Proto/-Host: redirects (the login's) and
# generated links then use the proxy's https address, not the container's http one.
ENABLE_PROXY_FIX = _flag("SUPERSET_ENABLE_PROXY_FIX", False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
WTF_CSRF_ENABLED = True

# Talisman sets the Content-Security-Policy and X-Frame-Options (SAMEORIGIN: no other site
# frames a dashboard). The policy is Superset's own minus the map and telemetry hosts these
# dashboards never use; scripts need the per-request nonce, charts inline styles and blobs.
# The KPI tiles and scorecards are Handlebars charts, which compile their template in the
# browser with `new Function`: without 'unsafe-eval' each shows the browser's refusal instead
# of its figures. No other source of script is allowed.
TALISMAN_ENABLED = _flag("SUPERSET_TALISMAN_ENABLED", True)
_FONT_HOSTS = ["https://fonts.googleapis.com", "https://fonts.gstatic.com"]
TALISMAN_CONFIG = {
    "content_security_policy": {
        "base-uri": ["'self'"],
        "default-src": ["'self'"],
        "img-src": ["'self'", "blob:", "data:"],
        "worker-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "object-src": "'none'",
        "style-src": ["'self'", "'unsafe-inline'", *_FONT_HOSTS],
        "font-src": ["'self'", *_FONT_HOSTS],
        "script-src": ["'self'", "'strict-dynamic'", "'unsafe-eval'"],
        "frame-ancestors": ["'self'"],
        "form-action": ["'self'"],
    },
    "content_security_policy_nonce_in": ["script-src"],
    "frame_options": "SAMEORIGIN",
    "force_https": False,
    "session_cookie_secure": SESSION_COOKIE_SECURE,
}

# Functions no chart may call, on top of the database's own refusal (sql/bootstrap revokes
# them from the reader): an adhoc metric such as max(query_to_xml('select ...', ...)) would
# otherwise run a query given as text. Superset's default list, plus the rest of that family
# and what lifts a session's limits or holds locks.
DISALLOWED_SQL_FUNCTIONS = {
    "postgresql": {
        "current_database", "current_schema", "current_user", "session_user",
        "current_setting", "set_config", "version",
        "inet_client_addr", "inet_client_port", "inet_server_addr", "inet_server_port",
        "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file",
        "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
        "cursor_to_xml", "cursor_to_xmlschema",
        "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema",
        "schema_to_xml", "schema_to_xmlschema", "schema_to_xml_and_xmlschema",
        "database_to_xml", "database_to_xmlschema", "database_to_xml_and_xmlschema",
        "pg_sleep", "pg_sleep_for", "pg_sleep_until",
        "pg_terminate_backend", "pg_cancel_backend",
        "pg_advisory_lock", "pg_advisory_xact_lock", "pg_try_advisory_lock",
        "lo_import", "lo_export", "lo_from_bytea", "lo_put", "lo_get", "dblink",
    },
}  # fmt: skip


def SQL_QUERY_MUTATOR(sql: str, **kwargs) -> str:
    """Refuse any query that calls a disallowed function before it reaches the database.

    Superset checks DISALLOWED_SQL_FUNCTIONS in SQL Lab only; a chart's adhoc SQL metric goes
    through this hook instead, with every other query a chart or filter runs."""
    import re

    from superset.exceptions import SupersetDisallowedSQLFunctionException

    database = kwargs.get("database")
    banned = DISALLOWED_SQL_FUNCTIONS.get(getattr(database, "backend", "postgresql"), set())
    called = {
        name for name in banned if re.search(rf"\b{re.escape(name)}\s*\(", sql, re.IGNORECASE)
    }
    if called:
        raise SupersetDisallowedSQLFunctionException(called)
    return sql


# Superset writes each timed step of a chart's query (the query, the data frame, the
# post-processing, the JSON) to its action log as a row and a commit of its own: five
# commits a chart, and each expires the session's objects, which the request then loads
# again. Profiled at scale 10, that was 15 % of a forced chart's time. The action log keeps
# one row per chart request (who opened which chart, when, and how long it took), the
# dashboard views and everything else; the steps inside a request are not written.
try:
    from superset.utils.log import DBEventLogger
except ImportError:  # read outside Superset: the project's tests read its settings
    DBEventLogger = object

_CHART_REQUEST_STEPS = frozenset(
    {
        "_get_data_response",
        "ChartDataRestApi.json_dumps",
        "execute_sql",
        "load_into_dataframe",
        "QueryObject.post_processing",
    }
)


class ActionLogWithoutRequestSteps(DBEventLogger):
    """The database action log, without a row for each step inside a chart request."""

    def log(self, user_id, action, *args, **kwargs) -> None:
        if action in _CHART_REQUEST_STEPS:
            return
        super().log(user_id, action, *args, **kwargs)


if DBEventLogger is not object:
    EVENT_LOGGER = ActionLogWithoutRequestSteps()


def FLASK_APP_MUTATOR(app) -> None:
    """Dashboard-only logins see dashboards and nothing else (superset/access.py); what
    the worker built to start is kept out of the garbage collector's full passes."""
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from access import restrict_dashboard_only_logins

    restrict_dashboard_only_logins(app)
    app.before_request(_freeze_startup_objects)


_startup_frozen = False


def _freeze_startup_objects() -> None:
    """On a worker's first request, move every object it made to start (400,000: the app,
    its models, pandas) out of the collector's reach. A full collection walked them all,
    about 180 ms, every few dozen chart requests: the slow request in a chart's seven."""
    global _startup_frozen
    if not _startup_frozen:
        _startup_frozen = True
        gc.collect()
        gc.freeze()


# Template processing lets a KPI chart of totals read the dashboard's Segment, Channel or
# Region filter and show that slice's row of the KPI tables in place of the total (the KPI
# datasets' Jinja, generated in revenue_os.dashboards.filter_reach; filter values are quoted
# by Superset's where_in). Only administrators write SQL: executives have no SQL Lab.
FEATURE_FLAGS = {
    "DASHBOARD_RBAC": True,
    "ENABLE_TEMPLATE_PROCESSING": True,
}

# The KPI tiles, scorecards and the "data as of" banner are Handlebars charts whose markup is
# part of the dashboards as code (superset/templates/): they colour a status pill and a change
# with inline styles. Values are escaped by Handlebars; only the style attribute is added to
# the default sanitizing schema, no tag and no URL scheme.
HTML_SANITIZATION = True
HTML_SANITIZATION_SCHEMA_EXTENSIONS = {"attributes": {"*": ["style"]}}
