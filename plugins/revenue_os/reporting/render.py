"""The pack as an HTML e-mail (Jinja2) and as a one-page PDF (fpdf2).

Both show the same sections in the same order with the same formatted values. The PDF uses
fpdf2's core Helvetica, which needs no font file on the worker but only knows Latin-1: text
is transliterated first (`≥` becomes `>=`), and what has no Latin-1 form becomes `?` rather
than failing the send.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace
from fpdf.table import Table
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from revenue_os.metrics.formatting import format_change_vs_prior
from revenue_os.metrics.labels import label_of
from revenue_os.metrics.periods import trailing_label
from revenue_os.metrics.scorecard import SPARK_BLOCKS
from revenue_os.reporting.formatting import (
    STATUS_RGB,
    STATUS_TEXT_RGB,
    format_change,
    format_value,
)
from revenue_os.reporting.pack import (
    Breakdown,
    CheckedAction,
    ForwardKpi,
    KnownIssue,
    KpiException,
    KpiLine,
    OpenAction,
    ReportingPack,
)
from revenue_os.reporting.snapshot import TREND_MONTHS

TEMPLATES_DIR = Path(__file__).parent / "templates"

# Colours of everything but the statuses; none equals a status colour (see formatting.py).
NAVY = (31, 42, 68)
WHITE = (255, 255, 255)
INK = (33, 33, 33)
MUTED = (97, 97, 97)
ZEBRA = (244, 245, 247)
ISSUE_FILL = (253, 246, 227)
ISSUE_BORDER = (214, 201, 163)
OVERDUE_INK = (139, 26, 26)


SPARK_RGB = (26, 86, 219)  # the trend bars; no status colour
# The PDF's narrow column says the same in a word, under a header that names the window.
TRAILING_SHORT = {"total": "sum", "average": "avg", "growth": "vs 3 before"}


def breakdown_name(breakdown: Breakdown) -> str:
    """`channel Paid search`, `campaign us-search-brand-core`: the value as readers know it."""
    name = breakdown.dimension_name.replace("_", " ")
    return f"{name} {label_of(breakdown.dimension_name, breakdown.dimension_value)}"


def vs_prior(kpi: KpiLine) -> str:
    """The change against the prior month: in points for a percentage, in % otherwise."""
    return format_change_vs_prior(kpi.value, kpi.prior_value, kpi.format)


def trailing_words(kpi: KpiLine) -> str:
    """`3-month total`, `3-month average`: the pack reports months."""
    return trailing_label(kpi.trailing_basis, "month")


def _scaled(values: Sequence[Decimal | None]) -> list[float | None]:
    """Each value as 0..1 between the series' lowest and highest (0.5 for a flat series)."""
    numbers = [float(v) for v in values if v is not None]
    if not numbers:
        return [None for _ in values]
    low, high = min(numbers), max(numbers)
    return [
        None if v is None else (0.5 if high == low else (float(v) - low) / (high - low))
        for v in values
    ]


def sparkline(values: Sequence[Decimal | None]) -> str:
    """The months' values as block characters, lowest ▁ to highest █ (as the dashboards)."""
    last = len(SPARK_BLOCKS) - 1
    return "".join(" " if v is None else SPARK_BLOCKS[round(v * last)] for v in _scaled(values))


def sparkline_svg(values: Sequence[Decimal | None], months: int = TREND_MONTHS) -> bytes:
    """The same trend as bars in an SVG, for the PDF (its core fonts have no block glyphs)."""
    width, height, gap = 10 * months, 12, 2
    bars = []
    offset = months - len(values)
    for index, share in enumerate(_scaled(values)):
        if share is None:
            continue
        bar = 2 + share * (height - 2)
        bars.append(
            f'<rect x="{(offset + index) * 10}" y="{height - bar:.2f}" width="{10 - gap}" '
            f'height="{bar:.2f}" fill="{_hex(SPARK_RGB)}"/>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(bars)}</svg>'
    ).encode()


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def subtitle(pack: ReportingPack) -> str:
    build = str(pack.build_id)[:8] if pack.build_id else "unknown"
    return (
        f"KPIs of {pack.month:%B %Y} frozen on {pack.frozen_at:%Y-%m-%d} from mart build "
        f"{build}; open actions as of {pack.as_of}"
    )


def footer(pack: ReportingPack) -> str:
    return (
        "From the month-end KPI snapshot (ops.kpi_snapshots): the figures stay as sent while "
        f"the mart moves on. Rebuild: revenue-os pack --month {pack.month:%Y-%m}"
    )


def no_issues_text(pack: ReportingPack) -> str:
    """The known-issues box of a month without issues: all passed, or nothing was checked."""
    if pack.checks_run:
        return (
            f"All {pack.checks_run} data-quality checks passed on the mart build these numbers "
            "were frozen from."
        )
    return (
        "No data-quality results are recorded for the mart build these numbers were frozen "
        "from: their quality is unknown."
    )


def summary_footnotes(pack: ReportingPack) -> list[str]:
    """What a reader of the KPI summary must know about its marks."""
    notes = [
        f"{grain}ly: judged on the {grain}'s value (below), not the month's."
        for grain in pack.judged_on_other_grains
    ]
    if pack.provisional:
        notes.append(
            "* Provisional: not final when frozen (its contract's final_after_days had not "
            "passed, e.g. a cohort still converting); freeze it again once it is "
            f"(revenue-os pack --month {pack.month:%Y-%m} --refreeze)."
        )
    return notes


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(
        value=format_value,
        change=format_change,
        vs_prior=vs_prior,
        trailing_basis=trailing_words,
        breakdown_name=breakdown_name,
    )
    return environment


def render_html(pack: ReportingPack, links: Sequence[tuple[str, str]] = ()) -> str:
    """The pack as a one-page HTML e-mail, styled inline; `links` to the dashboards."""
    return (
        _environment()
        .get_template("pack.html")
        .render(
            pack=pack,
            links=links,
            subtitle=subtitle(pack),
            footer=footer(pack),
            footnotes=summary_footnotes(pack),
            no_issues=no_issues_text(pack),
            sparklines={name: sparkline(values) for name, values in pack.trends.items()},
            trend_months=TREND_MONTHS,
            colours={status: _hex(rgb) for status, rgb in STATUS_RGB.items()},
            text_colours={status: _hex(rgb) for status, rgb in STATUS_TEXT_RGB.items()},
        )
    )


def render_text(pack: ReportingPack, links: Sequence[tuple[str, str]] = ()) -> str:
    """The e-mail's text/plain part: the summary, every KPI with its status and change, the
    exceptions and where to read more, for clients and previews that show no HTML."""
    lines = [pack.title, subtitle(pack)]
    if pack.calendar:
        lines.append(pack.calendar.line())
    lines += [
        "",
        f"{pack.behind + ' ' if pack.behind else ''}"
        f"{pack.count('red')} red, {pack.count('yellow')} yellow, {pack.count('green')} green "
        f"of {len(pack.kpis)} KPIs; {len(pack.open_actions)} open actions, "
        f"{pack.overdue_actions} overdue.",
        "",
        "KPI summary",
    ]
    for kpi in pack.kpis:
        lines.append(
            f"- {kpi.label}{'' if kpi.is_final else ' *'}: {format_value(kpi.value, kpi.format)}"
            f" [{kpi.status_text}], {vs_prior(kpi)} vs prior month, "
            f"{trailing_words(kpi)} {format_value(kpi.trailing_value, kpi.format)}; "
            f"owner {kpi.kpi_owner}"
        )
    if pack.quarter:
        lines += ["", f"Judged on the quarter: {pack.quarter[0].period_label}"]
        lines += [
            f"- {card.label}: {card.display_value} [{card.status_label}]"
            + (f" ({card.note})" if card.note else "")
            for card in pack.quarter
        ]
    if pack.forward:
        lines += ["", "Looking ahead"]
        lines += [
            f"- {card.label} {card.period_label}"
            + (f", {card.dimension_label}" if card.dimension_label != "all" else "")
            + f": {card.display_value} [{card.status_label}]"
            for card in pack.forward
        ]
    lines += ["", "Exceptions"]
    lines += [
        f"- {item.kpi.status_text} {item.kpi.label}: {format_value(item.kpi.value, item.kpi.format)}"
        f" ({item.kpi.breached_said}); {item.kpi.kpi_owner}: {item.kpi.action_type}: {item.kpi.action}"
        for item in pack.exceptions
    ] or ["- No KPI is red or yellow this month."]
    lines += ["", "Known data issues"]
    lines += [
        f"- {issue.outcome} (tier {issue.tier}) {issue.described} (fixed by {issue.owner})"
        for issue in pack.known_issues
    ] or [f"- {no_issues_text(pack)}"]
    lines += summary_footnotes(pack)
    if links:
        lines += ["", "Dashboards"] + [f"- {title}: {url}" for title, url in links]
    lines += ["", "The PDF attached is the same pack.", footer(pack)]
    return "\n".join(lines) + "\n"


# --- PDF ---------------------------------------------------------------------------------

# Escaped: these characters look like their replacements, which is the point.
_TRANSLITERATIONS = str.maketrans(
    {
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2212": "-",  # minus sign
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": ",",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2022": "-",  # bullet
        "\u2026": "...",
        "\u2265": ">=",
        "\u2264": "<=",
        "\u2260": "!=",
        "\u2192": "->",
        "\u2190": "<-",
        "\u20ac": "EUR",
        "\u00a0": " ",  # no-break space
        "\u202f": " ",  # narrow no-break space
    }
)


def _folded(character: str) -> str:
    """A character outside Latin-1 by its compatibility form without accents (`Š` is `S`)."""
    decomposed = unicodedata.normalize("NFKD", character)
    kept = "".join(c for c in decomposed if ord(c) < 256 and not unicodedata.combining(c))
    return kept or "?"


def latin1(text: str) -> str:
    """Text the core PDF fonts can draw: Latin-1 as it is, the rest transliterated or `?`."""
    text = str(text).translate(_TRANSLITERATIONS)
    return "".join(c if ord(c) < 256 else _folded(c) for c in text)


class _PackPdf(FPDF):
    def __init__(self, pack: ReportingPack) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.pack = pack
        self.set_margins(10, 10, 10)
        self.set_auto_page_break(True, margin=12)
        self.set_title(latin1(pack.title))
        self.set_creator("Revenue OS")

    def footer(self) -> None:
        self.set_y(-9)
        self.set_font("helvetica", "", 6.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4, latin1(f"{footer(self.pack)}   page {self.page_no()}/{{nb}}"), align="L")


def _heading(pdf: FPDF, text: str) -> None:
    if pdf.will_page_break(24):  # a heading never ends a page without its first rows
        pdf.add_page()
    pdf.ln(2.5)
    pdf.set_font("helvetica", "B", 10.5)
    pdf.set_text_color(*NAVY)
    pdf.cell(0, 6, latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)


@contextmanager
def _table(
    pdf: FPDF, headings: Sequence[str], col_widths: Sequence[float], aligns: Sequence[str] = ()
) -> Iterator[Table]:
    """A table in the pack's style with its heading row written."""
    pdf.set_font("helvetica", "", 7)
    pdf.set_text_color(*INK)
    # The gutter keeps the status fills of consecutive rows apart: one badge per KPI.
    with pdf.table(
        col_widths=col_widths,
        width=pdf.epw,
        borders_layout="NONE",
        cell_fill_color=ZEBRA,
        cell_fill_mode="ROWS",
        gutter_height=0.6,
        line_height=3.0,
        padding=(0.5, 1.2),
        text_align=tuple(aligns or ["LEFT"] * len(col_widths)),
        headings_style=FontFace(emphasis="BOLD", color=WHITE, fill_color=NAVY),
        v_align="TOP",
    ) as table:
        table.row([latin1(heading) for heading in headings])
        yield table


def _status_face(status: str | None) -> FontFace | None:
    if status not in STATUS_RGB:
        return None
    return FontFace(emphasis="BOLD", color=STATUS_TEXT_RGB[status], fill_color=STATUS_RGB[status])


def action_text(action: OpenAction) -> str:
    """An open action as the PDFs write it: the action, then what the forum expects, the
    success check and what it read, and the evidence, a line each."""
    lines = [f"{action.action_type}: {action.action}"]
    if action.assignee != action.owner:
        lines.append(f"Decided by {action.owner}")
    if action.expected_impact:
        lines.append(f"Expected: {action.expected_impact}")
    if action.success_check:
        lines.append(f"Success check: {action.success_check}: {action.success_reading}")
    if action.evidence_url:
        lines.append(f"Evidence: {action.evidence_url}")
    return "\n".join(lines)


def open_actions_pdf(
    pdf: FPDF,
    heading: str,
    actions: Sequence[OpenAction],
    checked: Sequence[CheckedAction],
    since: str,
) -> None:
    """The open actions table (overdue and unmet checks marked), then the checks that ran."""
    _heading(pdf, heading)
    if not actions:
        _line(pdf, "No open actions in the decision log.")
    else:
        with _table(pdf, ["Due", "KPI", "Assignee", "Action"], (14, 23, 13, 50)) as table:
            for action in actions:
                row = table.row()
                if action.overdue:
                    row.cell(
                        latin1(f"{action.due_on}\nOVERDUE"),
                        style=FontFace(emphasis="BOLD", color=OVERDUE_INK),
                    )
                else:
                    row.cell(latin1(str(action.due_on)))
                row.cell(latin1(action.metric_label))
                row.cell(latin1(action.assignee))
                row.cell(
                    latin1(action_text(action)),
                    style=FontFace(color=OVERDUE_INK) if action.success_not_met else None,
                )
    for item in checked:
        _line(
            pdf,
            f"{'MET' if item.met else 'NOT MET'} ({since}) {item.metric_label}: {item.action} "
            f"({item.assignee}). {item.success_check}: {item.success_reading}.",
            size=7,
        )


def _open_actions(pdf: FPDF, pack: ReportingPack) -> None:
    open_actions_pdf(
        pdf,
        f"Open actions ({len(pack.open_actions)}, {pack.overdue_actions} overdue)",
        pack.open_actions,
        pack.checked_actions,
        "checked since the last pack",
    )


def _kpi_summary(pdf: FPDF, pack: ReportingPack) -> None:
    _heading(pdf, "KPI summary")
    with _table(
        pdf,
        [
            "KPI",
            "Status",
            f"{pack.month:%b %Y}",
            "Prior month",
            "Change",
            "Trailing 3 mo.",
            f"Last {TREND_MONTHS} mo.",
            "Owner",
        ],
        (46, 15, 20, 20, 15, 27, 14, 33),
        ("LEFT", "CENTER", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "LEFT", "LEFT"),
    ) as table:
        for kpi in pack.kpis:
            row = table.row()
            row.cell(latin1(kpi.label + ("" if kpi.is_final else " *")))
            row.cell(latin1(kpi.status_text), style=_status_face(kpi.status))
            row.cell(latin1(format_value(kpi.value, kpi.format)), style=FontFace(emphasis="BOLD"))
            row.cell(latin1(format_value(kpi.prior_value, kpi.format)))
            row.cell(latin1(vs_prior(kpi)))
            row.cell(
                latin1(
                    f"{format_value(kpi.trailing_value, kpi.format)} "
                    f"{TRAILING_SHORT.get(kpi.trailing_basis, '')}"
                )
            )
            values = pack.trends.get(kpi.metric_name)
            if values:
                row.cell(img=io.BytesIO(sparkline_svg(values)), img_fill_width=True)
            else:
                row.cell("")
            row.cell(latin1(kpi.kpi_owner))
    for note in summary_footnotes(pack):
        _line(pdf, note, size=6.5)


def forward_pdf(pdf: FPDF, forward: Sequence[ForwardKpi], number: str = "") -> None:
    """The forward-looking KPIs (pipeline coverage of the quarter in progress, at-risk
    renewals of the month) as a table, each in its own period."""
    if not forward:
        return
    _cards_pdf(pdf, f"{number}Looking ahead: the period in progress", forward, periods=True)
    for note in dict.fromkeys(card.note for card in forward if card.note):
        _line(pdf, note, size=6.5)


def _cards_pdf(
    pdf: FPDF, heading: str, cards: Sequence[ForwardKpi], *, periods: bool = False
) -> None:
    _heading(pdf, heading)
    columns, widths, aligns = ["KPI", "Value", "Status"], [60, 20, 20], ["LEFT", "RIGHT", "CENTER"]
    if periods:
        columns.insert(1, "Period")
        widths = [48, 16, 18, 18]
        aligns.insert(1, "LEFT")
    with _table(pdf, columns, tuple(widths), tuple(aligns)) as table:
        for card in cards:
            row = table.row()
            where = "" if card.dimension_label == "all" else f", {card.dimension_label}"
            row.cell(latin1(f"{card.label}{where}"))
            if periods:
                row.cell(latin1(card.period_label))
            row.cell(latin1(card.display_value), style=FontFace(emphasis="BOLD"))
            row.cell(
                latin1(card.status.upper() if card.status in STATUS_RGB else card.status_label),
                style=_status_face(card.status),
            )


def _forward(pdf: FPDF, pack: ReportingPack) -> None:
    if pack.quarter:
        _cards_pdf(pdf, f"Judged on the quarter: {pack.quarter[0].period_label}", pack.quarter)
    forward_pdf(pdf, pack.forward)


def _breakdown_text(item: KpiException) -> str:
    if not item.breakdowns:
        return ""
    fmt = item.kpi.format
    if item.breakdown_rule == "decline":
        parts = [
            f"{breakdown_name(b)} {format_value(b.value, fmt)} ({format_change(b.change, fmt)})"
            for b in item.breakdowns
        ]
        return "Largest declines vs prior month: " + "; ".join(parts)
    parts = [f"{breakdown_name(b)} {format_value(b.value, fmt)}" for b in item.breakdowns]
    return "Worst in the red: " + "; ".join(parts)


def _exceptions(pdf: FPDF, pack: ReportingPack) -> None:
    _heading(pdf, "Exceptions")
    if not pack.exceptions:
        _line(pdf, "No KPI is red or yellow this month.")
        return
    with _table(pdf, ["Status", "KPI", "Owner", "Action on breach"], (10, 30, 11, 56)) as table:
        for item in pack.exceptions:
            kpi: KpiLine = item.kpi
            row = table.row()
            row.cell(latin1(kpi.status_text), style=_status_face(kpi.status), align="CENTER")
            row.cell(
                latin1(
                    f"{kpi.label}{'' if kpi.is_final else ' *'}\n"
                    f"{format_value(kpi.value, kpi.format)} ({kpi.status}: {kpi.breached_said})"
                )
            )
            row.cell(latin1(kpi.kpi_owner))
            breakdown = _breakdown_text(item)
            row.cell(
                latin1(f"{kpi.action_type}: {kpi.action}" + (f"\n{breakdown}" if breakdown else ""))
            )


def known_issues_pdf(pdf: FPDF, issues: Sequence[KnownIssue], no_issues: str) -> None:
    """The known data issues box: each check not passed, its table and KPIs, who fixes it."""
    _heading(pdf, "Known data issues")
    lines = []
    for issue in issues:
        text = f"{issue.outcome.replace('_', ' ')} (tier {issue.tier}) {issue.described}"
        if issue.measured is not None:
            text += f", measured {issue.measured}"
        if issue.threshold:
            text += f", threshold {issue.threshold}"
        if issue.kpis:
            text += f". Affects {', '.join(issue.kpis)}"
        lines.append(f"{text}. Fixed by {issue.owner}.")
    pdf.set_font("helvetica", "", 7.5)
    pdf.set_fill_color(*ISSUE_FILL)
    pdf.set_draw_color(*ISSUE_BORDER)
    pdf.set_text_color(*INK)
    body = "\n".join(lines) or no_issues
    pdf.multi_cell(0, 3.6, latin1(body), border=1, fill=True, padding=1.5)


def _known_issues(pdf: FPDF, pack: ReportingPack) -> None:
    known_issues_pdf(pdf, pack.known_issues, no_issues_text(pack))


def _confidence_notes(pdf: FPDF, pack: ReportingPack) -> None:
    if not pack.confidence_notes:
        return
    _heading(pdf, "Confidence notes")
    for note in pack.confidence_notes:
        pdf.set_font("helvetica", "B", 7)
        pdf.set_text_color(*INK)
        pdf.write(3.3, latin1(f"{note.label} ({note.level} confidence)"))
        pdf.set_font("helvetica", "", 7)
        if note.note:
            pdf.write(3.3, latin1(f": {note.note}"))
        if note.issues:
            pdf.set_text_color(*OVERDUE_INK)
            pdf.write(3.3, latin1(f" Known issue: {'; '.join(note.issues)}."))
        pdf.ln(4)


def _line(pdf: FPDF, text: str, size: float = 7.5) -> None:
    pdf.set_font("helvetica", "", size)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, 3.6, latin1(text), new_x="LMARGIN", new_y="NEXT")


def render_pdf(pack: ReportingPack, path: Path, links: Sequence[tuple[str, str]] = ()) -> Path:
    """The pack as an A4 PDF; `links` to the dashboards under the title."""
    pdf = _PackPdf(pack)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 15)
    pdf.set_text_color(*NAVY)
    pdf.cell(0, 8, latin1(pack.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 7.5)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 4, latin1(subtitle(pack)), new_x="LMARGIN", new_y="NEXT")
    if pack.calendar:
        pdf.cell(0, 4, latin1(pack.calendar.line()), new_x="LMARGIN", new_y="NEXT")
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
    summary = (
        f"{pack.count('red')} red, {pack.count('yellow')} yellow, {pack.count('green')} green "
        f"of {len(pack.kpis)} KPIs; {len(pack.open_actions)} open actions, "
        f"{pack.overdue_actions} overdue."
    )
    if pack.behind:
        pdf.multi_cell(0, 5, latin1(pack.behind), new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 6, latin1(summary), new_x="LMARGIN", new_y="NEXT")
    _open_actions(pdf, pack)
    _kpi_summary(pdf, pack)
    _forward(pdf, pack)
    _exceptions(pdf, pack)
    _known_issues(pdf, pack)
    _confidence_notes(pdf, pack)
    path.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(path))
    return path
