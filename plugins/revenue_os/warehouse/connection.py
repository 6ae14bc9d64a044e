"""Connections to the warehouse, from an Airflow connection id or a plain URI."""

from __future__ import annotations

import psycopg

WAREHOUSE_CONN_ID = "warehouse"


def warehouse_uri(conn_id: str = WAREHOUSE_CONN_ID) -> str:
    """The URI of an Airflow connection (e.g. from AIRFLOW_CONN_WAREHOUSE)."""
    from airflow.sdk import BaseHook  # imported here: the CLI must work without a task context

    return BaseHook.get_connection(conn_id).get_uri()


def connect(uri: str, *, autocommit: bool = True, **options: object) -> psycopg.Connection:
    """A psycopg 3 connection; autocommit so callers open explicit transactions. `options`
    are libpq's (e.g. connect_timeout)."""
    return psycopg.connect(uri, autocommit=autocommit, application_name="revenue-os", **options)
