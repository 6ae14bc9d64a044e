"""The registry of source streams: each object of each vendor declared once.

An entry says which connector reads it and from which endpoint, how its changes are found
(`replication`), how its records are keyed, which raw table it lands in and how that table is
loaded. The extract planner (orchestration/extract_load.py), the loader (raw/loader.py), the
refresh DAG (one load task per entry) and the warehouse's raw tables (`raw_table_ddl`,
created by the migrations for an entry that has none yet) all read it. docs/architecture.md,
"Adding a source", walks through a new entry.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from revenue_os.connectors.base import parse_iso
from revenue_os.connectors.netsuite import parse_netsuite_datetime
from revenue_os.raw.loader import KeyColumn, RawObject


def _text(value: object) -> str | None:
    """An id as text; a missing one stays missing (str(None) would key a record "None")."""
    return None if value is None else str(value)


def _hubspot_contact_updated(record: dict):
    modified = (record.get("properties") or {}).get("lastmodifieddate")
    return parse_iso(modified) if modified else parse_iso(record["updatedAt"])


def _google_day(record: dict) -> date:
    return date.fromisoformat(record["segments"]["date"])


def _day_start(day: date) -> datetime:
    """Ad platforms have no change timestamp: a day's row is as new as its day, so the
    watermark is the newest day delivered and the next run re-pulls back from there."""
    return datetime.combine(day, time.min, tzinfo=UTC)


def _linkedin_day(record: dict) -> date:
    start = record["dateRange"]["start"]
    return date(int(start["year"]), int(start["month"]), int(start["day"]))


def _salesforce(name: str, table: str, sobject: str) -> RawObject:
    return RawObject(
        name=name,
        table=table,
        keys=(KeyColumn("source_id", lambda r: r["Id"]),),
        updated_at=lambda r: parse_iso(r["SystemModstamp"]),
        is_deleted=lambda r: bool(r.get("IsDeleted")),
        endpoint=sobject,
    )


def _netsuite(name: str, table: str, record_type: str) -> RawObject:
    return RawObject(
        name=name,
        table=table,
        keys=(KeyColumn("source_id", lambda r: r["id"]),),
        updated_at=lambda r: parse_netsuite_datetime(r["lastmodifieddate"]),
        endpoint=record_type,
    )


RAW_OBJECTS: dict[str, RawObject] = {
    obj.name: obj
    for obj in (
        RawObject(
            name="hubspot.contacts",
            table="hubspot__contacts",
            keys=(KeyColumn("source_id", lambda r: r["id"]),),
            updated_at=_hubspot_contact_updated,
            is_deleted=lambda r: bool(r.get("archived")),
            endpoint="contacts",
        ),
        RawObject(
            name="hubspot.events",
            table="hubspot__events",
            keys=(KeyColumn("event_id", lambda r: r["id"]),),
            updated_at=lambda r: parse_iso(r["occurredAt"]),
            endpoint="events",
            replication="occurred",
            # Events can arrive after later ones were already delivered.
            lookback=timedelta(days=3),
        ),
        _salesforce("salesforce.accounts", "salesforce__accounts", "Account"),
        _salesforce("salesforce.contacts", "salesforce__contacts", "Contact"),
        _salesforce("salesforce.opportunities", "salesforce__opportunities", "Opportunity"),
        _salesforce(
            "salesforce.opportunity_history",
            "salesforce__opportunity_history",
            "OpportunityHistory",
        ),
        _salesforce("salesforce.campaigns", "salesforce__campaigns", "Campaign"),
        RawObject(
            name="google_ads.campaigns",
            table="google_ads__campaigns",
            keys=(
                KeyColumn("customer_id", lambda r: r["customer"]["resourceName"].split("/")[1]),
                KeyColumn("campaign_id", lambda r: _text(r["campaign"]["id"])),
            ),
            updated_at=lambda r: None,
            endpoint="campaigns",
            replication="reference",
        ),
        RawObject(
            name="google_ads.campaign_days",
            table="google_ads__campaign_days",
            keys=(
                KeyColumn("customer_id", lambda r: r["customer"]["resourceName"].split("/")[1]),
                KeyColumn("campaign_id", lambda r: _text(r["campaign"]["id"])),
                KeyColumn("metric_date", _google_day, "date"),
            ),
            updated_at=lambda r: _day_start(_google_day(r)),
            mode="replace_window",
            window_column="metric_date",
            endpoint="campaign_days",
            replication="day_window",
        ),
        RawObject(
            name="linkedin_ads.campaigns",
            table="linkedin_ads__campaigns",
            keys=(KeyColumn("campaign_id", lambda r: _text(r["id"])),),
            updated_at=lambda r: None,
            endpoint="campaigns",
            replication="reference",
        ),
        RawObject(
            name="linkedin_ads.campaign_days",
            table="linkedin_ads__campaign_days",
            keys=(
                KeyColumn("campaign_urn", lambda r: r["pivotValues"][0]),
                KeyColumn("metric_date", _linkedin_day, "date"),
            ),
            updated_at=lambda r: _day_start(_linkedin_day(r)),
            mode="replace_window",
            window_column="metric_date",
            endpoint="campaign_days",
            replication="day_window",
        ),
        _netsuite("netsuite.customers", "netsuite__customers", "customer"),
        _netsuite("netsuite.items", "netsuite__items", "item"),
        _netsuite("netsuite.invoice_lines", "netsuite__invoice_lines", "invoiceline"),
        _netsuite(
            "netsuite.inventory_snapshots", "netsuite__inventory_snapshots", "inventorysnapshot"
        ),
        _netsuite("netsuite.currency_rates", "netsuite__currency_rates", "currencyrate"),
        _netsuite("netsuite.item_prices", "netsuite__item_prices", "pricing"),
    )
}


# What every raw table holds besides its keys: the change time, the deletion flag, the whole
# record, and the load that wrote it.
_RAW_COLUMNS = """    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,"""


def raw_table_ddl(stream: RawObject) -> str:
    """`CREATE TABLE` (and its indexes) for a stream's raw table, as the migrations write them.

    The migrations create the tables of the streams they knew; a stream added to the registry
    later gets its table from this when the warehouse is migrated (no migration file needed).
    """
    keys = "\n".join(f"    {key.name:<17} {key.data_type:<11} NOT NULL," for key in stream.keys)
    primary_key = ", ".join(key.name for key in stream.keys)
    statements = [
        f"CREATE TABLE raw.{stream.table} (\n{keys}\n{_RAW_COLUMNS}\n"
        f"    PRIMARY KEY ({primary_key})\n);",
        # Incremental staging reads the rows of the loads it has not applied yet.
        f"CREATE INDEX {stream.table}_batch_idx ON raw.{stream.table} (batch_id);",
    ]
    if stream.window_column:
        statements.append(
            f"CREATE INDEX {stream.table}_{stream.window_column}_idx"
            f" ON raw.{stream.table} ({stream.window_column});"
        )
    return "\n".join(statements)
