"""The KPI rows brought forward equal the rows computed whole, as the mart's facts move.

The hand-made mart of the KPI layer's known answers (test_kpi_layer) is computed with its
rows kept, then moved on the way a day moves it: a spend far back in history that gives a
campaign an earlier first period and is then taken back (a slice is judged only once it has
a full trailing window), an attribution model no row had before (ROAS lends the models'
values to every month of spend), spends in new months (the business day moves on: April
becomes complete, then the third quarter begins), and a spend that slips into the next month
(the month after keeps its own rows, and its prior value moves). After each move, the same
facts are computed whole in a schema of their own, and `kpi_values` must come out the same,
row for row.
"""

from __future__ import annotations

from datetime import date

import psycopg
import pytest
from psycopg import sql

from revenue_os.metrics import load_contracts
from revenue_os.metrics.kept_kpis import KeptMetrics
from revenue_os.metrics.kpi_layer import build_kpi_tables
from revenue_os.metrics.kpi_tables import KPI_TABLES
from tests.integration.conftest import ScratchDatabases
from tests.integration.test_kpi_layer import build_rollups, create_hand_made_mart

KEPT, WHOLE, STATE = "kept", "whole", "kept_state"
CONTRACTS = load_contracts()
METRIC_GRAINS = sum(len(contract.grain) for contract in CONTRACTS.values())


@pytest.fixture
def mart(warehouse_server):
    databases = ScratchDatabases(warehouse_server)
    conn = databases.create("kept_kpis")
    conn.execute(f"CREATE SCHEMA {KEPT}")
    conn.execute(f"CREATE SCHEMA {STATE}")
    create_hand_made_mart(conn, KEPT)
    yield conn
    conn.close()
    databases.drop_all()


def compute(conn: psycopg.Connection) -> KeptMetrics:
    """The KPI tables of the kept mart brought forward, and of a copy of its facts computed
    whole; the kept computation's counts."""
    with conn.cursor() as cursor:
        build_rollups(cursor, KEPT)
    kept = KeptMetrics(STATE)
    counts = build_kpi_tables(conn, KEPT, CONTRACTS, kept=kept)
    # The rows are counted as they are written, not scanned again.
    (rows,) = conn.execute(f"SELECT count(*) FROM {KEPT}.kpi_values").fetchone()
    assert counts["kpi_values"] == rows
    conn.execute(f"DROP SCHEMA IF EXISTS {WHOLE} CASCADE")
    conn.execute(f"CREATE SCHEMA {WHOLE}")
    facts = conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = %s AND NOT tablename = ANY(%s)",
        (KEPT, list(KPI_TABLES)),
    ).fetchall()
    for (table,) in facts:
        conn.execute(
            sql.SQL("CREATE TABLE {} AS SELECT * FROM {}").format(
                sql.Identifier(WHOLE, table), sql.Identifier(KEPT, table)
            )
        )
    build_kpi_tables(conn, WHOLE, CONTRACTS)
    return kept


def differing_rows(conn: psycopg.Connection) -> list[str]:
    """kpi_values rows in one schema and not the other (at most ten), as text."""
    rows = conn.execute(
        f"(SELECT '{KEPT}' AS only_in, * FROM {KEPT}.kpi_values"
        f" EXCEPT SELECT '{KEPT}', * FROM {WHOLE}.kpi_values)"
        f" UNION ALL (SELECT '{WHOLE}', * FROM {WHOLE}.kpi_values"
        f" EXCEPT SELECT '{WHOLE}', * FROM {KEPT}.kpi_values) LIMIT 10"
    ).fetchall()
    return [" ".join(str(value) for value in row[:12]) for row in rows]


def roas_status(conn: psycopg.Connection, campaign: str, month: date) -> str | None:
    row = conn.execute(
        f"SELECT status FROM {KEPT}.kpi_values WHERE metric_name = 'roas'"
        " AND period_grain = 'month' AND period_start = %s AND dimension_name = 'campaign'"
        " AND dimension_value = %s",
        (month, campaign),
    ).fetchone()
    assert row is not None, (campaign, month)
    return row[0]


def spend(conn: psycopg.Connection, day: date, campaign: str, usd: int) -> None:
    conn.execute(
        f"INSERT INTO {KEPT}.fct_ad_spend_daily (date_day, campaign_key, channel, platform,"
        " currency_code, spend_local, spend_usd)"
        " VALUES (%s, %s, 'paid_search', 'google_ads', 'USD', %s, %s)",
        (day, campaign, usd, usd),
    )


def test_kpi_values_brought_forward_equal_them_computed_whole(mart):
    conn = mart
    first = compute(conn)
    assert first.values == {"whole": METRIC_GRAINS, "periods": 0}
    assert not (diff := differing_rows(conn)), "\n".join(diff)

    # Nothing moved: no simple metric is computed again, every row is kept.
    unchanged = compute(conn)
    assert unchanged.computed["periods"] == 0
    assert not (diff := differing_rows(conn)), "\n".join(diff)
    # The statistics of the kept tables are refreshed after a whole computation, not after
    # one that wrote only the forward-looking metrics' rows (computed whole every time).
    values = sql.Identifier(KEPT, "kpi_values")
    with conn.cursor() as cursor:
        assert first.work_statistics_stale(cursor) and first.values_statistics_stale(cursor, values)
        assert unchanged._work_rows_whole > 0
        assert not unchanged.work_statistics_stale(cursor)
        assert not unchanged.values_statistics_stale(cursor, values)

    # brand-search first spent in January 2025: February is inside its first trailing window,
    # so its ROAS is not judged yet.
    feb = date(2025, 2, 1)
    assert roas_status(conn, "brand-search", feb) is None
    # A spend found in June 2024 makes June its first month: February is judged now, though
    # the rows the spend changed reach no further than September 2024.
    spend(conn, date(2024, 6, 10), "brand-search", 100)
    moved = compute(conn)
    assert moved.values["periods"] > 0 and moved.values["whole"] < METRIC_GRAINS
    assert roas_status(conn, "brand-search", feb) is not None
    assert not (diff := differing_rows(conn)), "\n".join(diff)
    # And taken back.
    conn.execute(f"DELETE FROM {KEPT}.fct_ad_spend_daily WHERE date_day = '2024-06-10'")
    compute(conn)
    assert roas_status(conn, "brand-search", feb) is None
    assert not (diff := differing_rows(conn)), "\n".join(diff)

    # A conversion credited by a model no row had: ROAS by attribution model gets the model
    # in every month of spend, not only in February's.
    conn.execute(
        f"INSERT INTO {KEPT}.fct_attribution (conversion_id, conversion_type, opportunity_id,"
        " conversion_date, attribution_model, touch_id, touch_date, campaign_key, channel,"
        " credit, attributed_amount_usd, segment, region) VALUES ('C2', 'won_opportunity',"
        " 'opp-C2', '2025-02-15', 'custom', 'T-custom', '2025-02-01', 'display-retarget',"
        " 'paid_display', 1, 2000, 'smb', 'emea')"
    )
    compute(conn)
    january_custom = conn.execute(
        f"SELECT value FROM {KEPT}.kpi_values WHERE metric_name = 'roas'"
        " AND period_grain = 'month' AND period_start = '2025-01-01'"
        " AND dimension_name = 'attribution_model' AND dimension_value = 'custom'"
    ).fetchone()
    assert january_custom is not None and january_custom[0] == 0
    assert not (diff := differing_rows(conn)), "\n".join(diff)

    # A spend on 2 May: the business day moves into May, April is complete and May begun.
    april = date(2025, 4, 1)
    complete = f"SELECT is_complete FROM {KEPT}.kpi_values WHERE metric_name = 'paid_spend'"
    complete += " AND period_grain = 'month' AND period_start = %s AND dimension_name = 'overall'"
    assert conn.execute(complete, (april,)).fetchone() == (False,)
    spend(conn, date(2025, 5, 2), "brand-search", 50)
    compute(conn)
    assert conn.execute(complete, (april,)).fetchone() == (True,)
    assert not (diff := differing_rows(conn)), "\n".join(diff)

    # A spend on 2 July: the third quarter begins, and bookings against target reaches it.
    # Its target was set long before, so nothing in that quarter's rows was computed again.
    q3 = date(2025, 7, 1)
    against_target = f"SELECT value FROM {KEPT}.kpi_values WHERE metric_name ="
    against_target += " 'bookings_vs_target_pct' AND period_grain = 'quarter'"
    against_target += " AND period_start = %s AND dimension_name = 'overall'"
    assert conn.execute(against_target, (q3,)).fetchone() is None
    spend(conn, date(2025, 7, 2), "brand-search", 50)
    compute(conn)
    assert conn.execute(against_target, (q3,)).fetchone() == (0,)
    assert not (diff := differing_rows(conn)), "\n".join(diff)

    # linkedin-abm's February spend slips to 1 March: February falls and March rises by the
    # same 3,000, so April's own rows (a quiet month's 0, its 3-month total) are unchanged,
    # and only its prior value, March, moved.
    prior = f"SELECT value, prior_value FROM {KEPT}.kpi_values WHERE metric_name = 'paid_spend'"
    prior += " AND period_grain = 'month' AND period_start = '2025-04-01'"
    prior += " AND dimension_name = 'campaign' AND dimension_value = 'linkedin-abm'"
    assert conn.execute(prior).fetchone() == (0, 4000)
    conn.execute(
        f"UPDATE {KEPT}.fct_ad_spend_daily SET date_day = '2025-03-01'"
        " WHERE date_day = '2025-02-15' AND campaign_key = 'linkedin-abm'"
    )
    slipped = compute(conn)
    moved = slipped.rewritten[("paid_spend", "month")]
    assert moved is not None
    # February and March, and May, whose 3-month total now holds March's 7,000; not April.
    assert {(p, v) for p, n, v in moved if n == "campaign"} == {
        (date(2025, 2, 1), "linkedin-abm"),
        (date(2025, 3, 1), "linkedin-abm"),
        (date(2025, 5, 1), "linkedin-abm"),
    }
    assert slipped.rows_moved >= len(moved) and slipped.values_rewritten > 0
    # Only the slices whose period values moved are computed again: linkedin-abm's
    # campaign, and the totals it adds to; no other campaign, in any metric fed by spend.
    spend_scope = slipped.scopes[("paid_spend", "month")]
    assert spend_scope is not None and spend_scope.slices is not None
    assert {v for n, v in spend_scope.slices if n == "campaign"} == {"linkedin-abm"}
    assert ("overall", "all") in spend_scope.slices
    roas_scope = slipped.scopes[("roas", "month")]
    assert roas_scope is not None and roas_scope.keys is not None
    assert {v for _, n, v in roas_scope.keys if n == "campaign"} == {"linkedin-abm"}
    # Spend has no attribution model: its total moved, so ROAS by every model is reached in
    # the months it moved in.
    assert {(p, n) for p, n in roas_scope.dimensions} >= {
        (date(2025, 2, 1), "attribution_model"),
        (date(2025, 3, 1), "attribution_model"),
    }
    assert conn.execute(prior).fetchone() == (0, 7000)
    assert not (diff := differing_rows(conn)), "\n".join(diff)
