"""What every connector shares: its connection settings and time helpers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any


@dataclass(frozen=True)
class SourceConnection:
    """Where a source lives and how to authenticate: an Airflow connection, or built directly.

    `base_url` stands for the vendor's host (plus a path prefix where one is needed); the
    connector appends the vendor's real API paths to it.
    """

    conn_id: str
    base_url: str
    token: str
    extra: dict[str, Any] = field(default_factory=dict)


def connection_from_airflow(conn_id: str) -> SourceConnection:
    """Read an Airflow connection (e.g. AIRFLOW_CONN_HUBSPOT as JSON) into a SourceConnection."""
    from airflow.sdk import BaseHook  # imported here: connectors also run outside Airflow

    conn = BaseHook.get_connection(conn_id)
    host = conn.host or ""
    if not host.startswith(("http://", "https://")):
        scheme = conn.schema or "https"
        port = f":{conn.port}" if conn.port else ""
        host = f"{scheme}://{host}{port}"
    if not conn.password:
        raise ValueError(
            f"Airflow connection '{conn_id}' has no password: put the API token there "
            f"(env AIRFLOW_CONN_{conn_id.upper()})"
        )
    return SourceConnection(conn_id, host, conn.password, dict(conn.extra_dejson or {}))


def utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_iso(value: str | None) -> datetime | None:
    """ISO-8601 with Z or an offset (also Salesforce's +0000 form)."""
    if value is None or value == "":
        return None
    try:  # the common case, e.g. 2026-06-01T12:00:00Z, in one C call
        return utc(datetime.fromisoformat(value))
    except (TypeError, ValueError):
        pass
    text = str(value).strip().replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":  # 2026-06-01T12:00:00.000+0000
        text = f"{text[:-2]}:{text[-2:]}"
    return utc(datetime.fromisoformat(text))


def parse_date(value: str | None) -> date | None:
    if value is None or value == "":
        return None
    return date.fromisoformat(str(value)[:10])


def epoch_ms(moment: datetime) -> str:
    return str(int(utc(moment).timestamp() * 1000))


@dataclass(frozen=True)
class ChangedRead:
    """The pages of an object's changed records, and the change times they cover:
    [read_from, read_to), read_from None when everything was read."""

    pages: Iterable[list[dict]]
    read_from: datetime | None
    read_to: datetime


class Connector:
    """A vendor connector: a VendorClient with the vendor's bearer token and headers.

    Each source object is read by its replication (revenue_os.raw.objects): a connector
    implements the ones its objects use, for the object's `endpoint`.
    """

    source: str

    def __init__(self, connection: SourceConnection, **client_options):
        from revenue_os.connectors.http import VendorClient

        self.connection = connection
        headers = {"Authorization": f"Bearer {connection.token}", **self.vendor_headers(connection)}
        self.client = VendorClient(
            self.source, connection.base_url, headers, conn_id=connection.conn_id, **client_options
        )

    def fields_digest(self, endpoint: str) -> str | None:
        """A digest of the fields the extraction asks `endpoint` for, or None when it asks for
        whole records (then a release cannot leave older records without a field)."""
        return None

    def vendor_headers(self, connection: SourceConnection) -> dict[str, str]:
        """Headers the vendor requires besides the bearer token."""
        return {}

    def changed(
        self, endpoint: str, since: datetime, until: datetime, *, everything: bool, backfill: bool
    ) -> ChangedRead:
        """Records changed in [since, until) (everything: all of them), deletions included."""
        raise NotImplementedError(f"{self.source} reads no object by change time")

    def occurred(self, endpoint: str, since: datetime, until: datetime) -> Iterable[list[dict]]:
        """Immutable records (events) that occurred in [since, until)."""
        raise NotImplementedError(f"{self.source} reads no object by occurrence time")

    def reference(self, endpoint: str) -> Iterable[list[dict]]:
        """A small object read whole every time (it has no change time)."""
        raise NotImplementedError(f"{self.source} reads no reference object")

    def day_window(self, endpoint: str, start: date, end: date) -> Iterable[list[dict]]:
        """Daily rows of the days [start, end], as the vendor reports them now."""
        raise NotImplementedError(f"{self.source} reads no daily report")

    def close(self) -> None:
        self.client.close()
