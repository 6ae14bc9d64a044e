"""A tiny hand-made business in raw tables, with the mess the sources inject, for
known-answer tests of the mart. Every figure the tests expect is worked out by hand from the
records below (see test_mart_known_answers.py).

Cast: Acme Corp (Salesforce A1, mid-market, US) absorbed the merged-away account A3; Jane Doe
is HubSpot H1 and, signed up again with a personal e-mail, H2, and Salesforce C1 with a padded,
upper-cased e-mail. Beta GmbH (A2, enterprise, Germany) with Max (HubSpot H3, whose
salesforcecontactid names C4, merged into C2) and C5, a contact sales created by hand; Beta
lost one deal (O5) and has one open (O6). N3 is a web-shop customer in the UK that no CRM
account matches.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import psycopg

BATCH = uuid.UUID("00000000-0000-0000-0000-000000000001")
EXTRACTED = datetime(2026, 3, 1, tzinfo=UTC)


def _hubspot_contact(cid, email, first, last, company, created, source, **dates):
    properties = {
        "email": email,
        "firstname": first,
        "lastname": last,
        "company": company,
        "createdate": created,
        "lastmodifieddate": created,
        "hs_analytics_source": source,
        "salesforcecontactid": dates.pop("salesforcecontactid", None),
        "country": dates.pop("country", None),
        "utm_source": None,
        "utm_medium": None,
        "utm_campaign": None,
    }
    for stage in (
        "lead",
        "marketingqualifiedlead",
        "salesqualifiedlead",
        "opportunity",
        "customer",
    ):
        properties[f"hs_lifecyclestage_{stage}_date"] = dates.pop(stage, None)
    return {"id": cid, "properties": properties, "archived": dates.pop("archived", False)}


HUBSPOT_CONTACTS = [
    _hubspot_contact(
        "101",
        "jane.doe@acme.example",
        "Jane",
        "Doe",
        "Acme Corp",
        "2025-12-01T09:00:00Z",
        "ORGANIC_SEARCH",
        lead="2025-12-01T09:00:00Z",
        marketingqualifiedlead="2025-12-05T09:00:00Z",
        salesqualifiedlead="2025-12-10T09:00:00Z",
        country="USA",
    ),
    # The same person again: personal e-mail, same name and company, created later.
    _hubspot_contact(
        "102",
        "jane@personal.example",
        "Jane",
        "Doe",
        "Acme Corp",
        "2025-12-03T09:00:00Z",
        "DIRECT_TRAFFIC",
        lead="2025-12-03T09:00:00Z",
        marketingqualifiedlead="2025-12-04T09:00:00Z",
    ),
    _hubspot_contact(
        "103",
        "max@beta.example",
        "Max",
        "Mustermann",
        "Beta GmbH",
        "2025-12-20T09:00:00Z",
        "EMAIL_MARKETING",
        lead="2025-12-20T09:00:00Z",
        salesforcecontactid="C4",
        country="Deutschland",
    ),
    _hubspot_contact(
        "104",
        "gone@acme.example",
        "Gone",
        "Person",
        "Acme Corp",
        "2025-12-02T09:00:00Z",
        "PAID_SEARCH",
        lead="2025-12-02T09:00:00Z",
        archived=True,
    ),
]


def _event(eid, contact, kind, at, utm=None):
    properties = {"hs_url": "https://www.example.com/"}
    for key, value in (utm or {}).items():
        properties[f"hs_utm_{key}"] = value
    return {
        "id": eid,
        "objectId": contact,
        "eventType": kind,
        "occurredAt": at,
        "properties": properties,
    }


HUBSPOT_EVENTS = [
    # Jane's path to opportunity O1 (created 2026-01-22T00:00Z), 21, 14, 7 and 0 days before.
    _event(
        "E1",
        "101",
        "e_ad_click",
        "2026-01-01T00:00:00Z",
        {"source": "Google", "medium": "CPC", "campaign": "US | Search | Brand | Core"},
    ),
    _event("E2", "101", "e_form_submission", "2026-01-08T00:00:00Z"),
    _event(
        "E3",
        "101",
        "e_email_click",
        "2026-01-15T00:00:00Z",
        {"source": "Newsletter", "medium": "e-mail", "campaign": "2026-01-newsletter"},
    ),
    _event(
        "E4",
        "101",
        "e_ad_click",
        "2026-01-22T00:00:00Z",
        {"source": "lnkd.in", "medium": "social", "campaign": "Li-Us-Plant-Managers-Video-2026-Q1"},
    ),
    _event("E5", "101", "e_visited_page", "2026-01-23T00:00:00Z"),
    # On Jane's duplicate record, after O1 was created: counts for the win, not the creation.
    _event(
        "E6",
        "102",
        "e_ad_click",
        "2026-01-29T00:00:00Z",
        {"source": "tiktok", "medium": "cpv", "campaign": "spring-promo"},
    ),
    _event(
        "E7",
        "103",
        "e_email_click",
        "2026-01-01T12:00:00Z",
        {"source": "hubspot", "medium": "email", "campaign": "2026-01 Newsletter"},
    ),
    # Max clicks a brand ad before O2 is created: the last touch of O2, O5 and O6.
    _event(
        "E8",
        "103",
        "e_ad_click",
        "2026-01-02T06:00:00Z",
        {"source": "adwords", "medium": "ppc", "campaign": "us_search_brand_core"},
    ),
]


def _sf(record_id, kind, created, **fields):
    return {
        "Id": record_id,
        "attributes": {"type": kind},
        "CreatedDate": created,
        "SystemModstamp": created,
        "IsDeleted": fields.pop("IsDeleted", False),
        **fields,
    }


SALESFORCE_ACCOUNTS = [
    _sf(
        "A1",
        "Account",
        "2025-11-01T00:00:00.000+0000",
        Name="Acme Corp",
        Website="https://www.acme.example/about",
        NumberOfEmployees=250,
        BillingCountry="USA",
        CurrencyIsoCode="USD",
        External_Id__c=None,
        MasterRecordId=None,
        Industry="Logistics",
    ),
    _sf(
        "A2",
        "Account",
        "2025-11-02T00:00:00.000+0000",
        Name="Beta GmbH",
        Website="beta.example",
        NumberOfEmployees=1500,
        BillingCountry="Deutschland",
        CurrencyIsoCode="EUR",
        External_Id__c=None,
        MasterRecordId=None,
        Industry="Manufacturing",
    ),
    _sf(
        "A3",
        "Account",
        "2025-11-03T00:00:00.000+0000",
        Name="ACME CORPORATION",
        Website="acme-corp.example",
        NumberOfEmployees=240,
        BillingCountry="US",
        CurrencyIsoCode="USD",
        External_Id__c=None,
        MasterRecordId="A1",
        IsDeleted=True,
    ),
]

SALESFORCE_CONTACTS = [
    _sf(
        "C1",
        "Contact",
        "2025-12-11T00:00:00.000+0000",
        AccountId="A1",
        FirstName="Jane",
        LastName="Doe",
        Email="  Jane.Doe@ACME.example ",
        MasterRecordId=None,
    ),
    _sf(
        "C2",
        "Contact",
        "2025-12-21T00:00:00.000+0000",
        AccountId="A2",
        FirstName="Max",
        LastName="Mustermann",
        Email="max.m@beta.example",
        MasterRecordId=None,
    ),
    _sf(
        "C4",
        "Contact",
        "2025-12-20T00:00:00.000+0000",
        AccountId="A2",
        FirstName="Max",
        LastName="Mustermann",
        Email="max@beta.example",
        MasterRecordId="C2",
        IsDeleted=True,
    ),
    _sf(
        "C5",
        "Contact",
        "2026-01-05T00:00:00.000+0000",
        AccountId="A2",
        FirstName="Sales",
        LastName="Only",
        Email="",
        MasterRecordId=None,
    ),
]

SALESFORCE_OPPORTUNITIES = [
    # On the merged-away account: must land on A1.
    _sf(
        "O1",
        "Opportunity",
        "2026-01-22T00:00:00.000+0000",
        AccountId="A3",
        ContactId="C1",
        Name="Acme - New Business",
        Type="New Business",
        StageName="Closed Won",
        Amount=10000.0,
        CurrencyIsoCode="USD",
        CloseDate="2026-02-05",
        IsClosed=True,
        IsWon=True,
    ),
    # Closed on a Saturday in EUR: the Friday rate (1.10) applies.
    _sf(
        "O2",
        "Opportunity",
        "2026-01-02T10:00:00.000+0000",
        AccountId="A2",
        ContactId="C4",
        Name="Beta - New Business",
        Type="New Business",
        StageName="Closed Won",
        Amount=1000.0,
        CurrencyIsoCode="EUR",
        CloseDate="2026-01-03",
        IsClosed=True,
        IsWon=True,
    ),
    _sf(
        "O3",
        "Opportunity",
        "2026-01-10T00:00:00.000+0000",
        AccountId="A1",
        ContactId=None,
        Name="junk",
        Type="New Business",
        StageName="Prospecting",
        Amount=99999.0,
        CurrencyIsoCode="USD",
        CloseDate="2026-03-01",
        IsClosed=False,
        IsWon=False,
        IsDeleted=True,
    ),
    _sf(
        "O4",
        "Opportunity",
        "2026-02-10T00:00:00.000+0000",
        AccountId="A1",
        ContactId=None,
        Name="Acme - Renewal",
        Type="Renewal",
        StageName="Qualification",
        Amount=5000.0,
        CurrencyIsoCode="EUR",
        CloseDate="2026-03-31",
        IsClosed=False,
        IsWon=False,
    ),
    _sf(
        "O5",
        "Opportunity",
        "2026-01-10T00:00:00.000+0000",
        AccountId="A2",
        ContactId=None,
        Name="Beta - Add-on",
        Type="New Business",
        StageName="Closed Lost",
        Amount=500.0,
        CurrencyIsoCode="USD",
        CloseDate="2026-01-20",
        IsClosed=True,
        IsWon=False,
    ),
    _sf(
        "O6",
        "Opportunity",
        "2026-02-15T00:00:00.000+0000",
        AccountId="A2",
        ContactId=None,
        Name="Beta - Second Site",
        Type="New Business",
        StageName="Needs Analysis",
        Amount=7000.0,
        CurrencyIsoCode="USD",
        CloseDate="2027-02-15",
        IsClosed=False,
        IsWon=False,
    ),
]

# Every deal has an owner: a tier 1 CRM field the quality gate checks.
for _opportunity in SALESFORCE_OPPORTUNITIES:
    _opportunity.setdefault("OwnerId", "005000000000001AAA")

# CRM hygiene as the reps left it (the gate's tier 2 rules; "today" is 15 February 2026, the
# latest live opportunity): O4, the renewal, has no next step and was opened 49 days before
# it renews; O5 was lost without a reason code; O6 sits in Commit though it closes in 2027.
# Every open deal has a forecast category and none is past its close date.
_HYGIENE = {
    "O1": {"ForecastCategoryName": "Closed"},
    "O2": {"ForecastCategoryName": "Closed"},
    "O3": {"ForecastCategoryName": "Pipeline", "NextStep": "Qualify"},
    "O4": {"ForecastCategoryName": "Pipeline", "NextStep": None, "Renewal_Date__c": "2026-03-31"},
    "O5": {"ForecastCategoryName": "Omitted", "Loss_Reason__c": None},
    "O6": {"ForecastCategoryName": "Commit", "NextStep": "Security review"},
}
for _opportunity in SALESFORCE_OPPORTUNITIES:
    _opportunity.update(_HYGIENE[_opportunity["Id"]])

SALESFORCE_OPPORTUNITY_HISTORY = [
    _sf(
        "H1",
        "OpportunityHistory",
        "2026-01-22T00:00:00.000+0000",
        OpportunityId="O1",
        StageName="Prospecting",
        Amount=10000.0,
        CloseDate="2026-02-28",
        ForecastCategory="Pipeline",
    ),
    _sf(
        "H2",
        "OpportunityHistory",
        "2026-01-25T00:00:00.000+0000",
        OpportunityId="O1",
        StageName="Qualification",
        Amount=10000.0,
        CloseDate="2026-02-28",
        ForecastCategory="Pipeline",
    ),
    # An amount change inside the same stage is not a new stage.
    _sf(
        "H3",
        "OpportunityHistory",
        "2026-01-26T00:00:00.000+0000",
        OpportunityId="O1",
        StageName="Qualification",
        Amount=12000.0,
        CloseDate="2026-02-28",
        ForecastCategory="Pipeline",
    ),
    _sf(
        "H4",
        "OpportunityHistory",
        "2026-02-05T00:00:00.000+0000",
        OpportunityId="O1",
        StageName="Closed Won",
        Amount=10000.0,
        CloseDate="2026-02-05",
        ForecastCategory="Closed",
    ),
]

SALESFORCE_CAMPAIGNS = [
    _sf(
        "K1",
        "Campaign",
        "2025-12-01T00:00:00.000+0000",
        Name="US | Search | Brand | Core",
        Type="Paid Search",
        Status="Active",
        StartDate="2025-12-01",
    ),
    _sf(
        "K2",
        "Campaign",
        "2025-12-01T00:00:00.000+0000",
        Name="LI | US | Plant Managers | Video | 2026-Q1",
        Type="Paid Social",
        Status="Active",
        StartDate="2026-01-01",
    ),
    _sf(
        "K3",
        "Campaign",
        "2025-12-01T00:00:00.000+0000",
        Name="2026-01 Newsletter",
        Type="Email",
        Status="Completed",
        StartDate="2026-01-01",
    ),
]


def _google_campaign(customer, campaign_id, name):
    return {
        "customer": {"resourceName": f"customers/{customer}", "id": customer},
        "campaign": {
            "resourceName": f"customers/{customer}/campaigns/{campaign_id}",
            "id": campaign_id,
            "name": name,
            "status": "ENABLED",
        },
    }


def _google(customer, currency, campaign_id, day, cost_micros):
    return {
        "customer": {
            "resourceName": f"customers/{customer}",
            "id": customer,
            "currencyCode": currency,
        },
        "campaign": {
            "resourceName": f"customers/{customer}/campaigns/{campaign_id}",
            "id": campaign_id,
        },
        "segments": {"date": day},
        "metrics": {
            "impressions": "1000",
            "clicks": "10",
            "costMicros": str(cost_micros),
            "conversions": 1.0,
            "conversionsValue": 0.0,
        },
    }


GOOGLE_ADS_CAMPAIGNS = [
    _google_campaign("111", "9001", "US | Search | Brand | Core"),
    _google_campaign("222", "9002", "EU | Display | Retargeting"),
]

GOOGLE_ADS_DAYS = [
    _google("111", "USD", "9001", "2025-12-15", 90_000_000),
    _google("111", "USD", "9001", "2026-01-02", 50_000_000),
    _google("111", "USD", "9001", "2026-02-03", 2_000_000_000),
    # The EU account bills in EUR; a Saturday takes Friday's rate: 100 EUR = 110 USD.
    _google("222", "EUR", "9002", "2026-01-03", 100_000_000),
]

LINKEDIN_CAMPAIGNS = [
    {
        "id": 7001,
        "name": "LI | US | Plant Managers | Video | 2026-Q1",
        "status": "ACTIVE",
        "dailyBudget": {"amount": "100.00", "currencyCode": "USD"},
    },
]

LINKEDIN_DAYS = [
    {
        "pivotValues": ["urn:li:sponsoredCampaign:7001"],
        "dateRange": {
            "start": {"year": 2026, "month": 1, "day": 5},
            "end": {"year": 2026, "month": 1, "day": 5},
        },
        "impressions": 500,
        "clicks": 5,
        "costInLocalCurrency": "200.5",
        "externalWebsiteConversions": 0,
    },
]


def _ns(record_id, **fields):
    return {"id": record_id, "links": [], "lastmodifieddate": "1/1/2026 12:00 am", **fields}


NETSUITE_CUSTOMERS = [
    # externalid names the account merged away since: resolves to A1.
    _ns(
        "N1",
        companyname="ACME CORP INC",
        email="ap@acme.example",
        externalid="A3",
        subsidiary="1",
        currency="USD",
        datecreated="2/1/2025 9:30 am",
    ),
    # No externalid: linked by its e-mail domain to Beta GmbH.
    _ns(
        "N2",
        companyname="Beta GmbH",
        email="ap@beta.example",
        subsidiary="3",
        currency="EUR",
        datecreated="1/1/2025 9:30 am",
    ),
    _ns(
        "N3",
        companyname="Shop Buyer Ltd",
        email="buyer@personal.example",
        subsidiary="2",
        currency="GBP",
        datecreated="1/5/2026 9:30 am",
    ),
]

NETSUITE_ITEMS = [
    _ns(
        "I1",
        itemid="PLAT-SUB",
        displayname="Platform Subscription",
        itemtype="Service",
        cost="10",
        baseprice="100",
    ),
    _ns(
        "I2",
        itemid="HW-GW-100",
        displayname="Edge Gateway",
        itemtype="InvtPart",
        cost="200",
        baseprice="500",
    ),
]


# List prices per currency (the base price level), and one of another level that is not a list
# price. The platform lists at 1,600 USD and 800 EUR, the gateway at 450 GBP.
NETSUITE_PRICES = [
    _ns("P1", item="I1", currency="USD", pricelevel="Base Price", unitprice="1600"),
    _ns("P2", item="I1", currency="EUR", pricelevel="Base Price", unitprice="800"),
    _ns("P3", item="I2", currency="GBP", pricelevel="Base Price", unitprice="450"),
    _ns("P4", item="I1", currency="USD", pricelevel="Online Price", unitprice="9999"),
]


def _line(line_id, customer, item, day, quantity, netamount, currency, rate, cost=None):
    fields = dict(
        transaction=line_id.split("-")[0],
        tranid=line_id.split("-")[0],
        type="CustInvc",
        linesequence="1",
        trandate=day,
        entity=customer,
        item=item,
        quantity=quantity,
        rate=str(-float(netamount)),
        netamount=netamount,
        currency=currency,
        exchangerate=rate,
    )
    if cost is not None:
        fields["costestimate"] = cost
    return _ns(line_id, **fields)


NETSUITE_INVOICE_LINES = [
    _line("L1-1", "N1", "I1", "1/15/2025", "1", "-1000", "USD", "1", "100"),
    _line("L5-1", "N1", "I1", "12/15/2025", "1", "-1250", "USD", "1", "125"),
    _line("L2-1", "N1", "I1", "1/15/2026", "1", "-1500", "USD", "1", "150"),
    _line("L3-1", "N2", "I1", "1/20/2025", "1", "-500", "EUR", "1.1", "50"),
    # No cost estimate: COGS falls back to quantity x the item's unit cost (2 x 200).
    _line("L4-1", "N3", "I2", "1/10/2026", "2", "-800", "GBP", "1.25"),
]

NETSUITE_INVENTORY = [
    _ns("S1", item="I2", snapshotdate="12/31/2025", quantityonhand="10", averagecost="210"),
    _ns("S2", item="I2", snapshotdate="1/31/2026", quantityonhand="8", averagecost="210"),
]

NETSUITE_RATES = [
    _ns(
        "R1",
        basecurrency="USD",
        transactioncurrency="EUR",
        effectivedate="1/2/2026",
        exchangerate="1.1",
    ),
    _ns(
        "R2",
        basecurrency="USD",
        transactioncurrency="EUR",
        effectivedate="1/5/2026",
        exchangerate="1.2",
    ),
    _ns(
        "R3",
        basecurrency="USD",
        transactioncurrency="GBP",
        effectivedate="1/2/2026",
        exchangerate="1.25",
    ),
]


def _insert(conn: psycopg.Connection, table: str, keys: dict, record: dict, deleted: bool = False):
    columns = [*keys, "source_updated_at", "is_deleted", "record", "batch_id", "extracted_at"]
    values = [*keys.values(), EXTRACTED, deleted, json.dumps(record), BATCH, EXTRACTED]
    placeholders = ", ".join(["%s"] * len(values))
    conn.execute(
        f"INSERT INTO raw.{table} ({', '.join(columns)}) VALUES ({placeholders})",
        values,
    )


def load_world(conn: psycopg.Connection) -> None:
    """Insert the whole world into the raw tables of a migrated warehouse."""
    for c in HUBSPOT_CONTACTS:
        _insert(conn, "hubspot__contacts", {"source_id": c["id"]}, c, c["archived"])
    for e in HUBSPOT_EVENTS:
        _insert(conn, "hubspot__events", {"event_id": e["id"]}, e)
    for table, records in (
        ("salesforce__accounts", SALESFORCE_ACCOUNTS),
        ("salesforce__contacts", SALESFORCE_CONTACTS),
        ("salesforce__opportunities", SALESFORCE_OPPORTUNITIES),
        ("salesforce__opportunity_history", SALESFORCE_OPPORTUNITY_HISTORY),
        ("salesforce__campaigns", SALESFORCE_CAMPAIGNS),
    ):
        for r in records:
            _insert(conn, table, {"source_id": r["Id"]}, r, r["IsDeleted"])
    for c in GOOGLE_ADS_CAMPAIGNS:
        keys = {"customer_id": c["customer"]["id"], "campaign_id": c["campaign"]["id"]}
        _insert(conn, "google_ads__campaigns", keys, c)
    for g in GOOGLE_ADS_DAYS:
        keys = {
            "customer_id": g["customer"]["id"],
            "campaign_id": g["campaign"]["id"],
            "metric_date": g["segments"]["date"],
        }
        _insert(conn, "google_ads__campaign_days", keys, g)
    for c in LINKEDIN_CAMPAIGNS:
        _insert(conn, "linkedin_ads__campaigns", {"campaign_id": str(c["id"])}, c)
    for d in LINKEDIN_DAYS:
        start = d["dateRange"]["start"]
        day = f"{start['year']}-{start['month']:02d}-{start['day']:02d}"
        _insert(
            conn,
            "linkedin_ads__campaign_days",
            {"campaign_urn": d["pivotValues"][0], "metric_date": day},
            d,
        )
    for table, records in (
        ("netsuite__customers", NETSUITE_CUSTOMERS),
        ("netsuite__items", NETSUITE_ITEMS),
        ("netsuite__item_prices", NETSUITE_PRICES),
        ("netsuite__invoice_lines", NETSUITE_INVOICE_LINES),
        ("netsuite__inventory_snapshots", NETSUITE_INVENTORY),
        ("netsuite__currency_rates", NETSUITE_RATES),
    ):
        for r in records:
            _insert(conn, table, {"source_id": r["id"]}, r)
