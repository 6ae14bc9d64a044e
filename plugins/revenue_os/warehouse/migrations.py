"""An ordered, idempotent runner for the warehouse's SQL migrations (sql/migrations/).

Each file `NNNN_description.sql` is applied once, in its own transaction, and recorded with a
checksum in ops.schema_migrations. A file edited after it was applied is an error, not a silent
skip: migrations are history, so a change needs a new file. A session-level advisory lock
serialises concurrent runners (two DAG runs, or a DAG run and the CLI). After the files, a
source stream of the registry (revenue_os.raw.objects) whose raw table does not exist yet gets
it, so adding a source needs no migration file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psycopg

from revenue_os.paths import MIGRATIONS_DIR
from revenue_os.raw.loader import RawObject
from revenue_os.raw.objects import RAW_OBJECTS, raw_table_ddl

FILE_PATTERN = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
# An arbitrary constant that names "warehouse migrations" among advisory locks.
ADVISORY_LOCK_KEY = 7_240_001

LEDGER_DDL = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.schema_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
"""


class MigrationError(RuntimeError):
    """A migration file is misnamed, duplicated, edited after being applied, or fails."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in `directory`, ordered by version; misnamed .sql files are errors."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = FILE_PATTERN.match(path.name)
        if not match:
            raise MigrationError(
                f"{path}: migration files are named NNNN_lower_snake_description.sql"
            )
        version = int(match["version"])
        if version in found:
            raise MigrationError(
                f"{path}: version {version:04d} is also used by {found[version].path}"
            )
        found[version] = Migration(version, match["name"], path, path.read_text())
    return [found[v] for v in sorted(found)]


def applied_versions(conn: psycopg.Connection) -> dict[int, str]:
    """version -> checksum of what the warehouse has applied (empty before the first run)."""
    exists = conn.execute("SELECT to_regclass('ops.schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return {}
    return dict(conn.execute("SELECT version, checksum FROM ops.schema_migrations").fetchall())


def migrate(conn: psycopg.Connection, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply the pending migrations in order; return those applied by this call.

    `conn` must be in autocommit mode: each migration gets a transaction of its own, so a
    failing file leaves the ones before it applied and itself not applied at all.
    """
    if not conn.autocommit:
        raise MigrationError("migrate() needs an autocommit connection")
    migrations = discover() if migrations is None else migrations
    conn.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    try:
        conn.execute(LEDGER_DDL)
        done = applied_versions(conn)
        for migration in migrations:
            recorded = done.get(migration.version)
            if recorded is not None and recorded != migration.checksum:
                raise MigrationError(
                    f"{migration.path} was edited after it was applied to the warehouse; "
                    "restore it and add the change as a new migration file"
                )
        applied: list[Migration] = []
        for migration in migrations:
            if migration.version in done:
                continue
            try:
                with conn.transaction():
                    conn.execute(migration.sql)
                    conn.execute(
                        "INSERT INTO ops.schema_migrations (version, name, checksum) "
                        "VALUES (%s, %s, %s)",
                        (migration.version, migration.name, migration.checksum),
                    )
            except psycopg.Error as error:
                raise MigrationError(f"{migration.path} failed: {error}") from error
            applied.append(migration)
        ensure_raw_tables(conn)
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))


def ensure_raw_tables(
    conn: psycopg.Connection, streams: Iterable[RawObject] | None = None
) -> list[str]:
    """Create the raw table of each registered stream that has none; the tables created.

    Runs as the owner, so the schema's default privileges give the loader and the builder
    their rights on the new table as on the others (migration 0013).
    """
    streams = RAW_OBJECTS.values() if streams is None else streams
    created: list[str] = []
    if conn.execute("SELECT to_regnamespace('raw')").fetchone()[0] is None:
        return created  # a database the project's migrations have not shaped
    present = {
        row[0] for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'raw'")
    }
    for stream in streams:
        if stream.table in present:
            continue
        try:
            with conn.transaction():
                conn.execute(raw_table_ddl(stream))
        except psycopg.Error as error:
            raise MigrationError(
                f"raw.{stream.table} ({stream.name}) could not be created: {error}"
            ) from error
        created.append(stream.table)
    return created
