"""Ad platforms: Google Ads (searchStream, GAQL) and LinkedIn Ads (Rest.li adAnalytics).

Both restate recent days (conversions and cost settle late), so both are pulled by date
window and loaded with replace-window semantics.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from urllib.parse import quote

from revenue_os.connectors.base import Connector, SourceConnection

GOOGLE_ADS_VERSION = "v18"
# A day row carries only what belongs to the day. The campaign's name and status are served
# as they are now with every day it ever ran, so they are read apart (CAMPAIGN_FIELDS, whole
# on every run): otherwise renaming or pausing a campaign would change days far older than
# an incremental pull re-reads.
GAQL_FIELDS = (
    "customer.id",
    "customer.currency_code",
    "campaign.id",
    "segments.date",
    "metrics.impressions",
    "metrics.clicks",
    "metrics.cost_micros",
    "metrics.conversions",
    "metrics.conversions_value",
)
CAMPAIGN_FIELDS = ("customer.id", "campaign.id", "campaign.name", "campaign.status")
LINKEDIN_VERSION = "202410"
LINKEDIN_FIELDS = (
    "dateRange",
    "pivotValues",
    "impressions",
    "clicks",
    "costInLocalCurrency",
    "externalWebsiteConversions",
)
# adAnalytics is not paged and refuses answers over 15,000 elements: ask a month at a time.
LINKEDIN_WINDOW_DAYS = 31


class _AdPlatform(Connector):
    """Campaigns are a small list read whole; their daily report is read by days."""

    def reference(self, endpoint: str) -> Iterator[list[dict]]:
        if endpoint != "campaigns":
            raise KeyError(f"{self.source} has no reference object {endpoint!r}")
        return self.campaigns()

    def day_window(self, endpoint: str, start: date, end: date) -> Iterator[list[dict]]:
        if endpoint != "campaign_days":
            raise KeyError(f"{self.source} has no daily report {endpoint!r}")
        return self.campaign_days(start, end)

    def campaigns(self) -> Iterator[list[dict]]:
        raise NotImplementedError

    def campaign_days(self, start: date, end: date) -> Iterator[list[dict]]:
        raise NotImplementedError


class GoogleAdsConnector(_AdPlatform):
    source = "google_ads"

    def __init__(self, connection: SourceConnection, **client_options):
        super().__init__(connection, **client_options)
        self.customer_ids = [str(c) for c in connection.extra.get("customer_ids", [])]

    def vendor_headers(self, connection: SourceConnection) -> dict[str, str]:
        developer_token = connection.extra.get("developer_token")
        if not developer_token:
            raise ValueError(
                f"Airflow connection '{connection.conn_id}' needs extra.developer_token "
                "(the Google Ads API developer token)"
            )
        headers = {"developer-token": developer_token}
        if connection.extra.get("login_customer_id"):
            headers["login-customer-id"] = str(connection.extra["login_customer_id"])
        return headers

    def customers(self) -> list[str]:
        if self.customer_ids:
            return self.customer_ids
        body = self.client.request_json(
            "GET", f"/{GOOGLE_ADS_VERSION}/customers:listAccessibleCustomers"
        )
        return [name.split("/")[-1] for name in body["resourceNames"]]

    def campaigns(self) -> Iterator[list[dict]]:
        """Every campaign of every customer with its current name and status."""
        yield from self._search_stream(f"SELECT {', '.join(CAMPAIGN_FIELDS)} FROM campaign")

    def campaign_days(self, start: date, end: date) -> Iterator[list[dict]]:
        """Campaign x day metrics of every customer, in each customer's currency."""
        yield from self._search_stream(
            f"SELECT {', '.join(GAQL_FIELDS)} FROM campaign "
            f"WHERE segments.date BETWEEN '{start.isoformat()}' AND '{end.isoformat()}'"
        )

    def _search_stream(self, query: str) -> Iterator[list[dict]]:
        for customer in self.customers():
            batches = self.client.request_json(
                "POST",
                f"/{GOOGLE_ADS_VERSION}/customers/{customer}/googleAds:searchStream",
                json={"query": query},
            )
            for batch in batches:
                yield batch.get("results", [])


class LinkedInAdsConnector(_AdPlatform):
    source = "linkedin_ads"

    def vendor_headers(self, connection: SourceConnection) -> dict[str, str]:
        return {
            "LinkedIn-Version": str(connection.extra.get("linkedin_version", LINKEDIN_VERSION)),
            "X-Restli-Protocol-Version": "2.0.0",
        }

    def accounts(self) -> list[dict]:
        return self.client.request_json("GET", "/rest/adAccounts?q=search")["elements"]

    def campaigns(self) -> Iterator[list[dict]]:
        for account in self.accounts():
            urn = quote(f"urn:li:sponsoredAccount:{account['id']}", safe="")
            start = 0
            while True:
                page = self.client.request_json(
                    "GET",
                    f"/rest/adCampaigns?q=search&search=(account:(values:List({urn})))"
                    f"&start={start}&count=100",
                )
                yield page["elements"]
                start += len(page["elements"])
                total = page.get("paging", {}).get("total", 0)
                if not page["elements"] or start >= total:
                    break

    def campaign_days(self, start: date, end: date) -> Iterator[list[dict]]:
        """Daily campaign analytics, a month-sized window per request."""
        accounts = ",".join(
            quote(f"urn:li:sponsoredAccount:{a['id']}", safe="") for a in self.accounts()
        )
        window_start = start
        while window_start <= end:
            window_end = min(end, window_start + timedelta(days=LINKEDIN_WINDOW_DAYS - 1))
            date_range = (
                f"(start:(year:{window_start.year},month:{window_start.month},day:{window_start.day}),"
                f"end:(year:{window_end.year},month:{window_end.month},day:{window_end.day}))"
            )
            page = self.client.request_json(
                "GET",
                "/rest/adAnalytics?q=analytics&pivot=CAMPAIGN&timeGranularity=DAILY"
                f"&dateRange={date_range}&accounts=List({accounts})"
                f"&fields={','.join(LINKEDIN_FIELDS)}",
            )
            yield page["elements"]
            window_start = window_end + timedelta(days=1)
