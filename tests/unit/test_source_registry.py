"""Each source stream is declared once, in the registry (revenue_os.raw.objects): the raw
tables the migrations created are the ones the registry would create, every connector serves
the replication of its streams, and an entry that contradicts itself is refused by name."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlglot
from sqlglot import exp

from revenue_os.connectors.base import Connector
from revenue_os.orchestration.extract_load import CONNECTORS
from revenue_os.paths import MIGRATIONS_DIR
from revenue_os.raw.loader import KeyColumn, RawObject
from revenue_os.raw.objects import RAW_OBJECTS, raw_table_ddl


def _tables(text: str) -> dict[str, tuple]:
    """raw table → (columns with type and NOT NULL, primary key), from CREATE TABLE text."""
    tables = {}
    for statement in sqlglot.parse(text, read="postgres"):
        if not (isinstance(statement, exp.Create) and statement.kind == "TABLE"):
            continue
        table = statement.this.this
        if table.db != "raw":
            continue
        columns, primary_key = [], ()
        for item in statement.this.expressions:
            if isinstance(item, exp.ColumnDef):
                not_null = any(
                    isinstance(c.kind, exp.NotNullColumnConstraint) for c in item.constraints
                )
                columns.append((item.name, item.args["kind"].sql("postgres").lower(), not_null))
            elif isinstance(item, exp.PrimaryKey):
                primary_key = tuple(e.name for e in item.expressions)
        tables[table.name] = (columns, primary_key)
    return tables


def test_the_migrated_raw_tables_are_the_ones_the_registry_declares():
    migrated: dict[str, tuple] = {}
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        migrated.update(_tables(path.read_text()))
    assert set(migrated) == {stream.table for stream in RAW_OBJECTS.values()}
    for stream in RAW_OBJECTS.values():
        assert _tables(raw_table_ddl(stream))[stream.table] == migrated[stream.table], stream.name


def test_every_connector_serves_the_replication_of_its_streams():
    for name, stream in RAW_OBJECTS.items():
        connector = CONNECTORS[name.split(".", 1)[0]]
        # The connector method that reads a stream is named for its replication.
        method = stream.replication
        assert getattr(connector, method) is not getattr(Connector, method), name


def test_the_registry_reads_every_vendor_object_by_the_vendor_s_own_name():
    endpoints = {name: stream.endpoint for name, stream in RAW_OBJECTS.items()}
    assert endpoints["salesforce.opportunity_history"] == "OpportunityHistory"
    assert endpoints["netsuite.invoice_lines"] == "invoiceline"
    assert endpoints["hubspot.events"] == "events"
    assert RAW_OBJECTS["hubspot.events"].lookback.days == 3
    replications = {stream.replication for stream in RAW_OBJECTS.values()}
    assert replications == {"changed", "occurred", "reference", "day_window"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            {"replication": "day_window"},
            r"ads\.days: a daily report \(replication day_window\) is loaded by replacing",
        ),
        ({"mode": "replace_window", "replication": "day_window"}, "needs a window_column"),
        ({"endpoint": ""}, r"ads\.days: name the vendor's endpoint"),
    ],
)
def test_an_entry_that_contradicts_itself_is_refused_by_name(entry, message):
    fields = {
        "name": "ads.days",
        "table": "ads__days",
        "keys": (KeyColumn("day", lambda r: r["day"], "date"),),
        "updated_at": lambda r: datetime.now(UTC),
        "endpoint": "days",
        **entry,
    }
    with pytest.raises(ValueError, match=message):
        RawObject(**fields)
