"""The decision inventory (metrics/decisions.yml): the recurring decisions the KPIs serve.

The seed's order of work is decisions first, metrics second: each decision names its owner,
its forum and the KPIs it is made from, ranked by dollar impact and frequency. Kept beside the
contracts and checked against them (every KPI named exists, every KPI serves a decision), and
rendered into docs/decision-inventory.md with the glossary, so the inventory, the contracts and
the forums cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from revenue_os.metrics.contract import FORUM_NAMES, MetricContract
from revenue_os.paths import METRICS_DIR, PROJECT_ROOT
from revenue_os.yaml_files import read_yaml

INVENTORY_FILE = METRICS_DIR / "decisions.yml"
INVENTORY_DOC = PROJECT_ROOT / "docs" / "decision-inventory.md"
DecisionForum = Literal["weekly", "monthly", "quarterly"]
_FORUM_WORDS = {**FORUM_NAMES, "quarterly": "quarterly review"}
Text = Annotated[str, Field(min_length=1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Decision(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
    rank: Annotated[int, Field(ge=1)]
    question: Text
    owner: Text
    forum: DecisionForum
    impact: Text
    kpis: Annotated[list[Text], Field(min_length=1)]
    missing_inputs: list[Text] = Field(default_factory=list)


class Inventory(_Strict):
    version: Literal[1]
    decisions: Annotated[list[Decision], Field(min_length=1)]


class InventoryError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(
            f"{len(problems)} problem(s) in metrics/decisions.yml:\n" + "\n".join(problems)
        )


def load_inventory(
    contracts: Mapping[str, MetricContract], path: Path = INVENTORY_FILE
) -> list[Decision]:
    """The decisions by rank; refuses unknown KPIs, KPIs serving no decision, repeated ranks."""
    try:
        inventory = Inventory.model_validate(read_yaml(path))
    except ValidationError as error:
        raise InventoryError(
            [
                f"{'.'.join(str(part) for part in detail['loc'])}: {detail['msg']}"
                for detail in error.errors()
            ]
        ) from None
    problems = []
    ranks = [d.rank for d in inventory.decisions]
    if len(set(ranks)) != len(ranks):
        problems.append("rank: each decision has a rank of its own")
    names = [d.name for d in inventory.decisions]
    if len(set(names)) != len(names):
        problems.append("name: a decision is listed twice")
    for index, decision in enumerate(inventory.decisions):
        for kpi in decision.kpis:
            contract = contracts.get(kpi)
            if contract is None:
                problems.append(f"decisions.{index} ({decision.name}).kpis: unknown metric {kpi!r}")
            elif contract.tier != "kpi":
                problems.append(
                    f"decisions.{index} ({decision.name}).kpis: {kpi!r} is a supporting metric; "
                    "a decision is made from KPIs"
                )
    served = {kpi for decision in inventory.decisions for kpi in decision.kpis}
    for name, contract in contracts.items():
        if contract.tier == "kpi" and name not in served:
            problems.append(
                f"{name}: a KPI that serves no decision; name it under one (or drop it)"
            )
    if problems:
        raise InventoryError(problems)
    return sorted(inventory.decisions, key=lambda d: d.rank)


def render_inventory(decisions: list[Decision], contracts: Mapping[str, MetricContract]) -> str:
    lines = [
        "# Decision inventory",
        "",
        "Generated from `metrics/decisions.yml` by `revenue-os glossary`; do not edit by hand.",
        "The recurring revenue decisions the operating system serves, ranked by dollar impact",
        "and frequency, each with its owner, the forum it is made in and the KPIs it is made",
        "from (their definitions are in the [metric glossary](metric-glossary.md)). Inputs the",
        "mart does not hold yet are named, so nobody decides believing they are covered.",
        "",
        "| rank | decision | owner | forum | KPIs | not in the mart yet |",
        "| ---: | --- | --- | --- | --- | --- |",
    ]
    for decision in decisions:
        kpis = ", ".join(
            f"[{contracts[kpi].label}](metric-glossary.md#{kpi})" for kpi in decision.kpis
        )
        missing = "; ".join(decision.missing_inputs) or "-"
        lines.append(
            f"| {decision.rank} | {decision.question} | {decision.owner} | "
            f"{_FORUM_WORDS[decision.forum]} | {kpis} | {missing} |"
        )
    lines += ["", "## What each decision weighs", ""]
    for decision in decisions:
        lines += [
            f"### {decision.rank}. {decision.question}",
            "",
            f"Owner: {decision.owner}. Forum: {_FORUM_WORDS[decision.forum]}. "
            f"At stake: {decision.impact}",
            "",
        ]
        for kpi in decision.kpis:
            contract = contracts[kpi]
            forums = ", ".join(FORUM_NAMES[f] for f in contract.forums)
            action = contract.action_on_breach
            lines.append(
                f"- **{contract.label}** ({contract.owner.kpi_owner}; reviewed in {forums})"
                + (f": on breach, {action.type}." if action else ".")
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_inventory(contracts: Mapping[str, MetricContract], path: Path = INVENTORY_DOC) -> bool:
    text = render_inventory(load_inventory(contracts), contracts)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def inventory_is_current(
    contracts: Mapping[str, MetricContract], path: Path = INVENTORY_DOC
) -> bool:
    text = render_inventory(load_inventory(contracts), contracts)
    return path.exists() and path.read_text(encoding="utf-8") == text
