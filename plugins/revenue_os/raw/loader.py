"""Bulk, idempotent loading of extracted pages into a raw table.

Why COPY into a temporary table and merge, rather than COPY straight into the raw table: the
merge makes a re-run of the same window a no-op (rows whose record did not change are not
touched, so they keep their batch id), collapses a record seen twice in one extraction (search
windows overlap at their edges) to its newest version, and lets a date window be replaced
exactly (restated ad days: rows the source no longer reports in the window are deleted). A day
for which the source served a malformed record is not replaced: its rows stay as they were,
since the record that failed may be the very row the delete would remove.

A quarantined record stays open until a later load reads its range again (the planner in
revenue_os.orchestration.extract_load reaches back for it): that load releases it, as loaded
when the source now serves it well, or as quarantined again under the new load.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

log = logging.getLogger(__name__)


class MalformedRecord(ValueError):
    """A record that cannot be keyed or dated; it goes to ops.quarantine with this reason."""


@dataclass(frozen=True)
class KeyColumn:
    """A typed column of a raw table, taken from each record."""

    name: str
    extract: Callable[[dict], Any]
    data_type: Literal["text", "date"] = "text"


@dataclass(frozen=True)
class RawObject:
    """One source object and the raw table it lands in."""

    name: str  # e.g. "hubspot.contacts"
    table: str  # e.g. "hubspot__contacts" in schema raw
    keys: tuple[KeyColumn, ...]
    updated_at: Callable[[dict], datetime | None]
    is_deleted: Callable[[dict], bool] = lambda record: False
    # Replace a date window (ads restate recent days) or only upsert (CRM-style objects).
    mode: Literal["upsert", "replace_window"] = "upsert"
    window_column: str | None = None
    # How the extract planner reads it: the vendor's name for the object, and how its changes
    # are found (changed: by modification time, deletions included; occurred: immutable
    # events by occurrence time, re-reading `lookback` for late arrivals; reference: a small
    # list read whole; day_window: a daily report, its recent days restated).
    endpoint: str = ""
    replication: Literal["changed", "occurred", "reference", "day_window"] = "changed"
    lookback: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if (self.replication == "day_window") != (self.mode == "replace_window"):
            raise ValueError(
                f"{self.name}: a daily report (replication day_window) is loaded by replacing "
                "its window (mode replace_window), and only a daily report is"
            )
        if self.mode == "replace_window" and not self.window_column:
            raise ValueError(f"{self.name}: mode replace_window needs a window_column")
        if not self.endpoint:
            raise ValueError(f"{self.name}: name the vendor's endpoint (object, table) it reads")

    @property
    def key_names(self) -> list[str]:
        return [key.name for key in self.keys]


@dataclass(frozen=True)
class Window:
    """The date range a replace_window load owns: rows in it not re-delivered are deleted."""

    start: date
    end: date


@dataclass(frozen=True)
class ReadRange:
    """What a load read, by change time: [read_from, read_to). read_from None = everything.

    A window load reads days: its range runs from the window's first midnight to the midnight
    after its last day.
    """

    read_from: datetime | None
    read_to: datetime | None

    @classmethod
    def of_window(cls, window: Window) -> ReadRange:
        return cls(_midnight(window.start), _midnight(window.end + timedelta(days=1)))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class QuarantinedRecord:
    reason: str
    record: Any
    record_key: str | None
    # Where a later read must start to meet this record again (None: only a read of everything).
    retry_from: datetime | None


@dataclass
class LoadResult:
    batch_id: uuid.UUID
    extracted: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    quarantined: int = 0
    watermark: datetime | None = None
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    # A window replace keeps the rows of the days a quarantined record belongs to (all of the
    # window when its day cannot be read): a malformed record never deletes a good row.
    kept_days: set[date] = field(default_factory=set)
    kept_whole_window: bool = False
    # Records quarantined by earlier loads that this one read again: now loaded, or quarantined
    # again (then counted in `quarantined` too).
    released_loaded: int = 0
    released_again: int = 0


META_COLUMNS = ("source_updated_at", "is_deleted", "record", "batch_id", "extracted_at")


def _window_day(obj: RawObject, record: Any) -> date | None:
    """The window day of a record that could not be keyed, when that much can be read."""
    key = next((k for k in obj.keys if k.name == obj.window_column), None)
    if key is None or not isinstance(record, dict):
        return None
    try:
        day = key.extract(record)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    if isinstance(day, datetime):
        return day.date()
    if isinstance(day, date):
        return day
    try:
        return date.fromisoformat(str(day))
    except ValueError:
        return None


def _readable_key(obj: RawObject, record: Any) -> str | None:
    """The key of a record that could not be loaded, as text, when every part can be read."""
    if not isinstance(record, dict):
        return None
    parts = []
    for key in obj.keys:
        try:
            value = key.extract(record)
        except (KeyError, TypeError, ValueError, IndexError):
            return None
        if value is None or isinstance(value, dict | list | bool):
            return None
        parts.append(str(value))
    return "/".join(parts)


def _retry_from(obj: RawObject, record: Any, read: ReadRange) -> datetime | None:
    """Where a re-read meets this record: its own day or change time if readable, else the
    start of what this load read (the record was in it)."""
    if obj.mode == "replace_window":
        day = _window_day(obj, record)
        if day is not None:
            return _midnight(day)
        return read.read_from
    try:
        updated = obj.updated_at(record) if isinstance(record, dict) else None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        updated = None
    if updated is not None and (read.read_from is None or updated >= read.read_from):
        return updated
    return read.read_from


def _parse(obj: RawObject, record: Any) -> tuple[list[Any], datetime | None, bool]:
    if not isinstance(record, dict):
        raise MalformedRecord(f"not a JSON object but {type(record).__name__}")
    values = []
    for key in obj.keys:
        try:
            value = key.extract(record)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise MalformedRecord(f"key {key.name}: {type(error).__name__}: {error}") from None
        if value is None or (isinstance(value, str) and value.strip() in ("", "None", "null")):
            raise MalformedRecord(f"key {key.name} is missing")
        if isinstance(value, dict | list | bool):
            raise MalformedRecord(f"key {key.name} is a {type(value).__name__}, not an id")
        values.append(value)
    try:
        updated = obj.updated_at(record)
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedRecord(f"updated-at: {type(error).__name__}: {error}") from None
    return values, updated, bool(obj.is_deleted(record))


def load_pages(
    conn: psycopg.Connection,
    obj: RawObject,
    pages: Iterable[Sequence[Any]],
    *,
    mode_label: str = "incremental",
    window: Window | None = None,
    read: ReadRange | None = None,
    extracted_at: datetime | None = None,
    fields_digest: str | None = None,
) -> LoadResult:
    """Load every page into raw.<obj.table> in one transaction; return what changed.

    The object's watermark becomes the newest source_updated_at seen, or stays where it was
    when nothing newer came (so a backfill of old days never moves it back).
    `read` is the range the pages cover (default: a window's days, else everything): open
    quarantine entries inside it are released.
    Nothing is written, the state included, if extraction raises half way.
    `fields_digest` (the fields a read of everything asked for; None otherwise) is kept with
    the state, so a later release asking for more fields reads the object whole once.
    """
    if obj.mode == "replace_window" and window is None:
        raise ValueError(f"{obj.name} replaces a date window: pass window=")
    if read is None:
        read = ReadRange.of_window(window) if window is not None else ReadRange(None, None)
    batch_id = uuid.uuid4()
    extracted_at = extracted_at or datetime.now(UTC)
    result = LoadResult(batch_id=batch_id)
    target = sql.Identifier("raw", obj.table)
    keys = [sql.Identifier(name) for name in obj.key_names]
    columns = keys + [sql.Identifier(name) for name in META_COLUMNS]
    quarantine: list[QuarantinedRecord] = []
    newest: datetime | None = None

    with conn.transaction():
        started = conn.execute("SELECT clock_timestamp()").fetchone()[0]
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE incoming ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA"
            ).format(sql.SQL(", ").join(columns), target)
        )
        with conn.cursor().copy(
            sql.SQL("COPY incoming ({}) FROM STDIN").format(sql.SQL(", ").join(columns))
        ) as copy:
            for page in pages:
                for record in page:
                    result.extracted += 1
                    try:
                        key_values, updated, deleted = _parse(obj, record)
                    except MalformedRecord as error:
                        quarantine.append(
                            QuarantinedRecord(
                                str(error),
                                record,
                                _readable_key(obj, record),
                                _retry_from(obj, record, read),
                            )
                        )
                        if obj.mode == "replace_window":
                            day = _window_day(obj, record)
                            if day is None:
                                result.kept_whole_window = True
                            else:
                                result.kept_days.add(day)
                        continue
                    if updated is not None and (newest is None or updated > newest):
                        newest = updated
                    copy.write_row(
                        [*key_values, updated, deleted, Jsonb(record), batch_id, extracted_at]
                    )
        result.quarantined = len(quarantine)
        _merge(conn, obj, target, keys, window, result)
        _write_quarantine(conn, obj, batch_id, quarantine, result)
        _release_quarantine(conn, obj, batch_id, read, result)
        previous = conn.execute(
            "SELECT watermark FROM ops.source_state WHERE source_object = %s", (obj.name,)
        ).fetchone()
        previous_mark = previous[0] if previous else None
        new_mark = max(filter(None, [newest, previous_mark]), default=None)
        result.watermark = new_mark
        conn.execute(
            """
            INSERT INTO ops.source_state (source_object, watermark, last_batch_id, updated_at,
                                          fields_digest)
            VALUES (%s, %s, %s, now(), %s)
            ON CONFLICT (source_object) DO UPDATE SET
                watermark = excluded.watermark,
                last_batch_id = excluded.last_batch_id,
                updated_at = excluded.updated_at,
                fields_digest = coalesce(excluded.fields_digest, ops.source_state.fields_digest)
            """,
            (obj.name, new_mark, batch_id, fields_digest),
        )
        conn.execute(
            """
            INSERT INTO ops.load_batches (batch_id, source_object, mode, window_start, window_end,
                read_from, read_to, started_at, finished_at, rows_extracted, rows_inserted,
                rows_updated, rows_deleted, rows_quarantined, watermark)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp(), %s, %s, %s, %s, %s, %s)
            """,
            (
                batch_id,
                obj.name,
                mode_label,
                window.start if window else None,
                window.end if window else None,
                read.read_from,
                read.read_to,
                started,
                result.extracted,
                result.inserted,
                result.updated,
                result.deleted,
                result.quarantined,
                new_mark,
            ),
        )
    log.info(
        "%s: %d extracted, %d inserted, %d updated, %d deleted, %d unchanged, %d quarantined",
        obj.name,
        result.extracted,
        result.inserted,
        result.updated,
        result.deleted,
        result.unchanged,
        result.quarantined,
    )
    if result.released_loaded or result.released_again:
        log.info(
            "%s: of the records quarantined earlier and read again, %d now loaded, "
            "%d still malformed (quarantined again)",
            obj.name,
            result.released_loaded,
            result.released_again,
        )
    return result


def _merge(conn, obj: RawObject, target, keys, window: Window | None, result: LoadResult) -> None:
    all_columns = sql.SQL(", ").join(keys + [sql.Identifier(c) for c in META_COLUMNS])
    staged = result.extracted - result.quarantined
    # Most extractions deliver each key once: merge straight away, and only when Postgres
    # refuses (a key twice in one INSERT ... ON CONFLICT) pay for finding the duplicates.
    try:
        with conn.transaction():
            source = sql.SQL("SELECT {cols} FROM incoming").format(cols=all_columns)
            inserted, written = _upsert(conn, target, keys, all_columns, source)
            surplus = 0
    except psycopg.errors.CardinalityViolation:
        key_list = sql.SQL(", ").join(keys)
        surplus = conn.execute(
            sql.SQL(
                "SELECT coalesce(sum(n - 1), 0)::bigint FROM "
                "(SELECT count(*) AS n FROM incoming GROUP BY {} HAVING count(*) > 1) d"
            ).format(key_list)
        ).fetchone()[0]
        # A key seen twice in one extraction keeps its newest version.
        source = sql.SQL(
            "SELECT DISTINCT ON ({keys}) {cols} FROM incoming "
            "ORDER BY {keys}, source_updated_at DESC NULLS LAST, ctid DESC"
        ).format(keys=key_list, cols=all_columns)
        inserted, written = _upsert(conn, target, keys, all_columns, source)
    result.inserted = inserted
    result.updated = written - inserted
    result.unchanged = staged - surplus - written
    if obj.mode == "replace_window" and window is not None:
        if result.kept_whole_window:
            log.warning(
                "%s: a quarantined record's day could not be read: the rows of %s to %s are "
                "kept as they were (nothing deleted) until the source serves them well",
                obj.name,
                window.start,
                window.end,
            )
            return
        if result.kept_days:
            log.warning(
                "%s: rows of %s kept as they were: the source served malformed records for "
                "those days",
                obj.name,
                ", ".join(str(day) for day in sorted(result.kept_days)),
            )
        column = sql.Identifier(obj.window_column)
        match = sql.SQL(" AND ").join(sql.SQL("i.{0} = t.{0}").format(k) for k in keys)
        result.deleted = conn.execute(
            sql.SQL(
                "DELETE FROM {target} t WHERE t.{col} BETWEEN %s AND %s "
                "AND t.{col} <> ALL(%s::date[]) "
                "AND NOT EXISTS (SELECT 1 FROM incoming i WHERE {match})"
            ).format(target=target, col=column, match=match),
            (window.start, window.end, sorted(result.kept_days)),
        ).rowcount


def _upsert(conn, target, keys, all_columns, source) -> tuple[int, int]:
    """Insert new keys, rewrite changed ones; return (inserted, inserted + updated)."""
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = excluded.{0}").format(sql.Identifier(c)) for c in META_COLUMNS
    )
    # Rows whose record did not change are not rewritten, so they keep their batch id and a
    # re-run of the same window changes nothing.
    return conn.execute(
        sql.SQL(
            "WITH written AS ("
            "  INSERT INTO {target} ({cols}) {source} "
            "  ON CONFLICT ({keys}) DO UPDATE SET {updates} "
            "  WHERE {target}.record IS DISTINCT FROM excluded.record "
            "     OR {target}.is_deleted IS DISTINCT FROM excluded.is_deleted "
            "  RETURNING (xmax = 0) AS inserted"
            ") SELECT count(*) FILTER (WHERE inserted), count(*) FROM written"
        ).format(
            target=target,
            cols=all_columns,
            source=source,
            keys=sql.SQL(", ").join(keys),
            updates=updates,
        )
    ).fetchone()


def _write_quarantine(
    conn, obj: RawObject, batch_id, quarantine: list[QuarantinedRecord], result: LoadResult
) -> None:
    if not quarantine:
        return
    with conn.cursor().copy(
        "COPY ops.quarantine (batch_id, source_object, reason, payload, record_key, retry_from) "
        "FROM STDIN"
    ) as copy:
        for entry in quarantine:
            reasons = result.quarantine_reasons
            reasons[entry.reason] = reasons.get(entry.reason, 0) + 1
            try:
                payload = Jsonb(entry.record)
                json.dumps(entry.record)
            except (TypeError, ValueError):
                payload = Jsonb({"unparsed": repr(entry.record)[:10000]})
            copy.write_row(
                [batch_id, obj.name, entry.reason, payload, entry.record_key, entry.retry_from]
            )


def _release_quarantine(conn, obj: RawObject, batch_id, read: ReadRange, result) -> None:
    """Release the open entries this load read again: the source served each record anew,
    well (now in raw) or not (quarantined again by this load: the same key, or for a record
    whose key cannot be read, the same reason at the same place)."""
    released = conn.execute(
        """
        WITH again AS (
            SELECT record_key, reason, retry_from FROM ops.quarantine WHERE batch_id = %(batch)s
        ), released AS (
            UPDATE ops.quarantine AS q
            SET released_at = now(),
                released_by_batch = %(batch)s,
                released_as = CASE
                    WHEN EXISTS (
                        SELECT 1 FROM again
                        WHERE again.record_key = q.record_key
                           OR (q.record_key IS NULL AND again.record_key IS NULL
                               AND again.reason = q.reason
                               AND again.retry_from IS NOT DISTINCT FROM q.retry_from)
                    ) THEN 'quarantined_again' ELSE 'loaded' END
            WHERE q.source_object = %(object)s
              AND q.released_at IS NULL
              AND q.batch_id <> %(batch)s
              AND CASE
                  WHEN q.retry_from IS NULL THEN %(read_from)s::timestamptz IS NULL
                  ELSE (%(read_from)s::timestamptz IS NULL OR q.retry_from >= %(read_from)s)
                   AND (%(read_to)s::timestamptz IS NULL OR q.retry_from < %(read_to)s)
              END
            RETURNING released_as
        )
        SELECT count(*) FILTER (WHERE released_as = 'loaded'),
               count(*) FILTER (WHERE released_as = 'quarantined_again')
        FROM released
        """,
        {
            "batch": batch_id,
            "object": obj.name,
            "read_from": read.read_from,
            "read_to": read.read_to,
        },
    ).fetchone()
    result.released_loaded, result.released_again = released
