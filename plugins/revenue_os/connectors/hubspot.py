"""HubSpot CRM v3 contacts and the Events API (marketing touches)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime

from revenue_os.connectors.base import ChangedRead, Connector, epoch_ms, parse_iso
from revenue_os.connectors.http import SourceError

CONTACT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "company",
    "jobtitle",
    "lifecyclestage",
    "hs_lifecyclestage_lead_date",
    "hs_lifecyclestage_marketingqualifiedlead_date",
    "hs_lifecyclestage_salesqualifiedlead_date",
    "hs_lifecyclestage_opportunity_date",
    "hs_lifecyclestage_customer_date",
    "hs_analytics_source",
    "hs_analytics_source_data_1",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "country",
    "createdate",
    "lastmodifieddate",
    "salesforcecontactid",
)
LIST_PAGE = 100
SEARCH_PAGE = 200
# The search endpoint refuses to page past 10,000 results of one query (HTTP 400).
SEARCH_CAP = 10_000
EVENTS_PAGE = 1000


class HubSpotConnector(Connector):
    source = "hubspot"

    def changed(
        self, endpoint: str, since: datetime, until: datetime, *, everything: bool, backfill: bool
    ) -> ChangedRead:
        """Contacts: the list endpoint for everything; else the search by lastmodifieddate,
        plus the archived list (search never returns archived records)."""
        if endpoint != "contacts":
            raise KeyError(f"hubspot reads no {endpoint!r} by change time")
        if everything:
            return ChangedRead(self.all_contacts(), None, until)
        changed = self.contacts_modified_since(since, until if backfill else None)
        return ChangedRead(itertools.chain(changed, self.archived_contacts()), since, until)

    def occurred(self, endpoint: str, since: datetime, until: datetime) -> Iterator[list[dict]]:
        if endpoint != "events":
            raise KeyError(f"hubspot reads no {endpoint!r} by occurrence time")
        return self.events(since, until)

    def all_contacts(self) -> Iterator[list[dict]]:
        """Every contact, live and archived, through the list endpoint (no result cap)."""
        yield from self._list_contacts(archived=False)
        yield from self.archived_contacts()

    def archived_contacts(self) -> Iterator[list[dict]]:
        """Archived (deleted) contacts: search never returns them, so deletions come from here."""
        yield from self._list_contacts(archived=True)

    def _list_contacts(self, *, archived: bool) -> Iterator[list[dict]]:
        after: str | None = None
        while True:
            params = {"limit": LIST_PAGE, "properties": ",".join(CONTACT_PROPERTIES)}
            if archived:
                params["archived"] = "true"
            if after:
                params["after"] = after
            page = self.client.request_json("GET", "/crm/v3/objects/contacts", params=params)
            yield page["results"]
            after = (page.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return

    def contacts_modified_since(
        self, since: datetime, before: datetime | None = None
    ) -> Iterator[list[dict]]:
        """Contacts with lastmodifieddate >= since, in windows that stay under the search cap.

        A window ends when the next page would pass 10,000 results; the next one starts at the
        last lastmodifieddate seen (GTE, so records sharing that instant are read again and
        deduplicated by the loader rather than skipped).
        """
        lower = since
        while True:
            offset, newest = 0, None
            while True:
                filters = [
                    {
                        "propertyName": "lastmodifieddate",
                        "operator": "GTE",
                        "value": epoch_ms(lower),
                    }
                ]
                if before is not None:
                    filters.append(
                        {
                            "propertyName": "lastmodifieddate",
                            "operator": "LT",
                            "value": epoch_ms(before),
                        }
                    )
                body = {
                    "filterGroups": [{"filters": filters}],
                    "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
                    "properties": list(CONTACT_PROPERTIES),
                    "limit": SEARCH_PAGE,
                    "after": str(offset),
                }
                page = self.client.request_json(
                    "POST", "/crm/v3/objects/contacts/search", json=body
                )
                results = page["results"]
                yield results
                for record in results:
                    modified = _modified(record)
                    if modified and (newest is None or modified > newest):
                        newest = modified
                following = (page.get("paging") or {}).get("next", {}).get("after")
                if not following:
                    return
                offset = int(following)
                if offset + SEARCH_PAGE > SEARCH_CAP:
                    break
            if newest is None or newest <= lower:
                raise SourceError(
                    self.source,
                    f"more than {SEARCH_CAP} contacts share lastmodifieddate {lower.isoformat()}; "
                    "run a full refresh of hubspot.contacts instead",
                )
            lower = newest

    def events(self, occurred_after: datetime, occurred_before: datetime) -> Iterator[list[dict]]:
        """Contact events (form submissions, e-mail and ad clicks, page views) in a time range."""
        after: str | None = None
        while True:
            params = {
                "objectType": "contact",
                "occurredAfter": occurred_after.isoformat().replace("+00:00", "Z"),
                "occurredBefore": occurred_before.isoformat().replace("+00:00", "Z"),
                "limit": EVENTS_PAGE,
            }
            if after:
                params["after"] = after
            page = self.client.request_json("GET", "/events/v3/events", params=params)
            yield page["results"]
            after = (page.get("paging") or {}).get("next", {}).get("after")
            if not after:
                return


def _modified(record: dict) -> datetime | None:
    properties = record.get("properties") or {}
    try:
        return parse_iso(properties.get("lastmodifieddate")) or parse_iso(record.get("updatedAt"))
    except ValueError:
        return None  # a malformed record; the loader quarantines it
