"""The SQL models as files: where they live, what they read, the order they build in, and
the errors that name the file to fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from revenue_os.paths import MODELS_DIR, PROJECT_ROOT
from revenue_os.transform.models import ModelError, build_order, discover, load_settings

MART_DOC = PROJECT_ROOT / "docs" / "mart.md"


@pytest.fixture(scope="module")
def models():
    return discover()


def test_every_model_is_in_its_layers_folder_with_a_grain(models):
    files = sorted(MODELS_DIR.rglob("*.sql"))
    assert len(models) == len(files) >= 40
    for model in models.values():
        assert model.path.parent.name == model.layer
        assert model.grain and all(re.fullmatch(r"[a-z_0-9]+", c) for c in model.grain)


def test_each_model_builds_after_what_it_reads(models):
    position = {m.name: i for i, m in enumerate(build_order(models))}
    assert len(position) == len(models)
    for model in models.values():
        for dependency in model.depends_on:
            assert position[dependency] < position[model.name], (dependency, model.name)
    assert "stg_hubspot__events" in models["int_touchpoints"].depends_on
    assert {"fct_opportunities", "int_touchpoints"} <= models["fct_attribution"].depends_on


def test_staging_reads_only_raw_and_seeds(models):
    for model in models.values():
        if model.layer == "staging":
            assert model.depends_on == frozenset(), model.name
            assert "raw." in model.sql


def test_published_models_are_the_ones_documented(models):
    documented = set(re.findall(r"^\*\*((?:dim|fct)_[a-z_]+)\*\*", MART_DOC.read_text(), re.M))
    assert documented == {m.name for m in models.values() if m.published}


def test_settings_are_rendered_into_the_sql(models):
    settings = load_settings()
    assert (
        f"interval '{settings['attribution_lookback_days']} days'" in models["fct_attribution"].sql
    )
    assert "{{" not in "".join(m.sql for m in models.values())


def _write(folder: Path, layer: str, name: str, body: str) -> None:
    (folder / layer).mkdir(parents=True, exist_ok=True)
    (folder / layer / f"{name}.sql").write_text(f"-- test model\n-- grain: id\n{body}\n")


def test_a_cycle_is_named(tmp_path):
    _write(tmp_path, "marts", "fct_a", "select id from fct_b")
    _write(tmp_path, "marts", "fct_b", "select id from fct_a")
    with pytest.raises(ModelError, match=r"in a circle: fct_(a|b) -> fct_(a|b) -> fct_(a|b)"):
        discover(tmp_path, tmp_path, settings={})


def test_a_model_reading_a_later_layer_is_refused(tmp_path):
    _write(tmp_path, "staging", "stg_a", "select id from fct_b")
    _write(tmp_path, "marts", "fct_b", "select 1 as id")
    with pytest.raises(
        ModelError, match=r"stg_a\.sql: a staging model cannot read the marts model fct_b"
    ):
        discover(tmp_path, tmp_path, settings={})


def test_a_model_in_the_wrong_folder_or_without_a_grain_is_refused(tmp_path):
    _write(tmp_path, "staging", "fct_a", "select 1 as id")
    with pytest.raises(ModelError, match=r"fct_a\.sql: a marts model belongs in sql/models/marts/"):
        discover(tmp_path, tmp_path, settings={})
    other = tmp_path / "other"
    (other / "marts").mkdir(parents=True)
    (other / "marts" / "fct_a.sql").write_text("select 1 as id\n")
    with pytest.raises(ModelError, match="must state the grain"):
        discover(other, other, settings={})


def test_unknown_setting_and_missing_seed_are_named(tmp_path):
    _write(tmp_path, "marts", "fct_a", "select {{ lookback }} as id")
    with pytest.raises(ModelError, match=r"fct_a\.sql: \{\{ lookback \}\} is not set"):
        discover(tmp_path, tmp_path, settings={})
    _write(tmp_path, "marts", "fct_a", "select id from seed_channels")
    with pytest.raises(ModelError, match="reads seed_channels, not in sql/seeds/"):
        discover(tmp_path, tmp_path, settings={})


def test_a_setting_cannot_carry_sql(tmp_path):
    settings = tmp_path / "model_settings.yaml"
    settings.write_text("attribution_lookback_days: 90\n")
    assert load_settings(settings) == {"attribution_lookback_days": "90"}
    settings.write_text('reporting_currency: "USD\'; drop table mart.x; --"\n')
    with pytest.raises(
        ModelError, match=r"reporting_currency: .* must be a number or a plain word"
    ):
        load_settings(settings)


def test_the_incremental_staging_models_are_the_large_row_wise_ones(models):
    incremental = {m.name: m.incremental for m in models.values() if m.incremental}
    assert set(incremental) == {
        "stg_hubspot__contacts",
        "stg_hubspot__events",
        "stg_netsuite__invoice_lines",
        "stg_salesforce__contacts",
        "stg_salesforce__opportunities",
        "stg_salesforce__opportunity_history",
    }
    events = incremental["stg_hubspot__events"]
    assert (events.key, events.raw_table, events.raw_key) == (
        "event_id",
        "hubspot__events",
        "event_id",
    )


def _write_incremental(folder: Path, layer: str, name: str, line: str, body: str) -> None:
    (folder / layer).mkdir(parents=True, exist_ok=True)
    (folder / layer / f"{name}.sql").write_text(f"-- grain: id\n{line}\n{body}\n")


@pytest.mark.parametrize(
    ("layer", "name", "line", "body", "message"),
    [
        (
            "staging",
            "stg_a",
            "-- incremental: id = raw.a.source_id",
            "select source_id as id from raw.a join raw.b using (source_id)",
            r"stg_a\.sql: an incremental model reads one raw table, raw\.a; it reads raw\.a, raw\.b",
        ),
        (
            "staging",
            "stg_a",
            "-- incremental: other_id = raw.a.source_id",
            "select source_id as id from raw.a",
            r"stg_a\.sql: the incremental key other_id must be the grain \(id\)",
        ),
        (
            "marts",
            "fct_a",
            "-- incremental: id = raw.a.source_id",
            "select source_id as id from raw.a",
            r"fct_a\.sql: only a staging model can be built incrementally",
        ),
        (
            "staging",
            "stg_a",
            "-- incremental: id from raw.a",
            "select source_id as id from raw.a",
            r"stg_a\.sql: write the incremental line as `-- incremental: <key> = raw",
        ),
    ],
)
def test_a_wrong_incremental_line_names_the_file_and_the_fix(
    tmp_path, layer, name, line, body, message
):
    _write_incremental(tmp_path, layer, name, line, body)
    with pytest.raises(ModelError, match=message):
        discover(tmp_path, tmp_path, settings={})
