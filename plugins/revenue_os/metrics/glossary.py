"""The metric glossary (docs/metric-glossary.md), generated from the contracts.

Generated so that it can never disagree with the numbers: the same contracts feed the KPI
layer. The output depends on the contracts alone (no dates, no environment), so a check in CI
can compare the committed file with a fresh rendering.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from revenue_os.metrics.contract import (
    AREAS,
    FORUM_NAMES,
    ChangeRule,
    FormulaCalculation,
    GrowthCalculation,
    LevelRule,
    MetricContract,
    RatioCalculation,
    SimpleCalculation,
)
from revenue_os.metrics.formatting import format_condition
from revenue_os.metrics.periods import TRAILING_PERIODS
from revenue_os.metrics.sql_text import METRIC_REFERENCE
from revenue_os.paths import PROJECT_ROOT

GLOSSARY_PATH = PROJECT_ROOT / "docs" / "metric-glossary.md"
_FORMATS = {
    "usd": "US dollars",
    "percent": "percent (stored in points: 70 means 70 %)",
    "ratio": "ratio (a multiple)",
    "count": "count",
    "days": "days",
    "months": "months",
}


def render_glossary(contracts: Mapping[str, MetricContract]) -> str:
    lines = [
        "# Metric glossary",
        "",
        "Generated from `metrics/*.yaml` by `revenue-os glossary`; do not edit by hand (edit the",
        "contract and regenerate). Each area lists its KPIs (reviewed in the forums, with",
        "thresholds and an action on breach) first, then the supporting building blocks.",
        "",
        "Trailing values cover "
        + ", ".join(f"{count} {grain}s" for grain, count in TRAILING_PERIODS.items())
        + " ending with the period; ratios over a window are ratios of sums.",
        "",
    ]
    by_area = {area: _sorted([c for c in contracts.values() if c.area == area]) for area in AREAS}
    by_area = {area: members for area, members in by_area.items() if members}
    lines.append("| area | KPIs | supporting |")
    lines.append("| --- | --- | --- |")
    for area, members in by_area.items():
        kpis = ", ".join(f"[{c.label}](#{c.name})" for c in members if c.tier == "kpi")
        supporting = sum(1 for c in members if c.tier == "supporting")
        lines.append(f"| {area} | {kpis or '-'} | {supporting} |")
    lines.append("")
    for area, members in by_area.items():
        lines += [f"## {area.capitalize()}", ""]
        for contract in members:
            lines += _entry(contract, contracts)
    return "\n".join(lines).rstrip() + "\n"


def write_glossary(contracts: Mapping[str, MetricContract], path: Path = GLOSSARY_PATH) -> bool:
    """Write the glossary; True when the file changed."""
    text = render_glossary(contracts)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def glossary_is_current(
    contracts: Mapping[str, MetricContract], path: Path = GLOSSARY_PATH
) -> bool:
    return path.exists() and path.read_text(encoding="utf-8") == render_glossary(contracts)


def _sorted(members: list[MetricContract]) -> list[MetricContract]:
    return sorted(members, key=lambda contract: (contract.tier != "kpi", contract.name))


def _entry(contract: MetricContract, contracts: Mapping[str, MetricContract]) -> list[str]:
    tier = "KPI" if contract.tier == "kpi" else "supporting"
    words, code = _formula(contract, contracts)
    rows = [
        ("Definition", contract.definition),
        ("Decision it serves", contract.decision),
        ("Formula", words),
        ("SQL", code),
        ("Grain", ", ".join(contract.grain)),
        ("Dimensions", _dimensions(contract)),
        ("Unit", f"{_FORMATS[contract.format]}, {contract.direction.replace('_', ' ')}"),
        ("Source of truth", contract.source_of_truth),
        ("Includes", "; ".join(contract.inclusions) or "-"),
        ("Excludes", "; ".join(contract.exclusions) or "-"),
        ("Refresh SLA", _refresh_sla(contract)),
        ("Owner / steward", f"{contract.owner.kpi_owner} / {contract.owner.steward}"),
        ("Confidence", f"{contract.confidence.level}: {contract.confidence.note}"),
    ]
    if contract.thresholds is not None:
        thresholds = contract.thresholds
        bands = (
            ("green", thresholds.green),
            ("yellow", thresholds.yellow),
            ("red", thresholds.red),
        )
        # In the value's own unit, as the alerts and the pack say them; the contract's
        # expressions after, since those are what is judged.
        rows.append(
            (
                "Thresholds",
                f"judged per {thresholds.period}"
                + (" in progress" if contract.is_forward_looking else "")
                + ": "
                + ", ".join(
                    f"{band} {format_condition(condition, contract.format)}"
                    for band, condition in bands
                )
                + " (in the contract: "
                + ", ".join(f"`{condition}`" for _, condition in bands)
                + ")",
            )
        )
    if contract.action_on_breach is not None:
        action = contract.action_on_breach
        rows.append(("Action on breach", f"**{action.type}**: {action.action}"))
    if contract.tier == "kpi":
        rows.append(("Reviewed in", ", ".join(FORUM_NAMES[forum] for forum in contract.forums)))
    for rule in contract.rules:
        rows.append((f"Rule `{rule.name}`", _rule(rule)))
    lines = [
        f'<a id="{contract.name}"></a>',
        f"### {contract.label}",
        "",
        f"`{contract.name}` · {tier}",
        "",
        "| | |",
        "| --- | --- |",
    ]
    lines += [f"| {field} | {_cell(text)} |" for field, text in rows]
    lines.append("")
    return lines


def _window(periods: int, grain: str) -> str:
    return f"the {grain}" if periods == 1 else f"{periods} {grain}s"


def _rule(rule: ChangeRule | LevelRule) -> str:
    """A rule in words: what is compared with what, when it fires, on which slices, the action."""
    slices = "the total" + "".join(f" and each {d.replace('_', ' ')}" for d in rule.dimensions)
    if isinstance(rule, ChangeRule):
        when = (
            f"{_window(rule.compare, rule.grain)} against the {_window(rule.baseline, rule.grain)}"
            f" before, fires when the change is `{rule.change}` %"
        )
        if rule.running > 1:
            when += f", {rule.running} windows running"
        if rule.minimum is not None:
            when += f", judged on at least {rule.minimum.at_least:g} {rule.minimum.metric}"
    else:
        period = "next" if rule.period == "next" else "latest complete"
        when = f"the {period} {rule.grain}, fires when the value is `{rule.value}`"
    return f"{rule.label}: {when}; on {slices}. **{rule.action.type}**: {rule.action.action}"


def _formula(contract: MetricContract, contracts: Mapping[str, MetricContract]) -> tuple[str, str]:
    calculation = contract.calculation
    if isinstance(calculation, SimpleCalculation):
        words = (
            f"`{calculation.expression}` over the rows of `{calculation.model}`, each placed in "
            f"the period of its `{calculation.time_column}`"
        )
        if calculation.default_filters:
            defaults = ", ".join(f"{k} = {v}" for k, v in calculation.default_filters.items())
            words += f"; unless broken out, {defaults}"
        code = (
            f"select date_trunc(<grain>, {calculation.time_column})::date as period_start, "
            f"{calculation.expression} from {calculation.model}"
        )
        if calculation.filter:
            code += f" where {' '.join(calculation.filter.split())}"
        return words, f"`{code} group by 1`"
    if isinstance(calculation, RatioCalculation):
        scale = (
            ""
            if calculation.multiplier == 1
            else f" \N{MULTIPLICATION SIGN} {calculation.multiplier:g}"
        )
        words = (
            f"{_link(calculation.numerator, contracts)} ÷ "
            f"{_link(calculation.denominator, contracts)}{scale}, each side summed to the "
            "period and dimension first"
        )
        code = f"{calculation.numerator} * {calculation.multiplier:g} / nullif({calculation.denominator}, 0)"
        return words, f"`{code}`"
    if isinstance(calculation, GrowthCalculation):
        words = (
            f"({_link(calculation.of, contracts)} this period \N{MINUS SIGN} previous period) ÷ previous "
            "period \N{MULTIPLICATION SIGN} 100"
        )
        code = (
            f"({calculation.of} - lag({calculation.of})) * 100 / nullif(lag({calculation.of}), 0)"
        )
        return words, f"`{code}`"
    assert isinstance(calculation, FormulaCalculation)
    words = METRIC_REFERENCE.sub(lambda m: _link(m.group(1), contracts), calculation.expression)
    return words, f"`{calculation.expression}`"


def _link(name: str, contracts: Mapping[str, MetricContract]) -> str:
    contract = contracts.get(name)
    return f"[{contract.label if contract else name}](#{name})"


def _dimensions(contract: MetricContract) -> str:
    if not contract.dimensions:
        return "-"
    simple = isinstance(contract.calculation, SimpleCalculation)

    def described(name: str, column: str | None) -> str:
        notes = [f"`{column}`"] if simple else []
        if name in contract.dimension_grains:
            notes.append(f"by {' and '.join(contract.dimension_grains[name])} only")
        return f"{name} ({', '.join(notes)})" if notes else name

    return ", ".join(described(name, column) for name, column in contract.dimensions.items())


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _refresh_sla(contract: MetricContract) -> str:
    sla = contract.refresh_sla
    final = f" Final {sla.final_after_days} days after the period." if sla.final_after_days else ""
    return f"{sla.hours} h.{final} {sla.note}"
