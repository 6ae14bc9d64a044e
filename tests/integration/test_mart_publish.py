"""Write-audit-publish: readers see the last good mart whatever happens to a build; the
previous mart stays for rollback; the same input gives the same mart."""

from __future__ import annotations

import dataclasses
import re

import psycopg
import pytest

from revenue_os.metrics.kept_kpis import COMPUTATION_LOG
from revenue_os.metrics.mart_catalogue import MART_MODELS
from revenue_os.transform import build
from revenue_os.transform.models import ModelError, discover
from revenue_os.warehouse.migrations import migrate
from tests.integration.conftest import ScratchDatabases
from tests.integration.mart_world import load_world


def mart_checksums(conn: psycopg.Connection, schema: str = "mart") -> dict[str, str]:
    """md5 of every row of every business table in the schema, in a stable order. The
    data-health tables are left out: they report each build, a blocked one included; so is
    the KPI computations' log (in staging), which says what each computation wrote."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s"
            " AND tablename NOT LIKE 'data_health%%' AND NOT tablename = ANY(%s) ORDER BY 1",
            (schema, list(COMPUTATION_LOG)),
        )
    ]
    return {
        table: conn.execute(
            psycopg.sql.SQL(
                "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
                "FROM (SELECT {} FROM {}) AS t"
            ).format(_compared_columns(conn, schema, table), psycopg.sql.Identifier(schema, table))
        ).fetchone()[0]
        for table in tables
    }


# The calendar's stamps say when a build ran and went live, not what it holds.
STAMPS = {"reporting_calendar": ("built_at", "published_at", "published_label", "as_of_text")}


def _compared_columns(conn, schema: str, table: str) -> psycopg.sql.Composed:
    columns = [
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
            " AND table_name = %s ORDER BY ordinal_position",
            (schema, table),
        ).fetchall()
        if row[0] not in STAMPS.get(table, ())
    ]
    return psycopg.sql.SQL(", ").join(map(psycopg.sql.Identifier, columns))


@pytest.fixture
def published_world(warehouse_server):
    databases = ScratchDatabases(warehouse_server)
    conn = databases.create("mart_publish")
    migrate(conn)
    load_world(conn)
    build.build_all(conn, echo=lambda _: None)
    yield conn, databases
    conn.close()
    databases.drop_all()


def _last_build(conn) -> tuple[str, str | None]:
    return conn.execute(
        "SELECT status, error FROM ops.mart_builds ORDER BY started_at DESC LIMIT 1"
    ).fetchone()


def test_a_model_that_fails_leaves_the_published_mart_untouched(published_world):
    conn, _ = published_world
    before = mart_checksums(conn)
    models = discover()
    models["fct_revenue_lines"] = dataclasses.replace(
        models["fct_revenue_lines"], sql="select 1 / 0 as revenue_usd"
    )
    with pytest.raises(ModelError, match=r"fct_revenue_lines\.sql: division by zero"):
        build.build_all(conn, echo=lambda _: None, models=models)
    assert mart_checksums(conn) == before
    status, error = _last_build(conn)
    assert status == "failed" and "fct_revenue_lines" in error


def test_a_model_is_built_with_the_work_mem_its_properties_give_it(published_world):
    """The campaign roll-up declares 64 MB; the roll-up beside it declares nothing and gets
    the session's setting, which the build leaves as it found it. A partitioned model's own
    setting applies to its partitions computed again too (ARR by account, given 64 MB
    here)."""
    conn, _ = published_world
    (session,) = conn.execute("SHOW work_mem").fetchone()
    assert session != "64MB"
    models = discover()
    # Each roll-up made to record the setting it ran with (with the columns it is indexed
    # by and its grain, which the build indexes), built whole every time.
    for name in ("fct_campaign_attribution_monthly", "fct_attribution_monthly"):
        meta = models[name].properties.meta
        columns = dict.fromkeys([*meta.indexed_by, *models[name].grain])
        meta = meta.model_copy(
            update={"rollup_of": meta.rollup_of.model_copy(update={"follows_replaced_rows": False})}
        )
        models[name] = dataclasses.replace(
            models[name],
            sql="select current_setting('work_mem') as work_mem"
            + "".join(f", null::text as {column}" for column in columns),
            properties=models[name].properties.model_copy(update={"meta": meta}),
        )
    # ARR by account records it in place of the segment.
    arr = models["fct_customer_arr_monthly"]
    columns = list(arr.properties.column_types)
    models[arr.name] = dataclasses.replace(
        arr,
        sql=f"select {', '.join(columns)} from ({arr.sql}) as arr".replace(
            "select month_start, account_key, segment,",
            "select month_start, account_key, current_setting('work_mem') as segment,",
        ),
        properties=arr.properties.model_copy(
            update={"meta": arr.properties.meta.model_copy(update={"work_mem": "64MB"})}
        ),
    )
    assert "current_setting" in models[arr.name].sql
    settings = (
        "SELECT (SELECT work_mem FROM mart_build.fct_campaign_attribution_monthly),"
        " (SELECT work_mem FROM mart_build.fct_attribution_monthly),"
        " (SELECT array_agg(DISTINCT segment) FROM mart_build.fct_customer_arr_monthly)"
    )
    built = []
    for _ in range(2):
        lines: list[str] = []
        build_id = build.start_build(conn, models=models)
        for layer in ("staging", "intermediate", "marts"):
            build.build_layer(conn, layer, build_id, models, echo=lines.append)
        built.append(conn.execute(settings).fetchone())
        # The unfinished build's schema is the next one's, and a change of Acme's revenue
        # lines reaches its ARR: computed again with the same 64 MB, its rows stay.
        conn.execute(
            "INSERT INTO ops.model_changes (model, column_name, value)"
            " VALUES ('fct_revenue_lines', 'account_key', 'A1')"
        )
    assert built == [("64MB", session, ["64MB"])] * 2
    (arr_line,) = [line for line in lines if ".fct_customer_arr_monthly:" in line]
    assert re.search(
        r"brought forward: 1 partition computed again \(\d+ rows\), 0 rows out, 0 in\)$", arr_line
    ), arr_line
    assert conn.execute("SHOW work_mem").fetchone() == (session,)


def test_a_table_the_builder_does_not_own_stops_the_publish_naming_the_fix(published_world):
    """The swap grants and revokes reading each table, which only its owner may: a table
    altered by hand to another owner is named with the statement that gives it back."""
    conn, databases = published_world
    before = mart_checksums(conn)
    models = discover()
    build_id = build.start_build(conn, models=models)
    for layer in ("staging", "intermediate", "marts"):
        build.build_layer(conn, layer, build_id, models, echo=lambda _: None)
    build.build_kpis(conn, build_id, echo=lambda _: None)
    build.audit(conn, build_id, models, echo=lambda _: None)
    databases.pg.psql(
        database="mart_publish",
        command="ALTER TABLE mart_build.dim_date OWNER TO revenue_os_loader",
    )
    with pytest.raises(build.PublishBlocked) as blocked:
        build.publish(conn, build_id)
    assert str(blocked.value) == (
        "1 mart table not owned by the builder (revenue_os), which must grant and revoke"
        " reading them: mart_build.dim_date (owned by revenue_os_loader). As their owner or a"
        " superuser, run ALTER TABLE <table> OWNER TO revenue_os for each, then build again;"
        " the published mart is unchanged"
    )
    assert mart_checksums(conn) == before
    # Given back, the same audited build is published.
    databases.pg.psql(
        database="mart_publish", command="ALTER TABLE mart_build.dim_date OWNER TO revenue_os"
    )
    build.publish(conn, build_id)
    assert build.published_build(conn)[0] == build_id


def test_a_failed_audit_publishes_nothing(published_world):
    conn, _ = published_world
    before = mart_checksums(conn)
    models = discover()
    models["fct_touchpoints"] = dataclasses.replace(
        models["fct_touchpoints"],
        sql="select * from int_touchpoints union all select * from int_touchpoints",
    )
    original = models["fct_attribution"].sql
    models["fct_attribution"] = dataclasses.replace(
        models["fct_attribution"],
        sql=f"with original as ({original}) select conversion_id, conversion_type,"
        " opportunity_id, account_key, conversion_date, attribution_model, touch_id, touch_date, channel,"
        " campaign_key, credit * 0.5 as credit, attributed_amount_usd, segment, region"
        " from original",
    )
    with pytest.raises(build.AuditFailed) as failure:
        build.build_all(conn, echo=lambda _: None, models=models)
    message = str(failure.value)
    assert "unique_grain" in message and "fct_touchpoints" in message
    assert "7 duplicated keys" in message  # the seven touches, each twice
    assert "credit_sums_to_one" in message and "36 conversion-models" in message
    assert mart_checksums(conn) == before
    assert _last_build(conn)[0] == "audit_failed"
    failed = conn.execute(
        "SELECT audit, subject FROM ops.mart_audits a JOIN ops.mart_builds b USING (build_id)"
        " WHERE b.status = 'audit_failed' AND NOT passed ORDER BY 1, 2"
    ).fetchall()
    assert failed == [
        ("credit_sums_to_one", "fct_attribution"),
        ("unique_grain", "fct_touchpoints"),
    ]


def test_a_table_that_differs_from_its_declared_columns_fails_the_audit(published_world):
    """The properties files are what the contracts, the dashboards and docs/mart.md read: a
    model whose SQL adds, drops or retypes a column is stopped before it is published."""
    conn, _ = published_world
    before = mart_checksums(conn)
    models = discover()
    models["dim_channel"] = dataclasses.replace(
        models["dim_channel"],
        sql=f"with original as ({models['dim_channel'].sql}) select *, 1 as extra from original",
    )
    models["dim_date"] = dataclasses.replace(
        models["dim_date"],
        sql=f"with original as ({models['dim_date'].sql}) select date_day, week_start,"
        " month_start, quarter_start, year::text as year from original",
    )
    with pytest.raises(build.AuditFailed) as failure:
        build.build_all(conn, echo=lambda _: None, models=models)
    message = str(failure.value)
    assert "declared_columns" in message
    assert "measured extra not declared, expected the 6 columns of marts/_marts__models.yml" in (
        " ".join(message.split())
    )
    assert "is_weekend missing; year is text, declared integer" in message
    assert mart_checksums(conn) == before
    failed = conn.execute(
        "SELECT audit, subject FROM ops.mart_audits a JOIN ops.mart_builds b USING (build_id)"
        " WHERE b.status = 'audit_failed' AND NOT passed ORDER BY 1, 2"
    ).fetchall()
    assert failed == [("declared_columns", "dim_channel"), ("declared_columns", "dim_date")]


def test_a_rollup_that_loses_rows_or_miscounts_them_fails_the_audit(published_world):
    conn, _ = published_world
    before = mart_checksums(conn)
    models = discover()
    revenue = models["fct_revenue_monthly"].sql
    models["fct_revenue_monthly"] = dataclasses.replace(
        models["fct_revenue_monthly"],
        # drops the roll-up rows of L1-1 and L3-1 (January 2025) and L4-1 (January 2026)
        sql=f"with original as ({revenue}) select * from original where revenue_usd > 1000",
    )
    spend = models["fct_ad_spend_monthly"].sql
    columns = ", ".join(MART_MODELS["fct_ad_spend_monthly"]).replace(
        "campaign_days", "campaign_days * 2 AS campaign_days"
    )
    models["fct_ad_spend_monthly"] = dataclasses.replace(
        models["fct_ad_spend_monthly"],
        sql=f"with original as ({spend}) select {columns} from original",
    )
    with pytest.raises(build.AuditFailed) as failure:
        build.build_all(conn, echo=lambda _: None, models=models)
    message = str(failure.value)
    assert "2 months where the rows or quantity, revenue_usd" in message
    assert "3 months where the rows or impressions" in message  # December to February
    assert mart_checksums(conn) == before
    failed = conn.execute(
        "SELECT audit, subject FROM ops.mart_audits a JOIN ops.mart_builds b USING (build_id)"
        " WHERE b.status = 'audit_failed' AND NOT passed ORDER BY 1, 2"
    ).fetchall()
    assert failed == [
        ("sums_to_fact", "fct_ad_spend_monthly"),
        ("sums_to_fact", "fct_revenue_monthly"),
    ]


def test_publish_keeps_the_previous_mart_and_rollback_restores_it(published_world):
    conn, _ = published_world
    first = mart_checksums(conn)
    # A source changes: an invoice line's amount doubles.
    conn.execute(
        "UPDATE raw.netsuite__invoice_lines SET record = jsonb_set(record, '{netamount}', '\"-2000\"')"
        " WHERE source_id = 'L1-1'"
    )
    # Changed by hand, not by a load (no new batch): only a full build reads it.
    build.build_all(conn, echo=lambda _: None, full=True)
    second = mart_checksums(conn)
    assert second["fct_revenue_lines"] != first["fct_revenue_lines"]
    assert second["dim_channel"] == first["dim_channel"]
    assert mart_checksums(conn, "mart_previous") == first
    build.rollback(conn)
    assert mart_checksums(conn) == first
    assert mart_checksums(conn, "mart_previous") == second


def test_the_reader_reads_the_published_mart_only(published_world):
    conn, databases = published_world
    build.build_all(conn, echo=lambda _: None)  # a second publish: mart_previous exists now
    with psycopg.connect(databases.uri("mart_publish", "mart_reader"), autocommit=True) as reader:
        assert reader.execute("SELECT count(*) FROM mart.fct_revenue_lines").fetchone()[0] == 5
        for schema in ("mart_previous", "staging", "raw"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(f"SELECT count(*) FROM {schema}.fct_revenue_lines")
        # A build brings the copy one behind forward as mart_build: still not the reader's.
        build.build_all(conn, echo=lambda _: None, publish_after=False)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reader.execute("SELECT count(*) FROM mart_build.fct_revenue_lines")


def test_same_input_same_mart(published_world):
    conn, _ = published_world
    first = mart_checksums(conn)
    build.build_all(conn, echo=lambda _: None)
    assert mart_checksums(conn) == first
    published_models = {m.name for m in discover().values() if m.published}
    assert set(first) == published_models | {
        "kpi_values",
        "campaign_recommendations",
        "kpi_scorecard",
        "reporting_calendar",
        "kpi_signals",
        "decision_log",
    }


def test_the_refreshed_warehouse_rebuilds_to_the_same_mart(stack, warehouse_builder):
    """The mart the refresh DAG published from the mock sources, rebuilt aside from the same
    raw tables, is identical table by table."""
    published = mart_checksums(warehouse_builder)
    assert published, "the refresh published no mart"
    build.build_all(warehouse_builder, echo=lambda _: None, publish_after=False)
    assert mart_checksums(warehouse_builder, "mart_build") == published


def test_a_retried_audit_replaces_its_results_and_still_names_the_failed_checks(published_world):
    """An audit run again on the same build (a task retried after a transient error) must
    not collide with the results of its first try: the build stays audit_failed and the
    error still lists the failed checks, not a duplicate-key error."""
    conn, _ = published_world
    models = discover()
    models["fct_touchpoints"] = dataclasses.replace(
        models["fct_touchpoints"],
        sql="select * from int_touchpoints union all select * from int_touchpoints",
    )
    with pytest.raises(build.AuditFailed):
        build.build_all(conn, echo=lambda _: None, models=models)
    (build_id,) = conn.execute(
        "SELECT build_id FROM ops.mart_builds ORDER BY started_at DESC LIMIT 1"
    ).fetchone()
    first = conn.execute(
        "SELECT count(*) FROM ops.mart_audits WHERE build_id = %s", (build_id,)
    ).fetchone()[0]
    with pytest.raises(build.AuditFailed) as again:
        build.audit(conn, build_id, models, echo=lambda _: None)
    assert "unique_grain" in str(again.value) and "fct_touchpoints" in str(again.value)
    assert "7 duplicated keys" in str(again.value)
    assert (
        conn.execute(
            "SELECT count(*) FROM ops.mart_audits WHERE build_id = %s", (build_id,)
        ).fetchone()[0]
        == first
    )
    assert _last_build(conn)[0] == "audit_failed"
