"""The weekly pre-read: the weekly revenue meeting's packet, gathered from a week's snapshot.

The weekly forum is for control: it reviews the KPIs whose contracts list it
(`forums: [weekly, ...]`), each with the week against the week before and against its 4- and
13-week windows, because a single week is noisy. In the order the meeting runs:

1. open actions of the decision log, overdue first (last week's actions come first);
2. the KPI summary: each KPI's status as its contract judges it (on its own period: a week
   is not judged on monthly thresholds), the week, the change against last week, the 4- and
   13-week windows and the change of the one against the other, and the owner;
3. the forward-looking KPIs of the quarter in progress (pipeline coverage);
4. the exceptions: the KPIs in the red or yellow, each with its owner and proposed decision
   (the contract's action on breach);
5. the known data issues of the build the week was frozen from, and confidence notes.

The figures come from `ops.kpi_snapshots` only (frozen once per week), so a past pre-read
says what it said when it was sent; the open actions are read on the day it is built.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from revenue_os.metrics.contract import MetricContract
from revenue_os.metrics.formatting import format_change_vs_prior, format_value, period_label
from revenue_os.metrics.labels import label_of
from revenue_os.metrics.periods import trailing_basis, window_columns
from revenue_os.reporting.pack import (
    CHECKED_WINDOW,
    STATUS_ORDER,
    CheckedAction,
    ConfidenceNote,
    ForwardKpi,
    KnownIssue,
    OpenAction,
    PackCalendar,
    area_rank,
    checked_actions_since,
    confidence_notes_of,
    context_parts,
    frozen_context,
    known_issues_of,
    open_actions_as_of,
)
from revenue_os.reporting.snapshot import PackError

SHORT_WINDOW, LONG_WINDOW = 4, 13
_SHORT_COLUMN = "trailing_value"
_LONG_COLUMN = "trailing_13_week_value"
assert window_columns("week")[_SHORT_COLUMN] == SHORT_WINDOW
assert window_columns("week")[_LONG_COLUMN] == LONG_WINDOW


@dataclass(frozen=True)
class JudgedStatus:
    """A KPI's status on the period its thresholds judge, as the scorecard had it."""

    period_label: str
    display_value: str
    status: str | None
    status_label: str


@dataclass(frozen=True)
class WeeklyKpiLine:
    """One KPI's week, the week before, and its 4- and 13-week windows, as frozen."""

    metric_name: str
    label: str
    area: str
    format: str
    direction: str
    kpi_owner: str
    confidence: str
    action_type: str | None
    action: str | None
    is_final: bool
    value: Decimal | None
    prior_value: Decimal | None
    # The windows as a week's worth: a sum's 4-week total is divided by 4, so the week, the
    # 4-week and the 13-week figures read in one unit and can be compared; a rate is a rate.
    four_weeks: Decimal | None
    thirteen_weeks: Decimal | None
    per_week: bool
    judged: JudgedStatus | None

    @property
    def status(self) -> str | None:
        return self.judged.status if self.judged else None

    @property
    def status_text(self) -> str:
        if self.judged is None:
            return "n/a"
        return self.judged.status.upper() if self.judged.status else self.judged.status_label

    @property
    def vs_last_week(self) -> str:
        return format_change_vs_prior(self.value, self.prior_value, self.format)

    @property
    def short_vs_long(self) -> str:
        """The 4 weeks against the 13: where the quarter-long trend is heading."""
        return format_change_vs_prior(self.four_weeks, self.thirteen_weeks, self.format)


@dataclass(frozen=True)
class WeeklyException:
    kpi: WeeklyKpiLine
    reason: str  # what put it here, in words: `red on October 2026 (< 18)`


@dataclass(frozen=True)
class FiredRule:
    """A contract's rule that fired on the week (or on a period still to come), as frozen."""

    metric_name: str
    label: str  # the KPI's label
    format: str
    rule_label: str
    period_label: str
    dimension_name: str
    dimension_value: str
    value: Decimal | None
    baseline_value: Decimal | None
    change_pct: Decimal | None
    minimum_value: Decimal | None
    kpi_owner: str
    action_type: str
    action: str

    @property
    def where(self) -> str:
        """`overall` or the slice in words: `Segment SMB`."""
        if self.dimension_name == "overall":
            return "overall"
        return (
            f"{self.dimension_name.replace('_', ' ').capitalize()} "
            f"{label_of(self.dimension_name, self.dimension_value)}"
        )

    @property
    def reading(self) -> str:
        """`20.0 % against 25.0 % (-20.0 %)`, or the value alone for a level rule."""
        value = format_value(self.value, self.format)
        if self.baseline_value is None:
            return value
        change = "n/a" if self.change_pct is None else f"{self.change_pct:+.1f} %"
        return f"{value} against {format_value(self.baseline_value, self.format)} ({change})"


@dataclass(frozen=True)
class WeeklyPreread:
    week: date  # the Monday of the week covered
    as_of: date  # the day the open actions are read
    build_id: uuid.UUID | None
    frozen_at: datetime
    kpis: tuple[WeeklyKpiLine, ...]
    exceptions: tuple[WeeklyException, ...]
    checks_run: int
    known_issues: tuple[KnownIssue, ...]
    confidence_notes: tuple[ConfidenceNote, ...]
    open_actions: tuple[OpenAction, ...]
    calendar: PackCalendar | None = None
    trends: Mapping[str, tuple[Decimal | None, ...]] = field(default_factory=dict)
    forward: tuple[ForwardKpi, ...] = ()
    # The week asked for when the data did not cover it yet and this, the latest complete
    # week, was read instead; None otherwise.
    requested_week: date | None = None
    fired_rules: tuple[FiredRule, ...] = ()
    checked_actions: tuple[CheckedAction, ...] = ()

    @property
    def week_label(self) -> str:
        return period_label("week", self.week)

    @property
    def title(self) -> str:
        return f"Revenue OS weekly pre-read: week of {self.week.day} {self.week:%b %Y}"

    def count(self, status: str) -> int:
        return sum(kpi.status == status for kpi in self.kpis)

    @property
    def overdue_actions(self) -> int:
        return sum(action.overdue for action in self.open_actions)

    @property
    def subject(self) -> str:
        parts = [f"{self.count('red')} red", f"{self.count('yellow')} yellow"]
        if self.fired_rules:
            parts.append(
                f"{len(self.fired_rules)} rule{'s' if len(self.fired_rules) > 1 else ''} fired"
            )
        if self.overdue_actions:
            parts.append(
                f"{self.overdue_actions} overdue action{'s' if self.overdue_actions > 1 else ''}"
            )
        return f"{self.title} ({', '.join(parts)})"


def weekly_contracts(contracts: Mapping[str, MetricContract]) -> dict[str, MetricContract]:
    """The KPIs the weekly forum reviews, by their contracts."""
    return {name: c for name, c in contracts.items() if "weekly" in c.forums}


def _per_week(value: Decimal | None, weeks: int, per_week: bool) -> Decimal | None:
    if value is None or not per_week:
        return value
    return Decimal(value) / weeks


def _line(
    row: Mapping | None, contract: MetricContract, judged: JudgedStatus | None
) -> WeeklyKpiLine:
    """The KPI's week from its frozen row; a KPI without a row that week (no SQL reached a
    stage, a ratio over nothing) is listed with no figures rather than left out."""
    row = row or {}
    per_week = trailing_basis(contract) == "total"
    action = contract.action_on_breach
    return WeeklyKpiLine(
        metric_name=contract.name,
        label=contract.label,
        area=contract.area,
        format=contract.format,
        direction=contract.direction,
        kpi_owner=contract.owner.kpi_owner,
        confidence=contract.confidence.level,
        action_type=action.type if action else None,
        action=" ".join(action.action.split()) if action else None,
        is_final=row.get("is_final", True),
        value=row.get("value"),
        prior_value=row.get("prior_value"),
        four_weeks=_per_week(row.get(_SHORT_COLUMN), SHORT_WINDOW, per_week),
        thirteen_weeks=_per_week(row.get(_LONG_COLUMN), LONG_WINDOW, per_week),
        per_week=per_week,
        judged=judged,
    )


def gather_preread(
    conn: psycopg.Connection,
    week: date,
    *,
    today: date | None = None,
    contracts: Mapping[str, MetricContract] | None = None,
    requested_week: date | None = None,
) -> WeeklyPreread:
    """The pre-read of the week starting on `week` (freeze it first: snapshot.freeze_week)."""
    if contracts is None:
        from revenue_os.metrics import load_contracts

        contracts = load_contracts()
    today = today or date.today()
    weekly = weekly_contracts(contracts)
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT * FROM ops.kpi_snapshots WHERE period_grain = 'week' AND period_start = %s",
            (week,),
        )
        rows = cursor.fetchall()
    context = frozen_context(conn, "week", week)
    if not rows:
        raise PackError(
            f"no KPI snapshot for the week of {week}: freeze it first "
            f"(`revenue-os preread --week {week}` does)"
        )
    judged = {
        card["metric_name"]: JudgedStatus(
            period_label=card["period_label"],
            display_value=card["display_value"] or "n/a",
            status=card["status"],
            status_label=card["status_label"],
        )
        for card in (context["judged"] if context else [])
    }
    overall = {
        row["metric_name"]: row
        for row in rows
        if row["dimension_name"] == "overall" and row["metric_name"] in weekly
    }
    kpis = tuple(
        sorted(
            (
                _line(overall.get(name), contract, judged.get(name))
                for name, contract in weekly.items()
                if "week" in contract.grain
            ),
            key=lambda k: (area_rank(k.area), k.label.lower()),
        )
    )
    exceptions = tuple(
        WeeklyException(
            kpi,
            f"{kpi.status} on {kpi.judged.period_label}: {kpi.judged.display_value}",
        )
        for status in STATUS_ORDER
        for kpi in kpis
        if kpi.status == status and kpi.judged is not None
    )
    build_id = rows[0]["build_id"]
    checks_run, issues = known_issues_of(conn, build_id, kpis, contracts)  # type: ignore[arg-type]
    labels = {name: c.label for name, c in contracts.items()}
    calendar, trends, forward = context_parts(context, "week", weekly)
    return WeeklyPreread(
        week=week,
        as_of=today,
        build_id=build_id,
        frozen_at=max(row["frozen_at"] for row in rows),
        kpis=kpis,
        exceptions=exceptions,
        checks_run=checks_run,
        known_issues=issues,
        confidence_notes=confidence_notes_of(kpis, issues, contracts),  # type: ignore[arg-type]
        open_actions=open_actions_as_of(conn, today, labels, contracts),
        checked_actions=checked_actions_since(
            conn, today - CHECKED_WINDOW["week"], labels, contracts
        ),
        calendar=calendar,
        trends=trends,
        forward=forward,
        requested_week=requested_week if requested_week != week else None,
        fired_rules=_fired_rules(context, contracts),
    )


def _fired_rules(
    row: Mapping | None, contracts: Mapping[str, MetricContract]
) -> tuple[FiredRule, ...]:
    def number(value: object) -> Decimal | None:
        return None if value is None else Decimal(str(value))

    fired = []
    for signal in (row["signals"] if row else []) or []:
        contract = contracts.get(signal["metric_name"])
        fired.append(
            FiredRule(
                metric_name=signal["metric_name"],
                label=contract.label if contract else signal["metric_name"],
                format=contract.format if contract else "count",
                rule_label=signal["rule_label"],
                period_label=period_label(
                    signal["period_grain"], date.fromisoformat(signal["period_start"])
                ),
                dimension_name=signal["dimension_name"],
                dimension_value=signal["dimension_value"],
                value=number(signal["value"]),
                baseline_value=number(signal["baseline_value"]),
                change_pct=number(signal["change_pct"]),
                minimum_value=number(signal["minimum_value"]),
                kpi_owner=signal["kpi_owner"],
                action_type=signal["action_type"],
                action=signal["action"],
            )
        )
    return tuple(fired)
