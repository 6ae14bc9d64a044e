"""The committed glossary is what the contracts generate, and --check catches a stale copy."""

from __future__ import annotations

from revenue_os.cli import main
from revenue_os.metrics import load_contracts
from revenue_os.metrics.glossary import GLOSSARY_PATH, render_glossary


def test_committed_glossary_is_generated_from_the_contracts():
    assert GLOSSARY_PATH.read_text(encoding="utf-8") == render_glossary(load_contracts())


def test_glossary_lists_every_contract_with_its_owner():
    contracts = load_contracts()
    text = render_glossary(contracts)
    for contract in contracts.values():
        assert f'<a id="{contract.name}"></a>' in text
        assert f"| Owner / steward | {contract.owner.kpi_owner} / " in text


def test_check_fails_on_a_stale_copy_and_names_it(tmp_path, capsys):
    stale = tmp_path / "metric-glossary.md"
    stale.write_text(render_glossary(load_contracts()).replace("Gross margin %", "GM"))
    assert main(["glossary", "--check", "--output", str(stale)]) == 1
    assert str(stale) in capsys.readouterr().err


def test_writing_then_checking_passes(tmp_path, capsys):
    target = tmp_path / "metric-glossary.md"
    assert main(["glossary", "--output", str(target)]) == 0
    assert "written" in capsys.readouterr().out
    assert main(["glossary", "--check", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_glossary(load_contracts())


def test_thresholds_read_in_the_unit_of_the_value_then_as_the_contract_writes_them():
    contracts = load_contracts()
    text = render_glossary(contracts)
    revenue = contracts["total_revenue"].thresholds
    assert (revenue.green, revenue.yellow, revenue.red) == (
        ">= 850000",
        ">= 700000 and < 850000",
        "< 700000",
    )
    assert (
        "| Thresholds | judged per month: green >= $850,000, yellow >= $700,000 and < $850,000,"
        " red < $700,000 (in the contract: `>= 850000`, `>= 700000 and < 850000`, `< 700000`) |"
    ) in text
