"""An incremental build equals a full rebuild.

The mock vendor APIs (a server of this module's own) move on by days: new records, changed
ones, restated ad days, merged accounts and contacts, deleted opportunities and archived
contacts. After each incremental pull the mart is built as a refresh builds it (the
incremental staging models brought forward by the rows loaded since), its tables are
checksummed, and the same warehouse is rebuilt in full: every staging and published table must
come out the same, row for row.
"""

from __future__ import annotations

import re

import psycopg
import pytest

from revenue_os.metrics.contract import SimpleCalculation
from revenue_os.metrics.loader import inputs_of, load_contracts
from revenue_os.orchestration.extract_load import Request
from revenue_os.transform import build
from revenue_os.transform.models import discover
from revenue_os.warehouse.migrations import migrate
from revenue_os_mock_apis.config import VENDORS, FaultOptions, MockConfig
from revenue_os_mock_apis.server import BackgroundMockServer
from tests.integration.conftest import ScratchDatabases
from tests.integration.test_mart_publish import mart_checksums
from tests.integration.test_sources import ADMIN, TOKEN, load_all

INCREMENTAL = sorted(m.name for m in discover().values() if m.incremental)


def _whole_every_day() -> tuple[int, int]:
    """The simple and derived metric grains a day's build computes whole: the
    forward-looking metrics (their periods move with the business day) and what derives
    from them."""
    whole: set[str] = set()
    counts = [0, 0]
    for contract in load_contracts().values():  # inputs first
        if contract.is_forward_looking or whole.intersection(inputs_of(contract)):
            whole.add(contract.name)
            counts[not isinstance(contract.calculation, SimpleCalculation)] += len(contract.grain)
    return counts[0], counts[1]


WHOLE_EVERY_DAY = _whole_every_day()
METRIC_GRAINS = sum(len(contract.grain) for contract in load_contracts().values())


@pytest.fixture(scope="module")
def mock():
    # A business in which the four weeks ahead merge an account, delete a contact and a
    # junk opportunity, archive HubSpot contacts and restate ad days (checked below).
    config = MockConfig(
        seed=43,
        scale=0.1,
        tokens=dict.fromkeys(VENDORS, TOKEN),
        admin_token=ADMIN,
        faults=FaultOptions(),
        horizon_days=30,
    )
    with BackgroundMockServer(config) as server:
        yield server


@pytest.fixture
def warehouse(warehouse_server):
    databases = ScratchDatabases(warehouse_server)
    conn = databases.create("incremental_build")
    migrate(conn)
    yield conn, databases.uri("incremental_build")
    conn.close()
    databases.drop_all()


def staging_checksums(conn: psycopg.Connection) -> dict[str, str]:
    return mart_checksums(conn, schema=build.STAGING_SCHEMA)


def applied_batches(conn: psycopg.Connection) -> dict[str, int]:
    return dict(
        conn.execute(
            "SELECT model, cardinality(applied_batches) FROM ops.staging_state"
            " WHERE model = ANY(%s)",
            (INCREMENTAL,),
        ).fetchall()
    )


def test_an_incremental_build_equals_a_full_rebuild_as_the_sources_move_on(mock, warehouse):
    conn, uri = warehouse
    load_all(mock, uri, Request(mode="full"))
    build.build_all(conn, echo=lambda _: None)
    assert applied_batches(conn) == dict.fromkeys(INCREMENTAL, 1)
    # Two more builds, as a refresh runs day after day: the mart one copy behind is then one
    # a build brought forward, and the tables the partitioned ones follow are in it too.
    build.build_all(conn, echo=lambda _: None)
    build.build_all(conn, echo=lambda _: None)

    seen: dict[str, dict[str, int]] = {}
    with mock.admin_client(ADMIN) as admin:
        for step in range(1, 3):
            changes = admin.post("/_admin/advance", json={"days": 14}).json()["changes"]
            for name, figures in changes.items():
                for kind, count in figures.items():
                    seen.setdefault(name, {}).setdefault(kind, 0)
                    seen[name][kind] += count
            loads = load_all(mock, uri)

            lines: list[str] = []
            build.build_all(conn, echo=lines.append)
            # The operator sees what the day's load changed, model by model.
            events = loads["hubspot.events"]
            assert events.inserted + events.updated > 0
            (line,) = [line for line in lines if ".stg_hubspot__events:" in line]
            assert line.endswith(
                f"(brought forward by 1 load: {events.updated:,} rows out, "
                f"{events.inserted + events.updated:,} in)"
            ), line
            # The touches of the persons the day reached computed again, the rest kept.
            (line,) = [line for line in lines if ".int_touchpoints:" in line]
            assert " computed again (" in line, line
            # The published fact, in the mart one copy behind, follows; after a full build
            # (step 2) it is rebuilt whole, since that build's inputs were rebuilt whole.
            (line,) = [line for line in lines if ".fct_touchpoints:" in line]
            assert (" computed again (" if step == 1 else "rebuilt whole") in line, line
            # Attribution follows its accounts' opportunities and touches the same way, and
            # the opportunities their accounts' changes, the revenue lines their customers'
            # new lines and changed accounts, the funnel its persons' changes, ad spend the
            # platform campaigns whose days were restated.
            for partitioned in (
                "fct_ad_spend_daily",
                "fct_attribution",
                "fct_opportunities",
                "fct_revenue_lines",
                "fct_funnel",
            ):
                (line,) = [line for line in lines if f".{partitioned}:" in line]
                assert (" computed again (" if step == 1 else "rebuilt whole") in line, line
            # Their monthly roll-ups follow the rows the facts replaced.
            for rollup, fact in (
                ("fct_revenue_monthly", "fct_revenue_lines"),
                ("fct_opportunities_created_monthly", "fct_opportunities"),
                ("fct_opportunities_closed_monthly", "fct_opportunities"),
                ("fct_ad_spend_monthly", "fct_ad_spend_daily"),
            ):
                (line,) = [line for line in lines if f".{rollup}:" in line]
                expected = f"brought forward by {fact}'s rows replaced" if step == 1 else "whole"
                assert expected in line, line
            # The metrics follow the periods their facts changed in, the derived ones their
            # inputs', kpi_values both and the business day; after a full build (step 2)
            # too, since the kept rows do not depend on how the facts were built. Only the
            # forward-looking metrics, and what derives from them, are computed whole.
            (line,) = [line for line in lines if "compiled from the metric contracts" in line]
            counts = re.search(
                r"simple (\d+) / (\d+), derived (\d+) / (\d+), kpi_values (\d+) / (\d+)", line
            )
            assert counts, line
            simple_whole, simple_periods, derived_whole, derived_periods = map(
                int, counts.groups()[:4]
            )
            values_whole, values_periods = map(int, counts.groups()[4:])
            assert (simple_whole, derived_whole) == WHOLE_EVERY_DAY, line
            assert min(simple_periods, derived_periods) > 0, line
            # kpi_values, kept in the mart one copy behind, follows the rows due since the
            # computation that wrote it; after a full build (step 2) every row is.
            if step == 1:
                assert values_whole == sum(WHOLE_EVERY_DAY) and values_periods > 0, line
            else:
                assert (values_whole, values_periods) == (METRIC_GRAINS, 0), line
            # Brought forward: one more batch applied to each, not rebuilt from scratch.
            assert applied_batches(conn) == dict.fromkeys(INCREMENTAL, 1 + step)
            incremental = (staging_checksums(conn), mart_checksums(conn))

            build.build_all(conn, echo=lambda _: None, full=True)
            full = (staging_checksums(conn), mart_checksums(conn))
            assert incremental[0] == full[0]
            assert incremental[1] == full[1]

    # The days covered what makes a day's changes hard, not only new rows.
    assert seen["salesforce.opportunities"]["deleted"] > 0
    assert seen["salesforce.accounts"]["deleted"] > 0  # merged away
    assert seen["salesforce.contacts"]["deleted"] > 0
    assert seen["hubspot.contacts"]["deleted"] > 0  # archived
    assert seen["google_ads.campaign_days"]["restated"] > 0
    assert seen["netsuite.invoice_lines"]["created"] > 0


def test_a_changed_model_or_a_lost_table_is_rebuilt_not_brought_forward(mock, warehouse):
    conn, uri = warehouse
    load_all(mock, uri, Request(mode="full"))
    build.build_all(conn, echo=lambda _: None)
    expected = staging_checksums(conn)

    # The table gone (dropped by hand): rebuilt whole, with the same rows.
    conn.execute("DROP TABLE staging.stg_hubspot__events")
    build.build_all(conn, echo=lambda _: None)
    assert staging_checksums(conn) == expected

    # The model's SQL changed: its recorded digest no longer matches, so it is rebuilt.
    conn.execute(
        "UPDATE ops.staging_state SET sql_digest = 'an older version'"
        " WHERE model = 'stg_netsuite__invoice_lines'"
    )
    conn.execute("DELETE FROM staging.stg_netsuite__invoice_lines WHERE line_number = 1")
    build.build_all(conn, echo=lambda _: None)
    assert staging_checksums(conn) == expected
    assert conn.execute(
        "SELECT sql_digest <> 'an older version' FROM ops.staging_state"
        " WHERE model = 'stg_netsuite__invoice_lines'"
    ).fetchone() == (True,)

    # A table kept build after build carries a unique index on its grain, nulls not distinct:
    # the grain audit reads it instead of grouping every row, and a repeated key is refused
    # as it is written (the unattributed conversion's row has no touch: a null part of the key).
    measured = dict(
        conn.execute(
            "SELECT subject, measured FROM ops.mart_audits WHERE audit = 'unique_grain'"
            " AND build_id = (SELECT build_id FROM ops.mart_builds ORDER BY started_at DESC"
            " LIMIT 1)"
        ).fetchall()
    )
    kept = sorted(m.name for m in discover().values() if m.incremental or m.partitions)
    assert "fct_attribution" in kept and "stg_hubspot__events" in kept
    for name in kept:
        assert measured[name] == "0 duplicated keys (a unique index on the grain refuses them)"
    assert measured["fct_forecast_snapshots"] == "0 duplicated keys"  # rebuilt whole
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO mart.fct_attribution SELECT * FROM mart.fct_attribution"
            " WHERE touch_id IS NULL LIMIT 1"
        )

    # What the dashboards pick rows by is indexed in the published mart: a mart model's
    # indexed_by columns, and kpi_values keyed metric, grain, breakdown, value, period.
    # (The campaign roll-up, kept build after build, has its grain's index too.)
    indexes: dict[str, list[str]] = {}
    for table, definition in conn.execute(
        "SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = 'mart'"
        " AND tablename IN ('fct_campaign_attribution_monthly', 'kpi_values')"
    ):
        indexes.setdefault(table, []).append(definition.split(" USING ")[1])
    assert {table: sorted(definitions) for table, definitions in indexes.items()} == {
        "fct_campaign_attribution_monthly": [
            "btree (attribution_model, conversion_type, campaign_key)",
            "btree (month_start, attribution_model, conversion_type, campaign_key, channel,"
            " segment, region) NULLS NOT DISTINCT",
        ],
        "kpi_values": [
            "btree (metric_name, period_grain, dimension_name, dimension_value, period_start)"
        ],
    }
