"""Salesforce REST query (SOQL) for accounts, contacts, opportunities, stage history, campaigns."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import urlsplit

from revenue_os.connectors.base import ChangedRead, Connector, SourceConnection, utc

API = "/services/data/v60.0"
BATCH_SIZE = 2000

FIELDS: dict[str, tuple[str, ...]] = {
    "Account": (
        "Id",
        "Name",
        "Website",
        "Industry",
        "NumberOfEmployees",
        "BillingCountry",
        "AnnualRevenue",
        "CurrencyIsoCode",
        "OwnerId",
        "External_Id__c",
        "CreatedDate",
        "SystemModstamp",
        "IsDeleted",
        "MasterRecordId",
    ),
    "Contact": (
        "Id",
        "AccountId",
        "FirstName",
        "LastName",
        "Email",
        "LeadSource",
        "CreatedDate",
        "SystemModstamp",
        "IsDeleted",
        "MasterRecordId",
    ),
    "Opportunity": (
        "Id",
        "AccountId",
        "Name",
        "StageName",
        "Amount",
        "CurrencyIsoCode",
        "CloseDate",
        "IsClosed",
        "IsWon",
        "ForecastCategoryName",
        "NextStep",
        "Loss_Reason__c",
        "Renewal_Date__c",
        "Type",
        "LeadSource",
        "CampaignId",
        "ContactId",
        "OwnerId",
        "CreatedDate",
        "SystemModstamp",
        "IsDeleted",
    ),
    "OpportunityHistory": (
        "Id",
        "OpportunityId",
        "StageName",
        "Amount",
        "CloseDate",
        "ForecastCategory",
        "CreatedDate",
        "SystemModstamp",
        "IsDeleted",
    ),
    "Campaign": (
        "Id",
        "Name",
        "Type",
        "Status",
        "StartDate",
        "CreatedDate",
        "SystemModstamp",
        "IsDeleted",
    ),
}


def soql_datetime(moment: datetime) -> str:
    """SOQL datetime literal (unquoted), always UTC."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


class SalesforceConnector(Connector):
    source = "salesforce"

    def __init__(self, connection: SourceConnection, **client_options):
        super().__init__(connection, **client_options)
        self._base_path = urlsplit(connection.base_url).path.rstrip("/")

    def fields_digest(self, endpoint: str) -> str | None:
        return hashlib.sha256(",".join(FIELDS[endpoint]).encode()).hexdigest()[:16]

    def vendor_headers(self, connection: SourceConnection) -> dict[str, str]:
        # Salesforce serves 200..2000 records a page; extra.batch_size lowers it where big
        # records time out (and lets tests page through small orgs).
        batch_size = int(connection.extra.get("batch_size", BATCH_SIZE))
        return {"Sforce-Query-Options": f"batchSize={batch_size}"}

    def changed(
        self, endpoint: str, since: datetime, until: datetime, *, everything: bool, backfill: bool
    ) -> ChangedRead:
        """Records of the sObject `endpoint` by SystemModstamp (queryAll: deletions too)."""
        if everything:
            return ChangedRead(self.records(endpoint), None, until)
        before = until if backfill else None
        return ChangedRead(
            self.records(endpoint, modified_after=since, modified_before=before), since, until
        )

    def records(
        self,
        sobject: str,
        *,
        modified_after: datetime | None = None,
        modified_before: datetime | None = None,
    ) -> Iterator[list[dict]]:
        """Records of `sobject`, deleted and merged ones included (queryAll), oldest change first."""
        conditions = []
        if modified_after is not None:
            conditions.append(f"SystemModstamp >= {soql_datetime(modified_after)}")
        if modified_before is not None:
            conditions.append(f"SystemModstamp <= {soql_datetime(modified_before)}")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        soql = (
            f"SELECT {', '.join(FIELDS[sobject])} FROM {sobject}{where} ORDER BY SystemModstamp, Id"
        )
        page = self.client.request_json("GET", f"{API}/queryAll", params={"q": soql})
        while True:
            yield page["records"]
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            page = self.client.request_json("GET", self._relative(page["nextRecordsUrl"]))

    def _relative(self, next_url: str) -> str:
        """nextRecordsUrl is a path on the instance; make it relative to our base URL."""
        path = urlsplit(next_url).path
        if self._base_path and path.startswith(self._base_path + "/"):
            path = path[len(self._base_path) :]
        return path
