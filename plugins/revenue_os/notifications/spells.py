"""Alert spells: an alert is sent when a condition starts, not on every check while it lasts.

A spell is one row of ops.alert_spells, open while the condition holds (a KPI in red, a stale
source, a failing refresh). The partial unique index on open spells makes "open it if it is
not open yet" a single INSERT ... ON CONFLICT DO NOTHING, safe under concurrent runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb


@dataclass(frozen=True)
class Spell:
    spell_id: int
    alert_kind: str
    subject_key: str
    opened_at: datetime
    cleared_at: datetime | None
    details: dict


def open_spell(
    conn: psycopg.Connection,
    kind: str,
    key: str,
    details: dict,
    recipients: Iterable[str] = (),
) -> bool:
    """Open a spell unless one is open for (kind, key); True when this call opened it."""
    row = conn.execute(
        "INSERT INTO ops.alert_spells (alert_kind, subject_key, details, recipients) "
        "VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (alert_kind, subject_key) WHERE cleared_at IS NULL DO NOTHING "
        "RETURNING spell_id",
        (kind, key, Jsonb(details), list(recipients)),
    ).fetchone()
    return row is not None


def clear_spells(conn: psycopg.Connection, kind: str, keys: Iterable[str]) -> list[Spell]:
    """Close the open spells of `kind` for `keys`; the spells closed now."""
    rows = conn.execute(
        "UPDATE ops.alert_spells SET cleared_at = greatest(now(), opened_at) "
        "WHERE alert_kind = %s AND subject_key = ANY(%s) AND cleared_at IS NULL "
        "RETURNING spell_id, alert_kind, subject_key, opened_at, cleared_at, details",
        (kind, list(keys)),
    ).fetchall()
    return [Spell(*row) for row in rows]
