"""Each model's properties are declared once, beside it, and everything that describes a model
(the mart catalogue, the roll-ups, the model reference in docs/mart.md) is read from them."""

from __future__ import annotations

import shutil

import pytest

from revenue_os.cli import main
from revenue_os.metrics.mart_catalogue import MART_MODELS, ROLLUPS
from revenue_os.paths import MODELS_DIR
from revenue_os.transform.model_docs import (
    BEGIN,
    END,
    MART_DOC,
    reference_is_current,
    render_reference,
    write_reference,
)
from revenue_os.transform.models import discover
from revenue_os.transform.properties import load_properties


@pytest.fixture(scope="module")
def properties():
    return load_properties()


def test_every_model_file_has_its_properties_and_every_column_a_type_and_meaning(properties):
    files = {path.stem for path in MODELS_DIR.rglob("*.sql")}
    assert set(properties) == files
    for model in properties.values():
        assert model.description.startswith("One row per"), model.name
        assert all(column.description.strip() for column in model.columns), model.name


def test_the_mart_catalogue_is_the_marts_properties(properties):
    marts = {name for name, model in discover().items() if model.published}
    assert set(MART_MODELS) == marts
    assert dict(MART_MODELS["dim_date"]) == {
        "date_day": "date",
        "week_start": "date",
        "month_start": "date",
        "quarter_start": "date",
        "year": "integer",
        "is_weekend": "boolean",
    }
    assert dict(ROLLUPS) == {
        "fct_ad_spend_monthly": ("fct_ad_spend_daily", "date_day", "campaign_days"),
        "fct_arr_monthly": ("fct_customer_arr_monthly", "month_start", "account_months"),
        "fct_attribution_monthly": ("fct_attribution", "conversion_date", "credited_touches"),
        "fct_campaign_attribution_monthly": (
            "fct_attribution",
            "conversion_date",
            "credited_touches",
        ),
        "fct_opportunities_closed_monthly": ("fct_opportunities", "close_date", "opportunities"),
        "fct_opportunities_created_monthly": ("fct_opportunities", "created_date", "opportunities"),
        "fct_revenue_monthly": ("fct_revenue_lines", "invoice_date", "invoice_lines"),
    }


def test_the_model_reference_shows_every_published_column_with_its_type(properties):
    reference = render_reference(properties)
    for model, columns in MART_MODELS.items():
        assert f"### {model}\n" in reference
        for column, kind in columns.items():
            assert f"| `{column}` | {kind} |" in reference, (model, column)
    for name in properties:
        if name.startswith(("stg_", "int_")):
            assert f"| `{name}` |" in reference
    assert "Sums `fct_attribution` by the month of `conversion_date`" in reference


def test_the_committed_mart_doc_is_generated_from_the_properties(capsys):
    assert reference_is_current()
    assert main(["mart", "docs", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_a_stale_mart_doc_is_caught_and_rewritten(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models)
    page = tmp_path / "mart.md"
    shutil.copy(MART_DOC, page)
    properties = models / "marts" / "_marts__models.yml"
    text = properties.read_text()
    assert "description: The day (UTC)." in text  # what the edit below changes
    properties.write_text(text.replace("description: The day (UTC).", "description: Any day."))
    assert not reference_is_current(page, models)
    assert write_reference(page, models)
    assert reference_is_current(page, models)
    written = page.read_text()
    assert "| `date_day` | date | Any day. |" in written
    # The hand-written part of the page is kept as it was.
    original = MART_DOC.read_text()
    assert written[: written.index(BEGIN)] == original[: original.index(BEGIN)]
    assert written[written.index(END) :] == original[original.index(END) :]
    assert not write_reference(page, models)


def test_a_page_without_the_markers_is_refused_by_name(tmp_path):
    page = tmp_path / "mart.md"
    page.write_text("# The governed mart\n")
    with pytest.raises(ValueError, match=r"mart\.md: the markers of the generated model reference"):
        write_reference(page)


def test_the_frozen_kpi_snapshots_keep_the_types_of_the_kpi_values_they_copy():
    """ops.kpi_snapshots (a migration, so written once in SQL) copies rows of kpi_values: each
    column it shares with the declared kpi_values has the same type."""
    import sqlglot
    from sqlglot import exp

    from revenue_os.metrics.kpi_tables import column_types
    from revenue_os.paths import PROJECT_ROOT

    migration = PROJECT_ROOT / "sql" / "migrations" / "0009_ops_alerts_and_snapshots.sql"
    tables = {
        statement.this.this.name: statement.this
        for statement in sqlglot.parse(migration.read_text(), read="postgres")
        if isinstance(statement, exp.Create) and statement.kind == "TABLE"
    }
    # sqlglot spells numeric as decimal: compare its type names, not its spelling.
    spelled = {"decimal": "numeric"}
    snapshot = {
        column.name: spelled.get(
            column.args["kind"].sql("postgres").lower(), column.args["kind"].sql("postgres").lower()
        )
        for column in tables["kpi_snapshots"].expressions
        if isinstance(column, exp.ColumnDef)
    }
    declared = column_types("kpi_values")
    shared = set(snapshot) & set(declared)
    assert len(shared) >= 20
    assert {name: snapshot[name] for name in shared} == {name: declared[name] for name in shared}
