"""The data-quality contracts: the files in soda/ joined with the models' declared data tests.
Each parses, names its dataset through the variables, and gives every check a tier (1 blocks
the publish, 2 is a known issue); a simple check is declared once, as a data test beside its
column, and becomes the Soda check with a query for failing examples."""

from __future__ import annotations

import re
import shutil

import pytest
import yaml

from revenue_os.metrics import load_contracts
from revenue_os.metrics.slas import freshness_slas
from revenue_os.paths import MODELS_DIR, SODA_CONTRACTS_DIR
from revenue_os.quality.model_checks import ContractError, contracts
from revenue_os.transform.properties import PropertiesError, load_properties

CONTRACTS = sorted(SODA_CONTRACTS_DIR.glob("*/*.yml"))
COMPOSED = {
    f"{layer}/{contract.dataset}": yaml.safe_load(contract.text)
    for layer in ("raw", "staging", "mart")
    for contract in contracts(layer)
}


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
    assert {name.split("/")[0] for name in COMPOSED} == {"raw", "staging", "mart"}
    assert len(COMPOSED) >= 15


@pytest.mark.parametrize("name", sorted(COMPOSED))
def test_contract_names_its_dataset_and_tiers_every_check(name):
    contract = COMPOSED[name]
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


def test_a_models_data_tests_become_its_soda_checks_with_examples():
    """fct_opportunities: the tests declared beside its columns, as Soda checks with a query
    for failing keys, then the checks its file adds."""
    contract = COMPOSED["mart/fct_opportunities"]
    columns = {entry["name"]: entry["checks"] for entry in contract["columns"]}
    assert [next(iter(check)) for check in columns["opportunity_id"]] == ["missing", "duplicate"]
    duplicate = columns["opportunity_id"][1]["duplicate"]["attributes"]
    assert duplicate == {
        "tier": 1,
        "examples": "SELECT opportunity_id FROM ${var.schema}.fct_opportunities GROUP BY 1"
        " HAVING count(*) > 1 ORDER BY 1 LIMIT 5",
    }
    # a missing key has no key to show; a missing close date shows the opportunity
    assert "examples" not in columns["opportunity_id"][0]["missing"]["attributes"]
    assert columns["close_date"][0]["missing"]["attributes"]["examples"] == (
        "SELECT opportunity_id FROM ${var.schema}.fct_opportunities WHERE close_date IS NULL"
        " ORDER BY 1 LIMIT 5"
    )
    (account,) = columns["account_key"]
    assert account["invalid"]["valid_reference_data"] == {
        "dataset": "warehouse/${var.database}/${var.schema}/dim_account",
        "column": "account_key",
    }
    ((amount,),) = [columns["amount_usd"]]
    assert amount["invalid"]["valid_min"] == 0
    qualifiers = [check["metric"]["qualifier"] for check in contract["checks"]]
    assert qualifiers == ["won_vs_crm", "without_contact_pct"]


def test_a_model_with_tests_and_no_file_has_a_contract_of_its_own():
    assert not (SODA_CONTRACTS_DIR / "mart" / "dim_account.yml").exists()
    contract = COMPOSED["mart/dim_account"]
    assert contract["dataset"] == "warehouse/${var.database}/${var.schema}/dim_account"
    assert contract["variables"]["schema"] == {"default": "mart"}
    assert contract["columns"] == [
        {
            "name": "account_key",
            "checks": [
                {"missing": {"attributes": {"tier": 1}}},
                {
                    "duplicate": {
                        "attributes": {
                            "tier": 1,
                            "examples": (
                                "SELECT account_key FROM ${var.schema}.dim_account GROUP BY 1"
                                " HAVING count(*) > 1 ORDER BY 1 LIMIT 5"
                            ),
                        }
                    }
                },
            ],
        },
    ]
    staging = COMPOSED["staging/stg_salesforce__opportunities"]
    assert staging["variables"]["schema"] == {"default": "staging"}
    currency = next(c for c in staging["columns"] if c["name"] == "currency_code")
    assert currency["checks"][0]["invalid"]["valid_values"] == ["USD", "EUR", "GBP"]


def test_every_simple_check_has_one_home():
    """No file in soda/ declares a present, unique, in-list, minimum or reference check on a
    model's column: those are the model's data tests."""
    properties = load_properties()
    written = []
    for path in CONTRACTS:
        if path.stem not in properties:
            continue
        for column in yaml.safe_load(path.read_text()).get("columns") or []:
            written += [f"{path.stem}.{column['name']}.{next(iter(c))}" for c in column["checks"]]
    assert written == []


@pytest.fixture
def copied(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models)
    soda = tmp_path / "contracts"
    shutil.copytree(SODA_CONTRACTS_DIR, soda)
    return models, soda


def _rewrite(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_check_declared_twice_is_refused_naming_the_file(copied):
    models, soda = copied
    written = soda / "mart" / "fct_touchpoints.yml"
    _rewrite(
        written,
        "checks:\n",
        "columns:\n  - name: touch_id\n    checks:\n      - duplicate:\n"
        "          attributes: {tier: 1}\nchecks:\n",
    )
    with pytest.raises(ContractError, match=r"fct_touchpoints\.yml: fct_touchpoints\.touch_id"):
        contracts("mart", soda, models_dir=models)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "relationships: {to: ref('dim_account'), field: account_key}",
            "relationships: {to: ref('dim_acount'), field: account_key}",
            r"fct_opportunities\.account_key: relationships refers to dim_acount, which is not",
        ),
        (
            "relationships: {to: ref('dim_account'), field: account_key}",
            "relationships: {to: dim_account, field: account_key}",
            r"written ref\('model'\)",
        ),
        (
            "relationships: {to: ref('dim_account'), field: account_key}",
            "relationships: {to: ref('dim_account')}",
            r"relationships takes field, to \(given: to\)",
        ),
        (
            "dbt_utils.accepted_range: {min_value: 0}",
            "accepted_range: {min_value: 0}",
            r"data_tests",
        ),
    ],
    ids=["unknown model", "not a ref", "no field", "unknown test"],
)
def test_a_wrong_data_test_is_refused_naming_the_model(copied, old, new, message):
    models, _ = copied
    _rewrite(models / "marts" / "_marts__models.yml", old, new)
    with pytest.raises(PropertiesError, match=message) as raised:
        load_properties(models)
    assert "_marts__models.yml" in str(raised.value)
