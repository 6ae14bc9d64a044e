"""Month-end KPI snapshots: the values of a closed month frozen from the published mart.

The mart is rebuilt every day, and late invoices or restated spend move a past month's
numbers. The pack is drawn from `ops.kpi_snapshots` instead, written once per month, so the
pack of a past month can be built again and says what it said when it was sent.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from revenue_os.transform import build
from revenue_os.transform.build import PUBLISHED_SCHEMA

# The columns kpi_values and kpi_snapshots share; the snapshot adds month, build and time.
SNAPSHOT_COLUMNS = (
    "metric_name",
    "label",
    "tier",
    "area",
    "dimension_name",
    "dimension_value",
    "is_final",
    "value",
    "prior_value",
    "delta_pct",
    "trailing_value",
    "format",
    "direction",
    "status",
    "threshold_green",
    "threshold_yellow",
    "threshold_red",
    "kpi_owner",
    "confidence",
    "action_type",
    "action",
)


class PackError(ValueError):
    """A pack that cannot be built; the message names what to fix."""


@dataclass(frozen=True)
class SnapshotResult:
    month: date
    build_id: uuid.UUID | None
    rows: int  # rows of the month in ops.kpi_snapshots after the call
    written: int  # rows copied from the mart by this call (0 when the frozen rows were kept)
    kept: bool  # True when the month was already frozen and left as it was

    def summary(self) -> str:
        if self.kept:
            return f"{self.month:%Y-%m}: {self.rows} frozen KPI rows kept (build {self.build_id})"
        return f"{self.month:%Y-%m}: {self.written} KPI rows frozen from build {self.build_id}"


def month_start(value: date) -> date:
    return value.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def last_closed_month(today: date) -> date:
    """The calendar month before `today`'s: the newest month a pack can cover."""
    return previous_month(month_start(today))


def parse_month(text: str) -> date:
    """`2026-10` (or `2026-10-01`) as the first day of that month."""
    match = re.fullmatch(r"(\d{4})-(\d{2})(?:-01)?", text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise PackError(f"{text!r} is not a month: write it as YYYY-MM, e.g. 2026-10")
    return date(int(match.group(1)), int(match.group(2)), 1)


def check_closed(month: date, today: date) -> None:
    """Refuse the running month and future ones: their numbers are still moving."""
    if month.day != 1:
        raise PackError(f"{month} is not the first day of a month")
    if next_month(month) > today:
        raise PackError(
            f"{month:%Y-%m} is not closed yet (it ends on {next_month(month):%Y-%m-%d} and today "
            f"is {today}): a pack covers a closed month; the last closed month is "
            f"{last_closed_month(today):%Y-%m}"
        )


_PUBLISHED_BUILD = f"SELECT build_id FROM ({build.LATEST_PUBLISHED_SQL}) AS published"


def published_build(conn: psycopg.Connection) -> uuid.UUID:
    """The build behind the published mart; refuses a warehouse that has none."""
    row = build.published_build(conn)
    if row is None:
        raise PackError(
            "no published mart: ops.mart_builds has no build with status 'published'; run the "
            "refresh (or `revenue-os mart build`) first"
        )
    return row[0]


def snapshot_rows(conn: psycopg.Connection, month: date) -> int:
    row = conn.execute(
        "SELECT count(*) FROM ops.kpi_snapshots WHERE snapshot_month = %s", (month,)
    ).fetchone()
    return int(row[0]) if row else 0


def frozen_build(conn: psycopg.Connection, month: date) -> uuid.UUID | None:
    """The mart build a month's snapshot was taken from."""
    row = conn.execute(
        "SELECT build_id FROM ops.kpi_snapshots WHERE snapshot_month = %s LIMIT 1", (month,)
    ).fetchone()
    return row[0] if row else None


def _months_in_mart(conn: psycopg.Connection, kpi_values: sql.Identifier) -> str:
    row = conn.execute(
        sql.SQL(
            "SELECT min(period_start), max(period_start) FROM {} WHERE period_grain = 'month'"
        ).format(kpi_values)
    ).fetchone()
    if not row or row[0] is None:
        return "it has no monthly values at all"
    return f"its months run from {row[0]:%Y-%m} to {row[1]:%Y-%m}"


def freeze_month(
    conn: psycopg.Connection,
    month: date,
    *,
    refreeze: bool = False,
    today: date | None = None,
    schema: str = PUBLISHED_SCHEMA,
) -> SnapshotResult:
    """Copy the month's rows of `kpi_values` (every tier and dimension) into the snapshot.

    Once: a month already frozen is kept as it is unless `refreeze`, which replaces it with
    what the published mart holds now. Refuses a month that has not closed, a warehouse
    without a published mart and a month the mart has no values for.
    """
    check_closed(month, today or date.today())
    kpi_values = sql.Identifier(schema, "kpi_values")
    with conn.transaction():
        # Two runs freezing the same month (the DAG and an operator) queue here; the second
        # finds the first one's rows.
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('revenue_os.kpi_snapshots'), %s)",
            (month.year * 100 + month.month,),
        )
        existing = snapshot_rows(conn, month)
        if existing and not refreeze:
            return SnapshotResult(month, frozen_build(conn, month), existing, 0, kept=True)
        published_build(conn)
        found = conn.execute("SELECT to_regclass(%s)", (f"{schema}.kpi_values",)).fetchone()
        if not found or found[0] is None:
            raise PackError(
                f"the published mart has no {schema}.kpi_values table: run the refresh (or "
                "`revenue-os mart build`) so the KPI layer is built"
            )
        conn.execute("DELETE FROM ops.kpi_snapshots WHERE snapshot_month = %s", (month,))
        columns = sql.SQL(", ").join(map(sql.Identifier, SNAPSHOT_COLUMNS))
        # One statement reads the mart and the build it came from, so a publish in between
        # cannot pair one build's numbers with another build's id.
        written = conn.execute(
            sql.SQL(
                "INSERT INTO ops.kpi_snapshots (snapshot_month, {columns}, build_id) "
                "SELECT period_start, {columns}, ({published}) FROM {kpi_values} "
                "WHERE period_grain = 'month' AND period_start = %s"
            ).format(columns=columns, published=sql.SQL(_PUBLISHED_BUILD), kpi_values=kpi_values),
            (month,),
        ).rowcount
        if written == 0:
            # Raising rolls the transaction back: a refreeze keeps the old rows.
            raise PackError(
                f"{schema}.kpi_values has no monthly values for {month:%Y-%m} "
                f"({_months_in_mart(conn, kpi_values)}): load and build that month first"
            )
        _freeze_context(conn, month, schema)
        build_id = frozen_build(conn, month)
    return SnapshotResult(month, build_id, written, written, kept=False)


TREND_MONTHS = 6

# The calendar of the mart frozen from, each KPI's last months, and the forward-looking KPIs
# of the quarter in progress, as the scorecard wrote them out. A mart without the calendar or
# the scorecard (built before them) freezes an empty context.
_CONTEXT = """
INSERT INTO ops.kpi_snapshot_context (snapshot_month, data_through, latest_complete_month,
    closed_month, published_at, trends, forward)
SELECT %(month)s, calendar.data_through, calendar.latest_complete_period,
    calendar.latest_final_period, calendar.published_at,
    coalesce((SELECT jsonb_object_agg(metric_name, points) FROM (
        SELECT metric_name, jsonb_agg(jsonb_build_array(period_start, value)
            ORDER BY period_start) AS points
        FROM {kpi_values}
        WHERE period_grain = 'month' AND dimension_name = 'overall' AND tier = 'kpi'
          AND period_start <= %(month)s
          AND period_start > %(month)s::date - %(months)s * interval '1 month'
        GROUP BY metric_name) AS trend), '{{}}'::jsonb),
    coalesce((SELECT jsonb_agg(to_jsonb(card) ORDER BY card.label, card.dimension_name <> 'overall',
        card.value) FROM (
        SELECT metric_name, label, period_label, dimension_name, dimension_label, value,
               display_value, status, status_label, provisional_note, kpi_owner, threshold_red
        FROM {scorecard} WHERE reported_as = 'current' AND tier = 'kpi') AS card), '[]'::jsonb)
FROM (SELECT 1) AS one
LEFT JOIN {calendar} AS calendar ON calendar.period_grain = 'month'
"""


def _freeze_context(conn: psycopg.Connection, month: date, schema: str) -> None:
    conn.execute("DELETE FROM ops.kpi_snapshot_context WHERE snapshot_month = %s", (month,))
    present = {
        name
        for (name,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s "
            "AND tablename IN ('reporting_calendar', 'kpi_scorecard')",
            (schema,),
        ).fetchall()
    }
    if present != {"reporting_calendar", "kpi_scorecard"}:
        conn.execute("INSERT INTO ops.kpi_snapshot_context (snapshot_month) VALUES (%s)", (month,))
        return
    conn.execute(
        sql.SQL(_CONTEXT).format(
            kpi_values=sql.Identifier(schema, "kpi_values"),
            scorecard=sql.Identifier(schema, "kpi_scorecard"),
            calendar=sql.Identifier(schema, "reporting_calendar"),
        ),
        {"month": month, "months": TREND_MONTHS},
    )
