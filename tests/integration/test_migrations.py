"""The migration runner against a real Postgres: once each, in order, all-or-nothing per file."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from revenue_os.warehouse.migrations import Migration, MigrationError, discover, migrate


@pytest.fixture
def scratch(scratch_database):
    """An empty database: the runner starts from nothing."""
    with scratch_database("migration_scratch") as conn:
        yield conn


def m(version: int, sql: str) -> Migration:
    return Migration(version, f"step_{version}", Path(f"{version:04d}_step_{version}.sql"), sql)


def test_project_migrations_apply_once(scratch):
    applied = migrate(scratch)
    assert [x.version for x in applied] == [x.version for x in discover()]
    assert migrate(scratch) == []
    count = scratch.execute("SELECT count(*) FROM ops.schema_migrations").fetchone()[0]
    assert count == len(discover())


def test_failing_migration_is_all_or_nothing(scratch):
    first = m(1, "CREATE TABLE a (x int);")
    broken = m(2, "CREATE TABLE b (x int); SELECT * FROM no_such_table;")
    with pytest.raises(MigrationError, match=r"0002_step_2.sql failed: .*no_such_table"):
        migrate(scratch, [first, broken])
    tables = {
        r[0]
        for r in scratch.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    }
    assert tables == {"a"}  # b was rolled back with the failing file
    assert scratch.execute("SELECT array_agg(version) FROM ops.schema_migrations").fetchone()[
        0
    ] == [1]
    fixed = m(2, "CREATE TABLE b (x int);")
    assert [x.version for x in migrate(scratch, [first, fixed])] == [2]


def test_edited_migration_is_refused(scratch):
    migrate(scratch, [m(1, "CREATE TABLE a (x int);")])
    with pytest.raises(MigrationError, match="edited after it was applied"):
        migrate(scratch, [m(1, "CREATE TABLE a (x bigint);"), m(2, "CREATE TABLE c (x int);")])
    # Nothing after the refusal ran.
    assert scratch.execute("SELECT to_regclass('public.c')").fetchone()[0] is None


def test_needs_autocommit(warehouse_server):
    uri = warehouse_server.warehouse_uri("revenue_os")
    with psycopg.connect(uri) as conn, pytest.raises(MigrationError, match="autocommit"):
        migrate(conn, [])


def test_a_source_added_to_the_registry_gets_its_raw_table_without_a_migration(
    scratch, warehouse_server
):
    """A new stream (here a Salesforce object the registry does not have) is loadable as soon
    as the warehouse is migrated, by the loader's login, through the schema's default
    privileges, like the streams the migration files created."""
    from revenue_os.raw.loader import load_pages
    from revenue_os.raw.objects import RAW_OBJECTS, _salesforce
    from revenue_os.warehouse.connection import LOADER_ROLE
    from revenue_os.warehouse.migrations import ensure_raw_tables

    migrate(scratch)
    assert ensure_raw_tables(scratch) == []  # every registered stream has its table
    tasks = _salesforce("salesforce.tasks", "salesforce__tasks", "Task")
    assert ensure_raw_tables(scratch, [*RAW_OBJECTS.values(), tasks]) == ["salesforce__tasks"]
    columns = scratch.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'raw' AND table_name = 'salesforce__tasks' ORDER BY ordinal_position"
    ).fetchall()
    assert [name for name, _ in columns] == [
        "source_id",
        "source_updated_at",
        "is_deleted",
        "record",
        "batch_id",
        "extracted_at",
    ]
    database = scratch.info.dbname
    loader_uri = warehouse_server.warehouse_uri(LOADER_ROLE).rsplit("/", 1)[0] + f"/{database}"
    with psycopg.connect(loader_uri, autocommit=True) as loader:
        record = {
            "Id": "00T1",
            "SystemModstamp": "2026-11-30T10:00:00.000+0000",
            "IsDeleted": False,
        }
        result = load_pages(loader, tasks, [[record]])
        assert (result.extracted, result.inserted) == (1, 1)
    assert scratch.execute("SELECT source_id FROM raw.salesforce__tasks").fetchall() == [("00T1",)]
