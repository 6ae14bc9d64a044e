"""Extract one source object and load it into its raw table: the body of each DAG task.

Modes:
  incremental  from the stored watermark (with a look-back where the vendor restates or
               delivers late), the default of every scheduled run
  full         everything the source has, from the history start
  backfill     a date range [start, end], leaving the watermark where it was (or later)

An incremental run also reaches back for the records still in quarantine (ops.quarantine):
it starts its read where the oldest of them can be met again, so a record the source served
malformed is loaded as soon as the source serves it well, without a full refresh.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

import psycopg

from revenue_os.connectors.ads import GoogleAdsConnector, LinkedInAdsConnector
from revenue_os.connectors.base import SourceConnection
from revenue_os.connectors.hubspot import HubSpotConnector
from revenue_os.connectors.netsuite import NetSuiteConnector
from revenue_os.connectors.salesforce import SalesforceConnector
from revenue_os.raw.loader import LoadResult, ReadRange, Window, load_pages
from revenue_os.raw.objects import RAW_OBJECTS

log = logging.getLogger(__name__)

Mode = Literal["incremental", "full", "backfill"]

CONNECTORS = {
    "hubspot": HubSpotConnector,
    "salesforce": SalesforceConnector,
    "google_ads": GoogleAdsConnector,
    "linkedin_ads": LinkedInAdsConnector,
    "netsuite": NetSuiteConnector,
}
# Ad platforms settle conversions and cost for weeks (late conversions, invalid-click credits):
# every run re-reads this many days before the last day it loaded. Google Ads' and LinkedIn's
# default conversion windows are 30 days; a connection's extra `restatement_days` overrides it.
ADS_RESTATEMENT_DAYS = 30
# A restatement older than that is caught by re-reading the whole history once a week: raw
# then equals a full pull again, at the cost of one full ad pull (small: a row per campaign-day).
ADS_WHOLE_HISTORY_EVERY = timedelta(days=7)


def history_start() -> date:
    """The first day a full load reaches back to (REVENUE_OS_HISTORY_START, ISO date)."""
    return date.fromisoformat(os.environ.get("REVENUE_OS_HISTORY_START", "2023-01-01"))


@dataclass(frozen=True)
class Request:
    mode: Mode = "incremental"
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.mode == "backfill" and (self.start is None or self.end is None):
            raise ValueError("a backfill needs a start and an end date")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"backfill start {self.start} is after its end {self.end}")


@dataclass(frozen=True)
class Extraction:
    pages: Iterable[list[dict]]
    read: ReadRange
    window: Window | None = None


@dataclass(frozen=True)
class OpenQuarantine:
    """The records of an object still in quarantine, and where a read must start to meet
    them all again (`needs_everything`: one of them can only be met by reading everything)."""

    count: int = 0
    retry_from: datetime | None = None
    needs_everything: bool = False

    @classmethod
    def of(cls, conn: psycopg.Connection, object_name: str) -> OpenQuarantine:
        count, retry_from, needs_everything = conn.execute(
            "SELECT count(*), min(retry_from), coalesce(bool_or(retry_from IS NULL), false) "
            "FROM ops.quarantine WHERE source_object = %s AND released_at IS NULL",
            (object_name,),
        ).fetchone()
        return cls(count, retry_from, needs_everything)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _bounds(
    request: Request, watermark: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """The [from, to) range of change timestamps a run reads."""
    if request.mode == "backfill":
        return _midnight(request.start), _midnight(request.end + timedelta(days=1))
    if request.mode == "full" or watermark is None:
        return _midnight(history_start()), now
    return watermark, now


def _ads_window(
    request: Request,
    watermark: datetime | None,
    today: date,
    restatement_days: int = ADS_RESTATEMENT_DAYS,
    whole_history_through: date | None = None,
) -> Window:
    """The days an ad load reads: from the last day loaded less the restatement days (so a
    gap of any length is covered), or the whole history when its last whole read is a week
    old."""
    if request.mode == "backfill":
        return Window(request.start, request.end)
    if request.mode == "full" or watermark is None:
        return Window(history_start(), today)
    if whole_history_through is None or today - whole_history_through >= ADS_WHOLE_HISTORY_EVERY:
        return Window(history_start(), today)
    start = max(history_start(), watermark.date() - timedelta(days=restatement_days))
    return Window(start, today)


def whole_history_read_through(conn: psycopg.Connection, object_name: str) -> date | None:
    """The last day of the latest load of `object_name` that read its whole history."""
    return conn.execute(
        "SELECT max(window_end) FROM ops.load_batches"
        " WHERE source_object = %s AND window_start <= %s",
        (object_name, history_start()),
    ).fetchone()[0]


def plan(
    object_name: str,
    connector,
    request: Request,
    watermark: datetime | None,
    now: datetime,
    quarantined: OpenQuarantine | None = None,
    whole_history_through: date | None = None,
) -> Extraction:
    """What to read for `object_name` given the request, the stored watermark and the records
    still in quarantine (an incremental read reaches back to meet them again)."""
    reread_from = None
    if request.mode == "incremental" and quarantined and quarantined.count:
        if quarantined.needs_everything:
            request = Request(mode="full")
            log.info(
                "%s: reading everything to retry %d quarantined records",
                object_name,
                quarantined.count,
            )
        else:
            reread_from = quarantined.retry_from
            log.info(
                "%s: reading from %s to retry %d quarantined records",
                object_name,
                reread_from.isoformat(),
                quarantined.count,
            )
    since, until = _bounds(request, watermark, now)
    if reread_from is not None and reread_from < since:
        since = reread_from
    everything = request.mode == "full" or (request.mode == "incremental" and watermark is None)
    stream = RAW_OBJECTS[object_name]
    if stream.replication == "changed":
        changed = connector.changed(
            stream.endpoint,
            since,
            until,
            everything=everything,
            backfill=request.mode == "backfill",
        )
        return Extraction(changed.pages, ReadRange(changed.read_from, changed.read_to))
    if stream.replication == "occurred":
        if request.mode == "incremental" and watermark is not None:
            since = min(since, watermark) - stream.lookback
        return Extraction(
            connector.occurred(stream.endpoint, since, until), ReadRange(since, until)
        )
    if stream.replication == "reference":
        return Extraction(connector.reference(stream.endpoint), ReadRange(None, until))
    if stream.replication == "day_window":
        # The watermark becomes the newest day delivered (the loader keeps the later of it
        # and the stored one, so a backfill never moves it back).
        restatement_days = int(
            connector.connection.extra.get("restatement_days", ADS_RESTATEMENT_DAYS)
        )
        window = _ads_window(
            request, watermark, now.date(), restatement_days, whole_history_through
        )
        if reread_from is not None and reread_from.date() < window.start:
            window = Window(max(history_start(), reread_from.date()), window.end)
        return Extraction(
            connector.day_window(stream.endpoint, window.start, window.end),
            ReadRange.of_window(window),
            window,
        )
    raise KeyError(f"{object_name}: no extraction plan for replication {stream.replication!r}")


def extract_load(
    object_name: str,
    warehouse_uri: str,
    connection: SourceConnection,
    request: Request | None = None,
    *,
    now: datetime | None = None,
    client_options: dict | None = None,
) -> LoadResult:
    """Extract `object_name` from its source and load it into raw; return the load's figures."""
    if object_name not in RAW_OBJECTS:
        known = ", ".join(sorted(RAW_OBJECTS))
        raise KeyError(f"unknown source object {object_name!r}; known: {known}")
    request = request or Request()
    now = now or datetime.now(UTC)
    obj = RAW_OBJECTS[object_name]
    vendor = object_name.split(".", 1)[0]
    connector = CONNECTORS[vendor](connection, **(client_options or {}))
    try:
        with psycopg.connect(
            warehouse_uri,
            autocommit=True,
            application_name="revenue-os",
        ) as conn:
            row = conn.execute(
                "SELECT watermark, fields_digest FROM ops.source_state WHERE source_object = %s",
                (object_name,),
            ).fetchone()
            watermark = row[0] if row else None
            fields = connector.fields_digest(obj.endpoint)
            if (
                request.mode == "incremental"
                and watermark is not None
                and fields is not None
                and fields != row[1]
            ):
                # Records loaded before lack the fields asked for now, and an incremental read
                # brings only what changed since: read the object whole, once.
                log.info("%s: the extraction asks for new fields; reading everything", object_name)
                request = Request(mode="full")
            quarantined = OpenQuarantine.of(conn, object_name)
            whole_through = (
                whole_history_read_through(conn, object_name)
                if obj.mode == "replace_window"
                else None
            )
            extraction = plan(
                object_name, connector, request, watermark, now, quarantined, whole_through
            )
            return load_pages(
                conn,
                obj,
                extraction.pages,
                mode_label=request.mode,
                window=extraction.window,
                read=extraction.read,
                # Kept only by a read of everything: then every record has these fields.
                fields_digest=fields if request.mode == "full" or watermark is None else None,
            )
    finally:
        connector.close()
