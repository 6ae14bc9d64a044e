"""The SQL models as files: where they live, what they read, the order they build in, and
the errors that name the file to fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

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


def test_settings_are_rendered_into_the_sql(models):
    settings = load_settings()
    assert (
        f"interval '{settings['attribution_lookback_days']} days'" in models["fct_attribution"].sql
    )
    assert "{{" not in "".join(m.sql for m in models.values())


def _declare(folder: Path, layer: str, name: str, **meta) -> None:
    """Add a model to the layer's properties file in `folder`."""
    path = folder / layer / f"_{layer}__models.yml"
    document = yaml.safe_load(path.read_text()) if path.exists() else {"version": 2, "models": []}
    document["models"] = [m for m in document["models"] if m["name"] != name]
    document["models"].append(
        {
            "name": name,
            "description": "A test model.",
            "meta": {"grain": ["id"], **meta},
            "columns": [{"name": "id", "data_type": "integer", "description": "The id."}],
        }
    )
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def _write(folder: Path, layer: str, name: str, body: str, **meta) -> None:
    (folder / layer).mkdir(parents=True, exist_ok=True)
    (folder / layer / f"{name}.sql").write_text(f"-- test model\n{body}\n")
    _declare(folder, layer, name, **meta)


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


def test_a_model_in_the_wrong_folder_is_refused(tmp_path):
    _write(tmp_path, "staging", "fct_a", "select 1 as id")
    with pytest.raises(ModelError, match=r"fct_a\.sql: a marts model belongs in sql/models/marts/"):
        discover(tmp_path, tmp_path, settings={})


def test_a_model_without_properties_or_properties_without_a_model_is_refused(tmp_path):
    _write(tmp_path, "marts", "fct_a", "select 1 as id")
    (tmp_path / "marts" / "fct_b.sql").write_text("select 1 as id\n")
    with pytest.raises(ModelError, match=r"fct_b\.sql: declare the model in _marts__models\.yml"):
        discover(tmp_path, tmp_path, settings={})
    (tmp_path / "marts" / "fct_b.sql").unlink()
    _declare(tmp_path, "marts", "fct_c")
    with pytest.raises(ModelError, match=r"_marts__models\.yml: fct_c has no model file"):
        discover(tmp_path, tmp_path, settings={})


def test_a_grain_in_the_header_is_refused_as_a_second_home(tmp_path):
    _write(tmp_path, "marts", "fct_a", "-- grain: id\nselect 1 as id")
    with pytest.raises(ModelError, match=r"fct_a\.sql: the grain and the incremental key are"):
        discover(tmp_path, tmp_path, settings={})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"grain": ["missing"]}, r"fct_a: grain column missing is not a declared column"),
        ({"columns": [{"name": "id", "data_type": "varchar", "description": "x"}]}, "data_type"),
        ({"columns": [{"name": "id", "data_type": "integer"}]}, "description"),
        ({"owner": "me"}, "owner"),
        (
            {"rollup_of": {"model": "fct_a", "time_column": "id", "row_count": "rows"}},
            r"fct_a: a roll-up needs the column month_start; a roll-up needs the column rows",
        ),
    ],
)
def test_a_wrong_property_names_the_file_the_model_and_the_key(tmp_path, change, message):
    _write(tmp_path, "marts", "fct_a", "select 1 as id")
    path = tmp_path / "marts" / "_marts__models.yml"
    document = yaml.safe_load(path.read_text())
    model = document["models"][0]
    for key, value in change.items():
        if key in ("grain", "rollup_of"):
            model["meta"][key] = value
        else:
            model[key] = value
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ModelError, match=r"_marts__models\.yml: (.|\n)*" + message):
        discover(tmp_path, tmp_path, settings={})


def test_a_table_no_model_or_seed_provides_is_named(tmp_path):
    _write(
        tmp_path,
        "marts",
        "fct_a",
        "with fct_b as (select 1 as id) select id from fct_b join fct_c using (id)",
    )
    with pytest.raises(ModelError, match=r"fct_a\.sql: reads fct_c, which is no model"):
        discover(tmp_path, tmp_path, settings={})


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
        "stg_google_ads__campaign_days",
        "stg_linkedin_ads__campaign_days",
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
    # A campaign's day is keyed by three columns, matched to the raw table's in order.
    google_days = incremental["stg_google_ads__campaign_days"]
    assert (google_days.keys, google_days.raw_keys) == (
        ("customer_id", "campaign_id", "date_day"),
        ("customer_id", "campaign_id", "metric_date"),
    )


@pytest.mark.parametrize(
    ("layer", "name", "incremental", "body", "message"),
    [
        (
            "staging",
            "stg_a",
            {"key": "id", "raw_table": "a", "raw_key": "source_id"},
            "select source_id as id from raw.a join raw.b using (source_id)",
            r"stg_a\.sql: an incremental model reads one raw table, raw\.a; it reads raw\.a, raw\.b",
        ),
        (
            "staging",
            "stg_a",
            {"key": "other_id", "raw_table": "a", "raw_key": "source_id"},
            "select source_id as id from raw.a",
            r"stg_a: the incremental key other_id must be the grain \(id\)",
        ),
        (
            "marts",
            "fct_a",
            {"key": "id", "raw_table": "a", "raw_key": "source_id"},
            "select source_id as id from raw.a",
            r"fct_a: only a staging model can be built incrementally",
        ),
        (
            "staging",
            "stg_a",
            {"key": "id", "raw_table": "a"},
            "select source_id as id from raw.a",
            r"stg_a: meta.incremental.raw_key: Field required",
        ),
        (
            "staging",
            "stg_a",
            {"key": ["id"], "raw_table": "a", "raw_key": ["customer_id", "source_id"]},
            "select source_id as id from raw.a",
            r"stg_a: the incremental raw_key \(customer_id, source_id\) must name a raw column for"
            r" each key column \(id\)",
        ),
    ],
)
def test_a_wrong_incremental_declaration_names_the_model_and_the_fix(
    tmp_path, layer, name, incremental, body, message
):
    _write(tmp_path, layer, name, body, incremental=incremental)
    with pytest.raises(ModelError, match=message):
        discover(tmp_path, tmp_path, settings={})


def test_the_partitioned_models_and_what_they_follow(models):
    from revenue_os.transform.changes import changes_dated_by, columns_read

    partitioned = {m.name: m.partitions for m in models.values() if m.partitions}
    assert set(partitioned) == {
        "int_persons",
        "int_touchpoints",
        "fct_opportunity_stages",
        "fct_touchpoints",
        "fct_attribution",
        "fct_opportunities",
        "fct_funnel",
        "fct_revenue_lines",
        "fct_ad_spend_daily",
        "fct_customer_arr_monthly",
    }
    assert partitioned["fct_touchpoints"].changes_from == {
        "int_touchpoints": {"person_id": "person_id"}
    }
    touches = partitioned["int_touchpoints"]
    assert touches.key == "person_id"
    assert touches.changes_from["stg_hubspot__events"] == {"event_id": "touch_id"}
    # Attribution by account, reading its inputs already filtered on the accounts replaced.
    attribution = partitioned["fct_attribution"]
    assert attribution.key == "account_key"
    assert attribution.filtered_inputs == ("fct_opportunities", "int_touchpoints")
    # The opportunities by account too, every input carrying the account: what an opportunity
    # belongs to (merges, person, rate) is resolved before, in int_opportunities, so no change
    # needs the fact's own SQL run to find its account.
    opportunities = partitioned["fct_opportunities"]
    assert opportunities.key == "account_key"
    assert opportunities.filtered_inputs == ("int_opportunities", "int_touchpoints")
    assert {
        column for mapping in opportunities.changes_from.values() for column in mapping.values()
    } == {"account_key"}
    # Persons by person: a changed contact reaches its person through the identity map, a
    # new merge or domain the persons whose contact's account or e-mail domain it is.
    persons = partitioned["int_persons"]
    assert persons.filtered_inputs == ("int_person_identity",)
    assert persons.changes_from["stg_hubspot__contacts"] == {
        "contact_id": "int_person_identity.source_contact_id"
    }
    assert persons.changes_from["int_account_domains"] == {"domain": "int_persons.email_domain"}
    # Ad spend by platform campaign: a changed Salesforce or ad campaign reaches the platform
    # campaigns of its slug through the platform campaigns' list, a day's new rates the
    # campaigns whose rows held the day, with no run of the fact's SQL.
    # A touch counts toward the conversions on or after its day: attribution's changes from
    # the touches are dated by the touch's day, read against the conversion's.
    assert attribution.dated_changes == {"int_touchpoints": {"touch_date": "conversion_date"}}
    assert changes_dated_by(models) == {"int_touchpoints": "touch_date"}
    spend = partitioned["fct_ad_spend_daily"]
    assert spend.key == "platform_campaign_id"
    assert spend.changes_from["int_campaigns"] == {
        "campaign_key": "int_ad_platform_campaigns.campaign_slug"
    }
    assert spend.changes_from["int_fx_rates_daily"] == {"date_day": "fct_ad_spend_daily.date_day"}
    assert models["fct_ad_spend_daily"].depends_on - set(spend.changes_from) == {
        "int_channel_mapping"
    }
    # ARR by account, from its own revenue lines; every account's last month is an input
    # not followed (its move rebuilds the table whole), so no account cuts another's short.
    arr = partitioned["fct_customer_arr_monthly"]
    assert (arr.key, arr.filtered_inputs) == ("account_key", ("fct_revenue_lines",))
    assert models["fct_customer_arr_monthly"].depends_on - set(arr.changes_from) == {
        "dim_last_subscription_month"
    }
    # What each followed model must record of its changes, and nothing for the others.
    assert columns_read(models) == {
        "stg_hubspot__contacts": {"contact_id"},
        "stg_salesforce__contacts": {"contact_id"},
        "int_account_merge_map": {"any_account_id"},
        "int_account_domains": {"domain"},
        "stg_salesforce__opportunities": {"opportunity_id"},
        "stg_salesforce__opportunity_history": {"opportunity_id"},
        "stg_hubspot__events": {"event_id"},
        "stg_netsuite__invoice_lines": {"customer_id"},
        "int_erp_customer_accounts": {"customer_id"},
        "int_opportunities": {"account_key"},
        "int_person_identity": {"person_id"},
        "int_persons": {"person_id"},
        "int_accounts": {"account_key"},
        "int_campaigns": {"campaign_key"},
        "int_touchpoints": {"person_id", "account_key"},
        "dim_account": {"account_key"},
        "fct_opportunities": {"account_key", "primary_person_id"},
        "stg_google_ads__campaign_days": {"platform_campaign_id"},
        "stg_linkedin_ads__campaign_days": {"campaign_urn"},
        "int_ad_platform_campaigns": {"platform_campaign_id"},
        "int_fx_rates_daily": {"date_day"},
        "fct_revenue_lines": {"account_key"},
    }


@pytest.mark.parametrize(
    ("layer", "name", "partitions", "message"),
    [
        (
            "staging",
            "stg_a",
            {"key": "id", "changes_from": {"stg_b": {"id": "id"}}},
            r"stg_a: a staging model is brought forward by its raw rows, not partitions",
        ),
        (
            "intermediate",
            "int_a",
            {"key": "person_id", "changes_from": {"int_b": {"id": "id"}}},
            r"int_a: the partition key person_id is not a declared column",
        ),
        (
            "intermediate",
            "int_a",
            {"key": "id", "changes_from": {"int_b": {"event_id": "id"}}},
            r"int_a: changes_from names int_b\.event_id, which is not a declared column",
        ),
        (
            "intermediate",
            "int_a",
            {"key": "id", "changes_from": {"int_c": {"id": "id"}}},
            r"int_a\.sql: the partitions' changes_from names int_c, which the model does not read",
        ),
        (
            "intermediate",
            "int_a",
            {"key": "id", "changes_from": {"int_b": {"id": "id"}}, "filtered_inputs": ["int_c"]},
            r"int_a\.sql: the partitions' filtered_inputs names int_c; list it under changes_from"
            r" as int_c: \{id: id\}",
        ),
        (
            "intermediate",
            "int_a",
            {"key": "id", "changes_from": {"int_b": {"id": "int_a.code"}}},
            r"int_a: changes_from int_b: int_a\.code: int_a declares no column code \(the values"
            r" and the partition key id must both be its columns\)",
        ),
        (
            "intermediate",
            "int_a",
            {"key": "id", "changes_from": {"int_b": {"id": "int_d.id"}}},
            r"int_a: changes_from int_b: int_d\.id names int_d, which is no model",
        ),
        (
            "intermediate",
            "int_a",
            {"key": "id", "changes_from": {"int_b": {"id": "int_c.id"}}},
            r"int_a\.sql: changes_from int_b goes through int_c\.id; list int_c under changes_from"
            r" as int_c: \{id: id\}, so a value it maps to another partition reaches both",
        ),
        (
            "intermediate",
            "int_a",
            {
                "key": "id",
                "changes_from": {"int_b": {"id": "id"}},
                "dated_changes": {"int_c": {"day": "id"}},
            },
            r"int_a: dated_changes int_c: it must be in changes_from, carrying the partition"
            r" key id",
        ),
        (
            "intermediate",
            "int_a",
            {
                "key": "id",
                "changes_from": {"int_b": {"id": "id"}},
                "dated_changes": {"int_b": {"day": "conversion_day"}},
            },
            r"int_a: dated_changes int_b: conversion_day is not a declared column",
        ),
    ],
)
def test_a_wrong_partitions_declaration_names_the_model_and_the_fix(
    tmp_path, layer, name, partitions, message
):
    _write(tmp_path, "staging", "stg_b", "select 1 as id")
    _write(tmp_path, "intermediate", "int_b", "select 1 as id")
    _write(tmp_path, "intermediate", "int_c", "select 1 as id")
    source = "stg_b" if layer == "staging" else "int_b"
    _write(tmp_path, layer, name, f"select id from {source}", partitions=partitions)
    with pytest.raises(ModelError, match=message):
        discover(tmp_path, tmp_path, settings={})


def test_one_input_dated_by_two_columns_for_two_readers_is_refused_by_name(tmp_path):
    from revenue_os.transform.changes import changes_dated_by

    _write(tmp_path, "intermediate", "int_b", "select 1 as id")
    for reader, day in (("int_a", "created_day"), ("int_c", "updated_day")):
        _write(
            tmp_path,
            "intermediate",
            reader,
            "select id from int_b",
            partitions={
                "key": "id",
                "changes_from": {"int_b": {"id": "id"}},
                "dated_changes": {"int_b": {day: "id"}},
            },
        )
    models = discover(tmp_path, tmp_path, settings={})
    with pytest.raises(
        ModelError,
        match=r"int_c\.sql: int_b's changes are dated by created_day for another reader; date"
        r" them by the same column \(updated_day here\)",
    ):
        changes_dated_by(models)


@pytest.mark.parametrize(
    ("layer", "name", "message"),
    [
        ("intermediate", "int_a", r"int_a: only a mart model is indexed for the dashboards"),
        ("marts", "fct_a", r"fct_a: indexed_by month_start is not a declared column"),
    ],
)
def test_a_wrong_index_declaration_names_the_model_and_the_fix(tmp_path, layer, name, message):
    _write(tmp_path, layer, name, "select 1 as id", indexed_by=["id", "month_start"])
    with pytest.raises(ModelError, match=message):
        discover(tmp_path, tmp_path, settings={})


def test_a_work_mem_postgres_cannot_read_is_refused_naming_the_model(tmp_path):
    _write(tmp_path, "marts", "fct_a", "select 1 as id", work_mem="64 MB")
    with pytest.raises(ModelError, match=r"fct_a.*work_mem"):
        discover(tmp_path, tmp_path, settings={})


def test_the_rollups_that_follow_their_facts_replaced_rows_trim_their_sums(models):
    from revenue_os.transform.differences import followed_facts

    followed = followed_facts(models)
    assert followed == {
        "fct_revenue_monthly": "fct_revenue_lines",
        "fct_opportunities_created_monthly": "fct_opportunities",
        "fct_opportunities_closed_monthly": "fct_opportunities",
        "fct_ad_spend_monthly": "fct_ad_spend_daily",
        "fct_arr_monthly": "fct_customer_arr_monthly",
        "fct_campaign_attribution_monthly": "fct_attribution",
        "fct_attribution_monthly": "fct_attribution",
    }
    # A sum's scale is its largest summand's: trimmed, it does not depend on which rows
    # were added and taken out, so a roll-up brought forward reads as one summed whole.
    for name in followed:
        rollup = models[name]
        assert rollup.properties is not None
        row_count = rollup.properties.meta.rollup_of.row_count
        for column, data_type in rollup.properties.column_types.items():
            if data_type == "numeric" and column not in rollup.grain and column != row_count:
                assert f"trim_scale(sum({column})) as {column}" in rollup.sql, (name, column)


def test_a_rollups_sums_of_columns_declared_never_null_are_not_summed_again_at_zero(models):
    from revenue_os.transform.differences import never_null, sums_of

    # A day of no clicks sums to 0, not to null: ad spend's measures are all declared
    # never null, so no group of its roll-up is summed again from the fact for a 0.
    spend = never_null(models["fct_ad_spend_daily"])
    assert set(sums_of(models["fct_ad_spend_monthly"])) - {"campaign_days"} <= spend
    # An opportunity's amount may be unknown: a group whose amounts sum to 0 after one left
    # may hold none, so it is summed again.
    assert "amount_usd" not in never_null(models["fct_opportunities"])
    assert "amount_usd" in sums_of(models["fct_opportunities_created_monthly"])


def test_a_rollup_that_cannot_follow_its_facts_replaced_rows_is_refused_by_name(models):
    import dataclasses

    from revenue_os.transform.differences import followed_facts
    from revenue_os.transform.models import ModelError

    # The attribution roll-up made to read the campaign roll-up, not attribution's rows: the
    # rows attribution replaced are not what it sums.
    monthly = models["fct_attribution_monthly"]
    assert followed_facts(models)[monthly.name] == "fct_attribution"
    broken = {
        **models,
        monthly.name: dataclasses.replace(
            monthly, depends_on=frozenset({"fct_campaign_attribution_monthly"})
        ),
    }
    with pytest.raises(ModelError, match=r"fct_attribution_monthly\.sql: follows_replaced_rows"):
        followed_facts(broken)
    # And following a fact that is not partitioned: no rows are replaced to follow.
    ads = models["fct_ad_spend_daily"]
    broken = {**models, ads.name: dataclasses.replace(ads, partitions=None)}
    with pytest.raises(ModelError, match=r"fct_ad_spend_monthly\.sql: follows_replaced_rows"):
        followed_facts(broken)
