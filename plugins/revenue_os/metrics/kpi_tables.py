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


def table_definition(table: str) -> sql.Composed:
    """The column list of `CREATE TABLE`: types, NOT NULL, and the grain as primary key."""
    properties = KPI_TABLES[table]
    definitions = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(column.name),
            sql.SQL(column.data_type),
            sql.SQL(" NOT NULL" if column.not_null else ""),
        )
        for column in properties.columns
    ]
    definitions.append(
        sql.SQL("PRIMARY KEY ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, properties.grain))
        )
    )
    return sql.SQL(", ").join(definitions)


def create_kpi_table(cursor: psycopg.Cursor, schema: str, table: str) -> sql.Identifier:
    """(Re)create one KPI table in `schema`, empty; its qualified name."""
    identifier = sql.Identifier(schema, table)
    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(identifier))
    cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(identifier, table_definition(table)))
    return identifier
