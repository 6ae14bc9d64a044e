"""The decision inventory (metrics/decisions.yml) against the contracts, and its generated page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from revenue_os.metrics import load_contracts
from revenue_os.metrics.decision_inventory import (
    INVENTORY_DOC,
    INVENTORY_FILE,
    InventoryError,
    inventory_is_current,
    load_inventory,
    render_inventory,
)

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def contracts():
    return load_contracts()


def test_the_committed_page_is_generated_from_the_inventory(contracts):
    assert inventory_is_current(contracts), (
        f"{INVENTORY_DOC.name} is out of date: run `revenue-os glossary` and commit it"
    )


def test_decisions_come_by_rank_and_every_kpi_serves_one(contracts):
    decisions = load_inventory(contracts)
    assert [d.rank for d in decisions] == sorted(d.rank for d in decisions)
    # Ranked 1 to n without gaps, as the file writes them (the loader only sorts).
    assert [d.rank for d in decisions] == list(range(1, len(decisions) + 1))
    assert decisions[0].name == "pipeline_coverage_and_pacing"
    served = {kpi for d in decisions for kpi in d.kpis}
    assert served == {name for name, c in contracts.items() if c.tier == "kpi"}
    page = render_inventory(decisions, contracts)
    # The weekly decisions' KPIs link to their glossary entries and say their forums.
    assert "[Pipeline coverage](metric-glossary.md#pipeline_coverage)" in page
    assert "- **Win rate (by count)** (Head of Sales; reviewed in weekly revenue meeting, " in page


def _copy(tmp_path: Path) -> Path:
    path = tmp_path / "decisions.yml"
    shutil.copy(INVENTORY_FILE, path)
    return path


def test_an_unknown_kpi_a_supporting_metric_and_an_unserved_kpi_are_named(tmp_path, contracts):
    path = _copy(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["decisions"][0]["kpis"] = ["pipeline_coverag", "won_amount"]
    data["decisions"][1]["rank"] = data["decisions"][2]["rank"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(InventoryError) as error:
        load_inventory(contracts, path)
    problems = error.value.problems
    assert "rank: each decision has a rank of its own" in problems
    assert (
        "decisions.0 (pipeline_coverage_and_pacing).kpis: unknown metric 'pipeline_coverag'"
        in problems
    )
    assert any("'won_amount' is a supporting metric" in p for p in problems)
    # Taken off the first decision, these KPIs now serve none.
    assert "sqls: a KPI that serves no decision; name it under one (or drop it)" in problems
