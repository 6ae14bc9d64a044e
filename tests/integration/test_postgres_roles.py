"""The project-local Postgres: loopback only, scram passwords, and roles that see only their data."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors


def test_listens_on_loopback_on_its_own_port(warehouse, stack):
    assert warehouse.execute("SHOW listen_addresses").fetchone()[0] == "127.0.0.1"
    assert int(warehouse.execute("SHOW port").fetchone()[0]) == stack.profile.postgres_port
    assert warehouse.execute("SHOW password_encryption").fetchone()[0] == "scram-sha-256"


def test_wrong_password_is_refused(stack):
    uri = stack.warehouse_uri("mart_reader").replace(stack.secrets["MART_READER_PASSWORD"], "guess")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(uri, connect_timeout=5)


def test_superuser_cannot_log_in_over_tcp(stack):
    uri = f"postgresql://postgres@127.0.0.1:{stack.profile.postgres_port}/postgres"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(uri, connect_timeout=5, password="")


def test_the_owner_keeps_raw_and_ops_and_the_builder_the_schemas_it_rebuilds(warehouse):
    rows = warehouse.execute(
        "SELECT nspname, pg_get_userbyid(nspowner) FROM pg_namespace "
        "WHERE nspname IN ('raw', 'staging', 'mart', 'ops') ORDER BY nspname"
    ).fetchall()
    assert rows == [
        ("mart", "revenue_os_builder"),
        ("ops", "revenue_os"),
        ("raw", "revenue_os"),
        ("staging", "revenue_os_builder"),
    ]


@pytest.fixture
def probe_tables(warehouse, warehouse_builder):
    """One table in raw, ops and mart, each created by the login that creates such tables."""
    creators = {"raw": warehouse, "ops": warehouse, "mart": warehouse_builder}
    for schema, conn in creators.items():
        conn.execute(f"CREATE TABLE IF NOT EXISTS {schema}._role_probe (email text)")
        conn.execute(f"DELETE FROM {schema}._role_probe")
        conn.execute(f"INSERT INTO {schema}._role_probe VALUES ('someone@example.com')")
    yield
    for schema, conn in creators.items():
        conn.execute(f"DROP TABLE {schema}._role_probe")


@pytest.mark.parametrize("schema", ["raw", "ops"])
def test_mart_reader_cannot_read_outside_the_mart(probe_tables, mart_reader, schema):
    with pytest.raises(errors.InsufficientPrivilege):
        mart_reader.execute(f"SELECT * FROM {schema}._role_probe")


def test_mart_reader_reads_new_mart_tables(probe_tables, mart_reader):
    # Granted by default privileges: a table created later in mart is readable at once.
    assert mart_reader.execute("SELECT count(*) FROM mart._role_probe").fetchone()[0] == 1


def test_mart_reader_cannot_write(probe_tables, mart_reader):
    with pytest.raises(errors.ReadOnlySqlTransaction):
        mart_reader.execute("INSERT INTO mart._role_probe VALUES ('x')")
    # Read-only is only the role's default; without write privileges a session that lifts it
    # still writes nothing.
    mart_reader.execute("SET default_transaction_read_only = off")
    with pytest.raises(errors.InsufficientPrivilege):
        mart_reader.execute("INSERT INTO mart._role_probe VALUES ('x')")
    with pytest.raises(errors.InsufficientPrivilege):
        mart_reader.execute("CREATE TABLE mart.intruder (x int)")


@pytest.mark.parametrize("database", ["airflow", "superset"])
def test_mart_reader_cannot_open_metadata_databases(stack, database):
    uri = stack.warehouse_uri("mart_reader").rsplit("/", 1)[0] + f"/{database}"
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(uri, connect_timeout=5)
