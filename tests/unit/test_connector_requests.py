"""Each connector sends the vendor's own headers and request shapes (seen by a real HTTP server)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from revenue_os.connectors.ads import GoogleAdsConnector, LinkedInAdsConnector
from revenue_os.connectors.base import SourceConnection
from revenue_os.connectors.hubspot import HubSpotConnector
from revenue_os.connectors.netsuite import NetSuiteConnector
from revenue_os.connectors.salesforce import SalesforceConnector
from tests.unit.scripted_server import ScriptedServer


@pytest.fixture
def server():
    scripted = ScriptedServer()
    yield scripted
    scripted.close()


def connection(server, prefix, **extra):
    return SourceConnection(prefix, f"{server.url}/{prefix}", "tok", extra)


def test_hubspot_search_sends_the_window_filter_and_pages_by_offset(server):
    route = "/hubspot/crm/v3/objects/contacts/search"
    server.script(
        route,
        (
            200,
            {},
            {"total": 3, "results": [{"id": "1"}, {"id": "2"}], "paging": {"next": {"after": "2"}}},
        ),
        (200, {}, {"total": 3, "results": [{"id": "3"}]}),
    )
    hubspot = HubSpotConnector(connection(server, "hubspot"))
    pages = list(hubspot.contacts_modified_since(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)))
    assert [len(p) for p in pages] == [2, 1]
    first, second = (json.loads(r[3]) for r in server.requests)
    assert first["filterGroups"][0]["filters"][0] == {
        "propertyName": "lastmodifieddate",
        "operator": "GTE",
        "value": "1767323045000",
    }
    assert (first["after"], second["after"], first["limit"]) == ("0", "2", 200)
    assert server.requests[0][2]["Authorization"] == "Bearer tok"


def test_salesforce_follows_next_records_url_under_its_base_path(server):
    server.script(
        "/salesforce/services/data/v60.0/queryAll",
        (
            200,
            {},
            {
                "done": False,
                "records": [{"Id": "a"}],
                "nextRecordsUrl": "/services/data/v60.0/query/01g-2000",
            },
        ),
    )
    server.script(
        "/salesforce/services/data/v60.0/query/01g-2000",
        (200, {}, {"done": True, "records": [{"Id": "b"}]}),
    )
    sf = SalesforceConnector(connection(server, "salesforce"))
    pages = list(sf.records("Opportunity", modified_after=datetime(2026, 5, 1, tzinfo=UTC)))
    assert pages == [[{"Id": "a"}], [{"Id": "b"}]]
    first_path = server.requests[0][1]
    assert "SystemModstamp+%3E%3D+2026-05-01T00%3A00%3A00Z" in first_path
    assert server.requests[0][2]["Sforce-Query-Options"] == "batchSize=2000"


def test_google_ads_needs_a_developer_token_and_sends_it(server):
    with pytest.raises(ValueError, match=r"needs extra\.developer_token"):
        GoogleAdsConnector(connection(server, "google-ads"))
    server.script(
        "/google-ads/v18/customers/111/googleAds:searchStream",
        (200, {}, [{"results": [{"x": 1}]}, {"results": [{"x": 2}]}]),
    )
    ads = GoogleAdsConnector(
        connection(
            server, "google-ads", developer_token="dev", login_customer_id=999, customer_ids=[111]
        )
    )
    assert list(ads.campaign_days(date(2026, 1, 1), date(2026, 1, 31))) == [[{"x": 1}], [{"x": 2}]]
    method, _, headers, body = server.requests[0]
    assert method == "POST"
    assert (headers["developer-token"], headers["login-customer-id"]) == ("dev", "999")
    assert "segments.date BETWEEN '2026-01-01' AND '2026-01-31'" in json.loads(body)["query"]


def test_linkedin_asks_month_sized_windows_with_restli_headers(server):
    server.script("/linkedin/rest/adAccounts", (200, {}, {"elements": [{"id": 5}]}))
    server.script("/linkedin/rest/adAnalytics", (200, {}, {"elements": [{"n": 1}]}))
    linkedin = LinkedInAdsConnector(connection(server, "linkedin"))
    pages = list(linkedin.campaign_days(date(2026, 1, 1), date(2026, 3, 5)))
    assert len(pages) == 3  # 31 + 31 + 3 days
    analytics = [r for r in server.requests if r[1].startswith("/linkedin/rest/adAnalytics")]
    assert (
        "dateRange=(start:(year:2026,month:1,day:1),end:(year:2026,month:1,day:31))"
        in analytics[0][1]
    )
    assert (
        "dateRange=(start:(year:2026,month:3,day:4),end:(year:2026,month:3,day:5))"
        in analytics[2][1]
    )
    assert analytics[0][2]["X-Restli-Protocol-Version"] == "2.0.0"


def test_netsuite_pages_by_offset_with_prefer_transient(server):
    route = "/netsuite/services/rest/query/v1/suiteql"
    server.script(
        route,
        (200, {}, {"items": [{"id": "1"}], "count": 1, "hasMore": True, "totalResults": 2}),
        (200, {}, {"items": [{"id": "2"}], "count": 1, "hasMore": False, "totalResults": 2}),
    )
    netsuite = NetSuiteConnector(connection(server, "netsuite"))
    pages = list(
        netsuite.rows(
            "item",
            modified_from=datetime(2026, 1, 1, tzinfo=UTC),
            modified_to=datetime(2026, 2, 1, tzinfo=UTC),
        )
    )
    assert pages == [[{"id": "1"}], [{"id": "2"}]]
    assert [r[1].split("?")[1] for r in server.requests] == [
        "limit=1000&offset=0",
        "limit=1000&offset=1",
    ]
    assert server.requests[0][2]["Prefer"] == "transient"
    assert "ORDER BY id" in json.loads(server.requests[0][3])["q"]
