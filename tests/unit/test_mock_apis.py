"""The mock vendor APIs over real HTTP: shapes, paging, errors, faults and moving time.

One uvicorn server (scale 0.02) runs in a background thread on a free port for the module;
every test starts from the start-up state (POST /_admin/reset). Expected counts come from
/_admin/counts and are checked against what walking the pages actually returns.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest

from revenue_os_mock_apis import google_ads, linkedin_ads
from revenue_os_mock_apis.config import VENDORS, FaultOptions, MockConfig
from revenue_os_mock_apis.linkedin_ads import parse_restli
from revenue_os_mock_apis.server import BackgroundMockServer, main

ROOT = Path(__file__).resolve().parents[2]
TOKENS = {vendor: f"token-{vendor}" for vendor in VENDORS}
ADMIN = "admin-token"
SCALE = 0.02
LINKEDIN_HEADERS = {"LinkedIn-Version": "202410", "X-Restli-Protocol-Version": "2.0.0"}
GOOGLE_HEADERS = {"developer-token": "dev-token", "login-customer-id": "1234567890"}


def _config(**overrides) -> MockConfig:
    values = {
        "seed": 5,
        "scale": SCALE,
        "tokens": TOKENS,
        "admin_token": ADMIN,
        "faults": FaultOptions(retry_after_s=1),
    }
    values.update(overrides)
    return MockConfig(**values)


@pytest.fixture(scope="module")
def server():
    with BackgroundMockServer(_config()) as running:
        yield running


@pytest.fixture
def admin(server):
    with server.admin_client(ADMIN) as client:
        yield client


def _client(server, vendor: str, prefix: str, extra: dict | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {TOKENS[vendor]}", **(extra or {})}
    return httpx.Client(base_url=f"{server.base_url}/{prefix}", headers=headers, timeout=60)


@pytest.fixture
def hubspot(server, admin):
    with _client(server, "hubspot", "hubspot") as client:
        yield client


@pytest.fixture
def salesforce(server, admin):
    with _client(server, "salesforce", "salesforce") as client:
        yield client


@pytest.fixture
def gads(server, admin):
    with _client(server, "google_ads", "google-ads", GOOGLE_HEADERS) as client:
        yield client


@pytest.fixture
def linkedin(server, admin):
    with _client(server, "linkedin", "linkedin", LINKEDIN_HEADERS) as client:
        yield client


@pytest.fixture
def netsuite(server, admin):
    with _client(server, "netsuite", "netsuite", {"Prefer": "transient"}) as client:
        yield client


def _counts(admin) -> dict:
    return admin.get("/_admin/counts").json()["objects"]


def _faults(admin, **options) -> None:
    admin.post("/_admin/faults", json={**options, "reset_counters": True}).raise_for_status()


# --- pullers, written from the vendors' docs, not from the mock's code -----------------------


def hubspot_contacts(client, **params) -> list[dict]:
    records, after = [], None
    while True:
        query = {"limit": 100, "properties": "email,lifecyclestage,lastmodifieddate", **params}
        if after:
            query["after"] = after
        page = client.get("/crm/v3/objects/contacts", params=query).json()
        records += page["results"]
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            return records


def hubspot_events(client, after: str, before: str) -> list[dict]:
    events, cursor = [], None
    while True:
        params = {
            "objectType": "contact",
            "occurredAfter": after,
            "occurredBefore": before,
            "limit": 1000,
        }
        if cursor:
            params["after"] = cursor
        page = client.get("/events/v3/events", params=params).json()
        events += page["results"]
        cursor = page.get("paging", {}).get("next", {}).get("after")
        if not cursor:
            return events


def soql(
    client, query: str, endpoint: str = "queryAll", batch: int = 200
) -> tuple[list[dict], list[dict]]:
    headers = {"Sforce-Query-Options": f"batchSize={batch}"}
    page = client.get(
        f"/services/data/v60.0/{endpoint}", params={"q": query}, headers=headers
    ).json()
    pages = [page]
    while not page["done"]:
        assert page["nextRecordsUrl"].startswith("/services/data/v60.0/query/")
        page = client.get(page["nextRecordsUrl"], headers=headers).json()
        pages.append(page)
    return [r for p in pages for r in p["records"]], pages


def suiteql(client, query: str) -> tuple[list[dict], list[dict]]:
    items, pages, offset = [], [], 0
    while True:
        page = client.post(
            "/services/rest/query/v1/suiteql",
            params={"limit": 1000, "offset": offset},
            json={"q": query},
        ).json()
        pages.append(page)
        items += page["items"]
        if not page["hasMore"]:
            return items, pages
        offset += page["count"]


def google_customers(gads) -> list[str]:
    return [
        name.split("/")[1]
        for name in gads.get("/v18/customers:listAccessibleCustomers").json()["resourceNames"]
    ]


def google_rows(gads, customer: str, query: str) -> list[dict]:
    response = gads.post(f"/v18/customers/{customer}/googleAds:searchStream", json={"query": query})
    assert response.status_code == 200, response.text
    return [row for batch in response.json() for row in batch.get("results", [])]


GAQL_ALL = (
    "SELECT campaign.id, campaign.name, campaign.status, customer.currency_code, segments.date, "
    "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, "
    "metrics.conversions_value FROM campaign WHERE segments.date BETWEEN '2020-01-01' AND '2030-12-31'"
)


def linkedin_account(linkedin) -> int:
    return linkedin.get("/rest/adAccounts?q=search").json()["elements"][0]["id"]


def linkedin_analytics(
    linkedin, account: int, start: tuple, end: tuple, fields: str, granularity="DAILY"
):
    date_range = f"(start:(year:{start[0]},month:{start[1]},day:{start[2]}),end:(year:{end[0]},month:{end[1]},day:{end[2]}))"
    return linkedin.get(
        f"/rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity={granularity}&dateRange={date_range}"
        f"&accounts=List(urn%3Ali%3AsponsoredAccount%3A{account})&fields={fields}"
    )


# --- health, auth, admin ---------------------------------------------------------------------


def test_health_reports_as_of_and_scale(server):
    body = httpx.get(f"{server.base_url}/health").json()
    assert body == {"status": "ok", "as_of": "2026-11-01", "scale": SCALE}


VENDOR_CALLS = {
    "hubspot": ("GET", "/hubspot/crm/v3/objects/contacts", {}),
    "salesforce": ("GET", "/salesforce/services/data/v60.0/query?q=SELECT+Id+FROM+Account", {}),
    "google_ads": ("GET", "/google-ads/v18/customers:listAccessibleCustomers", GOOGLE_HEADERS),
    "linkedin": ("GET", "/linkedin/rest/adAccounts?q=search", LINKEDIN_HEADERS),
    "netsuite": ("POST", "/netsuite/services/rest/query/v1/suiteql", {"Prefer": "transient"}),
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_wrong_token_gets_the_vendors_401(server, admin, vendor):
    method, path, headers = VENDOR_CALLS[vendor]
    for token in ("wrong", None):
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.request(
            method, server.base_url + path, headers={**headers, **auth}, json={"q": "x"}
        )
        assert response.status_code == 401
        body = response.json()
        if vendor == "hubspot":
            assert body["category"] == "INVALID_AUTHENTICATION" and body["status"] == "error"
            assert re.fullmatch(r"[0-9a-f-]{36}", body["correlationId"])
            assert "X-HubSpot-RateLimit-Daily" in response.headers
        elif vendor == "salesforce":
            assert body == [
                {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
            ]
        elif vendor == "google_ads":
            assert body["error"]["code"] == 401 and body["error"]["status"] == "UNAUTHENTICATED"
        elif vendor == "linkedin":
            assert body == {
                "status": 401,
                "serviceErrorCode": 65600,
                "code": "INVALID_ACCESS_TOKEN",
                "message": "Invalid access token",
            }
        else:
            assert body["status"] == 401 and body["title"] == "Unauthorized"
            assert body["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"


ADMIN_REQUESTS = [
    ("GET", "/_admin/counts", None),
    ("GET", "/_admin/state", None),
    ("GET", "/_admin/faults", None),
    ("POST", "/_admin/faults", {"reset_counters": True}),
    ("POST", "/_admin/advance", {"days": 1}),
    ("POST", "/_admin/reset", None),
    ("GET", "/_admin/docs", None),
    ("GET", "/_admin/openapi.json", None),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), ADMIN_REQUESTS, ids=[f"{m} {p}" for m, p, _ in ADMIN_REQUESTS]
)
def test_admin_endpoints_refuse_every_vendor_token(server, admin, method, path, body):
    url = f"{server.base_url}{path}"
    assert httpx.request(method, url, json=body).status_code == 401
    for vendor, token in TOKENS.items():
        refused = httpx.request(
            method, url, json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert refused.status_code == 401, vendor
        assert refused.json() == {
            "error": "admin endpoints need Authorization: Bearer <admin token>"
        }
    # A refused advance moved nothing; the admin token then works.
    assert admin.get("/_admin/state").json()["as_of"] == "2026-11-01"
    assert admin.request(method, path, json=body).status_code == 200


def test_admin_docs_and_schema_are_served_only_behind_the_admin_token(server, admin):
    schema = admin.get("/_admin/openapi.json").json()
    assert {"/_admin/counts", "/_admin/advance", "/_admin/faults", "/_admin/reset"} <= set(
        schema["paths"]
    )
    page = admin.get("/_admin/docs")
    assert page.headers["content-type"].startswith("text/html")
    # The page carries the schema itself, since the browser's own fetch would have no token.
    assert '"/_admin/advance"' in page.text and "swagger-ui" in page.text
    # FastAPI's default, unauthenticated locations serve nothing.
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert httpx.get(f"{server.base_url}{path}").status_code == 404, path


def test_without_an_admin_token_the_admin_api_is_off():
    with BackgroundMockServer(_config(scale=0.01, admin_token=None)) as bare:
        for method, path, body in ADMIN_REQUESTS:
            for headers in ({"Authorization": f"Bearer {TOKENS['hubspot']}"}, {}):
                refused = httpx.request(
                    method, f"{bare.base_url}{path}", json=body, headers=headers
                )
                assert refused.status_code == 403, (method, path, headers)
                assert "MOCK_API_ADMIN_TOKEN" in refused.json()["error"]
        # The vendors still serve, and nothing moved.
        served = httpx.get(
            f"{bare.base_url}/hubspot/crm/v3/objects/contacts",
            headers={"Authorization": f"Bearer {TOKENS['hubspot']}"},
        )
        assert served.status_code == 200 and served.json()["results"]
        assert bare.state.as_of.isoformat() == "2026-11-01"


def test_an_admin_token_equal_to_a_vendor_token_is_refused():
    with pytest.raises(ValueError, match="MOCK_API_ADMIN_TOKEN equals a vendor token"):
        _config(admin_token=TOKENS["netsuite"]).validated()


def test_vendor_specific_mandatory_headers(server, admin):
    no_dev_token = httpx.get(
        f"{server.base_url}/google-ads/v18/customers:listAccessibleCustomers",
        headers={"Authorization": f"Bearer {TOKENS['google_ads']}"},
    )
    assert no_dev_token.status_code == 401
    assert no_dev_token.json()["error"]["status"] == "UNAUTHENTICATED"
    assert "developer-token" in no_dev_token.json()["error"]["message"]
    auth = {"Authorization": f"Bearer {TOKENS['linkedin']}"}
    no_version = httpx.get(f"{server.base_url}/linkedin/rest/adAccounts?q=search", headers=auth)
    assert no_version.status_code == 400 and no_version.json()["code"] == "VERSION_MISSING"
    no_restli = httpx.get(
        f"{server.base_url}/linkedin/rest/adAccounts?q=search",
        headers={**auth, "LinkedIn-Version": "202410"},
    )
    assert no_restli.status_code == 400
    no_prefer = httpx.post(
        f"{server.base_url}/netsuite/services/rest/query/v1/suiteql",
        headers={"Authorization": f"Bearer {TOKENS['netsuite']}"},
        json={"q": "SELECT id FROM item"},
    )
    assert no_prefer.status_code == 400
    assert no_prefer.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_HEADER"


# --- HubSpot ---------------------------------------------------------------------------------


def test_hubspot_list_walks_every_contact_once_in_id_order(hubspot, admin):
    counts = _counts(admin)["hubspot.contacts"]
    live = hubspot_contacts(hubspot)
    ids = [int(r["id"]) for r in live]
    assert len(ids) == counts["live"] and ids == sorted(set(ids))
    archived = hubspot_contacts(hubspot, archived="true")
    assert len(archived) == counts["deleted"] and all(r["archived"] for r in archived)
    record = live[0]
    assert set(record) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert record["createdAt"].endswith("Z")
    assert all(v is None or isinstance(v, str) for r in live for v in r["properties"].values())
    assert {"createdate", "hs_object_id", "lastmodifieddate"} <= set(record["properties"])
    response = hubspot.get("/crm/v3/objects/contacts", params={"limit": 1})
    for header in ("Daily", "Daily-Remaining", "Secondly", "Secondly-Remaining"):
        assert f"X-HubSpot-RateLimit-{header}" in response.headers
    assert response.json()["paging"]["next"]["link"].startswith(f"{hubspot.base_url}")


def _epoch_ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def test_hubspot_search_filters_sorts_and_caps_at_ten_thousand(hubspot):
    everyone = hubspot_contacts(hubspot)
    since = "2026-06-01T00:00:00.000Z"
    expected = sorted(
        (r for r in everyone if r["properties"]["lastmodifieddate"] >= since),
        key=lambda r: (r["properties"]["lastmodifieddate"], int(r["id"])),
    )
    found, after = [], "0"
    while after is not None:
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "lastmodifieddate",
                            "operator": "GTE",
                            "value": str(_epoch_ms(since)),
                        }
                    ]
                }
            ],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "properties": ["email", "lastmodifieddate"],
            "limit": 200,
            "after": after,
        }
        page = hubspot.post("/crm/v3/objects/contacts/search", json=body).json()
        assert page["total"] == len(expected)
        found += page["results"]
        after = page.get("paging", {}).get("next", {}).get("after")
    assert [r["id"] for r in found] == [r["id"] for r in expected]
    too_far = hubspot.post("/crm/v3/objects/contacts/search", json={"limit": 200, "after": "9900"})
    assert too_far.status_code == 400
    assert too_far.json()["category"] == "VALIDATION_ERROR"
    assert too_far.json()["message"] == "There was a problem with the request."
    at_cap = hubspot.post("/crm/v3/objects/contacts/search", json={"limit": 100, "after": "9900"})
    assert at_cap.status_code == 200


def test_hubspot_events_page_in_time_order_and_match_the_counts(hubspot, admin):
    events = hubspot_events(hubspot, "2020-01-01T00:00:00Z", "2026-11-01T00:00:00Z")
    assert len(events) == _counts(admin)["hubspot.events"]["total"]
    assert len({e["id"] for e in events}) == len(events)
    keys = [(e["occurredAt"], e["id"]) for e in events]
    assert keys == sorted(keys)
    kinds = {e["eventType"] for e in events}
    assert kinds == {"e_form_submission", "e_email_click", "e_ad_click", "e_visited_page"}
    forms = [e for e in events if e["eventType"] == "e_form_submission"]
    assert all("hs_form_id" in e["properties"] for e in forms)
    clicks = [e for e in events if e["eventType"] == "e_email_click"]
    assert all("hs_email_campaign_id" in e["properties"] for e in clicks)
    window = hubspot_events(hubspot, "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z")
    assert window and all("2026-03" <= e["occurredAt"] < "2026-04" for e in window)
    assert len(window) == sum(1 for e in events if "2026-03" <= e["occurredAt"] < "2026-04")


def test_linkedin_utms_arrive_in_several_spellings(hubspot):
    events = hubspot_events(hubspot, "2020-01-01T00:00:00Z", "2026-11-01T00:00:00Z")
    sources = {e["properties"].get("hs_utm_source") for e in events}
    assert {"linkedin", "google"} <= sources
    assert sources & {"LinkedIn", "lnkd.in"} and sources & {"Google", "adwords", "gogle"}


# --- Salesforce ------------------------------------------------------------------------------

SF_OBJECTS = {
    "Account": "salesforce.accounts",
    "Contact": "salesforce.contacts",
    "Opportunity": "salesforce.opportunities",
    "OpportunityHistory": "salesforce.opportunity_history",
    "Campaign": "salesforce.campaigns",
}


@pytest.mark.parametrize("sobject", sorted(SF_OBJECTS))
def test_salesforce_query_all_pages_through_every_record(salesforce, admin, sobject):
    counts = _counts(admin)[SF_OBJECTS[sobject]]
    records, pages = soql(
        salesforce,
        f"SELECT Id, SystemModstamp, IsDeleted FROM {sobject} ORDER BY SystemModstamp, Id",
    )
    assert len(records) == counts["total"] == pages[0]["totalSize"]
    assert len({r["Id"] for r in records}) == len(records)
    assert all(len(p["records"]) <= 200 for p in pages)
    stamps = [(r["SystemModstamp"], r["Id"]) for r in records]
    assert stamps == sorted(stamps)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000", records[0]["SystemModstamp"]
    )
    live, _ = soql(salesforce, f"SELECT Id, IsDeleted FROM {sobject}", endpoint="query")
    assert len(live) == counts["live"] and not any(r["IsDeleted"] for r in live)


def test_salesforce_record_shape_and_filters(salesforce):
    fields = "Id, AccountId, Name, StageName, Amount, CurrencyIsoCode, CloseDate, IsClosed, IsWon, Type, ContactId"
    records, _ = soql(salesforce, f"SELECT {fields} FROM Opportunity", endpoint="query", batch=2000)
    first = records[0]
    assert first["attributes"] == {
        "type": "Opportunity",
        "url": f"/services/data/v60.0/sobjects/Opportunity/{first['Id']}",
    }
    assert list(first)[1:] == [f.strip() for f in fields.split(",")]
    assert re.fullmatch(r"006[0-9A-Za-z]{15}", first["Id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", first["CloseDate"])
    assert {r["Type"] for r in records} == {"New Business", "Renewal", "Expansion"}
    assert any(r["ContactId"] is None for r in records)
    everything, _ = soql(salesforce, "SELECT Id, SystemModstamp FROM Opportunity")
    cutoff = "2026-06-01T00:00:00.000+0000"
    recent, _ = soql(
        salesforce,
        "SELECT Id FROM Opportunity WHERE SystemModstamp >= 2026-06-01T00:00:00Z AND IsDeleted = false",
        endpoint="queryAll",
    )
    live_ids = {
        r["Id"] for r in soql(salesforce, "SELECT Id FROM Opportunity", endpoint="query")[0]
    }
    assert {r["Id"] for r in recent} == {
        r["Id"] for r in everything if r["SystemModstamp"] >= cutoff
    } & live_ids
    limited, pages = soql(
        salesforce, "SELECT Id FROM Opportunity ORDER BY Id DESC LIMIT 5", endpoint="query"
    )
    assert [r["Id"] for r in limited] == sorted(live_ids, reverse=True)[:5] and pages[0][
        "totalSize"
    ] == 5
    assert (
        "Sforce-Limit-Info"
        in salesforce.get(
            "/services/data/v60.0/query", params={"q": "SELECT Id FROM Campaign"}
        ).headers
    )


def test_salesforce_opportunities_carry_the_hygiene_fields_reps_leave_gaps_in(salesforce):
    records, _ = soql(
        salesforce,
        "SELECT Id, StageName, IsClosed, ForecastCategoryName, NextStep, Loss_Reason__c"
        " FROM Opportunity",
        endpoint="query",
        batch=2000,
    )
    default = dict(
        zip(
            ("Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote"),
            ("Pipeline", "Pipeline", "Pipeline", "Best Case"),
            strict=True,
        )
    )
    open_deals = [r for r in records if not r["IsClosed"]]
    lost = [r for r in records if r["StageName"] == "Closed Lost"]
    won = [r for r in records if r["StageName"] == "Closed Won"]
    assert open_deals and lost and won
    # Closed deals: Closed or Omitted, no next step; a reason on most losses, not all.
    assert {r["ForecastCategoryName"] for r in won} == {"Closed"}
    assert {r["ForecastCategoryName"] for r in lost} == {"Omitted"}
    assert all(r["NextStep"] is None for r in won + lost)
    assert all(r["Loss_Reason__c"] is None for r in won + open_deals)
    reasons = [r["Loss_Reason__c"] for r in lost]
    assert None in reasons and len([r for r in reasons if r]) > len(reasons) / 2
    # Open deals: the stage's category, or Commit moved by hand on an early stage; a next
    # step on most, not all.
    moved = [
        r
        for r in open_deals
        if r["StageName"] in default and r["ForecastCategoryName"] != default[r["StageName"]]
    ]
    assert moved and {r["ForecastCategoryName"] for r in moved} == {"Commit"}
    steps = [r["NextStep"] for r in open_deals]
    assert None in steps and len([step for step in steps if step]) > len(steps) / 2


def test_salesforce_merged_records_only_through_query_all(salesforce):
    merged, _ = soql(
        salesforce, "SELECT Id, MasterRecordId, IsDeleted FROM Account WHERE IsDeleted = true"
    )
    assert merged and all(r["IsDeleted"] for r in merged)
    assert any(r["MasterRecordId"] for r in merged)
    hidden, _ = soql(salesforce, "SELECT Id FROM Account WHERE IsDeleted = true", endpoint="query")
    assert hidden == []


def test_salesforce_errors(salesforce):
    def error(query):
        response = salesforce.get("/services/data/v60.0/query", params={"q": query})
        assert response.status_code == 400
        return response.json()[0]

    invalid = error("SELECT Id, Foo FROM Opportunity")
    assert invalid["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Foo' on entity 'Opportunity'" in invalid["message"]
    assert error("SELECT Id FROM Foo")["errorCode"] == "INVALID_TYPE"
    assert error("SELECT Id FORM Account")["errorCode"] == "MALFORMED_QUERY"
    assert (
        error("SELECT Id FROM Account WHERE SystemModstamp > '2026-01-01'")["errorCode"]
        == "INVALID_FIELD"
    )
    stale = salesforce.get("/services/data/v60.0/query/01gXXXXXXXXXXXXXXX-2000")
    assert stale.status_code == 400 and stale.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


# --- Google Ads ------------------------------------------------------------------------------


def test_google_ads_two_currencies_and_the_full_stream(gads, admin, monkeypatch):
    monkeypatch.setattr(google_ads, "BATCH_ROWS", 500)
    customers = google_customers(gads)
    assert len(customers) == 2
    total, currencies = 0, set()
    for customer in customers:
        response = gads.post(
            f"/v18/customers/{customer}/googleAds:searchStream", json={"query": GAQL_ALL}
        )
        batches = response.json()
        assert isinstance(batches, list) and all(len(b["results"]) <= 500 for b in batches)
        assert len(batches) > 1
        assert all(
            b["fieldMask"].startswith("campaign.id,campaign.name") and b["requestId"]
            for b in batches
        )
        rows = [row for b in batches for row in b["results"]]
        total += len(rows)
        currencies |= {row["customer"]["currencyCode"] for row in rows}
        row = rows[0]
        assert set(row) == {"customer", "campaign", "metrics", "segments"}
        assert (
            row["campaign"]["resourceName"]
            == f"customers/{customer}/campaigns/{row['campaign']['id']}"
        )
        assert all(
            isinstance(row["metrics"][k], str) for k in ("impressions", "clicks", "costMicros")
        )
        assert isinstance(row["metrics"]["conversions"], float)
        assert all(int(r["metrics"]["impressions"]) > 0 for r in rows)
    assert total == _counts(admin)["google_ads.campaign_days"]["total"]
    assert currencies == {"USD", "EUR"}


def test_google_ads_selects_only_what_is_asked(gads):
    customer = google_customers(gads)[0]
    rows = google_rows(
        gads,
        customer,
        "SELECT campaign.id, metrics.clicks FROM campaign WHERE segments.date BETWEEN '2026-10-01' AND '2026-10-31'",
    )
    assert rows and all(set(r) == {"campaign", "metrics"} for r in rows)
    assert all(set(r["metrics"]) == {"clicks"} for r in rows)
    assert len({r["campaign"]["id"] for r in rows}) == len(rows)  # summed over the range
    daily = google_rows(
        gads,
        customer,
        "SELECT campaign.id, segments.date, metrics.clicks FROM campaign "
        "WHERE segments.date BETWEEN '2026-10-01' AND '2026-10-31'",
    )
    per_campaign: dict[str, int] = {}
    for row in daily:
        per_campaign[row["campaign"]["id"]] = per_campaign.get(row["campaign"]["id"], 0) + int(
            row["metrics"]["clicks"]
        )
    assert {r["campaign"]["id"]: int(r["metrics"]["clicks"]) for r in rows} == per_campaign


def test_google_ads_query_errors(gads):
    customer = google_customers(gads)[0]

    def failure(query):
        response = gads.post(
            f"/v18/customers/{customer}/googleAds:searchStream", json={"query": query}
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["status"] == "INVALID_ARGUMENT"
        assert (
            error["details"][0]["@type"]
            == "type.googleapis.com/google.ads.googleads.v18.errors.GoogleAdsFailure"
        )
        return error["details"][0]["errors"][0]["errorCode"]["queryError"]

    assert failure("SELECT campaign.foo FROM campaign") == "UNRECOGNIZED_FIELD"
    assert (
        failure(
            "SELECT segments.date, metrics.clicks FROM campaign WHERE segments.date >= '2026-01-01'"
        )
        == "EXPECTED_FILTERS_ON_DATE_RANGE"
    )
    no_login = gads.post(
        f"/v18/customers/{customer}/googleAds:searchStream",
        json={"query": "SELECT campaign.id FROM campaign"},
        headers={"login-customer-id": ""},
    )
    assert no_login.status_code == 403 and no_login.json()["error"]["status"] == "PERMISSION_DENIED"


# --- LinkedIn --------------------------------------------------------------------------------


def test_restli_syntax():
    assert parse_restli("(start:(year:2026,month:1,day:1),end:(year:2026,month:1,day:31))") == {
        "start": {"year": "2026", "month": "1", "day": "1"},
        "end": {"year": "2026", "month": "1", "day": "31"},
    }
    assert parse_restli(
        "List(urn%3Ali%3AsponsoredAccount%3A5,urn%3Ali%3AsponsoredAccount%3A6)"
    ) == [
        "urn:li:sponsoredAccount:5",
        "urn:li:sponsoredAccount:6",
    ]
    assert parse_restli("(account:(values:List(urn%3Ali%3AsponsoredAccount%3A5)))") == {
        "account": {"values": ["urn:li:sponsoredAccount:5"]}
    }


def test_linkedin_campaigns_page_with_start_and_count(linkedin, admin):
    account = linkedin_account(linkedin)
    search = f"(account:(values:List(urn%3Ali%3AsponsoredAccount%3A{account})))"
    seen, start = [], 0
    while True:
        page = linkedin.get(
            f"/rest/adCampaigns?q=search&search={search}&start={start}&count=2"
        ).json()
        seen += page["elements"]
        start += len(page["elements"])
        if not page["elements"] or start >= page["paging"]["total"]:
            break
    assert (
        len(seen)
        == _counts(admin)["linkedin_ads.campaigns"]["total"]
        == len({c["id"] for c in seen})
    )
    campaign = seen[0]
    assert campaign["account"] == f"urn:li:sponsoredAccount:{account}"
    assert campaign["dailyBudget"]["currencyCode"] == "USD" and campaign["costType"] in (
        "CPC",
        "CPM",
    )


def test_linkedin_analytics_parses_date_ranges_and_caps_the_answer(linkedin, admin, monkeypatch):
    account = linkedin_account(linkedin)
    fields = (
        "dateRange,pivotValues,impressions,clicks,costInLocalCurrency,externalWebsiteConversions"
    )
    total, month_elements = 0, []
    for year in (2023, 2024, 2025, 2026):
        for month in range(1, 13):
            last_day = calendar.monthrange(year, month)[1]
            response = linkedin_analytics(
                linkedin, account, (year, month, 1), (year, month, last_day), fields
            )
            assert response.status_code == 200, response.text
            elements = response.json()["elements"]
            total += len(elements)
            month_elements = elements or month_elements
            for element in elements:
                assert element["dateRange"]["start"]["month"] == month
    assert total == _counts(admin)["linkedin_ads.campaign_days"]["total"]
    element = month_elements[0]
    assert list(element) == fields.split(",")
    assert element["pivotValues"][0].startswith("urn:li:sponsoredCampaign:")
    assert isinstance(element["impressions"], int) and re.fullmatch(
        r"\d+\.\d\d", element["costInLocalCurrency"]
    )
    day = element["dateRange"]["start"]
    assert element["dateRange"]["end"] == day
    ymd = (day["year"], day["month"], day["day"])
    one_day = linkedin_analytics(linkedin, account, ymd, ymd, fields).json()
    assert one_day["paging"] == {"start": 0, "count": 10000, "links": []}
    assert one_day["elements"] == [e for e in month_elements if e["dateRange"]["start"] == day]
    monthly = linkedin_analytics(
        linkedin,
        account,
        (day["year"], day["month"], 1),
        ymd,
        "dateRange,pivotValues,clicks",
        "MONTHLY",
    ).json()["elements"]
    assert monthly and all(
        e["dateRange"]["start"]["day"] == 1 and e["dateRange"]["end"] == day for e in monthly
    )
    monkeypatch.setattr(linkedin_ads, "MAX_ELEMENTS", 0)
    too_many = linkedin_analytics(linkedin, account, ymd, ymd, fields)
    assert too_many.status_code == 400 and too_many.json()["status"] == 400
    broken = linkedin.get(
        "/rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY"
        f"&dateRange=(start:(year:2026))&accounts=List(urn%3Ali%3AsponsoredAccount%3A{account})"
    )
    assert broken.status_code == 400


# --- NetSuite --------------------------------------------------------------------------------

NS_TABLES = {
    "customer": "netsuite.customers",
    "item": "netsuite.items",
    "invoiceline": "netsuite.invoice_lines",
    "inventorysnapshot": "netsuite.inventory_snapshots",
}


@pytest.mark.parametrize("table", sorted(NS_TABLES))
def test_netsuite_suiteql_pages_through_every_row(netsuite, admin, table):
    items, pages = suiteql(netsuite, f"SELECT id, lastmodifieddate FROM {table} ORDER BY id")
    assert len(items) == _counts(admin)[NS_TABLES[table]]["total"] == pages[0]["totalResults"]
    assert len({i["id"] for i in items}) == len(items)
    first = pages[0]
    assert first["links"][0]["rel"] == "self" and first["offset"] == 0
    if first["hasMore"]:
        assert first["links"][1]["href"].endswith("limit=1000&offset=1000")
    assert all(i["links"] == [] for i in items)
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d\d [ap]m", items[0]["lastmodifieddate"])


def test_netsuite_invoice_lines_and_filters(netsuite):
    lines, _ = suiteql(netsuite, "SELECT * FROM invoiceline ORDER BY id")
    line = lines[0]
    for column in (
        "tranid",
        "trandate",
        "entity",
        "item",
        "quantity",
        "rate",
        "netamount",
        "costestimate",
        "currency",
        "exchangerate",
    ):
        assert isinstance(line[column], str), column
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", line["trandate"])
    assert all(float(x["netamount"]) < 0 for x in lines)
    assert {x["currency"] for x in lines} == {"USD", "EUR", "GBP"}
    customers, _ = suiteql(netsuite, "SELECT id, externalid FROM customer")
    assert any("externalid" not in c for c in customers)  # SuiteQL leaves nulls out
    window, _ = suiteql(
        netsuite,
        "SELECT id, lastmodifieddate FROM invoiceline WHERE lastmodifieddate >= TO_TIMESTAMP('2026-06-01 00:00:00', "
        "'YYYY-MM-DD HH24:MI:SS') AND lastmodifieddate < TO_TIMESTAMP('2026-07-01 00:00:00', 'YYYY-MM-DD HH24:MI:SS') ORDER BY id",
    )
    expected = [
        x["id"]
        for x in lines
        if x["lastmodifieddate"].startswith("6/") and "/2026 " in x["lastmodifieddate"]
    ]
    assert [x["id"] for x in window] == expected


def test_netsuite_errors(netsuite):
    beyond = netsuite.post(
        "/services/rest/query/v1/suiteql",
        params={"limit": 1000, "offset": 99500},
        json={"q": "SELECT id FROM item"},
    )
    assert (
        beyond.status_code == 400
        and beyond.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_PARAMETER"
    )
    unknown = netsuite.post(
        "/services/rest/query/v1/suiteql", json={"q": "SELECT foo FROM customer"}
    )
    assert unknown.status_code == 400 and "foo" in unknown.json()["o:errorDetails"][0]["detail"]


# --- faults ----------------------------------------------------------------------------------

THROTTLED = {
    "hubspot": lambda b: (
        b["errorType"] == "RATE_LIMIT" and b["policyName"] == "TEN_SECONDLY_ROLLING"
    ),
    "salesforce": lambda b: b[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED",
    "google_ads": lambda b: (
        b["error"]["status"] == "RESOURCE_EXHAUSTED"
        and b["error"]["details"][0]["errors"][0]["errorCode"]
        == {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"}
        and b["error"]["details"][0]["errors"][0]["details"]["quotaErrorDetails"]["retryDelay"]
        == "1s"
    ),
    "linkedin": lambda b: b["status"] == 429,
    "netsuite": lambda b: (
        b["title"] == "Too Many Requests"
        and b["o:errorDetails"][0]["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
    ),
}


@pytest.mark.parametrize("vendor", VENDORS)
def test_rate_limit_and_server_errors_in_the_vendors_shape(server, admin, vendor):
    method, path, headers = VENDOR_CALLS[vendor]
    auth = {"Authorization": f"Bearer {TOKENS[vendor]}", **headers}
    _faults(admin, rate_limit_rate=1.0)
    throttled = httpx.request(
        method, server.base_url + path, headers=auth, json={"q": "SELECT id FROM item"}
    )
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "1"
    assert THROTTLED[vendor](throttled.json())
    _faults(admin, rate_limit_rate=0.0, error_rate=1.0)
    failed = httpx.request(
        method, server.base_url + path, headers=auth, json={"q": "SELECT id FROM item"}
    )
    assert failed.status_code == 500 and failed.json()


def test_faults_follow_the_fault_seed_and_retries_return_the_unfaulted_page(hubspot, admin):
    params = {"limit": 50, "properties": "email"}
    clean = hubspot.get("/crm/v3/objects/contacts", params=params).content
    _faults(admin, error_rate=0.3, rate_limit_rate=0.2, truncated_page_rate=0.2, fault_seed=42)
    first = [hubspot.get("/crm/v3/objects/contacts", params=params) for _ in range(30)]
    _faults(admin, error_rate=0.3, rate_limit_rate=0.2, truncated_page_rate=0.2, fault_seed=42)
    second = [hubspot.get("/crm/v3/objects/contacts", params=params) for _ in range(30)]
    assert [r.status_code for r in first] == [r.status_code for r in second]
    assert {429, 500, 200} <= {r.status_code for r in first}
    whole = [r.content for r in first if r.status_code == 200 and r.content == clean]
    cut = [r.content for r in first if r.status_code == 200 and r.content != clean]
    assert whole and cut
    for body in cut:
        assert clean.startswith(body)
        with pytest.raises(json.JSONDecodeError):
            json.loads(body)
    _faults(admin, error_rate=0.3, fault_seed=43)
    third = [hubspot.get("/crm/v3/objects/contacts", params=params).status_code for _ in range(30)]
    assert third != [r.status_code for r in first]


def test_malformed_records_are_the_same_on_every_try(netsuite, admin):
    _faults(admin, malformed_rate=0.2)
    query = "SELECT id, lastmodifieddate FROM invoiceline ORDER BY id"
    first, _ = suiteql(netsuite, query)
    second, _ = suiteql(netsuite, query)
    assert first == second
    broken = [i for i in first if i.get("id") is None or i.get("lastmodifieddate") == "not-a-date"]
    assert 0.1 < len(broken) / len(first) < 0.3


def test_schema_drift_adds_or_removes_a_field(salesforce, admin):
    query = "SELECT Id, Name, Industry FROM Account LIMIT 3"
    _faults(admin, schema_drift="add_field")
    added, _ = soql(salesforce, query, endpoint="query")
    assert all("Drift_Note__c" in r for r in added)
    _faults(admin, schema_drift="remove_field")
    removed, _ = soql(salesforce, query, endpoint="query")
    assert all("Industry" not in r and "Name" in r for r in removed)


def test_latency_is_added(hubspot, admin):
    _faults(admin, latency_ms=200)
    started = time.perf_counter()
    hubspot.get("/crm/v3/objects/contacts", params={"limit": 1}).raise_for_status()
    assert time.perf_counter() - started >= 0.2


def test_fault_options_are_validated(admin):
    assert admin.post("/_admin/faults", json={"error_rate": 2}).status_code == 400
    assert admin.post("/_admin/faults", json={"eror_rate": 0.1}).status_code == 400
    assert admin.get("/_admin/faults").json()["faults"]["error_rate"] == 0.0


# --- time moving forward ---------------------------------------------------------------------


def test_advance_adds_records_and_the_next_incremental_pull_loads_exactly_the_delta(
    admin, hubspot, salesforce, netsuite, gads
):
    before = _counts(admin)
    customer = google_customers(gads)[0]
    recent = "SELECT campaign.id, segments.date, metrics.cost_micros, metrics.conversions FROM campaign WHERE segments.date BETWEEN '2026-10-20' AND '2026-11-30'"
    recent_before = google_rows(gads, customer, recent)
    moved = admin.post("/_admin/advance", json={"days": 4}).json()
    assert moved["as_of_before"] == "2026-11-01" and moved["as_of"] == "2026-11-05"
    assert httpx.get(f"{admin.base_url}/health").json()["as_of"] == "2026-11-05"
    after = _counts(admin)
    changes = moved["changes"]
    for name in (
        "hubspot.contacts",
        "hubspot.events",
        "salesforce.opportunities",
        "netsuite.invoice_lines",
    ):
        assert (
            after[name]["total"]
            == before[name]["total"] + changes[name]["created"]
            > before[name]["total"]
        ), name
    assert changes["salesforce.opportunities"]["updated"] > 0
    since_ms = _epoch_ms("2026-11-01T00:00:00Z")
    modified, _ = soql(
        salesforce, "SELECT Id FROM Opportunity WHERE SystemModstamp >= 2026-11-01T00:00:00Z"
    )
    assert len(modified) == changes["salesforce.opportunities"]["changed"]
    search = hubspot.post(
        "/crm/v3/objects/contacts/search",
        json={
            "filterGroups": [
                {
                    "filters": [
                        {
                            "propertyName": "lastmodifieddate",
                            "operator": "GTE",
                            "value": str(since_ms),
                        }
                    ]
                }
            ],
            "limit": 1,
        },
    ).json()
    assert search["total"] == changes["hubspot.contacts"]["changed_live"]
    events = hubspot_events(hubspot, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert len(events) == changes["hubspot.events"]["created"]
    lines, _ = suiteql(
        netsuite,
        "SELECT id FROM invoiceline WHERE lastmodifieddate >= TO_TIMESTAMP('2026-11-01 00:00:00', 'YYYY-MM-DD HH24:MI:SS')",
    )
    assert len(lines) == changes["netsuite.invoice_lines"]["changed"]
    assert changes["google_ads.campaign_days"]["restated"] > 0
    recent_after = google_rows(gads, customer, recent)
    old = {(r["campaign"]["id"], r["segments"]["date"]): r["metrics"] for r in recent_before}
    new = {(r["campaign"]["id"], r["segments"]["date"]): r["metrics"] for r in recent_after}
    assert len(new) > len(old) and any(new[k] != old[k] for k in old)
    assert all(new[k] == old[k] for k in old if k[1] < "2026-10-24")
    reset = admin.post("/_admin/reset").json()
    assert reset["as_of"] == "2026-11-01" and _counts(admin) == before
    assert admin.post("/_admin/advance", json={"days": 10_000}).status_code == 400


def test_same_config_gives_byte_identical_answers(server, hubspot, salesforce):
    twin = BackgroundMockServer(_config())
    try:
        paths = [
            (
                "hubspot",
                "/hubspot/crm/v3/objects/contacts?limit=100&properties=email,utm_campaign,lifecyclestage",
            ),
            (
                "salesforce",
                "/salesforce/services/data/v60.0/queryAll?q=SELECT+Id,Name,Amount,StageName+FROM+Opportunity",
            ),
        ]
        for vendor, path in paths:
            headers = {"Authorization": f"Bearer {TOKENS[vendor]}"}
            ours = httpx.get(server.base_url + path, headers=headers).content
            theirs = httpx.get(twin.base_url + path, headers=headers).content
            # Paging links name the host the request came to; everything else is equal.
            ours = ours.replace(server.base_url.encode(), b"http://mock")
            theirs = theirs.replace(twin.base_url.encode(), b"http://mock")
            assert ours == theirs and len(ours) > 1000
    finally:
        twin.stop()


# --- the command line ------------------------------------------------------------------------


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--host",
        "--port",
        "--seed",
        "--scale",
        "--as-of",
        "--error-rate",
        "--rate-limit-rate",
        "--latency-ms",
        "--truncated-page-rate",
        "--schema-drift",
        "--malformed-rate",
        "--token-file",
        "MOCK_API_TOKEN",
        "MOCK_API_ADMIN_TOKEN",
    ):
        assert option in text, option
    # What happens without an admin token is said, not left to be guessed.
    assert "admin API is off" in " ".join(text.split())


def test_server_refuses_to_start_without_tokens(capsys, monkeypatch):
    for name in list(os.environ):
        if name.startswith("MOCK_API_TOKEN"):
            monkeypatch.delenv(name)
    assert main(["--scale", "0.01"]) == 2
    assert "MOCK_API_TOKEN" in capsys.readouterr().err


def test_server_process_serves_with_tokens_from_a_file(tmp_path):
    token_file = tmp_path / "tokens.env"
    token_file.write_text("# tokens\nMOCK_API_TOKEN=from-file\nUNRELATED=1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOCK_API_TOKEN")}
    env["PYTHONPATH"] = str(ROOT / "plugins")
    command = [
        sys.executable,
        "-m",
        "revenue_os_mock_apis.server",
        "--port",
        "0",
        "--scale",
        "0.01",
    ]
    process = subprocess.Popen(
        [*command, "--quiet", "--token-file", str(token_file)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stderr.readline()  # the server announces where it listens once bound
        match = re.search(r"serving (http://127\.0\.0\.1:\d+)", line)
        assert match, line + process.stderr.read()
        base = match.group(1)
        assert httpx.get(f"{base}/health").json()["scale"] == 0.01
        response = httpx.post(
            f"{base}/netsuite/services/rest/query/v1/suiteql",
            headers={"Authorization": "Bearer from-file", "Prefer": "transient"},
            json={"q": "SELECT id, itemid FROM item ORDER BY id"},
        )
        assert response.status_code == 200 and response.json()["totalResults"] == 7
        refused = httpx.get(
            f"{base}/hubspot/crm/v3/objects/contacts", headers={"Authorization": "Bearer env"}
        )
        assert refused.status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stderr.close()


def test_renewals_carry_their_renewal_date_and_some_sign_late(salesforce):
    records, _ = soql(
        salesforce,
        "SELECT Id, Type, StageName, CloseDate, CreatedDate, Renewal_Date__c FROM Opportunity",
        endpoint="query",
        batch=2000,
    )
    renewals = [r for r in records if r["Type"] == "Renewal"]
    others = [r for r in records if r["Type"] != "Renewal"]
    assert renewals and all(r["Renewal_Date__c"] for r in renewals)
    assert all(r["Renewal_Date__c"] is None for r in others)
    # Opened 90 days before the term ends (the seed's renewal lead time); a few migrated
    # records carry a back-dated CreatedDate, so read as opened earlier.
    lead_days = [
        (date.fromisoformat(r["Renewal_Date__c"]) - date.fromisoformat(r["CreatedDate"][:10])).days
        for r in renewals
    ]
    assert min(lead_days) == 90 and lead_days.count(90) >= 0.8 * len(renewals)
    won = [r for r in renewals if r["StageName"] == "Closed Won"]
    late = [r for r in won if r["CloseDate"] > r["Renewal_Date__c"]]
    # About one in eight signs after its term ended; never more than 27 days after.
    assert late and len(late) / len(won) < 0.3
    assert all(
        (date.fromisoformat(r["CloseDate"]) - date.fromisoformat(r["Renewal_Date__c"])).days <= 27
        for r in late
    )


def test_history_records_carry_the_forecast_category_of_their_stage(salesforce):
    records, _ = soql(
        salesforce,
        "SELECT Id, StageName, ForecastCategory FROM OpportunityHistory",
        endpoint="query",
        batch=2000,
    )
    by_stage = {}
    for r in records:
        by_stage.setdefault(r["StageName"], set()).add(r["ForecastCategory"])
    assert by_stage["Closed Won"] == {"Closed"}
    assert by_stage["Closed Lost"] == {"Omitted"}
    # An open stage has its default category, or Commit where a rep moved the deal by hand.
    assert by_stage["Qualification"] == {"Pipeline", "Commit"}
    assert by_stage["Negotiation/Review"] == {"Commit"}


def test_netsuite_prices_each_item_per_market(netsuite):
    items, _ = suiteql(netsuite, "SELECT id, itemid, baseprice FROM item ORDER BY id")
    prices, _ = suiteql(
        netsuite, "SELECT id, item, currency, pricelevel, unitprice FROM pricing ORDER BY id"
    )
    assert len(prices) == 3 * len(items)
    listed = {(p["item"], p["currency"]): float(p["unitprice"]) for p in prices}
    for item in items:
        usd = float(item["baseprice"])
        assert listed[(item["id"], "USD")] == usd
        # Set per market, not converted at the day's rate: EUR 0.93 and GBP 0.79 of the USD.
        assert listed[(item["id"], "EUR")] == round(usd * 0.93, 2)
        assert listed[(item["id"], "GBP")] == round(usd * 0.79, 2)
    assert {p["pricelevel"] for p in prices} == {"Base Price"}
