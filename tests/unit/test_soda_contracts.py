"""The data-quality contracts as files: each parses, names its dataset through the variables,
and gives every check a tier (1 blocks the publish, 2 is a known issue)."""

from __future__ import annotations

import re

import pytest
import yaml

from revenue_os.metrics import load_contracts
from revenue_os.metrics.slas import freshness_slas
from revenue_os.paths import SODA_CONTRACTS_DIR

CONTRACTS = sorted(SODA_CONTRACTS_DIR.glob("*/*.yml"))


def checks_of(contract: dict) -> list[tuple[str, dict]]:
    found = []
    for column in contract.get("columns", []):
        for check in column.get("checks", []):
            ((kind, body),) = check.items()
            found.append((f"{column['name']}.{kind}", body or {}))
    for check in contract.get("checks", []):
        ((kind, body),) = check.items()
        found.append((f"{kind}.{(body or {}).get('qualifier', '')}", body or {}))
    return found


def test_every_layer_has_contracts():
    assert {p.parent.name for p in CONTRACTS} == {"raw", "staging", "mart"}
    assert len(CONTRACTS) >= 14


@pytest.mark.parametrize("path", CONTRACTS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_contract_names_its_dataset_and_tiers_every_check(path):
    contract = yaml.safe_load(path.read_text())
    assert set(contract["variables"]) == {"database", "schema"}
    assert re.fullmatch(
        r"warehouse/\$\{var\.database\}/(\$\{var\.schema\}|ops)/\w+", contract["dataset"]
    )
    checks = checks_of(contract)
    assert checks
    untiered = [
        name for name, body in checks if (body.get("attributes") or {}).get("tier") not in (1, 2)
    ]
    assert untiered == []


def test_the_freshness_checks_block_at_the_slas_of_the_metric_contracts():
    """The gate's freshness checks (static YAML) against the SLAs the watchdog and the Data
    Health dashboard compute from the metric contracts, source by source."""
    contract = yaml.safe_load((SODA_CONTRACTS_DIR / "mart" / "source_freshness.yml").read_text())
    thresholds = {
        check["metric"]["qualifier"].removesuffix("_hours_since_load"): check["metric"][
            "threshold"
        ]["must_be_less_than"]
        for check in contract["checks"]
    }
    slas = freshness_slas(load_contracts())
    assert thresholds == {source: hours for source, hours in slas.items() if source != "mart"}
