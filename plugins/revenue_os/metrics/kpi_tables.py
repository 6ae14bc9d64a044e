"""The KPI tables' shape, declared once in metrics/kpi_tables.yml.

The KPI layer, the scorecard and the reporting calendar create their tables from it, the
dashboards' datasets take their column types from it, the build audits that what was built
matches it, and docs/mart.md lists it; the file is in the same format as the models'
properties (transform/properties.py).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

import psycopg
from psycopg import sql

from revenue_os.paths import METRICS_DIR
from revenue_os.transform.properties import ModelProperties, load_table_properties

KPI_TABLES_FILE: Final = METRICS_DIR / "kpi_tables.yml"
KPI_TABLES: Final[MappingProxyType[str, ModelProperties]] = MappingProxyType(
    load_table_properties(KPI_TABLES_FILE)
)


def column_types(table: str) -> dict[str, str]:
    """The table's columns and their Postgres types, in the declared order."""
    return KPI_TABLES[table].column_types


def _grain_key(table: str) -> sql.Composed:
    return sql.SQL("PRIMARY KEY ({})").format(
        sql.SQL(", ").join(map(sql.Identifier, KPI_TABLES[table].grain))
    )


def table_definition(table: str, *, keyed: bool = True) -> sql.Composed:
    """The column list of `CREATE TABLE`: types, NOT NULL, and the grain as primary key."""
    definitions = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(column.name),
            sql.SQL(column.data_type),
            sql.SQL(" NOT NULL" if column.not_null else ""),
        )
        for column in KPI_TABLES[table].columns
    ]
    if keyed:
        definitions.append(_grain_key(table))
    return sql.SQL(", ").join(definitions)


def create_kpi_table(
    cursor: psycopg.Cursor, schema: str, table: str, *, keyed: bool = True
) -> sql.Identifier:
    """(Re)create one KPI table in `schema`, empty; its qualified name. A table filled in bulk
    is created without its key (`keyed=False`) and keyed after (`add_grain_key`): building
    the index once over all rows is a third of the cost of keeping it row by row."""
    identifier = sql.Identifier(schema, table)
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(identifier))
    cursor.execute(
        sql.SQL("CREATE TABLE {} ({})").format(identifier, table_definition(table, keyed=keyed))
    )
    return identifier


def add_grain_key(cursor: psycopg.Cursor, identifier: sql.Identifier, table: str) -> None:
    """The grain as primary key of a table created without it; fails on a repeated key."""
    cursor.execute(sql.SQL("ALTER TABLE {} ADD {}").format(identifier, _grain_key(table)))
