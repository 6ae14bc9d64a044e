"""Building blocks of the generator: time, seeded randomness, ids and column-oriented tables.

Everything is held as numpy columns (one array per field) rather than Python objects, so the
generator stays fast at scale 10 and the API layer can filter and sort with vector operations.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
# A time that never comes: the moment of an event that does not happen (never converts, never
# deleted). Chosen so that max() over "times before now" ignores it.
NEVER = np.int64(2**62)
# Null for integer-coded columns (datetimes in ms, dates as day ordinals).
NULL_INT = np.int64(-(2**62))

YEARS_OF_HISTORY = 3


def rng_for(seed: int, stream: str) -> np.random.Generator:
    """An independent random stream per generator step, so adding a step never shifts another."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFFFFFF, zlib.crc32(stream.encode())])


def stable_u64(*parts: object) -> int:
    """A 64-bit hash stable across processes and Python versions (unlike hash())."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def stable_unit(*parts: object) -> float:
    """A number in [0, 1) fixed by its parts: per-request and per-record fault decisions."""
    return (stable_u64(*parts) >> 11) / float(1 << 53)


_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def mix64(values: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 of an integer array: per-record noise that depends only on the record."""
    with np.errstate(over="ignore"):
        x = values.astype(np.uint64) + np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        x = x * np.uint64(0x9E3779B97F4A7C15)
        x ^= x >> np.uint64(30)
        x *= _MIX_1
        x ^= x >> np.uint64(27)
        x *= _MIX_2
        x ^= x >> np.uint64(31)
    return x


def unit_noise(values: np.ndarray, salt: int) -> np.ndarray:
    return (mix64(values, salt) >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def slugify(text: str) -> str:
    """The canonical UTM slug of a campaign name: lower case, runs of non-alphanumerics as '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def ascii_fold(text: str) -> str:
    """Names with accents (Hänel, Rocher) become e-mail-safe ASCII (hanel)."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


# ---------------------------------------------------------------------------------------------
# Time


def date_to_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def ms_to_datetime(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(ms))


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# Seasonality of B2B demand: Q4 budget flush, a summer (August) dip, a soft December end.
MONTH_FACTOR = np.array([0.95, 1.0, 1.08, 1.0, 1.0, 0.95, 0.85, 0.68, 1.05, 1.15, 1.22, 0.92])
WEEKDAY_FACTOR = np.array([1.15, 1.2, 1.18, 1.12, 1.0, 0.42, 0.38])  # Monday first
ANNUAL_GROWTH = 1.6


@dataclass(frozen=True)
class Calendar:
    """The business's time axis: 3 years of history up to `as_of`, plus a horizon beyond it.

    Day 0 is the first day of history. Everything before `now_ms` (as_of at 00:00 UTC) is
    visible at start-up; the horizon holds what /_admin/advance later reveals.
    """

    as_of: date
    horizon_days: int

    @property
    def start(self) -> date:
        return years_before(self.as_of, YEARS_OF_HISTORY)

    @property
    def history_days(self) -> int:
        return (self.as_of - self.start).days

    @property
    def total_days(self) -> int:
        return self.history_days + self.horizon_days

    @property
    def start_ms(self) -> int:
        return date_to_ms(self.start)

    @property
    def now_ms(self) -> int:
        return date_to_ms(self.as_of)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.total_days * DAY_MS

    def day_dates(self) -> np.ndarray:
        return np.datetime64(self.start, "D") + np.arange(self.total_days)

    def intensity(self) -> np.ndarray:
        """Relative activity per day (growth x month x weekday), normalised over the history."""
        days = self.day_dates()
        months = days.astype("datetime64[M]").astype(int) % 12
        weekdays = (days.astype(int) - 4) % 7  # 1970-01-01 was a Thursday
        growth = ANNUAL_GROWTH ** (np.arange(self.total_days) / 365.25)
        weights = growth * MONTH_FACTOR[months] * WEEKDAY_FACTOR[weekdays]
        return weights / weights[: self.history_days].sum()

    def day_of(self, ms: np.ndarray) -> np.ndarray:
        return (np.asarray(ms, dtype=np.int64) - self.start_ms) // DAY_MS


def time_of_day_ms(rng: np.random.Generator, size: int) -> np.ndarray:
    """Working-hours-shaped times of day: most activity 08:00-20:00 UTC, some at night."""
    working = rng.normal(14.0, 3.2, size)
    anytime = rng.uniform(0.0, 24.0, size)
    hours = np.where(rng.random(size) < 0.82, working, anytime) % 24.0
    return (hours * HOUR_MS).astype(np.int64) + rng.integers(0, 1000, size)


def spread_over_days(rng: np.random.Generator, per_day: np.ndarray, start_ms: int) -> np.ndarray:
    """Sorted timestamps: per_day[d] events on day d at realistic times of day."""
    days = np.repeat(np.arange(per_day.size, dtype=np.int64), per_day)
    stamps = start_ms + days * DAY_MS + time_of_day_ms(rng, days.size)
    return np.sort(stamps)


def truncate_to_minute(ms: np.ndarray) -> np.ndarray:
    return (np.asarray(ms, dtype=np.int64) // MINUTE_MS) * MINUTE_MS


# ---------------------------------------------------------------------------------------------
# Ids

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "".join(reversed(chars))


def salesforce_id(prefix: str, number: int) -> str:
    """An 18-character Salesforce id: key prefix, pod, record number, case-safe checksum.

    Base 62 in ASCII order keeps string order equal to creation order, as on the platform.
    """
    id15 = f"{prefix}8d0{_base62(number, 9)}"
    suffix = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _CHECKSUM[bits]
    return id15 + suffix


def salesforce_ids(prefix: str, count: int, seed: int) -> np.ndarray:
    """Ids in creation order with small gaps (other records were created in between)."""
    rng = rng_for(seed, f"sfid:{prefix}")
    numbers = 40_000_000 + (seed % 997) * 1_000_000 + np.cumsum(rng.integers(1, 4, count))
    return np.array([salesforce_id(prefix, int(n)) for n in numbers], dtype=object)


def uuid_like(*parts: object) -> str:
    """A stable UUID-looking id (version 4 layout) from its parts."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).hexdigest()
    return (
        f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-{'89ab'[int(digest[16], 16) % 4]}"
        f"{digest[17:20]}-{digest[20:32]}"
    )


# ---------------------------------------------------------------------------------------------
# Column-oriented tables


class Kind:
    """How a column's values are stored and rendered. Strings hold None for null."""

    ID = "id"
    STR = "str"
    INT = "int"  # int64; NULL_INT is null
    FLOAT = "float"  # float64; nan is null
    BOOL = "bool"
    DATETIME = "datetime"  # epoch ms, int64; NULL_INT is null
    DATE = "date"  # days since 1970-01-01, int64; NULL_INT is null


@dataclass
class Column:
    kind: str
    values: np.ndarray

    def is_null(self) -> np.ndarray:
        if self.kind in (Kind.ID, Kind.STR):
            return np.array([v is None for v in self.values], dtype=bool)
        if self.kind == Kind.FLOAT:
            return np.isnan(self.values)
        if self.kind == Kind.BOOL:
            return np.zeros(self.values.size, dtype=bool)
        return self.values == NULL_INT


@dataclass
class Frame:
    """One source object as seen at one moment: its columns and which rows exist.

    `visible` rows exist at that moment; `deleted` rows are soft-deleted (Salesforce recycle
    bin, HubSpot archive); `modified` is the vendor's change timestamp (SystemModstamp,
    lastmodifieddate) used for incremental pulls; `order` lists rows in primary-key order.
    """

    name: str
    columns: dict[str, Column]
    visible: np.ndarray
    deleted: np.ndarray
    modified: np.ndarray
    order: np.ndarray
    key: str = "Id"

    def column(self, name: str) -> Column:
        return self.columns[name]

    def has(self, name: str) -> bool:
        return name in self.columns

    def names(self) -> list[str]:
        return list(self.columns)

    def visible_rows(self, include_deleted: bool = True) -> np.ndarray:
        """Row indices in key order of what a full pull returns."""
        mask = self.visible if include_deleted else self.visible & ~self.deleted
        return self.order[mask[self.order]]


def obj_array(values: Iterable[object]) -> np.ndarray:
    items = list(values)
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def latest_before(times: np.ndarray, now_ms: int) -> np.ndarray:
    """Row-wise max of the times (a 2-D array) earlier than now; NULL_INT when none is."""
    return np.where(times < now_ms, times, NULL_INT).max(axis=1)


def segment_last_before(starts: np.ndarray, times: np.ndarray, now_ms: int) -> np.ndarray:
    """For CSR segments of time-sorted rows: index of each segment's last row earlier than now.

    Returns -1 for a segment with no such row. `starts` has one more entry than segments.
    """
    candidate = np.where(times < now_ms, np.arange(times.size), -1)
    nonempty = starts[:-1] < starts[1:]
    result = np.full(starts.size - 1, -1, dtype=np.int64)
    if candidate.size:
        reduced = np.maximum.reduceat(candidate, starts[:-1][nonempty])
        result[nonempty] = reduced
    return result
