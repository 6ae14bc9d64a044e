"""The weekly pre-read as an HTML e-mail, its text part and a PDF, in the monthly pack's style.

The seed's rule is a packet of five pages or less that the meeting has read before it starts:
the PDF is A4 landscape so that the KPI summary's nine columns fit one line per KPI.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from revenue_os.reporting.formatting import STATUS_RGB, STATUS_TEXT_RGB, format_value
from revenue_os.reporting.preread import LONG_WINDOW, WeeklyPreread
from revenue_os.reporting.render import (
    INK,
    MUTED,
    NAVY,
    SPARK_RGB,
    WHITE,
    _environment,
    _heading,
    _hex,
    _line,
    _status_face,
    _table,
    forward_pdf,
    known_issues_pdf,
    latin1,
    open_actions_pdf,
    sparkline,
    sparkline_svg,
)


def subtitle(preread: WeeklyPreread) -> str:
    build = str(preread.build_id)[:8] if preread.build_id else "unknown"
    return (
        f"KPIs of the week of {preread.week.day} {preread.week:%b %Y} (Monday to Sunday) "
        "frozen on "
        f"{preread.frozen_at:%Y-%m-%d} from mart build {build}; open actions as of "
        f"{preread.as_of}"
    )


def footer(preread: WeeklyPreread) -> str:
    return (
        "From the week's KPI snapshot (ops.kpi_snapshots): the figures stay as sent while the "
        f"mart moves on. Rebuild: revenue-os preread --week {preread.week}"
    )


def headline(preread: WeeklyPreread) -> str:
    actions = len(preread.open_actions)
    behind = (
        f"The data does not cover the week of {preread.requested_week.day} "
        f"{preread.requested_week:%b %Y} yet: this is its latest complete week. "
        if preread.requested_week
        else ""
    )
    exceptions = len(preread.exceptions) + len(preread.fired_rules)
    rules = len(preread.fired_rules)
    return behind + (
        f"{exceptions} exception{'' if exceptions == 1 else 's'} for the meeting "
        f"({preread.count('red')} red, {preread.count('yellow')} yellow of "
        f"{len(preread.kpis)} KPIs; {rules} rule{'' if rules == 1 else 's'} fired); "
        f"{actions} open action{'' if actions == 1 else 's'}, {preread.overdue_actions} overdue."
    )


def no_issues_text(preread: WeeklyPreread) -> str:
    if preread.checks_run:
        return (
            f"All {preread.checks_run} data-quality checks passed on the mart build these "
            "numbers were frozen from."
        )
    return (
        "No data-quality results are recorded for the mart build these numbers were frozen "
        "from: their quality is unknown."
    )


def footnotes(preread: WeeklyPreread) -> list[str]:
    notes = [
        "Status is each KPI's own: judged on the period its contract's thresholds name (a "
        "month or a quarter), never on one noisy week.",
        "4 and 13 weeks: the windows ending with this week. A sum or count shows them per "
        "week (the window's total divided by its weeks) so that the three figures compare; a "
        "rate or an average is the window's own.",
    ]
    if any(not kpi.is_final for kpi in preread.kpis):
        notes.append(
            "* Not final when frozen: the week's numbers may still move (late records, "
            "restated spend)."
        )
    return notes


def render_preread_html(preread: WeeklyPreread, links: Sequence[tuple[str, str]] = ()) -> str:
    return (
        _environment()
        .get_template("preread.html")
        .render(
            preread=preread,
            links=links,
            subtitle=subtitle(preread),
            headline=headline(preread),
            footer=footer(preread),
            footnotes=footnotes(preread),
            no_issues=no_issues_text(preread),
            sparklines={name: sparkline(values) for name, values in preread.trends.items()},
            colours={status: _hex(rgb) for status, rgb in STATUS_RGB.items()},
            text_colours={status: _hex(rgb) for status, rgb in STATUS_TEXT_RGB.items()},
        )
    )


def render_preread_text(preread: WeeklyPreread, links: Sequence[tuple[str, str]] = ()) -> str:
    """The e-mail's text/plain part, for clients that show no HTML."""
    lines = [preread.title, subtitle(preread)]
    if preread.calendar:
        lines.append(preread.calendar.line())
    lines += ["", headline(preread), "", "Open actions"]
    lines += [
        f"- due {a.due_on}{' OVERDUE' if a.overdue else ''}: {a.metric_label}, {a.assignee}: "
        f"{a.action_type}: {a.action}"
        + (f" [success check {a.success_check}: {a.success_reading}]" if a.success_check else "")
        for a in preread.open_actions
    ] or ["- No open actions in the decision log."]
    lines += [
        f"- {'MET' if c.met else 'NOT MET'} this week: {c.metric_label}: {c.action} "
        f"({c.assignee}); {c.success_check}: {c.success_reading}"
        for c in preread.checked_actions
    ]
    lines += ["", f"KPI summary, {preread.week_label}"]
    for kpi in preread.kpis:
        lines.append(
            f"- {kpi.label}: {format_value(kpi.value, kpi.format)} this week "
            f"({kpi.vs_last_week} vs last week), 4 weeks "
            f"{format_value(kpi.four_weeks, kpi.format)}, 13 weeks "
            f"{format_value(kpi.thirteen_weeks, kpi.format)} ({kpi.short_vs_long} 4 vs 13)"
            + (f"{' per week' if kpi.per_week else ''}; status {kpi.status_text}")
            + (f" on {kpi.judged.period_label}" if kpi.judged else "")
            + f"; owner {kpi.kpi_owner}"
        )
    if preread.forward:
        lines += ["", "Looking ahead"]
        lines += [
            f"- {card.label} {card.period_label}"
            + (f", {card.dimension_label}" if card.dimension_label != "all" else "")
            + f": {card.display_value} [{card.status_label}]"
            for card in preread.forward
        ]
    lines += ["", "Exceptions and proposed decisions"]
    lines += [
        f"- {item.kpi.status_text} {item.kpi.label} ({item.reason}); {item.kpi.kpi_owner} "
        f"proposes: {item.kpi.action_type}: {item.kpi.action}"
        for item in preread.exceptions
    ] or ["- No KPI of the weekly forum is red or yellow."]
    lines += [
        f"- RULE {rule.rule_label} ({rule.where}, {rule.period_label}): {rule.label} "
        f"{rule.reading}; {rule.kpi_owner} proposes: {rule.action_type}: {rule.action}"
        for rule in preread.fired_rules
    ]
    lines += ["", "Known data issues"]
    lines += [
        f"- {issue.outcome} (tier {issue.tier}) {issue.described} (fixed by {issue.owner})"
        for issue in preread.known_issues
    ] or [f"- {no_issues_text(preread)}"]
    if links:
        lines += ["", "Dashboards"] + [f"- {title}: {url}" for title, url in links]
    lines += ["", "The PDF attached is the same pre-read.", footer(preread)]
    return "\n".join(lines) + "\n"


class _PrereadPdf(FPDF):
    def __init__(self, preread: WeeklyPreread) -> None:
        super().__init__(orientation="landscape", unit="mm", format="A4")
        self.preread = preread
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(True, margin=12)
        self.set_title(latin1(preread.title))
        self.set_creator("Revenue OS")

    def footer(self) -> None:
        self.set_y(-9)
        self.set_font("helvetica", "", 6.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4, latin1(f"{footer(self.preread)}   page {self.page_no()}/{{nb}}"))


def _open_actions(pdf: FPDF, preread: WeeklyPreread) -> None:
    open_actions_pdf(
        pdf,
        f"1. Open actions ({len(preread.open_actions)}, {preread.overdue_actions} overdue)",
        preread.open_actions,
        preread.checked_actions,
        "checked this week",
    )


def _summary(pdf: FPDF, preread: WeeklyPreread) -> None:
    _heading(pdf, f"2. KPI summary, {preread.week_label}")
    with _table(
        pdf,
        [
            "KPI",
            "Status (its own period)",
            "This week",
            "vs last week",
            "4 weeks",
            "13 weeks",
            "4 vs 13",
            f"Last {LONG_WINDOW} weeks",
            "Owner",
        ],
        (46, 34, 20, 18, 20, 20, 16, 28, 28),
        ("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "LEFT", "LEFT"),
    ) as table:
        for kpi in preread.kpis:
            row = table.row()
            row.cell(latin1(kpi.label + ("" if kpi.is_final else " *")))
            judged = f"\n{kpi.judged.period_label}" if kpi.judged else ""
            row.cell(latin1(kpi.status_text + judged), style=_status_face(kpi.status))
            row.cell(latin1(format_value(kpi.value, kpi.format)), style=FontFace(emphasis="BOLD"))
            row.cell(latin1(kpi.vs_last_week))
            per_week = " /wk" if kpi.per_week else ""
            row.cell(latin1(format_value(kpi.four_weeks, kpi.format) + per_week))
            row.cell(latin1(format_value(kpi.thirteen_weeks, kpi.format) + per_week))
            row.cell(latin1(kpi.short_vs_long))
            values = preread.trends.get(kpi.metric_name)
            if values:
                row.cell(img=io.BytesIO(sparkline_svg(values, LONG_WINDOW)), img_fill_width=True)
            else:
                row.cell("")
            row.cell(latin1(kpi.kpi_owner))
    for note in footnotes(preread):
        _line(pdf, note, size=6.5)


def _exceptions(pdf: FPDF, preread: WeeklyPreread) -> None:
    _heading(pdf, f"{'4' if preread.forward else '3'}. Exceptions and proposed decisions")
    if not preread.exceptions and not preread.fired_rules:
        _line(pdf, "No KPI of the weekly forum is red or yellow, and no rule fired.")
        return
    with _table(pdf, ["Status", "KPI", "Owner", "Proposed decision"], (10, 34, 12, 60)) as table:
        for item in preread.exceptions:
            kpi = item.kpi
            row = table.row()
            row.cell(latin1(kpi.status_text), style=_status_face(kpi.status), align="CENTER")
            row.cell(
                latin1(
                    f"{kpi.label}\n{item.reason}\nThis week "
                    f"{format_value(kpi.value, kpi.format)} ({kpi.vs_last_week})"
                )
            )
            row.cell(latin1(kpi.kpi_owner))
            row.cell(latin1(f"{kpi.action_type}: {kpi.action}"))

        for rule in preread.fired_rules:
            row = table.row()
            row.cell(
                "RULE",
                style=FontFace(emphasis="BOLD", color=WHITE, fill_color=NAVY),
                align="CENTER",
            )
            row.cell(
                latin1(f"{rule.rule_label}\n{rule.where}, {rule.period_label}: {rule.reading}")
            )
            row.cell(latin1(rule.kpi_owner))
            row.cell(latin1(f"{rule.action_type}: {rule.action}"))


def render_preread_pdf(
    preread: WeeklyPreread, path: Path, links: Sequence[tuple[str, str]] = ()
) -> Path:
    """The pre-read as an A4 landscape PDF; `links` to the dashboards under the title."""
    pdf = _PrereadPdf(preread)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 15)
    pdf.set_text_color(*NAVY)
    pdf.cell(0, 8, latin1(preread.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 7.5)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 4, latin1(subtitle(preread)), new_x="LMARGIN", new_y="NEXT")
    if preread.calendar:
        pdf.cell(0, 4, latin1(preread.calendar.line()), new_x="LMARGIN", new_y="NEXT")
    if links:
        pdf.set_text_color(*SPARK_RGB)
        pdf.write(4, "Dashboards: ")
        for index, (title, url) in enumerate(links):
            pdf.write(4, latin1(title), link=url)
            if index < len(links) - 1:
                pdf.write(4, "  |  ")
        pdf.ln(4)
    pdf.set_font("helvetica", "B", 9)
    pdf.set_text_color(*INK)
    pdf.cell(0, 6, latin1(headline(preread)), new_x="LMARGIN", new_y="NEXT")
    _open_actions(pdf, preread)
    _summary(pdf, preread)
    forward_pdf(pdf, preread.forward, "3. ")
    _exceptions(pdf, preread)
    known_issues_pdf(pdf, preread.known_issues, no_issues_text(preread))
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path
