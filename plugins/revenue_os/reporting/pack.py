"""The monthly reporting pack's content, gathered from a month's frozen KPI snapshot.

In the order the pack shows it ("start every meeting with open actions"):

1. open actions of the decision log, overdue first;
2. the KPI summary: every KPI's month value, status, change against the prior month, the
   trailing three months and its owner;
3. the exceptions: red KPIs, then yellow, with the contract's action on breach and owner,
   and the breakdowns that explain them;
4. the known data issues: checks of the data-quality gate that did not pass on the mart
   build the numbers were frozen from;
5. confidence notes of the KPIs a reader should take with care.

The KPI figures come from `ops.kpi_snapshots` only, never from the live mart, so a past
month's pack says what it said when it was sent. The open actions are the decision log's as
of the day the pack is built: a pack is read at the meeting, with today's actions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from revenue_os.metrics.contract import AREAS, MetricContract
from revenue_os.metrics.formatting import format_condition, period_label
from revenue_os.metrics.loader import models_behind
from revenue_os.metrics.periods import trailing_basis
from revenue_os.operations.decisions import list_decisions, success_reading
from revenue_os.quality.health import DATA_PLATFORM
from revenue_os.reporting.snapshot import PackError

# Attribution models are alternative credits of one total, not parts of it: a "worst model"
# explains nothing about a breach.
NOT_BREAKDOWNS = frozenset({"attribution_model"})
WORST_BREAKDOWNS = 3
CONFIDENCE_ORDER = {"low": 0, "medium": 1, "high": 2}
STATUS_ORDER = ("red", "yellow")
# How far back a pack lists the success checks that ran: since the pack before it.
CHECKED_WINDOW = {"month": timedelta(days=31), "week": timedelta(days=7)}
OUTCOME_ORDER = {"failed": 0, "not_evaluated": 1, "warned": 2}


@dataclass(frozen=True)
class KpiLine:
    """One KPI's overall value for the month, as frozen."""

    metric_name: str
    label: str
    area: str
    value: Decimal | None
    prior_value: Decimal | None
    delta_pct: Decimal | None
    trailing_value: Decimal | None
    format: str
    direction: str
    status: str | None
    threshold_green: str | None
    threshold_yellow: str | None
    threshold_red: str | None
    kpi_owner: str
    confidence: str
    action_type: str | None
    action: str | None
    is_final: bool
    judged_on: str = "month"  # the grain its thresholds are judged on (the contract's period)
    trailing_basis: str = "total"  # what its trailing value is: total, average or growth

    @property
    def status_text(self) -> str:
        """RED, YELLOW, GREEN; why there is none otherwise."""
        if self.status:
            return self.status.upper()
        if self.value is not None and self.judged_on != "month":
            return f"{self.judged_on}ly"  # "quarterly": judged on another grain, footnoted
        return "n/a"

    @property
    def breached(self) -> str | None:
        """The threshold condition its status met (`< 700000`), for red and yellow."""
        return {"red": self.threshold_red, "yellow": self.threshold_yellow}.get(self.status or "")

    @property
    def breached_said(self) -> str | None:
        """The condition in the unit of the value, as the pack prints it (`< $700,000`)."""
        return format_condition(self.breached, self.format)


@dataclass(frozen=True)
class Breakdown:
    """A dimension value that explains an exception."""

    dimension_name: str
    dimension_value: str
    value: Decimal | None
    change: Decimal | None  # against the prior month, in the metric's own unit
    status: str | None


@dataclass(frozen=True)
class KpiException:
    kpi: KpiLine
    # "red": the dimension values in the red, worst first (ratios, rates, averages: the
    # threshold applies to each slice too). "decline": the largest drops against the prior
    # month (sums and counts: a slice of a total is always below the total's threshold).
    breakdown_rule: str
    breakdowns: tuple[Breakdown, ...]


@dataclass(frozen=True)
class KnownIssue:
    dataset: str
    check_name: str
    tier: int
    outcome: str
    measured: str | None
    threshold: str | None
    kpis: tuple[str, ...]  # labels of the pack's KPIs computed from the dataset
    owner: str = DATA_PLATFORM  # who fixes it at the source (the check's owner attribute)
    check_label: str = ""  # the check and its table in words, as Data Health shows them
    dataset_label: str = ""

    @property
    def described(self) -> str:
        """`Salesforce opportunities: Open deals without a next step`."""
        return f"{self.dataset_label or self.dataset}: {self.check_label or self.check_name}"


@dataclass(frozen=True)
class ConfidenceNote:
    label: str
    level: str
    note: str
    issues: tuple[str, ...]  # the known issues touching it, as "dataset: check (outcome)"


@dataclass(frozen=True)
class OpenAction:
    decision_id: int
    metric_name: str
    metric_label: str
    owner: str
    action_type: str
    action: str
    decided_on: date
    due_on: date
    forum: str
    trigger: str
    success_metric: str
    overdue: bool
    assignee: str = ""  # who carries it out; the owner when the decision names nobody else
    expected_impact: str | None = None
    evidence_url: str | None = None
    success_check: str | None = None  # `Return on ad spend (ROAS) >= 3`
    success_reading: str | None = None  # `not met: 2.10x in October 2026`, `not checked yet`

    @property
    def success_not_met(self) -> bool:
        """Its success check ran at the due date and did not read met: escalate, not wait."""
        return (self.success_reading or "").startswith(("not met", "not measured"))


@dataclass(frozen=True)
class CheckedAction:
    """An action whose success check ran since the last pack: met (closed) or not met."""

    decision_id: int
    metric_label: str
    assignee: str
    action: str
    success_check: str
    success_reading: str
    met: bool


@dataclass(frozen=True)
class PackCalendar:
    """The reporting calendar of the mart the month was frozen from."""

    data_through: date | None
    latest_complete_month: date | None  # the latest complete period of `grain`
    closed_month: date | None
    published_at: datetime | None
    grain: str = "month"

    def line(self) -> str:
        """`Data through 7 Nov 2026 · latest complete month October 2026 (closed for
        reporting: October 2026) · mart published 5 Dec 2026 01:49 UTC`"""

        def month(day: date | None) -> str:
            return period_label(self.grain, day) if day else "none"

        parts = [
            f"Data through {self.data_through.day} {self.data_through:%b %Y}"
            if self.data_through
            else "Data through: unknown",
            f"latest complete {self.grain} {month(self.latest_complete_month)} "
            f"(closed for reporting: {month(self.closed_month)})",
        ]
        if self.published_at:
            parts.append(
                f"mart published {self.published_at.day} {self.published_at:%b %Y %H:%M} UTC"
            )
        return " · ".join(parts)


@dataclass(frozen=True)
class ForwardKpi:
    """A forward-looking KPI (pipeline coverage) for the period in progress, as frozen."""

    label: str
    period_label: str
    dimension_label: str
    display_value: str
    status: str | None
    status_label: str
    note: str | None


@dataclass(frozen=True)
class ReportingPack:
    month: date
    as_of: date  # the day the open actions are read
    build_id: uuid.UUID | None
    frozen_at: datetime
    kpis: tuple[KpiLine, ...]
    exceptions: tuple[KpiException, ...]
    checks_run: int  # data-quality results recorded for the frozen build, passed or not
    known_issues: tuple[KnownIssue, ...]
    confidence_notes: tuple[ConfidenceNote, ...]
    open_actions: tuple[OpenAction, ...]
    calendar: PackCalendar | None = None
    trends: Mapping[str, tuple[Decimal | None, ...]] = field(default_factory=dict)
    forward: tuple[ForwardKpi, ...] = ()
    checked_actions: tuple[CheckedAction, ...] = ()
    # The KPIs judged on the quarter (bookings against target, CAC payback), on the latest
    # complete quarter as the scorecard had it when the month was frozen: a month row says
    # nothing of them, and some have none.
    quarter: tuple[ForwardKpi, ...] = ()
    # The month the schedule or the command asked for, when the data stopped before it ended
    # and the pack covers the latest complete month instead.
    requested_month: date | None = None

    @property
    def title(self) -> str:
        return f"Revenue OS monthly pack: {self.month:%B %Y}"

    def count(self, status: str) -> int:
        return sum(kpi.status == status for kpi in self.kpis)

    @property
    def behind(self) -> str:
        """What a reader must know when the pack is not of the month asked for."""
        if self.requested_month is None:
            return ""
        return (
            f"The data does not cover {self.requested_month:%B %Y} yet: this is its latest "
            "complete month."
        )

    @property
    def overdue_actions(self) -> int:
        return sum(action.overdue for action in self.open_actions)

    @property
    def provisional(self) -> bool:
        return any(not kpi.is_final for kpi in self.kpis)

    @property
    def judged_on_other_grains(self) -> tuple[str, ...]:
        """The grains (quarter) some KPIs are judged on instead of the month, for a footnote."""
        return tuple(sorted({k.judged_on for k in self.kpis if k.judged_on != "month"}))

    @property
    def subject(self) -> str:
        parts = [f"{self.count('red')} red", f"{self.count('yellow')} yellow"]
        if self.overdue_actions:
            parts.append(
                f"{self.overdue_actions} overdue action{'s' if self.overdue_actions > 1 else ''}"
            )
        return f"{self.title} ({', '.join(parts)})"


def _kpi_line(row: Mapping, contracts: Mapping[str, MetricContract]) -> KpiLine:
    contract = contracts.get(row["metric_name"])
    judged_on = (
        contract.thresholds.period if contract is not None and contract.thresholds else "month"
    )
    return KpiLine(
        metric_name=row["metric_name"],
        label=row["label"],
        area=row["area"],
        value=row["value"],
        prior_value=row["prior_value"],
        delta_pct=row["delta_pct"],
        trailing_value=row["trailing_value"],
        format=row["format"],
        direction=row["direction"],
        status=row["status"],
        threshold_green=row["threshold_green"],
        threshold_yellow=row["threshold_yellow"],
        threshold_red=row["threshold_red"],
        kpi_owner=row["kpi_owner"],
        confidence=row["confidence"],
        action_type=row["action_type"],
        action=row["action"],
        is_final=row["is_final"],
        judged_on=judged_on,
        trailing_basis=trailing_basis(contract) if contract is not None else "total",
    )


def area_rank(area: str) -> int:
    return AREAS.index(area) if area in AREAS else len(AREAS)


def _worse_first(direction: str) -> int:
    """1 when a lower number is worse (higher is better), -1 otherwise: a sort factor."""
    return 1 if direction == "higher_is_better" else -1


def _breakdowns(
    kpi: KpiLine, rows: Iterable[Mapping], total_only: bool
) -> tuple[str, tuple[Breakdown, ...]]:
    factor = _worse_first(kpi.direction)
    candidates = [
        Breakdown(
            dimension_name=row["dimension_name"],
            dimension_value=row["dimension_value"],
            value=row["value"],
            change=(
                row["value"] - row["prior_value"]
                if row["value"] is not None and row["prior_value"] is not None
                else None
            ),
            status=row["status"],
        )
        for row in rows
        if row["dimension_name"] not in NOT_BREAKDOWNS
    ]
    if total_only:  # its slices have no status (see MetricContract.judges_total_only)
        declines = [b for b in candidates if b.change is not None and b.change * factor < 0]
        declines.sort(key=lambda b: (b.change * factor, b.dimension_name, b.dimension_value))
        return "decline", tuple(declines[:WORST_BREAKDOWNS])
    reds = [b for b in candidates if b.status == "red" and b.value is not None]
    reds.sort(key=lambda b: (b.value * factor, b.dimension_name, b.dimension_value))
    return "red", tuple(reds[:WORST_BREAKDOWNS])


def known_issues_of(
    conn: psycopg.Connection,
    build_id: uuid.UUID | None,
    kpis: Iterable[KpiLine],
    contracts: Mapping[str, MetricContract],
) -> tuple[int, tuple[KnownIssue, ...]]:
    """How many checks ran on the build the snapshot was frozen from, and those not passed.

    The quality results are history kept per build, so a past pack finds the same issues.
    """
    if build_id is None:
        return 0, ()
    rows = conn.execute(
        "SELECT dataset, check_name, tier, outcome, measured, threshold, owner, check_label,"
        " dataset_label FROM ops.quality_results WHERE build_id = %s",
        (build_id,),
    ).fetchall()
    behind = {
        kpi.label: models_behind(contracts[kpi.metric_name], contracts)
        for kpi in kpis
        if kpi.metric_name in contracts
    }
    issues = [
        KnownIssue(
            dataset=dataset,
            check_name=check_name,
            tier=int(tier),
            outcome=outcome,
            measured=measured,
            threshold=threshold,
            kpis=tuple(label for label, models in behind.items() if dataset in models),
            owner=owner or DATA_PLATFORM,
            check_label=check_label or "",
            dataset_label=dataset_label or "",
        )
        for (
            dataset,
            check_name,
            tier,
            outcome,
            measured,
            threshold,
            owner,
            check_label,
            dataset_label,
        ) in rows
        if outcome != "passed"
    ]
    issues.sort(key=lambda i: (OUTCOME_ORDER.get(i.outcome, 3), i.tier, i.dataset, i.check_name))
    return len(rows), tuple(issues)


def confidence_notes_of(
    kpis: Iterable[KpiLine],
    issues: Iterable[KnownIssue],
    contracts: Mapping[str, MetricContract],
) -> tuple[ConfidenceNote, ...]:
    """KPIs of low or medium confidence, and any KPI a known issue touches."""
    touching: dict[str, list[str]] = {}
    for issue in issues:
        for label in issue.kpis:
            touching.setdefault(label, []).append(f"{issue.described} ({issue.outcome})")
    notes = []
    for kpi in sorted(kpis, key=lambda k: CONFIDENCE_ORDER.get(k.confidence, 3)):
        if kpi.confidence == "high" and kpi.label not in touching:
            continue
        contract = contracts.get(kpi.metric_name)
        note = " ".join(contract.confidence.note.split()) if contract is not None else ""
        notes.append(
            ConfidenceNote(kpi.label, kpi.confidence, note, tuple(touching.get(kpi.label, ())))
        )
    return tuple(notes)


def open_actions_as_of(
    conn: psycopg.Connection,
    today: date,
    labels: Mapping[str, str],
    contracts: Mapping[str, MetricContract] | None = None,
) -> tuple[OpenAction, ...]:
    decisions = list_decisions(conn, open_only=True)
    contracts = contracts or {}
    actions = [
        OpenAction(
            decision_id=d.decision_id,
            metric_name=d.metric_name,
            metric_label=labels.get(d.metric_name, d.metric_name),
            owner=d.owner,
            action_type=d.action_type,
            action=d.action,
            decided_on=d.decided_on,
            due_on=d.due_on,
            forum=d.forum,
            trigger=d.trigger,
            success_metric=d.success_metric,
            overdue=d.is_overdue(today),
            assignee=d.doer,
            expected_impact=d.expected_impact,
            evidence_url=d.evidence_url,
            success_check=(
                f"{labels.get(d.success_metric_name or '', d.success_metric_name)} "
                f"{d.success_condition}"
                if d.success_condition
                else None
            ),
            success_reading=success_reading(d, contracts),
        )
        for d in decisions
    ]
    actions.sort(key=lambda a: (not a.overdue, a.due_on, a.decision_id))
    return tuple(actions)


def checked_actions_since(
    conn: psycopg.Connection,
    since: date,
    labels: Mapping[str, str],
    contracts: Mapping[str, MetricContract],
) -> tuple[CheckedAction, ...]:
    """The actions whose success check ran on or after `since`, met first: the forum sees which
    decisions worked before it decides new ones."""
    checked = [
        d
        for d in list_decisions(conn)
        if d.success_checked_on is not None and d.success_checked_on >= since
    ]
    return tuple(
        CheckedAction(
            decision_id=d.decision_id,
            metric_label=labels.get(d.metric_name, d.metric_name),
            assignee=d.doer,
            action=d.action,
            success_check=f"{labels.get(d.success_metric_name or '', d.success_metric_name)} "
            f"{d.success_condition}",
            success_reading=success_reading(d, contracts) or "",
            met=d.success_result == "met",
        )
        for d in sorted(checked, key=lambda d: (d.success_result != "met", d.decision_id))
    )


def gather_pack(
    conn: psycopg.Connection,
    month: date,
    *,
    today: date | None = None,
    contracts: Mapping[str, MetricContract] | None = None,
    requested_month: date | None = None,
) -> ReportingPack:
    """The pack of `month` from its snapshot (freeze it first: snapshot.freeze_month)."""
    if contracts is None:
        from revenue_os.metrics import load_contracts

        contracts = load_contracts()
    today = today or date.today()
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT * FROM ops.kpi_snapshots WHERE period_grain = 'month' AND period_start = %s",
            (month,),
        )
        rows = cursor.fetchall()
    if not rows:
        raise PackError(
            f"no KPI snapshot for {month:%Y-%m}: freeze it first "
            f"(`revenue-os pack --month {month:%Y-%m}` does)"
        )
    overall = [r for r in rows if r["dimension_name"] == "overall" and r["tier"] == "kpi"]
    kpis = tuple(
        sorted(
            (_kpi_line(row, contracts) for row in overall),
            key=lambda k: (area_rank(k.area), k.label.lower()),
        )
    )
    by_metric: dict[str, list[Mapping]] = {}
    for row in rows:
        if row["dimension_name"] != "overall":
            by_metric.setdefault(row["metric_name"], []).append(row)
    exceptions = []
    for status in STATUS_ORDER:
        for kpi in kpis:
            if kpi.status == status:
                rule, breakdowns = _breakdowns(
                    kpi,
                    by_metric.get(kpi.metric_name, []),
                    contracts[kpi.metric_name].judges_total_only
                    if kpi.metric_name in contracts
                    else False,
                )
                exceptions.append(KpiException(kpi, rule, breakdowns))
    build_id = rows[0]["build_id"]
    checks_run, issues = known_issues_of(conn, build_id, kpis, contracts)
    labels = {row["metric_name"]: row["label"] for row in rows}
    labels.update({name: c.label for name, c in contracts.items() if name not in labels})
    context = frozen_context(conn, "month", month)
    calendar, trends, forward = context_parts(context, "month")
    return ReportingPack(
        month=month,
        as_of=today,
        calendar=calendar,
        trends=trends,
        forward=forward,
        quarter=judged_cards(context, "quarter", contracts),
        requested_month=requested_month if requested_month != month else None,
        build_id=build_id,
        frozen_at=max(row["frozen_at"] for row in rows),
        kpis=kpis,
        exceptions=tuple(exceptions),
        checks_run=checks_run,
        known_issues=issues,
        confidence_notes=confidence_notes_of(kpis, issues, contracts),
        open_actions=open_actions_as_of(conn, today, labels, contracts),
        checked_actions=checked_actions_since(
            conn, today - CHECKED_WINDOW["month"], labels, contracts
        ),
    )


def frozen_context(conn: psycopg.Connection, grain: str, start: date) -> Mapping | None:
    """The context frozen with a period's KPI values (ops.kpi_snapshot_context), if any."""
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT * FROM ops.kpi_snapshot_context WHERE period_grain = %s AND period_start = %s",
            (grain, start),
        )
        return cursor.fetchone()


def judged_cards(
    row: Mapping | None, grain: str, contracts: Mapping[str, MetricContract]
) -> tuple[ForwardKpi, ...]:
    """The frozen status cards of the KPIs judged on `grain`, in their period, except the
    forward-looking ones (those look ahead in their own section)."""
    if row is None:
        return ()
    cards = [
        card
        for card in row["judged"] or []
        if card["period_grain"] == grain
        and card["metric_name"] in contracts
        and not contracts[card["metric_name"]].is_forward_looking
    ]
    return tuple(
        ForwardKpi(
            label=card["label"],
            period_label=card["period_label"],
            dimension_label="all",
            display_value=card["display_value"] or "n/a",
            status=card["status"],
            status_label=card["status_label"],
            note=card.get("provisional_note"),
        )
        for card in sorted(cards, key=lambda card: card["label"].lower())
    )


def context_parts(
    row: Mapping | None, grain: str, metrics: Iterable[str] | None = None
) -> tuple[PackCalendar | None, dict[str, tuple[Decimal | None, ...]], tuple[ForwardKpi, ...]]:
    """The calendar, the trends and the forward-looking KPIs of a frozen context, for the
    metrics named (all without a list)."""
    if row is None:
        return None, {}, ()
    kept = None if metrics is None else set(metrics)
    calendar = PackCalendar(
        row["data_through"],
        row["latest_complete_period"],
        row["closed_period"],
        row["published_at"],
        grain=grain,
    )
    trends = {
        metric: tuple(None if value is None else Decimal(str(value)) for _, value in points)
        for metric, points in (row["trends"] or {}).items()
        if kept is None or metric in kept
    }
    forward = tuple(
        ForwardKpi(
            label=card["label"],
            period_label=card["period_label"],
            dimension_label=card["dimension_label"],
            display_value=card["display_value"] or "n/a",
            status=card["status"],
            status_label=card["status_label"],
            note=card.get("provisional_note"),
        )
        for card in row["forward"] or []
        if kept is None or card["metric_name"] in kept
    )
    return calendar, trends, forward
