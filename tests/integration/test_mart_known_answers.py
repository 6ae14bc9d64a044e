"""Known answers: the mart built from the hand-made world of mart_world.py, each expected
figure worked out by hand from its records. The mess the sources inject must come out
resolved: UTM spellings, duplicate people, cased e-mails, merged accounts and contacts,
deleted deals, currencies, weekend exchange rates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from revenue_os.transform.build import build_all
from revenue_os.warehouse.migrations import migrate
from tests.integration.conftest import ScratchDatabases
from tests.integration.mart_world import load_world


@pytest.fixture(scope="module")
def world(warehouse_server):
    databases = ScratchDatabases(warehouse_server)
    conn = databases.create("mart_known_answers")
    migrate(conn)
    load_world(conn)
    build_all(conn, echo=lambda _: None)
    yield conn
    conn.close()
    databases.drop_all()


def rows(conn, query: str, *params) -> list[tuple]:
    return conn.execute(query, params).fetchall()


def one(conn, query: str, *params):
    return conn.execute(query, params).fetchone()[0]


def test_duplicate_and_cross_system_records_resolve_to_one_person(world):
    identity = dict(
        rows(
            world,
            "SELECT source_system || ':' || source_contact_id, person_id"
            " FROM staging.int_person_identity",
        )
    )
    assert identity == {
        "hubspot:101": "hs-101",
        "hubspot:102": "hs-101",  # same name and company, personal e-mail
        "salesforce:C1": "hs-101",  # '  Jane.Doe@ACME.example ' joins on the normalised e-mail
        "hubspot:103": "hs-103",
        "salesforce:C2": "hs-103",  # salesforcecontactid names C4, merged into C2
        "salesforce:C5": "sf-C5",  # created by sales, in no other system
    }
    # The archived HubSpot contact is gone; three people in the funnel.
    assert one(world, "SELECT count(*) FROM mart.fct_funnel") == 3


def test_utm_variants_map_to_one_channel_and_unknown_values_are_kept_as_other(world):
    touches = {
        touch: (channel, campaign, mapped)
        for touch, channel, campaign, mapped in rows(
            world, "SELECT touch_id, channel, campaign_key, is_mapped FROM mart.fct_touchpoints"
        )
    }
    assert touches == {
        "E1": ("paid_search", "us-search-brand-core", True),  # Google / CPC, name with spaces
        "E2": ("organic_search", None, True),  # untagged form: the person's original source
        "E3": ("email", "2026-01-newsletter", True),  # Newsletter / e-mail
        "E4": ("paid_social", "li-us-plant-managers-video-2026-q1", True),  # lnkd.in / social
        "E6": ("other", None, False),  # tiktok / cpv: no rule, counted not dropped
        "E7": ("email", "2026-01-newsletter", True),  # raw campaign name, slugged
        "E8": ("paid_search", "us-search-brand-core", True),  # adwords / ppc, snake_case name
    }  # E5, an untagged page view, is browsing and not a touch


def test_deleted_deals_are_gone_and_merged_accounts_resolved(world):
    opportunities = {
        opp: (account, amount)
        for opp, account, amount in rows(
            world, "SELECT opportunity_id, account_key, amount_usd FROM mart.fct_opportunities"
        )
    }
    assert opportunities == {
        "O1": ("A1", Decimal("10000.00")),  # on A3, merged into A1
        "O2": ("A2", Decimal("1100.00")),  # 1000 EUR closed on Saturday: Friday's 1.10
        "O4": ("A1", Decimal("6000.00")),  # 5000 EUR at the last rate before 31 March, 1.20
        "O5": ("A2", Decimal("500.00")),
        "O6": ("A2", Decimal("7000.00")),
    }
    assert one(world, "SELECT count(*) FROM mart.dim_account WHERE account_key = 'A3'") == 0


def test_erp_customers_link_by_external_id_through_merges_then_by_domain(world):
    links = dict(
        rows(world, "SELECT customer_id, account_key FROM staging.int_erp_customer_accounts")
    )
    assert links == {"N1": "A1", "N2": "A2", "N3": "ns-N3"}
    region, channel = world.execute(
        "SELECT region, acquisition_channel FROM mart.dim_account WHERE account_key = 'ns-N3'"
    ).fetchone()
    assert (region, channel) == ("emea", "direct")  # UK subsidiary, web shop


def test_spend_converted_to_usd_at_the_days_rate(world):
    spend = {
        (platform, day.isoformat()): (channel, campaign, usd)
        for platform, day, channel, campaign, usd in rows(
            world,
            "SELECT platform, date_day, channel, campaign_key, spend_usd FROM mart.fct_ad_spend_daily",
        )
    }
    assert spend == {
        ("google_ads", "2025-12-15"): ("paid_search", "us-search-brand-core", Decimal("90.00")),
        ("google_ads", "2026-01-02"): ("paid_search", "us-search-brand-core", Decimal("50.00")),
        ("google_ads", "2026-02-03"): ("paid_search", "us-search-brand-core", Decimal("2000.00")),
        # 100 EUR on a Saturday at Friday's 1.10; no Salesforce campaign: channel from naming
        ("google_ads", "2026-01-03"): ("paid_display", "eu-display-retargeting", Decimal("110.00")),
        ("linkedin_ads", "2026-01-05"): (
            "paid_social",
            "li-us-plant-managers-video-2026-q1",
            Decimal("200.50"),
        ),
    }


def test_revenue_cogs_and_margin(world):
    lines = {
        line: (revenue, cogs, margin, family, channel)
        for line, revenue, cogs, margin, family, channel in rows(
            world,
            "SELECT invoice_line_id, revenue_usd, cogs_usd, gross_margin_usd, product_family, channel"
            " FROM mart.fct_revenue_lines",
        )
    }
    d = Decimal
    assert lines == {
        "L1-1": (d("1000.00"), d("100.00"), d("900.00"), "subscription", "paid_search"),
        "L2-1": (d("1500.00"), d("150.00"), d("1350.00"), "subscription", "paid_search"),
        "L5-1": (d("1250.00"), d("125.00"), d("1125.00"), "subscription", "paid_search"),
        "L3-1": (d("550.00"), d("50.00"), d("500.00"), "subscription", "email"),  # 500 EUR x 1.1
        "L4-1": (d("1000.00"), d("400.00"), d("600.00"), "hardware", "direct"),  # 800 GBP x 1.25
    }
    total, margin = world.execute(
        "SELECT sum(revenue_usd), sum(gross_margin_usd) FROM mart.fct_revenue_lines"
    ).fetchone()
    assert (total, round(margin / total * 100, 2)) == (d("5300.00"), d("84.43"))


def test_revenue_and_margin_by_product(world):
    # January 2026: L2 1500 of the Platform Subscription (margin 1350), L4 two Edge Gateways
    # for 800 GBP = 1000 USD (margin 1000 - 2 x 200 = 600).
    d = Decimal
    for product, revenue, margin_pct in (
        ("Platform Subscription", "1500", "90"),
        ("Edge Gateway", "1000", "60"),
    ):
        assert kpi(world, "total_revenue", "month", "2026-01-01", "product", product) == d(revenue)
        assert kpi(world, "gross_margin_pct", "month", "2026-01-01", "product", product) == d(
            margin_pct
        )
    # The monthly roll-up keeps each product with its name and family.
    assert rows(
        world,
        "SELECT product_id, product_name, product_family, sum(revenue_usd) FROM"
        " mart.fct_revenue_monthly WHERE month_start = '2026-01-01' GROUP BY 1, 2, 3 ORDER BY 1",
    ) == [
        ("I1", "Platform Subscription", "subscription", d("1500.00")),
        ("I2", "Edge Gateway", "hardware", d("1000.00")),
    ]


def test_net_and_gross_revenue_retention(world):
    now, before, net, gross = world.execute(
        "SELECT sum(arr_usd), sum(arr_12m_ago_usd), sum(net_retained_arr_usd),"
        " sum(gross_retained_arr_usd) FROM mart.fct_customer_arr_monthly"
        " WHERE month_start = '2026-01-01'"
    ).fetchone()
    # A1 grew from 1000 to 1500 a month; A2 (550 a month) churned.
    assert (now, before) == (Decimal("18000.00"), Decimal("18600.00"))
    assert round(net / before, 4) == Decimal("0.9677")  # 18000 / 18600
    assert round(gross / before, 4) == Decimal("0.6452")  # (12000 + 0) / 18600


def test_arr_movements_account_by_account(world):
    rows_ = world.execute(
        "SELECT account_key, month_start, arr_usd, arr_prior_month_usd, new_arr_usd,"
        " expansion_arr_usd, contraction_arr_usd, churned_arr_usd"
        " FROM mart.fct_customer_arr_monthly WHERE arr_usd > 0 OR arr_prior_month_usd > 0"
        " ORDER BY 1, 2"
    ).fetchall()
    acme, beta = "A1", "A2"
    assert [(r[0], r[1].isoformat(), *map(int, r[2:])) for r in rows_] == [
        # Acme: 1,000 a month in January 2025, nothing until December (1,250), then 1,500.
        (acme, "2025-01-01", 12000, 0, 12000, 0, 0, 0),
        (acme, "2025-02-01", 0, 12000, 0, 0, 0, 12000),
        (acme, "2025-12-01", 15000, 0, 15000, 0, 0, 0),
        (acme, "2026-01-01", 18000, 15000, 0, 3000, 0, 0),
        # Beta: 500 EUR at 1.1 in January 2025 only.
        (beta, "2025-01-01", 6600, 0, 6600, 0, 0, 0),
        (beta, "2025-02-01", 0, 6600, 0, 0, 0, 6600),
    ]
    # Every month: ARR now = the month before + new + expansion - contraction - churned.
    assert all(r[2] == r[3] + r[4] + r[5] - r[6] - r[7] for r in rows_)


def test_invoice_lines_at_list_price_in_their_own_currency(world):
    assert rows(
        world,
        "SELECT invoice_line_id, revenue_usd, list_amount_usd FROM mart.fct_revenue_lines"
        " ORDER BY invoice_line_id",
    ) == [
        ("L1-1", Decimal("1000.00"), Decimal("1600.00")),  # 1,600 USD, not the 9,999 online price
        ("L2-1", Decimal("1500.00"), Decimal("1600.00")),
        ("L3-1", Decimal("550.00"), Decimal("880.00")),  # 800 EUR at the line's 1.1
        ("L4-1", Decimal("1000.00"), Decimal("1125.00")),  # 2 x 450 GBP at 1.25
        ("L5-1", Decimal("1250.00"), Decimal("1600.00")),
    ]


def test_renewal_date_and_risk_flags(world):
    assert rows(
        world,
        "SELECT opportunity_id, renewal_date::text, is_renewal_at_risk, is_renewed_on_time"
        " FROM mart.fct_opportunities WHERE opportunity_type = 'renewal'",
    ) == [("O4", "2026-03-31", True, False)]
    assert one(world, "SELECT count(*) FROM mart.fct_opportunities WHERE is_renewal_at_risk") == 1


def test_forecast_snapshots_rebuild_the_crm_as_each_monday_opened(world):
    # O1 (Acme, mid-market): Prospecting on 22 January and Qualification on the 25th, both
    # replaced before a Monday; 12,000 in Qualification from Monday 26 January 00:00 (that
    # Monday sees it); won 10,000 on 5 February. The CRM's newest record is O6, created 15
    # February: no Monday after it. Q1 2026's first Monday is 5 January.
    assert rows(
        world,
        "SELECT week_start::text, quarter_start::text, segment, won_usd, commit_usd,"
        " best_case_usd, pipeline_usd, forecast_usd, week_of_quarter"
        " FROM mart.fct_forecast_snapshots ORDER BY week_start",
    ) == [
        ("2026-01-26", "2026-01-01", "mid_market", 0, 0, 0, 12000, 0, 4),
        ("2026-02-02", "2026-01-01", "mid_market", 0, 0, 0, 12000, 0, 5),
        ("2026-02-09", "2026-01-01", "mid_market", 10000, 0, 0, 0, 10000, 6),
    ]


def test_stage_durations_and_sales_cycle(world):
    stages = rows(
        world,
        "SELECT stage_name, days_in_stage FROM mart.fct_opportunity_stages"
        " WHERE opportunity_id = 'O1' ORDER BY entered_at",
    )
    # the amount change inside Qualification is not a stage of its own
    assert stages == [
        ("Prospecting", Decimal("3.00")),
        ("Qualification", Decimal("11.00")),
        ("Closed Won", None),
    ]
    assert (
        one(
            world, "SELECT sales_cycle_days FROM mart.fct_opportunities WHERE opportunity_id = 'O1'"
        )
        == 14
    )


def test_marketing_sourced_and_influenced(world):
    flags = {
        opp: (sourced, channel, influenced)
        for opp, sourced, channel, influenced in rows(
            world,
            "SELECT opportunity_id, is_marketing_sourced, sourced_channel, is_marketing_influenced"
            " FROM mart.fct_opportunities",
        )
    }
    assert flags["O1"] == (True, "paid_search", True)  # first touch E1, paid search
    assert flags["O2"] == (True, "email", True)
    assert flags["O4"][0] is False  # a renewal is never marketing-sourced


def test_funnel_dates_of_a_person_with_two_hubspot_records(world):
    row = world.execute(
        "SELECT lead_date::text, mql_date::text, sql_date::text, opportunity_date::text,"
        " won_date::text, acquisition_channel, segment, region"
        " FROM mart.fct_funnel WHERE person_id = 'hs-101'"
    ).fetchone()
    # MQL from the duplicate record (4 Dec), the earlier of the two
    assert row == (
        "2025-12-01",
        "2025-12-04",
        "2025-12-10",
        "2026-01-22",
        "2026-02-05",
        "paid_search",
        "mid_market",
        "north_america",
    )


def _credits(world, conversion: str) -> dict[str, dict[str, Decimal]]:
    result: dict[str, dict[str, Decimal]] = {}
    for model, touch, credit in rows(
        world,
        "SELECT attribution_model, touch_id, credit FROM mart.fct_attribution"
        " WHERE conversion_id = %s",
        conversion,
    ):
        result.setdefault(model, {})[touch] = round(credit, 6)
    return result


def test_attribution_of_the_opportunity_creation(world):
    # Path E1, E2 (form), E3, E4 at 21, 14, 7 and 0 days before creation.
    d = Decimal
    credits = _credits(world, "O1:created")
    assert credits["first_touch"] == {"E1": d(1)}
    assert credits["last_touch"] == {"E4": d(1)}
    assert credits["linear"] == dict.fromkeys(["E1", "E2", "E3", "E4"], d("0.25"))
    assert credits["u_shaped"] == {"E1": d("0.4"), "E2": d("0.1"), "E3": d("0.1"), "E4": d("0.4")}
    # milestones: first touch E1, lead creation E2 (first form), opportunity creation E4
    assert credits["w_shaped"] == {"E1": d("0.3"), "E2": d("0.3"), "E3": d("0.1"), "E4": d("0.3")}
    # weights 1/8, 1/4, 1/2, 1 (half-life 7 days) over their sum 15/8
    assert credits["time_decay"] == {
        "E1": round(d(1) / 15, 6),
        "E2": round(d(2) / 15, 6),
        "E3": round(d(4) / 15, 6),
        "E4": round(d(8) / 15, 6),
    }


def test_attribution_of_the_win(world):
    # The win (end of 5 Feb) adds E6, Jane's duplicate record's click: five touches.
    d = Decimal
    credits = _credits(world, "O1:won")
    assert credits["last_touch"] == {"E6": d(1)}
    assert credits["u_shaped"] == {
        "E1": d("0.4"),
        "E2": round(d("0.2") / 3, 6),
        "E3": round(d("0.2") / 3, 6),
        "E4": round(d("0.2") / 3, 6),
        "E6": d("0.4"),
    }
    # opportunity-creation touch is still E4 (the last before creation); E3 and E6 share 0.1
    assert credits["w_shaped"] == {
        "E1": d("0.3"),
        "E2": d("0.3"),
        "E3": d("0.05"),
        "E4": d("0.3"),
        "E6": d("0.05"),
    }
    # 36, 29, 22, 15 and 8 days before: weights double every 7 days, 1:2:4:8:16 over 31
    assert credits["time_decay"] == {
        t: round(d(w) / 31, 6)
        for t, w in zip(["E1", "E2", "E3", "E4", "E6"], [1, 2, 4, 8, 16], strict=True)
    }
    amounts = dict(
        rows(
            world,
            "SELECT touch_id, attributed_amount_usd FROM mart.fct_attribution"
            " WHERE conversion_id = 'O1:won' AND attribution_model = 'w_shaped'",
        )
    )
    assert amounts["E1"] == d("3000.00") and amounts["E6"] == d("500.00")


def test_every_conversion_gets_exactly_one_per_model(world):
    sums = rows(
        world,
        "SELECT conversion_id, attribution_model, sum(credit) FROM mart.fct_attribution"
        " GROUP BY 1, 2",
    )
    assert len(sums) == 6 * 6  # O1, O2 created and won; O5, O6 created; six models
    assert all(abs(total - 1) < Decimal("1e-12") for _, _, total in sums)


def test_monthly_rollups_sum_the_facts_by_month(world):
    d = Decimal
    spend = rows(
        world,
        "SELECT month_start::text, campaign_key, campaign_days, spend_usd"
        " FROM mart.fct_ad_spend_monthly ORDER BY 1, 2",
    )
    assert spend == [
        ("2025-12-01", "us-search-brand-core", 1, d("90.00")),
        ("2026-01-01", "eu-display-retargeting", 1, d("110.00")),
        ("2026-01-01", "li-us-plant-managers-video-2026-q1", 1, d("200.50")),
        ("2026-01-01", "us-search-brand-core", 1, d("50.00")),
        ("2026-02-01", "us-search-brand-core", 1, d("2000.00")),
    ]
    revenue = rows(
        world,
        "SELECT month_start::text, product_family, channel, invoice_lines, revenue_usd,"
        " cogs_usd, gross_margin_usd FROM mart.fct_revenue_monthly ORDER BY 1, 2, 3",
    )
    assert revenue == [
        ("2025-01-01", "subscription", "email", 1, d("550.00"), d("50.00"), d("500.00")),
        ("2025-01-01", "subscription", "paid_search", 1, d("1000.00"), d("100.00"), d("900.00")),
        ("2025-12-01", "subscription", "paid_search", 1, d("1250.00"), d("125.00"), d("1125.00")),
        ("2026-01-01", "hardware", "direct", 1, d("1000.00"), d("400.00"), d("600.00")),
        ("2026-01-01", "subscription", "paid_search", 1, d("1500.00"), d("150.00"), d("1350.00")),
    ]
    # Wins: O2 (1,000 EUR at 1.10) on 3 January, O1 (10,000 USD) on 5 February, each credited
    # in full by every model; O1's W-shaped path has five touches.
    for table in ("fct_attribution_monthly", "fct_campaign_attribution_monthly"):
        won = rows(
            world,
            f"SELECT month_start::text, attribution_model, sum(credit), sum(attributed_amount_usd)"
            f" FROM mart.{table} WHERE conversion_type = 'won_opportunity' GROUP BY 1, 2",
        )
        assert len(won) == 2 * 6, table
        for month, _model, credit, amount in won:
            expected = d("1100.00") if month == "2026-01-01" else d("10000.00")
            assert (month in ("2026-01-01", "2026-02-01"), round(credit, 12), round(amount, 2)) == (
                True,
                1,
                expected,
            ), table
    touches = one(
        world,
        "SELECT sum(credited_touches) FROM mart.fct_attribution_monthly"
        " WHERE month_start = '2026-02-01'"
        " AND attribution_model = 'w_shaped' AND conversion_type = 'won_opportunity'",
    )
    assert touches == 5
    # New business created: O1 (10,000 USD), O2 (1,000 EUR at 1.10) and O5 (500 USD) in
    # January, O6 (7,000 USD) in February; O3 was deleted, O4 is a renewal.
    created = rows(
        world,
        "SELECT month_start::text, sum(opportunities)::int, sum(amount_usd)"
        " FROM mart.fct_opportunities_created_monthly WHERE opportunity_type = 'new_business'"
        " GROUP BY 1 ORDER BY 1",
    )
    assert created == [("2026-01-01", 3, d("11600.00")), ("2026-02-01", 1, d("7000.00"))]


def test_bookings_targets_grow_last_years_bookings_by_the_plan(world):
    targets = {
        (quarter.isoformat(), segment): target
        for quarter, segment, target in rows(
            world, "SELECT quarter_start, segment, target_usd FROM mart.fct_bookings_targets"
        )
    }
    # won new business in Q1 2026: 10,000 (mid-market) and 1,100 (enterprise), plan +40 %
    assert targets == {
        ("2027-01-01", "mid_market"): Decimal("14000.00"),
        ("2027-01-01", "enterprise"): Decimal("1540.00"),
    }


def test_inventory_valued_at_average_cost(world):
    assert rows(
        world,
        "SELECT product_family, quantity_on_hand, inventory_value_usd FROM mart.fct_inventory_snapshots"
        " ORDER BY snapshot_date",
    ) == [
        ("hardware", Decimal("10"), Decimal("2100.00")),
        ("hardware", Decimal("8"), Decimal("1680.00")),
    ]


def kpi(
    world, metric: str, grain: str, period: str, dimension: str = "overall", value: str = "all"
):
    row = world.execute(
        "SELECT value FROM mart.kpi_values WHERE metric_name = %s AND period_grain = %s"
        " AND period_start = %s AND dimension_name = %s AND dimension_value = %s",
        (metric, grain, period, dimension, value),
    ).fetchone()
    return None if row is None or row[0] is None else round(row[0], 4)


@pytest.mark.parametrize(
    ("metric", "grain", "period", "expected"),
    [
        # revenue: January 2026 = L2 1500 + L4 1000; December 2025 = L5 1250
        ("total_revenue", "month", "2026-01-01", "2500"),
        ("revenue_growth_pct", "month", "2026-01-01", "100"),  # (2500 - 1250) / 1250
        ("gross_margin_pct", "month", "2026-01-01", "78"),  # (1350 + 600) / 2500
        # spend: December 90; January 50 + 110 + 200.50; February 2000
        ("cost_per_mql", "month", "2025-12-01", "90"),  # 90 / Jane's one MQL
        ("cac", "month", "2026-01-01", "360.5"),  # 360.50 / Beta, won 3 January
        ("cac", "month", "2026-02-01", "2000"),  # 2000 / Acme, won 5 February
        # ROAS, February: Acme's win (10,000) credited to paid touches E1 (search) and E4
        # (social) / 2000 of spend
        ("roas", "month", "2026-02-01", "3"),  # W-shaped, the default: 0.3 + 0.3
        # funnel, December 2025 cohorts: leads Jane and Max; MQL Jane; SQL Jane
        ("leads", "month", "2025-12-01", "2"),
        ("lead_to_mql_pct", "month", "2025-12-01", "50"),
        ("mqls", "month", "2025-12-01", "1"),
        ("mql_to_sql_pct", "month", "2025-12-01", "100"),
        ("sqls", "month", "2025-12-01", "1"),
        ("sql_to_opportunity_pct", "month", "2025-12-01", "100"),
        ("opportunity_to_won_pct", "month", "2026-01-01", "100"),  # Jane and Max, both won
        # pipeline, January: O1 10,000 + O2 1,100 + O5 500, all first-touched by marketing
        ("pipeline_created", "month", "2026-01-01", "11600"),
        ("marketing_sourced_pipeline", "month", "2026-01-01", "11600"),
        ("marketing_influenced_pipeline", "month", "2026-01-01", "11600"),
        ("pipeline_created", "month", "2026-02-01", "7000"),  # O6; the renewal O4 is not pipeline
        ("win_rate", "month", "2026-01-01", "50"),  # O2 won, O5 lost
        ("sales_cycle_days", "quarter", "2026-01-01", "7.5"),  # won: O2 1 day, O1 14 days
        # 3 created x 50 % x 1,100 average won deal / 1 day cycle (January: O2 only)
        ("pipeline_velocity", "month", "2026-01-01", "1650"),
        ("nrr", "month", "2026-01-01", "96.7742"),  # 18,000 / 18,600
        ("grr", "month", "2026-01-01", "64.5161"),  # 12,000 / 18,600
        ("inventory_turnover", "month", "2026-01-01", "0.2381"),  # 400 hardware COGS / 1,680
        ("arr_growth_pct", "month", "2026-01-01", "-3.2258"),  # (18,000 - 18,600) / 18,600
        ("expansion_arr", "month", "2026-01-01", "3000"),  # Acme 15,000 -> 18,000
        ("new_arr", "month", "2025-12-01", "15000"),  # Acme back after ten months
        ("churned_arr", "month", "2025-02-01", "18600"),  # Acme 12,000 and Beta 6,600
        # new business won in Q1 2026: O1 10,000 and O2 1,100
        ("average_selling_price", "quarter", "2026-01-01", "5550"),
        ("new_business_bookings", "month", "2026-01-01", "1100"),
        # 360.50 of January spend / (1,100 / 12 x 78 % gross margin)
        ("cac_payback_months", "month", "2026-01-01", "5.042"),
        # O4, the renewal due 31 March, open in Pipeline without a next step: 5,000 EUR at 1.20
        ("renewal_risk_arr", "month", "2026-03-01", "6000"),
        ("renewals_due", "month", "2026-03-01", "1"),
        # January 2026 at list: L2 1,600 + L4 2 x 450 GBP at 1.25 = 1,125; billed 1,500 + 1,000
        ("discount_rate", "month", "2026-01-01", "8.2569"),  # (2,725 - 2,500) / 2,725
    ],
)
def test_kpi_values_worked_out_by_hand(world, metric, grain, period, expected):
    assert kpi(world, metric, grain, period) == round(Decimal(expected), 4)


def test_a_ratio_of_a_sum_over_an_average_trails_per_period(world):
    # Inventory turnover at January 2026 over November to January: hardware COGS 400 (L4,
    # January only) a month on average 400 / 3, over the month-end stock's average (2,100 in
    # December, 1,680 in January: 1,890): 0.0705 turns a month, like the month's 0.2381.
    trailing = world.execute(
        "SELECT trailing_value FROM mart.kpi_values WHERE metric_name = 'inventory_turnover'"
        " AND period_grain = 'month' AND period_start = '2026-01-01'"
        " AND dimension_name = 'overall'"
    ).fetchone()[0]
    assert round(trailing, 4) == round(Decimal(400) / 3 / 1890, 4)


def test_roas_side_by_side_per_attribution_model(world):
    by_model = {
        model: kpi(world, "roas", "month", "2026-02-01", "attribution_model", model)
        for model in ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "time_decay")
    }
    d = Decimal
    assert by_model == {
        "first_touch": d("5.0000"),  # E1 paid search gets all 10,000
        # E6 is unmapped (other), not paid: 0, shown although no paid touch got last-touch
        # credit in February (O2's last touch E8 in January puts last_touch on the map)
        "last_touch": d("0.0000"),
        "linear": d("2.0000"),  # E1 and E4: 0.2 + 0.2
        "u_shaped": round((d("0.4") + d("0.2") / 3) * 5, 4),  # (0.4 + 0.2/3) x 10,000 / 2,000
        "w_shaped": d("3.0000"),
        "time_decay": round(d(9) / 31 * 5, 4),  # (1 + 8) / 31 x 10,000 / 2,000
    }


def test_coverage_is_kept_for_the_quarter_in_progress_and_the_next_only(world):
    # Open O6 closes in Q1 2027 against a target (14,000 + 1,540) derived from Q1 2026: a
    # ratio of 0.4505, but a year ahead of the data (which runs to March 2026), beyond the
    # quarter in progress and the next one that coverage is read for.
    assert kpi(world, "open_pipeline_usd", "quarter", "2027-01-01") == Decimal("7000.0000")
    assert kpi(world, "bookings_target", "quarter", "2027-01-01") == Decimal("15540.0000")
    assert kpi(world, "pipeline_coverage", "quarter", "2027-01-01") is None
