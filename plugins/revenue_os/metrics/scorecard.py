"""The reporting calendar and the KPI scorecard: one truth about time, and KPIs as people read them.

`reporting_calendar` says, per grain, the business day the data runs to, the latest complete
and the latest closed (final) period and the period in progress; the publish stamps when the
mart went live. Every surface (dashboards, packs, alerts, Data Health) reads its periods here.

`kpi_scorecard` holds each metric's row for the period it is reported on, with everything a
tile or a scorecard shows already written out: the value in its unit, the change (in points
for percentages), the prior period and the same period a year before, the trailing window and
what it is (a total or an average), the status and its colour, a provisional flag and a
sparkline. It is built in the mart next to `kpi_values`, audited and published with it, so a
chart selects rows and does no arithmetic.

Which period a metric is reported on:
- forward-looking KPIs (thresholds judged on the current period): the period in progress;
- contracts that settle after the reporting close (cohorts still converting): their latest
  final period, named on the row;
- everything else: the calendar's latest complete period, marked provisional until final.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import psycopg
from psycopg import sql

from revenue_os.metrics.contract import MetricContract
from revenue_os.metrics.formatting import period_label
from revenue_os.metrics.kpi_tables import column_types, create_kpi_table
from revenue_os.metrics.labels import dimension_value_label_sql
from revenue_os.metrics.periods import (
    PERIOD_STEP,
    REPORTING_CLOSE_DAYS,
    latest_complete,
    period_start,
    trailing_basis,
    trailing_label,
)

YEAR_BEFORE = {"week": "364 days", "month": "1 year", "quarter": "1 year"}
SPARKLINE_PERIODS = 12
SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
STATUS_LABELS = {"green": "On track", "yellow": "At risk", "red": "Off track"}
STATUS_COLORS = {
    "green": "#1e8e3e",
    "yellow": "#e37400",
    "red": "#d93025",
    "provisional": "#5f6368",
    "none": "#9aa0a6",
}
"""The status colours every surface uses (tiles, scorecards, packs, alerts)."""


CALENDAR_COLUMNS = column_types("reporting_calendar")
SCORECARD_COLUMNS = column_types("kpi_scorecard")


def period_label_sql(grain: sql.Composable, start: sql.Composable) -> sql.Composed:
    """'October 2026', 'Q4 2026', 'Week of 5 Oct 2026': periods as people write them."""
    return sql.SQL(
        "CASE {grain} WHEN 'month' THEN to_char({start}, 'FMMonth YYYY') "
        "WHEN 'quarter' THEN 'Q' || to_char({start}, 'Q YYYY') "
        "ELSE 'Week of ' || to_char({start}, 'FMDD Mon YYYY') END"
    ).format(grain=grain, start=start)


def short_period_label_sql(grain: sql.Composable, start: sql.Composable) -> sql.Composed:
    return sql.SQL(
        "CASE {grain} WHEN 'month' THEN to_char({start}, 'Mon YYYY') "
        "WHEN 'quarter' THEN 'Q' || to_char({start}, 'Q YYYY') "
        "ELSE 'Wk ' || to_char({start}, 'FMDD Mon') END"
    ).format(grain=grain, start=start)


def display_sql(value: sql.Composable, format_: sql.Composable) -> sql.Composed:
    """A value as text in its contract's unit: $1,234 · 74.2 % · 4.47x · 1,234 · 51.2 days · 4.3 months."""
    return sql.SQL(
        "CASE WHEN {v} IS NULL THEN NULL "
        "WHEN {f} = 'usd' THEN CASE WHEN {v} < 0 THEN '-' ELSE '' END || '$' || "
        "to_char(abs(round({v})), 'FM999,999,999,990') "
        "WHEN {f} = 'percent' THEN to_char(round({v}, 1), 'FM999,999,990.0') || ' %' "
        "WHEN {f} = 'ratio' THEN to_char(round({v}, 2), 'FM999,999,990.00') || 'x' "
        "WHEN {f} = 'days' THEN to_char(round({v}, 1), 'FM999,999,990.0') || ' days' "
        "WHEN {f} = 'months' THEN to_char(round({v}, 1), 'FM999,999,990.0') || ' months' "
        "ELSE to_char(round({v}), 'FM999,999,999,990') END"
    ).format(v=value, f=format_)


def change_sql(value: sql.Composable, prior: sql.Composable, format_: sql.Composable):
    """(change, its text): percentages change in points, everything else in per cent."""
    change = sql.SQL(
        "CASE WHEN {v} IS NULL OR {p} IS NULL THEN NULL WHEN {f} = 'percent' THEN {v} - {p} "
        "ELSE ({v} - {p}) * 100 / nullif(abs({p}), 0) END"
    ).format(v=value, p=prior, f=format_)
    text = sql.SQL(
        "CASE WHEN ({c}) IS NULL THEN NULL ELSE "
        "CASE WHEN round(({c}), 1) > 0 THEN '+' WHEN round(({c}), 1) < 0 THEN '-' ELSE '±' END "
        "|| to_char(abs(round(({c}), 1)), 'FM999,999,990.0') "
        "|| CASE WHEN {f} = 'percent' THEN ' pts' ELSE ' %' END END"
    ).format(c=change, f=format_)
    return change, text


def _reported_period(
    contract: MetricContract, grain: str, business_day: date, close_days: int
) -> tuple[str, date]:
    """Which period a metric is reported on (see the module's docstring), and its start."""
    if contract.is_forward_looking:
        return "current", period_start(grain, business_day)
    final_days = contract.refresh_sla.final_after_days
    if final_days > close_days:
        return "final", latest_complete(grain, business_day, final_days)
    return "complete", latest_complete(grain, business_day)


def insert_rows(
    cursor: psycopg.Cursor,
    table: sql.Identifier,
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
) -> None:
    """Insert `rows` (values in the order of `columns`) into `table`."""
    cursor.executemany(
        sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            table,
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        ),
        rows,
    )


def status_label_sql(status: sql.Composable, otherwise: sql.Composable) -> sql.Composed:
    """On track / At risk / Off track for green / yellow / red; `otherwise` for no status."""
    return sql.SQL("CASE {} {} ELSE {} END").format(
        status,
        sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(sql.Literal(name), sql.Literal(label))
            for name, label in STATUS_LABELS.items()
        ),
        otherwise,
    )


def status_color_sql(status: sql.Composable) -> sql.Composed:
    """The status colour every surface uses; grey for no status."""
    return sql.SQL("CASE {} {} ELSE {} END").format(
        status,
        sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(sql.Literal(name), sql.Literal(STATUS_COLORS[name]))
            for name in STATUS_LABELS
        ),
        sql.Literal(STATUS_COLORS["none"]),
    )


def _build_calendar(
    cursor: psycopg.Cursor, schema: str, business_day: date | None, close_days: int
) -> int:
    table = create_kpi_table(cursor, schema, "reporting_calendar")
    rows = []
    for grain in PERIOD_STEP:
        if business_day is None:
            rows.append((grain, *[None] * 10, close_days))
            continue
        current = period_start(grain, business_day)
        complete = latest_complete(grain, business_day)
        final = latest_complete(grain, business_day, close_days)
        through = business_day - timedelta(days=1)
        rows.append(
            (
                grain,
                business_day,
                through,
                f"{through.day} {through:%b %Y}",
                current,
                period_label(grain, current),
                complete,
                period_label(grain, complete),
                final,
                period_label(grain, final),
                close_days,
            )
        )
    # The columns up to the close, and the build's stamp; the publish stamps come later.
    columns = list(CALENDAR_COLUMNS)[: list(CALENDAR_COLUMNS).index("reporting_close_days") + 1]
    cursor.execute("SELECT now()")
    built_at = cursor.fetchone()[0]
    insert_rows(cursor, table, [*columns, "built_at"], [(*row, built_at) for row in rows])
    stamp_as_of(cursor, schema, published=False)
    return len(rows)


def stamp_as_of(cursor: psycopg.Cursor, schema: str, *, published: bool) -> None:
    """Write the calendar's one-line "as of" (with the publish time once it is published)."""
    table = sql.Identifier(schema, "reporting_calendar")
    cursor.execute(
        sql.SQL(
            "UPDATE {t} SET published_at = CASE WHEN {published} THEN now() ELSE published_at END"
        ).format(t=table, published=sql.Literal(published))
    )
    cursor.execute(
        sql.SQL(
            "UPDATE {t} SET published_label = to_char(published_at AT TIME ZONE 'UTC', "
            "'FMDD Mon YYYY HH24:MI \"UTC\"'), as_of_text = 'Data through ' || "
            "coalesce(data_through_label, 'no data yet') || ' · latest complete ' || period_grain "
            "|| ': ' || coalesce(latest_complete_label, 'none') || ' (closed for reporting: ' || "
            "coalesce(latest_final_label, 'none') || ') · ' || CASE WHEN published_at IS NULL "
            "THEN 'built ' || to_char(built_at AT TIME ZONE 'UTC', 'FMDD Mon YYYY HH24:MI \"UTC\"') "
            "|| ', not published yet' ELSE 'published ' || to_char(published_at AT TIME ZONE "
            "'UTC', 'FMDD Mon YYYY HH24:MI \"UTC\"') END"
        ).format(t=table)
    )


def _reporting_settings(
    contracts: Mapping[str, MetricContract], business_day: date, close_days: int
) -> sql.Composed:
    """One row per metric and grain: the period it is reported on and how to write it out."""
    rows = []
    for contract in contracts.values():
        for grain in contract.grain:
            reported_as, period = _reported_period(contract, grain, business_day, close_days)
            trailing = trailing_label(trailing_basis(contract), grain)
            rows.append(
                sql.SQL("({})").format(
                    sql.SQL(", ").join(
                        [
                            sql.Literal(contract.name),
                            sql.Literal(grain),
                            sql.Literal(period),
                            sql.Literal(reported_as),
                            sql.Literal(trailing),
                            sql.Literal(contract.direction == "higher_is_better"),
                            sql.SQL("interval {}").format(
                                sql.Literal(f"{contract.refresh_sla.final_after_days} days")
                            ),
                            sql.Literal(_unjudged_label(contract, grain)),
                            sql.Literal(_unjudged_label(contract, grain, sliced=True)),
                            sql.SQL("interval {}").format(sql.Literal(PERIOD_STEP[grain])),
                            sql.SQL("interval {}").format(sql.Literal(YEAR_BEFORE[grain])),
                        ]
                    )
                )
            )
    return sql.SQL(", ").join(rows)


_SETTINGS_COLUMNS = (
    "metric_name, period_grain, period_start, reported_as, trailing_label, good_when_up, "
    "final_after, unjudged, slice_unjudged, step, year_before"
)


def _scorecard_sql(
    contracts: Mapping[str, MetricContract], schema: str, business_day: date, close_days: int
) -> sql.Composed:
    """Every metric's scorecard rows in one statement (one pass over kpi_values)."""
    kpi_values = sql.Identifier(schema, "kpi_values")
    change, change_text = change_sql(
        sql.SQL("k.value"), sql.SQL("k.prior_value"), sql.SQL("k.format")
    )
    _, last_year_change = change_sql(sql.SQL("k.value"), sql.SQL("ly.value"), sql.SQL("k.format"))
    return sql.SQL(
        "WITH settings ({columns}) AS (VALUES {settings}), "
        "history AS (SELECT h.metric_name, h.period_grain, h.dimension_name, "
        "h.dimension_value, h.period_start, h.value, min(h.value) OVER w AS lo, "
        "max(h.value) OVER w AS hi FROM {kpi_values} AS h JOIN settings AS s "
        "ON s.metric_name = h.metric_name AND s.period_grain = h.period_grain "
        "AND h.period_start <= s.period_start "
        "AND h.period_start > s.period_start - {spark} * s.step "
        "WINDOW w AS (PARTITION BY h.metric_name, h.period_grain, h.dimension_name, "
        "h.dimension_value)), "
        "spark AS (SELECT metric_name, period_grain, dimension_name, dimension_value, "
        "string_agg(CASE WHEN value IS NULL THEN ' ' ELSE coalesce(substr({blocks}, 1 + "
        "floor(7 * (value - lo) / nullif(hi - lo, 0))::integer, 1), substr({blocks}, 4, 1)) "
        "END, '' ORDER BY period_start) AS sparkline FROM history GROUP BY 1, 2, 3, 4) "
        "INSERT INTO {scorecard} SELECT k.metric_name, k.label, k.area, k.tier, k.period_grain, "
        "k.period_start, {period_label}, s.reported_as, k.dimension_name, k.dimension_value, "
        "{dimension_label}, k.value, {display_value}, k.prior_value, {prior_label}, "
        "CASE WHEN k.prior_value IS NULL THEN NULL ELSE {prior_label} || ': ' || {display_prior} "
        "END, {change}, {change_text}, "
        "CASE WHEN ({change}) IS NULL THEN NULL WHEN round(({change}), 1) > 0 THEN '▲' "
        "WHEN round(({change}), 1) < 0 THEN '▼' ELSE '▶' END, "
        "CASE WHEN ({change}) IS NULL OR round(({change}), 1) = 0 THEN {grey} "
        "WHEN (({change}) > 0) = s.good_when_up THEN {green} ELSE {red} END, "
        "ly.value, CASE WHEN ly.value IS NULL THEN NULL ELSE {ly_label} || ': ' || {display_ly} "
        "|| coalesce(' (' || {ly_change} || ')', '') END, "
        "k.trailing_value, s.trailing_label, CASE WHEN k.trailing_value IS NULL THEN NULL ELSE "
        "s.trailing_label || ' ' || {display_trailing} END, "
        "k.status, {status_label}, {status_color}, "
        "k.is_final, CASE WHEN k.is_final THEN NULL WHEN s.reported_as = 'current' THEN "
        "'in progress: moves daily until ' || to_char(k.period_start + s.step - "
        "interval '1 day', 'FMDD Mon YYYY') ELSE 'provisional until ' || to_char(k.period_start "
        "+ s.step + s.final_after, 'FMDD Mon YYYY') END, "
        "spark.sparkline, k.kpi_owner, k.format, k.direction, k.threshold_red, k.action "
        "FROM {kpi_values} AS k JOIN settings AS s ON s.metric_name = k.metric_name "
        "AND s.period_grain = k.period_grain AND s.period_start = k.period_start "
        "LEFT JOIN {kpi_values} AS ly ON ly.metric_name = k.metric_name AND ly.period_grain = "
        "k.period_grain AND ly.dimension_name = k.dimension_name AND ly.dimension_value = "
        "k.dimension_value AND ly.period_start = (k.period_start - s.year_before)::date "
        "LEFT JOIN spark ON spark.metric_name = k.metric_name AND spark.period_grain = "
        "k.period_grain AND spark.dimension_name = k.dimension_name "
        "AND spark.dimension_value = k.dimension_value"
    ).format(
        columns=sql.SQL(_SETTINGS_COLUMNS),
        settings=_reporting_settings(contracts, business_day, close_days),
        kpi_values=kpi_values,
        scorecard=sql.Identifier(schema, "kpi_scorecard"),
        spark=sql.Literal(SPARKLINE_PERIODS),
        blocks=sql.Literal(SPARK_BLOCKS),
        period_label=period_label_sql(sql.SQL("k.period_grain"), sql.SQL("k.period_start")),
        dimension_label=dimension_value_label_sql(
            sql.SQL("k.dimension_name"), sql.SQL("k.dimension_value")
        ),
        display_value=display_sql(sql.SQL("k.value"), sql.SQL("k.format")),
        prior_label=short_period_label_sql(
            sql.SQL("k.period_grain"), sql.SQL("(k.period_start - s.step)::date")
        ),
        display_prior=display_sql(sql.SQL("k.prior_value"), sql.SQL("k.format")),
        change=change,
        change_text=change_text,
        ly_label=short_period_label_sql(sql.SQL("ly.period_grain"), sql.SQL("ly.period_start")),
        display_ly=display_sql(sql.SQL("ly.value"), sql.SQL("k.format")),
        ly_change=last_year_change,
        display_trailing=display_sql(sql.SQL("k.trailing_value"), sql.SQL("k.format")),
        status_label=status_label_sql(
            sql.SQL("k.status"),
            sql.SQL(
                "CASE WHEN NOT k.is_final AND k.value IS NOT NULL AND k.dimension_name = "
                "'overall' AND k.tier = 'kpi' THEN 'Provisional' WHEN k.dimension_name <> 'overall' "
                "THEN s.slice_unjudged ELSE s.unjudged END"
            ),
        ),
        status_color=status_color_sql(sql.SQL("k.status")),
        green=sql.Literal(STATUS_COLORS["green"]),
        red=sql.Literal(STATUS_COLORS["red"]),
        grey=sql.Literal(STATUS_COLORS["none"]),
    )


_ADVERBS = {"week": "weekly", "month": "monthly", "quarter": "quarterly"}


def _unjudged_label(contract: MetricContract, grain: str, *, sliced: bool = False) -> str:
    """Why a row has no status, in a few words. A volume's slice (one segment's revenue) is
    never judged: its thresholds are the company's."""
    thresholds = contract.thresholds
    if thresholds is None:
        return "No threshold"
    if thresholds.period != grain:
        return f"Judged {_ADVERBS[thresholds.period]}"
    if sliced and contract.judges_total_only:
        return "Judged on the total"
    return "Not judged yet"


def build_calendar_and_scorecard(
    cursor: psycopg.Cursor,
    schema: str,
    contracts: Mapping[str, MetricContract],
    business_day: date | None,
    close_days: int | None = None,
    *,
    analyze_values: bool = True,
) -> dict[str, int]:
    """(Re)create `reporting_calendar` and `kpi_scorecard` in `schema`; their row counts.
    `analyze_values`: refresh kpi_values' statistics first (False: they hold, little of it
    was written since)."""
    close_days = REPORTING_CLOSE_DAYS if close_days is None else close_days
    calendar_rows = _build_calendar(cursor, schema, business_day, close_days)
    scorecard = create_kpi_table(cursor, schema, "kpi_scorecard")
    if business_day is not None and contracts:
        # kpi_values was written moments ago: without statistics the planner nests loops
        # over 100k rows (40 s instead of 1 s at the demo's scale).
        if analyze_values:
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(schema, "kpi_values")))
        cursor.execute(_scorecard_sql(contracts, schema, business_day, close_days))
    cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(scorecard))
    row = cursor.fetchone()
    return {"reporting_calendar": calendar_rows, "kpi_scorecard": int(row[0]) if row else 0}


def as_of_line(conn: psycopg.Connection, schema: str = "mart") -> str | None:
    """The published calendar's one line ("Data through ... · published ..."), for alerts;
    None before the first publish or on a mart built before the calendar."""
    found = conn.execute("SELECT to_regclass(%s)", (f"{schema}.reporting_calendar",)).fetchone()
    if not found or found[0] is None:
        return None
    row = conn.execute(
        sql.SQL("SELECT as_of_text FROM {} WHERE period_grain = 'month'").format(
            sql.Identifier(schema, "reporting_calendar")
        )
    ).fetchone()
    return row[0] if row else None
