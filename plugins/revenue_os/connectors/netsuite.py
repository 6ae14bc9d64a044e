"""NetSuite SuiteQL over REST: customers, items and their prices, invoice lines, inventory
snapshots, exchange rates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from revenue_os.connectors.base import ChangedRead, Connector, SourceConnection, utc
from revenue_os.connectors.http import SourceError

PAGE = 1000
# SuiteQL pages at most 100,000 rows of one query: larger windows are split in two.
QUERY_CAP = 100_000

COLUMNS: dict[str, tuple[str, ...]] = {
    "customer": (
        "id",
        "entityid",
        "companyname",
        "email",
        "externalid",
        "subsidiary",
        "currency",
        "datecreated",
        "lastmodifieddate",
    ),
    "item": ("id", "itemid", "displayname", "itemtype", "cost", "baseprice", "lastmodifieddate"),
    "invoiceline": (
        "id",
        "transaction",
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
        "lastmodifieddate",
    ),
    "inventorysnapshot": (
        "id",
        "item",
        "snapshotdate",
        "quantityonhand",
        "averagecost",
        "lastmodifieddate",
    ),
    "currencyrate": (
        "id",
        "basecurrency",
        "transactioncurrency",
        "effectivedate",
        "exchangerate",
        "lastmodifieddate",
    ),
    "pricing": ("id", "item", "currency", "pricelevel", "unitprice", "lastmodifieddate"),
}

_US_DATE = re.compile(
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?$"
)


def parse_netsuite_datetime(value: str | None) -> datetime | None:
    """NetSuite's account-formatted dates (M/D/YYYY [h:mm[:ss] am]) or ISO, as UTC."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    match = _US_DATE.match(text)
    if not match:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return utc(parsed)
    month, day, year, hour, minute, second, meridiem = match.groups()
    hour_value = int(hour or 0)
    if meridiem:
        hour_value = hour_value % 12 + (12 if meridiem.lower() == "pm" else 0)
    return datetime(
        int(year),
        int(month),
        int(day),
        hour_value,
        int(minute or 0),
        int(second or 0),
        tzinfo=UTC,
    )


def suiteql_timestamp(moment: datetime) -> str:
    return f"TO_TIMESTAMP('{utc(moment):%Y-%m-%d %H:%M:%S}', 'YYYY-MM-DD HH24:MI:SS')"


class NetSuiteConnector(Connector):
    source = "netsuite"

    def vendor_headers(self, connection: SourceConnection) -> dict[str, str]:
        # SuiteQL over REST refuses queries without it.
        return {"Prefer": "transient"}

    def changed(
        self, endpoint: str, since: datetime, until: datetime, *, everything: bool, backfill: bool
    ) -> ChangedRead:
        """Rows of the table `endpoint` by lastmodifieddate, always in a date range (a whole
        table can pass SuiteQL's cap; a range can be split): through the end of `until`'s day,
        from the history start when reading everything."""
        to = until + timedelta(days=1)
        return ChangedRead(self.rows(endpoint, modified_from=since, modified_to=to), since, to)

    def rows(
        self,
        table: str,
        *,
        modified_from: datetime | None = None,
        modified_to: datetime | None = None,
    ) -> Iterator[list[dict]]:
        """Rows of `table` with lastmodifieddate in [from, to), ordered by id, under the cap."""
        conditions = []
        if modified_from is not None:
            conditions.append(f"lastmodifieddate >= {suiteql_timestamp(modified_from)}")
        if modified_to is not None:
            conditions.append(f"lastmodifieddate < {suiteql_timestamp(modified_to)}")
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        query = f"SELECT {', '.join(COLUMNS[table])} FROM {table}{where} ORDER BY id"
        first = self._page(query, 0)
        if first["totalResults"] > QUERY_CAP:
            yield from self._split(table, modified_from, modified_to, first["totalResults"])
            return
        page, offset = first, 0
        while True:
            yield page["items"]
            if not page.get("hasMore"):
                return
            offset += page["count"]
            page = self._page(query, offset)

    def _split(self, table, modified_from, modified_to, total) -> Iterator[list[dict]]:
        if modified_from is None or modified_to is None:
            raise SourceError(
                self.source,
                f"{table} has {total} rows, over SuiteQL's {QUERY_CAP} per query; "
                "load it with a date range (backfill) so it can be split",
            )
        middle = modified_from + (modified_to - modified_from) / 2
        if middle - modified_from < timedelta(seconds=1):
            raise SourceError(self.source, f"{total} {table} rows changed within one second")
        yield from self.rows(table, modified_from=modified_from, modified_to=middle)
        yield from self.rows(table, modified_from=middle, modified_to=modified_to)

    def _page(self, query: str, offset: int) -> dict:
        return self.client.request_json(
            "POST",
            "/services/rest/query/v1/suiteql",
            params={"limit": PAGE, "offset": offset},
            json={"q": query},
        )
