"""A partitioned model replaces only the partitions its inputs' changes reach, on the hand-made
world: one event moved from Max to Jane reaches exactly their two persons' touches, and the
result equals a full rebuild; an input whose changes cannot be known rebuilds it whole."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import timedelta

import pytest

from revenue_os.raw.loader import load_pages
from revenue_os.raw.objects import RAW_OBJECTS
from revenue_os.transform import build, changes
from revenue_os.transform.models import ModelError, build_order, discover
from revenue_os.warehouse.migrations import migrate
from tests.integration.conftest import ScratchDatabases
from tests.integration.mart_world import (
    SALESFORCE_ACCOUNTS,
    _hubspot_contact,
    _line,
    _sf,
    load_world,
)
from tests.integration.test_mart_publish import mart_checksums

DATABASE = "partitioned_models"


@pytest.fixture
def world(warehouse_server):
    databases = ScratchDatabases(warehouse_server)
    conn = databases.create(DATABASE)
    migrate(conn)
    load_world(conn)
    build.build_all(conn, echo=lambda _: None)
    yield conn
    conn.close()
    databases.drop_all()


def build_lines(conn) -> dict[str, str]:
    """Build as a refresh does; what the build said of each model, by model."""
    lines: list[str] = []
    build.build_all(conn, echo=lines.append)
    return {line.split(": ")[0].split(".")[-1]: line for line in lines if line.startswith("[")}


def touches_line(conn) -> str:
    return build_lines(conn)["int_touchpoints"]


def new_batch(conn, source_object: str) -> uuid.UUID:
    """A finished incremental load batch of one updated record, as the loader records it."""
    batch = uuid.uuid4()
    conn.execute(
        "INSERT INTO ops.load_batches (batch_id, source_object, mode, started_at, finished_at,"
        " rows_extracted, rows_inserted, rows_updated, rows_deleted, rows_quarantined)"
        " VALUES (%s, %s, 'incremental', now(), now(), 1, 0, 1, 0, 0)",
        (batch, source_object),
    )
    return batch


def move_event(conn, event_id: str, contact_id: str) -> None:
    """As a load would: the event re-sent under another contact, in a batch of its own."""
    batch = new_batch(conn, "hubspot.events")
    conn.execute(
        "UPDATE raw.hubspot__events SET batch_id = %s,"
        " record = jsonb_set(record::jsonb, '{objectId}', to_jsonb(%s::text))"
        " WHERE event_id = %s",
        (batch, contact_id, event_id),
    )


def add_event(conn, event_id: str, contact_id: str, at: str) -> None:
    """As a load would: a new form submission of the contact, in a batch of its own."""
    batch = new_batch(conn, "hubspot.events")
    record = {
        "id": event_id,
        "objectId": contact_id,
        "eventType": "e_form_submission",
        "occurredAt": at,
        "properties": {"hs_url": "https://www.example.com/"},
    }
    conn.execute(
        "INSERT INTO raw.hubspot__events (event_id, source_updated_at, is_deleted, record,"
        " batch_id, extracted_at) VALUES (%s, now(), false, %s, %s, now())",
        (event_id, json.dumps(record), batch),
    )


def edit_opportunity(conn, opportunity_id: str, field: str, value: str | None) -> None:
    """As a load would: the opportunity re-sent with one field changed, in a batch of its own."""
    batch = new_batch(conn, "salesforce.opportunities")
    conn.execute(
        "UPDATE raw.salesforce__opportunities SET batch_id = %s,"
        " record = jsonb_set(record::jsonb, %s, coalesce(to_jsonb(%s::text), 'null'))"
        " WHERE source_id = %s",
        (batch, [field], value, opportunity_id),
    )


def test_the_rows_without_a_partition_key_are_a_partition_of_their_own(world):
    """An opportunity that loses its account moves to the partition of the rows without one,
    and back when it gets it again; each time only the partitions it left and joined are
    replaced, and the result equals a full rebuild."""
    conn = world
    build.build_all(conn, echo=lambda _: None)  # the mart one copy behind is a built one

    def opportunities_line() -> str:
        return build_lines(conn)["fct_opportunities"]

    def o5_account() -> tuple:
        return conn.execute(
            "SELECT account_key FROM mart.fct_opportunities WHERE opportunity_id = 'O5'"
        ).fetchone()

    assert opportunities_line().endswith("(up to date, no change reached it)")
    assert o5_account() == ("A2",)
    (a2,) = conn.execute(
        "SELECT count(*) FROM mart.fct_opportunities WHERE account_key = 'A2'"
    ).fetchone()

    edit_opportunity(conn, "O5", "AccountId", None)
    # A2's opportunities and the partition of none are computed again: A2's without O5 and
    # O5 alone. Only O5's row moved (its account is gone); A2's others read as they did.
    assert opportunities_line().endswith(
        f"(brought forward: 2 partitions computed again ({a2} rows), 1 row out, 1 in)"
    )
    assert o5_account() == (None,)
    edit_opportunity(conn, "O5", "AccountId", "A2")
    # This build brings forward the copy of two builds ago, in which O5 never left A2, by
    # both builds' changes: the same two partitions, the one of none empty there, and no row
    # of them moved.
    assert opportunities_line().endswith(
        f"(brought forward: 2 partitions computed again ({a2} rows), 0 rows out, 0 in)"
    )
    assert o5_account() == ("A2",)
    # The next one the copy in which O5 had no account: it leaves that partition for A2.
    assert opportunities_line().endswith(
        f"(brought forward: 2 partitions computed again ({a2} rows), 1 row out, 1 in)"
    )
    assert o5_account() == ("A2",)

    incremental = mart_checksums(conn)
    build.build_all(conn, echo=lambda _: None, full=True)
    assert mart_checksums(conn) == incremental


def test_a_rollup_follows_the_rows_its_fact_replaced_and_a_sum_left_without_values_is_null(
    world,
):
    """O1's amount becomes unknown: the roll-up's group of O1 alone (January's new business
    sourced by paid search, mid-market, North America) must read null, as a whole rebuild
    sums it, not the 0 that subtracting O1's old amount leaves."""
    conn = world
    build.build_all(conn, echo=lambda _: None)  # the mart one copy behind is a built one
    monthly = (
        "SELECT count(*) FILTER (WHERE amount_usd IS NULL), sum(opportunities)"
        " FROM mart.fct_opportunities_created_monthly"
    )
    (unknown, opportunities) = conn.execute(monthly).fetchone()
    assert unknown == 0

    edit_opportunity(conn, "O1", "Amount", None)
    for _ in range(2):  # this build's copy, then the copy one behind
        lines = build_lines(conn)
        # A1's opportunities are computed again; only O1's row moved, and the roll-up
        # follows that one row out and in.
        assert lines["fct_opportunities_created_monthly"].endswith(
            "(brought forward by fct_opportunities's rows replaced: 1 out, 1 in)"
        ), lines["fct_opportunities_created_monthly"]
        assert conn.execute(monthly).fetchone() == (1, opportunities)

    incremental = mart_checksums(conn)
    build.build_all(conn, echo=lambda _: None, full=True)
    assert mart_checksums(conn) == incremental


def test_a_moved_event_replaces_the_touches_of_its_two_persons_only(world):
    conn = world
    assert touches_line(conn).endswith("(up to date, no change reached it)")
    before = conn.execute(
        "SELECT person_id, count(*) FROM staging.int_touchpoints GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert before == [("hs-101", 5), ("hs-103", 2)]

    # E7, Max's newsletter click, re-sent as Jane's (contact 101).
    move_event(conn, "E7", "101")
    lines = build_lines(conn)
    # Jane's six touches and Max's one are computed again; only E7's touch moved, from Max
    # to Jane. The published fact, in the mart one copy behind brought forward, follows the
    # same two persons.
    for model in ("int_touchpoints", "fct_touchpoints"):
        assert lines[model].endswith(
            "(brought forward: 2 partitions computed again (7 rows), 1 row out, 1 in)"
        ), lines[model]
    assert conn.execute(
        "SELECT person_id, count(*) FROM staging.int_touchpoints GROUP BY 1 ORDER BY 1"
    ).fetchall() == [("hs-101", 6), ("hs-103", 1)]
    # The change log keeps what the mart one copy behind has not applied yet: the event (as
    # read before and after), the two persons whose touches changed and their two accounts
    # (the touch moved from Max's Beta to Jane's Acme), Beta's opportunity, whose marketing
    # influence the moved touch took with it (its account and its contacts' persons, one
    # without a contact), Beta's account row, whose acquisition channel it took too, and
    # Beta's revenue lines, which carry the channel (ARR by account reads them). The three
    # '*' are from the build before, which had no tables of their own to compare with.
    # (Attribution's rows that moved are kept for its roll-ups, not logged: no partitioned
    # model reads its changes.)
    assert conn.execute(
        "SELECT model, column_name, value FROM ops.model_changes ORDER BY 1, 2, 3"
    ).fetchall() == [
        ("dim_account", "*", None),
        ("dim_account", "account_key", "A2"),
        ("fct_opportunities", "*", None),
        ("fct_opportunities", "account_key", "A2"),
        ("fct_opportunities", "primary_person_id", "hs-103"),
        ("fct_opportunities", "primary_person_id", None),
        ("fct_revenue_lines", "*", None),
        ("fct_revenue_lines", "account_key", "A2"),
        ("int_touchpoints", "account_key", "A1"),
        ("int_touchpoints", "account_key", "A2"),
        ("int_touchpoints", "person_id", "hs-101"),
        ("int_touchpoints", "person_id", "hs-103"),
        ("stg_hubspot__events", "event_id", "E7"),
        ("stg_hubspot__events", "event_id", "E7"),
    ]
    # The next build applies them to that copy, and they are forgotten.
    accounts = ("A1", "A2")
    of_accounts = "SELECT t::text FROM {}.fct_attribution AS t WHERE account_key = ANY(%s)"
    before = {row for (row,) in conn.execute(of_accounts.format("mart_previous"), [list(accounts)])}
    lines = build_lines(conn)
    after = {row for (row,) in conn.execute(of_accounts.format("mart"), [list(accounts)])}
    assert lines["fct_touchpoints"].endswith(
        "(brought forward: 2 partitions computed again (7 rows), 1 row out, 1 in)"
    )
    # Attribution in that copy computes the two accounts' conversions again (Beta's
    # opportunity lost its attributed touch; Acme's gained one) and writes the rows that read
    # differently: those of the copy not found as they were, and the new ones.
    assert before - after and after - before
    assert lines["fct_attribution"].endswith(
        f"(brought forward: {len(accounts)} partitions computed again ({len(after)} rows),"
        f" {len(before - after)} rows out, {len(after - before)} in)"
    ), lines["fct_attribution"]
    # What every copy applied is forgotten. The opportunities and the revenue lines, brought
    # forward in that copy, and the account dimension, compared with its table there,
    # recorded Beta again, for the published copy, which a whole rebuild brought up to date
    # before that record: it replaces Beta once more next time.
    assert conn.execute(
        "SELECT DISTINCT model, column_name, value FROM ops.model_changes ORDER BY 1, 2, 3"
    ).fetchall() == [
        ("dim_account", "account_key", "A2"),
        ("fct_opportunities", "account_key", "A2"),
        ("fct_opportunities", "primary_person_id", "hs-103"),
        ("fct_opportunities", "primary_person_id", None),
        ("fct_revenue_lines", "account_key", "A2"),
    ]

    incremental = (mart_checksums(conn, schema=build.STAGING_SCHEMA), mart_checksums(conn))
    build.build_all(conn, echo=lambda _: None, full=True)
    full = (mart_checksums(conn, schema=build.STAGING_SCHEMA), mart_checksums(conn))
    assert incremental == full


def test_a_touch_after_every_conversion_of_its_account_leaves_its_attribution_as_it_was(world):
    conn = world
    for _ in range(2):  # both copies of the mart brought up to date with the first build
        build_lines(conn)
    last_conversion = conn.execute(
        "SELECT max(conversion_date) FROM mart.fct_attribution WHERE account_key = 'A1'"
    ).fetchone()[0]
    attribution = "SELECT t::text FROM mart.fct_attribution AS t ORDER BY 1"
    before = conn.execute(attribution).fetchall()

    # A form submission of Jane's (Acme, A1) the day after Acme's last conversion: her
    # touches are computed again, and the change log dates it, but no conversion reads it.
    day_after = last_conversion + timedelta(days=1)
    add_event(conn, "E90", "101", f"{day_after.isoformat()}T09:00:00Z")
    lines = build_lines(conn)
    assert " computed again (" in lines["int_touchpoints"], lines["int_touchpoints"]
    assert conn.execute(
        "SELECT DISTINCT value, first_day FROM ops.model_changes"
        " WHERE model = 'int_touchpoints' AND column_name = 'account_key'"
    ).fetchall() == [("A1", day_after)]
    # Neither copy of the mart computes Acme's attribution again.
    for line in (lines["fct_attribution"], build_lines(conn)["fct_attribution"]):
        assert line.endswith("(up to date, no change reached it)"), line
    assert conn.execute(attribution).fetchall() == before

    # One on the day of the last conversion counts toward it (its day is not after it):
    # Acme's conversions are computed again, and the submission has a credit.
    add_event(conn, "E91", "101", f"{last_conversion.isoformat()}T00:00:00Z")
    line = build_lines(conn)["fct_attribution"]
    assert "(brought forward: 1 partition computed again (" in line, line
    credited = "SELECT count(*) FROM mart.fct_attribution WHERE touch_id = 'E91'"
    assert conn.execute(credited).fetchone()[0] > 0

    incremental = mart_checksums(conn)
    build.build_all(conn, echo=lambda _: None, full=True)
    assert mart_checksums(conn) == incremental


def test_an_input_whose_changes_are_unknown_rebuilds_the_model_whole(world):
    conn = world
    expected = mart_checksums(conn, schema=build.STAGING_SCHEMA)
    # The persons' table lost: rebuilt with nothing to compare with, so it records that
    # anything may have changed, and the touches are rebuilt whole, with the same rows.
    conn.execute("DROP TABLE staging.int_persons")
    assert "rebuilt whole" in touches_line(conn)
    assert mart_checksums(conn, schema=build.STAGING_SCHEMA) == expected
    # The touches' table lost: rebuilt whole too.
    conn.execute("DROP TABLE staging.int_touchpoints")
    assert "rebuilt whole" in touches_line(conn)
    assert mart_checksums(conn, schema=build.STAGING_SCHEMA) == expected


def test_the_build_brings_the_mart_one_copy_behind_forward(world):
    """Blue-green: the build reuses `mart_previous`, named by its comment with the build it
    holds, keeps its partitioned table and drops the rest; a failed build's schema is reused
    by the next one; a full build starts from an empty schema."""
    conn = world
    first = build.schema_build(conn, build.PUBLISHED_SCHEMA)
    build.build_all(conn, echo=lambda _: None)  # `mart` was the initial, empty one: fresh
    second = build.schema_build(conn, build.PUBLISHED_SCHEMA)
    assert build.schema_build(conn, build.PREVIOUS_SCHEMA) == first

    build_id = build.start_build(conn)
    assert build.schema_build(conn, build.BUILD_SCHEMA) == build_id
    assert not conn.execute(
        "SELECT 1 FROM pg_namespace WHERE nspname = %s", (build.PREVIOUS_SCHEMA,)
    ).fetchone()
    kept = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", (build.BUILD_SCHEMA,)
    ).fetchall()
    # The partitioned tables, the roll-ups that follow their replaced rows, the account
    # dimension the revenue lines follow, rebuilt whole (its rebuild compares with this
    # copy's table to say what changed since), and kpi_values, brought forward by the rows
    # the KPI computations since found due.
    assert kept == [
        ("dim_account",),
        ("fct_ad_spend_daily",),
        ("fct_ad_spend_monthly",),
        ("fct_arr_monthly",),
        ("fct_attribution",),
        ("fct_attribution_monthly",),
        ("fct_campaign_attribution_monthly",),
        ("fct_customer_arr_monthly",),
        ("fct_funnel",),
        ("fct_opportunities",),
        ("fct_opportunities_closed_monthly",),
        ("fct_opportunities_created_monthly",),
        ("fct_opportunity_stages",),
        ("fct_revenue_lines",),
        ("fct_revenue_monthly",),
        ("fct_touchpoints",),
        ("kpi_values",),
    ]
    # The state of the eight partitioned tables and seven roll-ups moved to this build; the
    # published build's stays.
    assert dict(
        conn.execute("SELECT build_id, count(*) FROM ops.mart_model_state GROUP BY 1").fetchall()
    ) == {build_id: 15, second: 15}
    with pytest.raises(build.AuditFailed, match="no previous mart to roll back to"):
        build.rollback(conn)
    build.fail_build(conn, build_id, "stopped by the test")

    # The next build takes up the failed one's schema.
    retried = build.start_build(conn)
    assert build.schema_build(conn, build.BUILD_SCHEMA) == retried
    assert conn.execute(
        "SELECT count(*) FROM ops.mart_model_state WHERE build_id = %s", (retried,)
    ).fetchone() == (15,)
    build.fail_build(conn, retried, "stopped by the test")

    lines = build_lines(conn)
    assert lines["fct_touchpoints"].endswith("(up to date, no change reached it)")
    incremental = mart_checksums(conn)
    assert build.schema_build(conn, build.PREVIOUS_SCHEMA) == second
    build.rollback(conn)  # between builds the copy behind is there again
    assert build.schema_build(conn, build.PUBLISHED_SCHEMA) == second

    build.build_all(conn, echo=lambda _: None, full=True)
    assert "rebuilt whole" in build_lines(conn)["fct_touchpoints"]  # after full, from '*'
    assert mart_checksums(conn) == incremental


def test_a_build_refused_by_its_audit_is_not_brought_forward(world):
    """A wrong row in a partition no change reaches would stay there for good: after a build
    failed its audits, the next one starts from an empty schema and rebuilds whole."""
    conn = world
    build.build_all(conn, echo=lambda _: None)  # the mart one copy behind is a built one
    models = discover()
    build_id = build.start_build(conn, models=models)
    for layer in ("staging", "intermediate", "marts"):
        build.build_layer(conn, layer, build_id, models, echo=lambda _: None)
    build.build_kpis(conn, build_id, echo=lambda _: None)
    conn.execute(
        "UPDATE mart_build.fct_attribution SET credit = credit * 0.9"
        " WHERE conversion_id = 'O1:won' AND attribution_model = 'linear'"
    )
    with pytest.raises(build.AuditFailed, match="credit_sums_to_one"):
        build.audit(conn, build_id, models, echo=lambda _: None)

    lines = build_lines(conn)  # audits and publishes: the wrong credit is gone
    assert "rebuilt whole" in lines["fct_attribution"], lines["fct_attribution"]
    assert "rebuilt whole" in lines["fct_touchpoints"], lines["fct_touchpoints"]
    assert conn.execute(
        "SELECT sum(credit) FROM mart.fct_attribution"
        " WHERE conversion_id = 'O1:won' AND attribution_model = 'linear'"
    ).fetchone() == (1,)


def test_a_key_computed_twice_is_refused_even_when_one_twin_is_the_row_kept(world):
    """Only the rows that moved are written, so the table's unique index would never see a
    repeated key whose twin reads as the row already kept: the build refuses it itself, by
    name, and the table keeps its rows."""
    conn = world
    build.build_all(conn, echo=lambda _: None)  # the mart one copy behind is a built one
    edit_opportunity(conn, "O4", "NextStep", "Send the proposal")  # reaches A1: O1 and O4
    models = discover()
    build_id = build.start_build(conn, models=models)
    for layer in ("staging", "intermediate"):
        build.build_layer(conn, layer, build_id, models, echo=lambda _: None)
    marts = [model.name for model in build_order(models, "marts")]
    read_by_partitions = changes.columns_read(models)
    for name in marts[: marts.index("fct_opportunities")]:  # the inputs it does not follow
        build.build_model(
            conn, models[name], read_by_partitions=read_by_partitions.get(name), build_id=build_id
        )
    opportunities = models["fct_opportunities"]
    # The model as a fan-out would make it: O1, which no change touched, twice.
    doubled = dataclasses.replace(
        opportunities,
        sql=f"select * from (\n{opportunities.sql}\n) as m"
        f" union all select * from (\n{opportunities.sql}\n) as m where opportunity_id = 'O1'",
    )
    kept = mart_checksums(conn, schema=build.BUILD_SCHEMA)["fct_opportunities"]
    repeated = r"repeat its grain \(opportunity_id\): \(O1\) more than once"
    with pytest.raises(ModelError, match=repeated), conn.transaction():
        changes.bring_forward(
            conn,
            build.BUILD_SCHEMA,
            doubled,
            build._sql_digest(opportunities),  # as recorded: brought forward, not rebuilt
            set(),
            changes.StateStore(str(build_id)),
        )
    assert mart_checksums(conn, schema=build.BUILD_SCHEMA)["fct_opportunities"] == kept


def test_persons_are_reached_through_the_identity_map_their_domain_and_their_account(world):
    """A new contact reaches its person through the identity map; a new account whose website
    is a person's e-mail domain, and a merge of the account a person's Salesforce contact is
    at, reach the persons whose rows hold that domain or account, and no other; each time the
    persons equal a full rebuild."""
    conn = world
    build.build_all(conn, echo=lambda _: None)  # the mart one copy behind is a built one

    def persons_line() -> str:
        return build_lines(conn)["int_persons"]

    def account_of(person: str) -> tuple | None:
        return conn.execute(
            "SELECT account_key FROM staging.int_persons WHERE person_id = %s", (person,)
        ).fetchone()

    assert persons_line().endswith("(up to date, no change reached it)")

    # Lee signs up with an e-mail at a domain no account has: a new person, without account.
    lee = _hubspot_contact(
        "105", "lee@gamma.example", "Lee", "Wong", "Gamma", "2026-02-01T09:00:00Z", "DIRECT_TRAFFIC"
    )
    load_pages(conn, RAW_OBJECTS["hubspot.contacts"], [[lee]])
    assert persons_line().endswith(
        "(brought forward: 1 partition computed again (1 rows), 0 rows out, 1 in)"
    )
    assert account_of("hs-105") == (None,)

    # Gamma becomes an account (shaped like Acme's record): Lee's domain now names it.
    acme = next(a for a in SALESFORCE_ACCOUNTS if a["Id"] == "A1")
    gamma = {**acme, "Id": "A4", "Name": "Gamma", "Website": "https://gamma.example"}
    load_pages(conn, RAW_OBJECTS["salesforce.accounts"], [[gamma]])
    assert persons_line().endswith(
        "(brought forward: 1 partition computed again (1 rows), 1 row out, 1 in)"
    )
    assert account_of("hs-105") == ("A4",)

    # Beta (A2) merged into Acme (A1): the persons whose Salesforce contact is at A2 move to
    # A1, counted from the table before the merge.
    at_beta = {
        person
        for (person,) in conn.execute(
            "SELECT person_id FROM staging.int_persons WHERE salesforce_account_id = 'A2'"
        )
    }
    assert at_beta and "hs-103" in at_beta
    beta = next(a for a in SALESFORCE_ACCOUNTS if a["Id"] == "A2")
    merged = {**beta, "IsDeleted": True, "MasterRecordId": "A1"}
    load_pages(conn, RAW_OBJECTS["salesforce.accounts"], [[merged]])
    n = len(at_beta)
    assert persons_line().endswith(
        f"(brought forward: {n} partition{'s' if n > 1 else ''} computed again ({n} rows),"
        f" {n} row{'s' if n > 1 else ''} out, {n} in)"
    )
    assert {account_of(person) for person in at_beta} == {("A1",)}

    incremental = mart_checksums(conn, schema=build.STAGING_SCHEMA)
    build.build_all(conn, echo=lambda _: None, full=True)
    assert mart_checksums(conn, schema=build.STAGING_SCHEMA) == incremental


def test_a_stage_entered_between_two_replaces_that_opportunitys_stages_only(world):
    """O1 went Prospecting, Qualification, Closed Won. A history record found for 30 January
    puts Negotiation between the last two: O1's stages alone are computed again, and of them
    Qualification (it was left on 30 January, not 5 February) goes out and comes back, and
    Negotiation comes in."""
    conn = world
    build.build_all(conn, echo=lambda _: None)  # the mart one copy behind is a built one

    def stages() -> list[tuple]:
        return conn.execute(
            "SELECT stage_name, entered_at::date::text, exited_at::date::text"
            " FROM mart.fct_opportunity_stages WHERE opportunity_id = 'O1' ORDER BY entered_at"
        ).fetchall()

    assert build_lines(conn)["fct_opportunity_stages"].endswith(
        "(up to date, no change reached it)"
    )
    assert stages() == [
        ("Prospecting", "2026-01-22", "2026-01-25"),
        ("Qualification", "2026-01-25", "2026-02-05"),
        ("Closed Won", "2026-02-05", None),
    ]
    negotiation = _sf(
        "H9",
        "OpportunityHistory",
        "2026-01-30T00:00:00.000+0000",
        OpportunityId="O1",
        StageName="Negotiation",
        Amount=10000.0,
        CloseDate="2026-02-28",
        ForecastCategory="Pipeline",
    )
    load_pages(conn, RAW_OBJECTS["salesforce.opportunity_history"], [[negotiation]])
    assert build_lines(conn)["fct_opportunity_stages"].endswith(
        "(brought forward: 1 partition computed again (4 rows), 1 row out, 2 in)"
    )
    assert stages() == [
        ("Prospecting", "2026-01-22", "2026-01-25"),
        ("Qualification", "2026-01-25", "2026-01-30"),
        ("Negotiation", "2026-01-30", "2026-02-05"),
        ("Closed Won", "2026-02-05", None),
    ]
    incremental = mart_checksums(conn)
    build.build_all(conn, echo=lambda _: None, full=True)
    assert mart_checksums(conn) == incremental


def test_arr_is_computed_again_for_the_account_invoiced_and_whole_when_the_last_month_moves(
    world,
):
    """Beta (550 a month in January 2025, churned) is invoiced 600 for December 2025: only
    Beta's months are computed again. Then Beta is invoiced in February 2026, past the last
    month with subscription revenue (January): every account's months now run a month
    further, so Acme, untouched by the change, gains February's churn; only a whole rebuild
    gives it, and one is made."""
    conn = world
    # Two builds: each mart copy then holds an account dimension that the next build's
    # compares with, so a changed account's readers are brought forward, not rebuilt whole.
    for _ in range(2):
        build.build_all(conn, echo=lambda _: None)

    def beta() -> list[tuple]:
        return [
            (month.isoformat(), *map(int, values))
            for month, *values in conn.execute(
                "SELECT month_start, arr_usd, arr_prior_month_usd, arr_12m_ago_usd,"
                " new_arr_usd, churned_arr_usd FROM mart.fct_customer_arr_monthly"
                " WHERE account_key = 'A2' ORDER BY 1"
            )
        ]

    assert beta() == [
        ("2025-01-01", 6600, 0, 0, 6600, 0),
        ("2025-02-01", 0, 6600, 0, 0, 6600),
        ("2026-01-01", 0, 0, 6600, 0, 0),
    ]
    invoiced = RAW_OBJECTS["netsuite.invoice_lines"]
    load_pages(conn, invoiced, [[_line("L6-1", "N2", "I1", "12/20/2025", "1", "-600", "USD", "1")]])
    for _ in range(2):  # this build's copy, then the copy one behind
        lines = build_lines(conn)
        # Beta's four months computed again: December's new ARR comes in, January (now a
        # churn of December's 7,200) goes out and comes back.
        assert lines["fct_customer_arr_monthly"].endswith(
            "(brought forward: 1 partition computed again (4 rows), 1 row out, 2 in)"
        ), lines["fct_customer_arr_monthly"]
        assert lines["fct_arr_monthly"].endswith(
            "(brought forward by fct_customer_arr_monthly's rows replaced: 1 out, 2 in)"
        ), lines["fct_arr_monthly"]
    assert beta() == [
        ("2025-01-01", 6600, 0, 0, 6600, 0),
        ("2025-02-01", 0, 6600, 0, 0, 6600),
        ("2025-12-01", 7200, 0, 0, 7200, 0),
        ("2026-01-01", 0, 7200, 6600, 0, 7200),
    ]

    load_pages(conn, invoiced, [[_line("L7-1", "N2", "I1", "2/10/2026", "1", "-600", "USD", "1")]])
    lines = build_lines(conn)
    assert "rebuilt whole" in lines["fct_customer_arr_monthly"], lines["fct_customer_arr_monthly"]
    assert conn.execute(
        "SELECT arr_usd, arr_prior_month_usd, churned_arr_usd FROM mart.fct_customer_arr_monthly"
        " WHERE account_key = 'A1' AND month_start = '2026-02-01'"
    ).fetchone() == (0, 18000, 18000)
    incremental = mart_checksums(conn)
    build.build_all(conn, echo=lambda _: None, full=True)
    assert mart_checksums(conn) == incremental
