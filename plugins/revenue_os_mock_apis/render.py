"""Value formats as each vendor writes them on the wire."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from revenue_os_mock_apis.business.core import NULL_INT, Column, Kind

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = datetime(1970, 1, 1).date()


def moment(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=int(ms))


def iso_z(ms: int) -> str:
    """HubSpot: 2026-06-01T12:00:00.123Z."""
    return moment(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms) % 1000:03d}Z"


def salesforce_datetime(ms: int) -> str:
    """Salesforce: 2026-06-01T12:00:00.000+0000."""
    return moment(ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms) % 1000:03d}+0000"


def iso_date(day: int) -> str:
    return (_EPOCH_DAY + timedelta(days=int(day))).isoformat()


def netsuite_date(day: int) -> str:
    """NetSuite's default account date format, M/D/YYYY."""
    value = _EPOCH_DAY + timedelta(days=int(day))
    return f"{value.month}/{value.day}/{value.year}"


def netsuite_datetime(ms: int) -> str:
    """NetSuite's datetime display format, M/D/YYYY h:mm am|pm (minute precision, UTC)."""
    value = moment(ms)
    hour = value.hour % 12 or 12
    meridiem = "am" if value.hour < 12 else "pm"
    return f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d} {meridiem}"


def plain_number(value: float) -> str:
    """Numbers as SuiteQL returns them: no trailing zeros, no exponent."""
    if float(value).is_integer():
        return str(int(value))
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text


def is_null(column: Column, value: object) -> bool:
    if value is None:
        return True
    if column.kind in (Kind.DATETIME, Kind.DATE, Kind.INT):
        return int(value) == int(NULL_INT)  # type: ignore[arg-type]
    if column.kind == Kind.FLOAT:
        return math.isnan(float(value))  # type: ignore[arg-type]
    return False


def salesforce_value(column: Column, value: object) -> object:
    if is_null(column, value):
        return None
    kind = column.kind
    if kind == Kind.DATETIME:
        return salesforce_datetime(int(value))  # type: ignore[arg-type]
    if kind == Kind.DATE:
        return iso_date(int(value))  # type: ignore[arg-type]
    if kind == Kind.BOOL:
        return bool(value)
    if kind == Kind.INT:
        return int(value)  # type: ignore[arg-type]
    if kind == Kind.FLOAT:
        return float(value)  # type: ignore[arg-type]
    return str(value)


def netsuite_value(column: Column, value: object) -> str | None:
    if is_null(column, value):
        return None
    kind = column.kind
    if kind == Kind.DATETIME:
        return netsuite_datetime(int(value))  # type: ignore[arg-type]
    if kind == Kind.DATE:
        return netsuite_date(int(value))  # type: ignore[arg-type]
    if kind == Kind.BOOL:
        return "T" if value else "F"
    if kind in (Kind.INT, Kind.FLOAT):
        return plain_number(float(value))  # type: ignore[arg-type]
    return str(value)


def hubspot_value(column: Column, value: object) -> str | None:
    """HubSpot property values are strings (numbers and dates too), null when unset."""
    if is_null(column, value):
        return None
    kind = column.kind
    if kind == Kind.DATETIME:
        return iso_z(int(value))  # type: ignore[arg-type]
    if kind == Kind.DATE:
        return iso_date(int(value))  # type: ignore[arg-type]
    if kind == Kind.BOOL:
        return "true" if value else "false"
    if kind in (Kind.INT, Kind.FLOAT):
        return plain_number(float(value))  # type: ignore[arg-type]
    return str(value)
