"""Connections to the warehouse, from an Airflow connection id or a plain URI.

Each job logs in as the role that does only that job (sql/migrations/0013_least_privilege_roles.sql),
so a compromised task cannot drop what it does not own:

- `warehouse_owner` (revenue_os): migrations, nothing else;
- `warehouse_loader` (revenue_os_loader): extract and load, and the operations tasks (alerts,
  the freshness watchdog, the reporting pack, the run ledger): raw and ops, read-only mart;
- `warehouse_builder` (revenue_os_builder): the mart build, its audits and publishing;
- `mart_reader`: Superset's login, the published mart only.
"""

from __future__ import annotations

import psycopg

OWNER_ROLE = "revenue_os"
LOADER_ROLE = "revenue_os_loader"
BUILDER_ROLE = "revenue_os_builder"
READER_ROLE = "mart_reader"

OWNER_CONN_ID = "warehouse_owner"
LOADER_CONN_ID = "warehouse_loader"
BUILDER_CONN_ID = "warehouse_builder"


def warehouse_uri(conn_id: str) -> str:
    """The URI of an Airflow connection (e.g. from AIRFLOW_CONN_WAREHOUSE_LOADER)."""
    from airflow.sdk import BaseHook  # imported here: the CLI must work without a task context

    return BaseHook.get_connection(conn_id).get_uri()


def connect(uri: str, *, autocommit: bool = True, **options: object) -> psycopg.Connection:
    """A psycopg 3 connection; autocommit so callers open explicit transactions. `options`
    are libpq's (e.g. connect_timeout)."""
    return psycopg.connect(uri, autocommit=autocommit, application_name="revenue-os", **options)
