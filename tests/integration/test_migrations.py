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


def test_needs_autocommit(stack):
    uri = stack.warehouse_uri("revenue_os")
    with psycopg.connect(uri) as conn, pytest.raises(MigrationError, match="autocommit"):
        migrate(conn, [])
