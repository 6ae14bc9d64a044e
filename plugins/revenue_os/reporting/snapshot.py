"""KPI snapshots: the values of a closed month (or an ended week) frozen from the published mart.

The mart is rebuilt every day, and late invoices or restated spend move a past period's
numbers. The monthly pack and the weekly pre-read are drawn from `ops.kpi_snapshots` instead,
written once per period, so a past pack can be built again and says what it said when it was
sent.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
from psycopg import sql

from revenue_os.metrics.contract import MetricContract
from revenue_os.metrics.periods import PERIOD_STEP, period_start, shift
from revenue_os.transform import build
from revenue_os.transform.build import PUBLISHED_SCHEMA

log = logging.getLogger(__name__)

# The columns kpi_values and kpi_snapshots share; the snapshot adds period, build and time.
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
    "trailing_8_week_value",
    "trailing_13_week_value",
)
SNAPSHOT_GRAINS = ("week", "month")
_DAY = timedelta(days=1)


class PackError(ValueError):
    """A pack that cannot be built; the message names what to fix."""


@dataclass(frozen=True)
class SnapshotResult:
    month: date  # the period's first day (a Monday for a week)
    build_id: uuid.UUID | None
    rows: int  # rows of the period in ops.kpi_snapshots after the call
    written: int  # rows copied from the mart by this call (0 when the frozen rows were kept)
    kept: bool  # True when the period was already frozen and left as it was
    grain: str = "month"

    @property
    def period_name(self) -> str:
        return period_name(self.grain, self.month)

    def summary(self) -> str:
        if self.kept:
            return f"{self.period_name}: {self.rows} frozen KPI rows kept (build {self.build_id})"
        return f"{self.period_name}: {self.written} KPI rows frozen from build {self.build_id}"


def period_name(grain: str, start: date) -> str:
    """`2026-10` for a month, `week of 2026-11-30` for a week."""
    return f"{start:%Y-%m}" if grain == "month" else f"week of {start:%Y-%m-%d}"


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


def last_ended_week(today: date) -> date:
    """The Monday of the last week that ended before `today`: the newest a pre-read covers."""
    return shift("week", period_start("week", today), -1)


def parse_week(text: str) -> date:
    """`2026-11-30` (a Monday) or `2026-W49` (ISO week) as that week's Monday."""
    text = text.strip()
    iso = re.fullmatch(r"(\d{4})-W(\d{2})", text, re.IGNORECASE)
    try:
        if iso:
            return date.fromisocalendar(int(iso.group(1)), int(iso.group(2)), 1)
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    if day is None or day.weekday() != 0:
        raise PackError(
            f"{text!r} is not a week: give its Monday as YYYY-MM-DD (e.g. 2026-11-30) or its ISO "
            "week as YYYY-Www (e.g. 2026-W49)"
        )
    return day


def check_ended(week: date, today: date) -> None:
    """Refuse the running week and future ones: a pre-read covers a week that has ended."""
    if week.weekday() != 0:
        raise PackError(f"{week} is not a Monday: weeks start on Monday")
    if shift("week", week, 1) > today:
        raise PackError(
            f"the week of {week} has not ended (it ends on {shift('week', week, 1) - _DAY}) and "
            f"today is {today}: the last week that ended began on {last_ended_week(today)}"
        )


def latest_complete_week(conn: psycopg.Connection, schema: str = PUBLISHED_SCHEMA) -> date | None:
    """The published mart's latest complete week (its reporting calendar); None without one."""
    return _calendar_period(conn, schema, "week", "latest_complete_period")


def latest_complete_month(conn: psycopg.Connection, schema: str = PUBLISHED_SCHEMA) -> date | None:
    """The published mart's latest complete month (its reporting calendar); None without one."""
    return _calendar_period(conn, schema, "month", "latest_complete_period")


def _calendar_period(conn: psycopg.Connection, schema: str, grain: str, column: str) -> date | None:
    found = conn.execute("SELECT to_regclass(%s)", (f"{schema}.reporting_calendar",)).fetchone()
    if not found or found[0] is None:
        return None
    row = conn.execute(
        sql.SQL("SELECT {} FROM {} WHERE period_grain = %s").format(
            sql.Identifier(column), sql.Identifier(schema, "reporting_calendar")
        ),
        (grain,),
    ).fetchone()
    return row[0] if row else None


def month_the_data_covers(conn: psycopg.Connection, month: date) -> date:
    """`month`, or the published mart's latest complete month when its data stops before
    `month` ends (a business whose today is behind the calendar, a refresh stopped for weeks):
    a pack of a month the data barely covers would send its first days as the month. A month
    the data covers but that is not final yet stays: its provisional KPIs are marked."""
    latest = latest_complete_month(conn)
    if latest is not None and latest < month:
        log.warning(
            "the published mart's latest complete month is %s: the pack covers it instead of %s",
            f"{latest:%Y-%m}",
            f"{month:%Y-%m}",
        )
        return latest
    return month


def snapshot_rows(conn: psycopg.Connection, month: date, grain: str = "month") -> int:
    row = conn.execute(
        "SELECT count(*) FROM ops.kpi_snapshots WHERE period_grain = %s AND period_start = %s",
        (grain, month),
    ).fetchone()
    return int(row[0]) if row else 0


def frozen_build(conn: psycopg.Connection, month: date, grain: str = "month") -> uuid.UUID | None:
    """The mart build a period's snapshot was taken from."""
    row = conn.execute(
        "SELECT build_id FROM ops.kpi_snapshots WHERE period_grain = %s AND period_start = %s "
        "LIMIT 1",
        (grain, month),
    ).fetchone()
    return row[0] if row else None


def _periods_in_mart(conn: psycopg.Connection, kpi_values: sql.Identifier, grain: str) -> str:
    row = conn.execute(
        sql.SQL(
            "SELECT min(period_start), max(period_start) FROM {} WHERE period_grain = %s"
        ).format(kpi_values),
        (grain,),
    ).fetchone()
    if not row or row[0] is None:
        return f"it has no {grain}ly values at all"
    return f"its {grain}s run from {period_name(grain, row[0])} to {period_name(grain, row[1])}"


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
    return _freeze(conn, "month", month, refreeze=refreeze, schema=schema)


def freeze_week(
    conn: psycopg.Connection,
    week: date,
    *,
    refreeze: bool = False,
    today: date | None = None,
    schema: str = PUBLISHED_SCHEMA,
    contracts: Mapping[str, MetricContract] | None = None,
) -> SnapshotResult:
    """Copy the week's rows of `kpi_values` into the snapshot, as `freeze_month` a month's,
    with each KPI's status as its contract judges it (on its own period) beside them."""
    check_ended(week, today or date.today())
    return _freeze(conn, "week", week, refreeze=refreeze, schema=schema, contracts=contracts)


def _freeze(
    conn: psycopg.Connection,
    grain: str,
    start: date,
    *,
    refreeze: bool,
    schema: str,
    contracts: Mapping[str, MetricContract] | None = None,
) -> SnapshotResult:
    kpi_values = sql.Identifier(schema, "kpi_values")
    with conn.transaction():
        # Two runs freezing the same period (the DAG and an operator) queue here; the second
        # finds the first one's rows.
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('revenue_os.kpi_snapshots'), %s)",
            (start.toordinal() * 2 + SNAPSHOT_GRAINS.index(grain),),
        )
        existing = snapshot_rows(conn, start, grain)
        if existing and not refreeze:
            return SnapshotResult(
                start, frozen_build(conn, start, grain), existing, 0, kept=True, grain=grain
            )
        published_build(conn)
        found = conn.execute("SELECT to_regclass(%s)", (f"{schema}.kpi_values",)).fetchone()
        if not found or found[0] is None:
            raise PackError(
                f"the published mart has no {schema}.kpi_values table: run the refresh (or "
                "`revenue-os mart build`) so the KPI layer is built"
            )
        conn.execute(
            "DELETE FROM ops.kpi_snapshots WHERE period_grain = %s AND period_start = %s",
            (grain, start),
        )
        columns = sql.SQL(", ").join(map(sql.Identifier, SNAPSHOT_COLUMNS))
        # One statement reads the mart and the build it came from, so a publish in between
        # cannot pair one build's numbers with another build's id.
        written = conn.execute(
            sql.SQL(
                "INSERT INTO ops.kpi_snapshots (period_grain, period_start, {columns}, build_id) "
                "SELECT period_grain, period_start, {columns}, ({published}) FROM {kpi_values} "
                "WHERE period_grain = %s AND period_start = %s"
            ).format(columns=columns, published=sql.SQL(_PUBLISHED_BUILD), kpi_values=kpi_values),
            (grain, start),
        ).rowcount
        if written == 0:
            # Raising rolls the transaction back: a refreeze keeps the old rows.
            raise PackError(
                f"{schema}.kpi_values has no {grain}ly values for {period_name(grain, start)} "
                f"({_periods_in_mart(conn, kpi_values, grain)}): load and build it first"
            )
        _freeze_context(conn, grain, start, schema, contracts)
        build_id = frozen_build(conn, start, grain)
    return SnapshotResult(start, build_id, written, written, kept=False, grain=grain)


TREND_MONTHS = 6
TREND_PERIODS = {"month": TREND_MONTHS, "week": 13}

# The calendar of the mart frozen from, each KPI's last months, and the forward-looking KPIs
# of the period in progress, in total and by segment (where the forums act on them: coverage
# "in any segment", at-risk renewals by segment), as the scorecard wrote them out. A mart without the calendar or
# the scorecard (built before them) freezes an empty context.
_CONTEXT = """
INSERT INTO ops.kpi_snapshot_context (period_grain, period_start, data_through,
    latest_complete_period, closed_period, published_at, trends, forward, judged, signals)
SELECT %(grain)s, %(month)s, calendar.data_through, calendar.latest_complete_period,
    calendar.latest_final_period, calendar.published_at,
    coalesce((SELECT jsonb_object_agg(metric_name, points) FROM (
        SELECT metric_name, jsonb_agg(jsonb_build_array(period_start, value)
            ORDER BY period_start) AS points
        FROM {kpi_values}
        WHERE period_grain = %(grain)s AND dimension_name = 'overall' AND tier = 'kpi'
          AND period_start <= %(month)s
          AND period_start > %(month)s::date - %(periods)s * %(step)s::interval
        GROUP BY metric_name) AS trend), '{{}}'::jsonb),
    coalesce((SELECT jsonb_agg(to_jsonb(card) ORDER BY card.label, card.dimension_name <> 'overall',
        card.value) FROM (
        SELECT metric_name, label, period_label, dimension_name, dimension_label, value,
               display_value, status, status_label, provisional_note, kpi_owner, threshold_red
        FROM {scorecard} WHERE reported_as = 'current' AND tier = 'kpi'
          AND dimension_name IN ('overall', 'segment')) AS card), '[]'::jsonb),
    coalesce((SELECT jsonb_agg(to_jsonb(card) ORDER BY card.metric_name) FROM (
        SELECT metric_name, label, period_grain, period_label, value, display_value, status,
               status_label, provisional_note
        FROM {scorecard} WHERE dimension_name = 'overall'
          AND metric_name || '/' || period_grain = ANY(%(judged)s)) AS card), '[]'::jsonb),
    {signals}
FROM (SELECT 1) AS one
LEFT JOIN {calendar} AS calendar ON calendar.period_grain = %(grain)s
"""


# The rules that fired on the period, and those on a period still to come (next quarter's
# coverage), as `kpi_signals` had them.
_SIGNALS = """coalesce((SELECT jsonb_agg(to_jsonb(fired) ORDER BY fired.metric_name,
        fired.rule_name, fired.dimension_name <> 'overall', fired.dimension_value) FROM (
        SELECT metric_name, rule_name, rule_label, rule_kind, period_grain, period_start,
               dimension_name, dimension_value, value, baseline_value, change_pct, condition,
               minimum_value, kpi_owner, action_type, action
        FROM {signals} WHERE fired AND ((period_grain = %(grain)s AND period_start = %(month)s)
            OR NOT is_complete)) AS fired), '[]'::jsonb)"""


def _judged_on(contracts: Mapping[str, MetricContract] | None) -> list[str]:
    """`metric/grain` of each KPI at the grain its thresholds judge."""
    if contracts is None:
        from revenue_os.metrics import load_contracts

        contracts = load_contracts()
    return [
        f"{name}/{contract.thresholds.period}"
        for name, contract in contracts.items()
        if contract.thresholds is not None
    ]


def _freeze_context(
    conn: psycopg.Connection,
    grain: str,
    month: date,
    schema: str,
    contracts: Mapping[str, MetricContract] | None = None,
) -> None:
    conn.execute(
        "DELETE FROM ops.kpi_snapshot_context WHERE period_grain = %s AND period_start = %s",
        (grain, month),
    )
    present = {
        name
        for (name,) in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s "
            "AND tablename IN ('reporting_calendar', 'kpi_scorecard', 'kpi_signals')",
            (schema,),
        ).fetchall()
    }
    if not {"reporting_calendar", "kpi_scorecard"} <= present:
        conn.execute(
            "INSERT INTO ops.kpi_snapshot_context (period_grain, period_start) VALUES (%s, %s)",
            (grain, month),
        )
        return
    conn.execute(
        sql.SQL(_CONTEXT).format(
            kpi_values=sql.Identifier(schema, "kpi_values"),
            scorecard=sql.Identifier(schema, "kpi_scorecard"),
            calendar=sql.Identifier(schema, "reporting_calendar"),
            # A mart built before the rules has no signals to freeze.
            signals=sql.SQL(_SIGNALS).format(signals=sql.Identifier(schema, "kpi_signals"))
            if "kpi_signals" in present
            else sql.SQL("'[]'::jsonb"),
        ),
        {
            "grain": grain,
            "month": month,
            "periods": TREND_PERIODS[grain],
            "step": PERIOD_STEP[grain],
            "judged": _judged_on(contracts),
        },
    )
