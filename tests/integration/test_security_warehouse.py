"""The warehouse's logins, tried the way a compromised task or a hostile dashboard query would.

Each login does one job (revenue_os.warehouse.connection): the owner migrates, the loader
writes raw and ops, the builder owns what it rebuilds, the reader reads the published mart.
Every test runs against the test stack after its refresh, so the ownership it checks is the one
the real DAG left behind.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors

from revenue_os.transform.models import discover
from revenue_os.warehouse import migrations
from revenue_os.warehouse.connection import BUILDER_ROLE, LOADER_ROLE, OWNER_ROLE, READER_ROLE

RAW_TABLE = "raw.hubspot__contacts"
OPS_TABLE = "ops.load_batches"


def _denied(conn: psycopg.Connection, statement: str) -> str:
    """Run `statement` in a transaction that is always rolled back; return Postgres' refusal."""
    with pytest.raises(errors.InsufficientPrivilege) as refused, conn.transaction():
        conn.execute(statement)
        raise AssertionError(f"{statement!r} was allowed")  # pragma: no cover
    return str(refused.value)


def _allowed(conn: psycopg.Connection, statement: str) -> None:
    """Run `statement` and roll it back: proves the privilege without changing the warehouse."""

    class Undo(Exception):
        pass

    with pytest.raises(Undo), conn.transaction():
        conn.execute(statement)
        raise Undo


def test_no_login_is_a_superuser_or_may_create_roles_or_databases(warehouse):
    rows = warehouse.execute(
        "SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles"
        " WHERE rolname = ANY(%s) ORDER BY rolname",
        ([OWNER_ROLE, LOADER_ROLE, BUILDER_ROLE, READER_ROLE],),
    ).fetchall()
    assert [row[0] for row in rows] == sorted([OWNER_ROLE, LOADER_ROLE, BUILDER_ROLE, READER_ROLE])
    assert [name for name, *powers in rows if any(powers)] == []


def test_the_refresh_left_raw_and_ops_to_the_owner_and_the_mart_to_the_builder(warehouse):
    """The DAG's loads created nothing (the loader owns nothing) and its build owns exactly
    the schemas a publish renames: the roles were used as designed, not just declared."""
    owners = dict(
        warehouse.execute(
            """
            SELECT n.nspname || ':' || pg_get_userbyid(c.relowner), count(*)
            FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('raw', 'ops', 'staging', 'mart') AND c.relkind IN ('r', 'p', 'v')
              AND c.relname <> '_role_probe'
            GROUP BY 1
            """
        ).fetchall()
    )
    assert set(owners) == {
        f"raw:{OWNER_ROLE}",
        f"ops:{OWNER_ROLE}",
        f"staging:{BUILDER_ROLE}",
        f"mart:{BUILDER_ROLE}",
    }, owners
    published_models = [model for model in discover().values() if model.published]
    assert owners[f"mart:{BUILDER_ROLE}"] >= len(published_models)  # and the KPI tables


def test_the_loader_writes_raw_and_ops_rows_but_cannot_drop_truncate_or_alter(warehouse_loader):
    conn = warehouse_loader
    _allowed(conn, f"DELETE FROM {RAW_TABLE}")
    _allowed(conn, f"UPDATE {OPS_TABLE} SET rows_extracted = rows_extracted")
    assert "must be owner" in _denied(conn, f"DROP TABLE {RAW_TABLE}")
    assert "must be owner" in _denied(conn, f"ALTER TABLE {RAW_TABLE} ADD COLUMN x int")
    assert "permission denied" in _denied(conn, f"TRUNCATE {RAW_TABLE}")
    assert "must be owner" in _denied(conn, f"DROP TABLE {OPS_TABLE}")
    assert "permission denied" in _denied(conn, "CREATE TABLE raw.intruder (x int)")
    assert "must be owner" in _denied(conn, "DROP SCHEMA mart CASCADE")
    # What the incremental staging tables hold is the build's to record, not the loader's.
    assert "permission denied" in _denied(conn, "DELETE FROM ops.staging_state")


def test_the_loader_reads_the_published_mart_but_cannot_change_it(warehouse_loader):
    conn = warehouse_loader
    assert conn.execute("SELECT count(*) FROM mart.kpi_values").fetchone()[0] > 0
    assert "permission denied" in _denied(conn, "DELETE FROM mart.kpi_values")
    assert "permission denied" in _denied(conn, "CREATE TABLE mart.intruder (x int)")
    assert "permission denied" in _denied(conn, "CREATE TABLE staging.intruder (x int)")


def test_the_builder_reads_raw_but_cannot_change_it_or_the_ops_tables(warehouse_builder):
    conn = warehouse_builder
    assert conn.execute(f"SELECT count(*) FROM {RAW_TABLE}").fetchone()[0] > 0
    assert "permission denied" in _denied(conn, f"DELETE FROM {RAW_TABLE}")
    assert "must be owner" in _denied(conn, f"DROP TABLE {RAW_TABLE}")
    assert "must be owner" in _denied(conn, f"DROP TABLE {OPS_TABLE}")
    assert "permission denied" in _denied(conn, "CREATE TABLE raw.intruder (x int)")
    _allowed(conn, "CREATE TABLE staging.scratch (x int)")
    _allowed(conn, "UPDATE ops.staging_state SET row_count = row_count")


@pytest.mark.parametrize("login", ["warehouse_loader", "warehouse_builder"])
def test_only_migrations_write_the_migration_ledger(request, login):
    conn = request.getfixturevalue(login)
    applied = conn.execute("SELECT max(version) FROM ops.schema_migrations").fetchone()[0]
    assert applied == migrations.discover()[-1].version  # readable: runs record it
    assert "permission denied" in _denied(conn, "DELETE FROM ops.schema_migrations")
    assert "permission denied" in _denied(
        conn, "INSERT INTO ops.schema_migrations VALUES (9999, 'x', 'x')"
    )


# -- the reader, as a dashboard query would use it ---------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        "query_to_xml('select * from mart.kpi_values', true, true, '')",
        "table_to_xml('mart.kpi_values', true, true, '')",
        "set_config('statement_timeout', '0', false)",
        "pg_sleep(0)",
        "pg_advisory_lock(7240001)",
        "lo_from_bytea(0, 'x'::bytea)",
    ],
)
def test_the_reader_cannot_call_functions_that_escape_a_dashboard_query(mart_reader, call):
    function = call.split("(", 1)[0]
    assert f"permission denied for function {function}" in _denied(mart_reader, f"SELECT {call}")


def test_the_platform_logins_keep_the_functions_they_use(warehouse_loader, warehouse_builder):
    for conn in (warehouse_loader, warehouse_builder):
        assert conn.execute("SELECT pg_try_advisory_xact_lock(1)").fetchone()[0] is True
        assert conn.execute("SELECT set_config('work_mem', '8MB', true)").fetchone()[0] == "8MB"


def test_the_reader_runs_under_limits_it_cannot_lift(mart_reader):
    settings = dict(
        mart_reader.execute(
            "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name = ANY(%s)",
            (
                [
                    "statement_timeout",
                    "idle_in_transaction_session_timeout",
                    "temp_file_limit",
                    "default_transaction_read_only",
                ],
            ),
        ).fetchall()
    )
    assert settings == {
        "statement_timeout": "30000ms",
        "idle_in_transaction_session_timeout": "60000ms",
        "temp_file_limit": "1048576kB",
        "default_transaction_read_only": "on",
    }
    assert "permission denied to set parameter" in _denied(mart_reader, "SET temp_file_limit = -1")


def test_a_runaway_reader_query_is_cancelled_by_its_timeout(mart_reader):
    # The role's 30 s applies to every dashboard query; lowering it (which SET allows) only
    # keeps this test short while proving the server enforces the setting.
    mart_reader.execute("SET statement_timeout = '1s'")
    with pytest.raises(errors.QueryCanceled):
        mart_reader.execute("SELECT count(*) FROM generate_series(1, 10000000000)")


def test_the_reader_creates_no_tables_not_even_temporary_ones(mart_reader):
    with pytest.raises(errors.ReadOnlySqlTransaction):
        mart_reader.execute("CREATE TEMP TABLE t (x int)")
    # Read-only is the role's default, which a session may change; the privileges hold anyway.
    mart_reader.execute("SET default_transaction_read_only = off")
    assert "permission denied to create temporary tables" in _denied(
        mart_reader, "CREATE TEMP TABLE t (x int)"
    )
    assert "permission denied for schema mart" in _denied(
        mart_reader, "CREATE TABLE mart.intruder (x int)"
    )


@pytest.mark.parametrize("role", [READER_ROLE, LOADER_ROLE, BUILDER_ROLE])
@pytest.mark.parametrize("database", ["postgres", "template1", "airflow", "superset"])
def test_warehouse_logins_open_no_other_database(stack, role, database):
    uri = stack.warehouse_uri(role).rsplit("/", 1)[0] + f"/{database}"
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(uri, connect_timeout=5)
