"""The catalogue of source objects: which raw table each lands in and how it is keyed.

The raw tables themselves are created by sql/migrations/0004_raw_tables.sql;
tests/integration/test_raw_loader.py checks that the two agree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

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


def _salesforce(name: str, table: str) -> RawObject:
    return RawObject(
        name=name,
        table=table,
        keys=(KeyColumn("source_id", lambda r: r["Id"]),),
        updated_at=lambda r: parse_iso(r["SystemModstamp"]),
        is_deleted=lambda r: bool(r.get("IsDeleted")),
    )


def _netsuite(name: str, table: str) -> RawObject:
    return RawObject(
        name=name,
        table=table,
        keys=(KeyColumn("source_id", lambda r: r["id"]),),
        updated_at=lambda r: parse_netsuite_datetime(r["lastmodifieddate"]),
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
        ),
        RawObject(
            name="hubspot.events",
            table="hubspot__events",
            keys=(KeyColumn("event_id", lambda r: r["id"]),),
            updated_at=lambda r: parse_iso(r["occurredAt"]),
        ),
        _salesforce("salesforce.accounts", "salesforce__accounts"),
        _salesforce("salesforce.contacts", "salesforce__contacts"),
        _salesforce("salesforce.opportunities", "salesforce__opportunities"),
        _salesforce("salesforce.opportunity_history", "salesforce__opportunity_history"),
        _salesforce("salesforce.campaigns", "salesforce__campaigns"),
        RawObject(
            name="google_ads.campaigns",
            table="google_ads__campaigns",
            keys=(
                KeyColumn("customer_id", lambda r: r["customer"]["resourceName"].split("/")[1]),
                KeyColumn("campaign_id", lambda r: _text(r["campaign"]["id"])),
            ),
            updated_at=lambda r: None,
        ),
        RawObject(
            name="google_ads.campaign_days",
            table="google_ads__campaign_days",
            keys=(
                KeyColumn("customer_id", lambda r: r["customer"]["resourceName"].split("/")[1]),
                KeyColumn("campaign_id", lambda r: _text(r["campaign"]["id"])),
                KeyColumn("metric_date", _google_day),
            ),
            updated_at=lambda r: _day_start(_google_day(r)),
            mode="replace_window",
            window_column="metric_date",
        ),
        RawObject(
            name="linkedin_ads.campaigns",
            table="linkedin_ads__campaigns",
            keys=(KeyColumn("campaign_id", lambda r: _text(r["id"])),),
            updated_at=lambda r: None,
        ),
        RawObject(
            name="linkedin_ads.campaign_days",
            table="linkedin_ads__campaign_days",
            keys=(
                KeyColumn("campaign_urn", lambda r: r["pivotValues"][0]),
                KeyColumn("metric_date", _linkedin_day),
            ),
            updated_at=lambda r: _day_start(_linkedin_day(r)),
            mode="replace_window",
            window_column="metric_date",
        ),
        _netsuite("netsuite.customers", "netsuite__customers"),
        _netsuite("netsuite.items", "netsuite__items"),
        _netsuite("netsuite.invoice_lines", "netsuite__invoice_lines"),
        _netsuite("netsuite.inventory_snapshots", "netsuite__inventory_snapshots"),
        _netsuite("netsuite.currency_rates", "netsuite__currency_rates"),
    )
}
