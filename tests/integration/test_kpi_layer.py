"""Known answers: the KPI layer on a tiny hand-made mart, every expected value worked by hand.

The mart spans January to March 2025, plus one row of each kind on 1 April so that March is
complete and April is the current, incomplete period.

Revenue (product family: revenue / COGS / gross margin):
  January   hardware 1000 / 600 / 400,  subscription 1000 + 2000 / 800 / 2200
            total 4000, margin 2600 -> 65 %   (yellow: >= 60 and < 70)
  February  hardware 2000 / 1500 / 500, subscription 3000 / 600 / 2400
            total 5000, margin 2900 -> 58 %   (red: < 60)
  March     subscription 5000 / 500 / 4500, services 1000 / 700 / 300
            total 6000, margin 4800 -> 80 %   (green: >= 70)
  April 1   subscription 100 / 10 / 90
  Growth: February +25 % ((5000 - 4000) / 4000), March +20 %.
  Trailing three months of gross margin % at March: (2600 + 2900 + 4800) / 15000 = 68.67 %,
  not the mean of the three months (67.67 %).

Ad spend (campaign, channel: January / February / March):
  brand-search   paid_search   400 + 600 / 1000 / 2000   (and 100 on 1 April)
  linkedin-abm   paid_social   3000 / 3000 / 4000
  display-retarget paid_display 1000 / 1000 / 1000   (and 200 on 1 April)
  tiny-test      paid_search   0 / 0 / 500
  March total 7500; three months 5000 + 5000 + 7500 = 17500.

Won conversions, credited by six models (W-shaped is the default):
  C1, 10 March, 30000, five touches: brand, e-mail, linkedin, display, brand
      first touch  brand 30000                      paid 30000
      last touch   brand 30000                      paid 30000
      linear       0.2 each: brand 12000, e-mail 6000, linkedin 6000, display 6000   paid 24000
      U-shaped     0.4 / 0.2/3 x3 / 0.4: brand 24000, others 2000 each            paid 28000
      W-shaped     0.3 first, 0.3 linkedin (lead), 0.3 last, 0.05 e-mail, 0.05 display:
                   brand 18000, linkedin 9000, display 1500, e-mail 1500           paid 28500
      time decay   0.05 / 0.1 / 0.15 / 0.3 / 0.4: brand 13500, e-mail 3000, linkedin 4500,
                   display 9000                                                    paid 27000
  C2, 15 February, 2000, one display touch: 2000 to display in every model
  C3, 1 April, 1000, one brand touch: 1000 to brand in every model
  ROAS in March: W-shaped 28500 / 7500 = 3.8; first touch 4.0; linear 3.2; U-shaped 3.7333;
  time decay 3.6 (spend 7500 once, whatever the six models and five touches).
  Trailing three months, W-shaped: (0 + 2000 + 28500) / 17500 = 1.7429.
  A month without revenue still has its window: display-retarget earns nothing in April on
  200 of spend, so April's ROAS is 0 and its trailing ROAS (2000 + 1500 + 0) /
  (1000 + 1000 + 200) = 1.5909; linkedin-abm neither spends nor earns in April, so April has
  no ROAS and a trailing one of 9000 / (3000 + 4000) = 1.2857; May is past the data: no row.

Opportunities (new business, SMB, EMEA) and pipeline velocity, a formula of four inputs:
  O1 created 10 Jan, won 30 Jan, 1000, 20 days     O2 created 15 Jan, lost 14 Feb
  O3 created 5 Feb, won 7 Mar, 3000, 30 days       O4 created 1 Mar, open, closes 20 Apr, 8000
  O5 created 12 Mar, won 31 Mar, 2000, 19 days
  January: 2 created x win rate 100 % x deal 1000 / cycle 20 = 100 per day
  March:   2 created x 100 % x (3000 + 2000) / 2 / ((30 + 19) / 2) = 204.08 per day
  Trailing three months at March, a rate like the month's: 5 / 3 created per month x win rate
  3 / 4 x deal 2000 / cycle 23 = 108.70 per day (three months' sum of deals would read 326.09).
  Pipeline coverage, judged on the quarter in progress (Q2 2025: the data runs to 1 April):
  Q2 open pipeline 8000 / target 4000 = 2.0 (yellow); Q3 0 / 5000 = 0 (red); Q1 is over and
  has no coverage row at all.

Campaigns over January to March (W-shaped; MQLs acquired by the campaign):
  brand-search     spend 4000,  attributed 18000 -> ROAS 4.5 (green); 10 MQLs -> $400
                   per MQL (green)                                 -> scale
  linkedin-abm     spend 10000, attributed 9000  -> ROAS 0.9 (red)   -> reduce
  display-retarget spend 3000,  attributed 3500  -> ROAS 1.17 (yellow) -> test
  tiny-test        spend 500, under the 3000 minimum                 -> test
  tiny-test's ROAS slice (March only) is not judged: a slice needs a full trailing window.

New business and its price (every deal above is new business, SMB, paid search):
  Bookings against target, Q1 2025: won 1000 + 3000 + 2000 = 6000 of the 10000 target, 60 %
  (red). Q2 is in progress: 0 of 4000 so far. Q3's target of 5000 is set, but Q3 has not
  begun: no row.
  Average selling price: March (3000 + 2000) / 2 = 2500, red under 50000 for the company; its
  SMB slice is not judged (the thresholds are the company's: total_only).
  CAC payback, Q1: spend 17500 / (bookings 6000 / 12 x gross margin 68.667 %) = 50.97 months
  (red); March 7500 / (5000 / 12 x 80 %) = 22.5 months.

ARR per account (the rows of fct_customer_arr_monthly, month: ARR, month before, year before):
  acme   January 1200 / 1200 / 1000, February 1500 / 1200 / 1000, March 1500 / 1500 / 1200,
         April 1500 / 1500 / 1200
  beta   January 600 / 0 / 0 (new), February 480 / 600 / 0 (contracts by 120),
         March 0 / 480 / 0 (churns)
  gamma  January 0 / 300 / 300 (churns)
  delta  March 900 / 0 / 0 (new)
  ARR 1800, 1980, 2400 against a year before 1300, 1000, 1200: growth 38.46 % (yellow),
  98 %, 100 %; trailing at March (6180 - 3500) / 3500 = 76.57 %, the three months' ARR against
  the same three a year before.
  Movements: January new 600, churned 300; February expansion 300, contraction 120; March new
  900, churned 480. The quarter: new 1500, expansion 300, contraction 120, churned 780, and
  December's 1500 + 1500 + 300 - 120 - 780 = March's 2400.

Renewals (SMB, EMEA; due = renewal date):
  R1 due 31 Jan, won 25 Jan: on time      R2 due 28 Feb, won 10 Mar: late
  R3 due 15 Mar, lost 20 Mar              R4 due 31 Mar, won 28 Mar: on time
  On-time rate: January 1 / 1 = 100 %, February 0 / 1 = 0 %, March 1 / 2 = 50 %; Q1 2 / 4 =
  50 %, under the red line of 70 % but not judged until final (31 days after the quarter). Open and due later: R5 5000 due 30 April, Best Case (at risk); R6 3000
  due 20 May, Commit without a next step (at risk); R7 4000 due 25 May, Commit with one (not);
  R8 7000 due 15 June, Pipeline (at risk, but beyond next month). At-risk renewal ARR, judged
  on the month in progress: April 5000 (green), May 3000; June has no row.

Forecast snapshots (SMB): Q1's first Monday, 6 January, forecast 5000 (won 0, Commit 5000);
  its seventh, 17 February, the mid-quarter call, 4000 (won 1000, Commit 3000). Bookings
  against forecast, Q1: won 6000 / 4000 = 150 % (green); the week of 6 January reads a quarter
  forecast of 5000.

Weeks (Monday to Sunday) and their 4-, 8- and 13-week windows, for the weekly forum:
  Revenue by week: 6 Jan 2000, 27 Jan 2000, 3 Feb 2000, 10 Feb 3000, 3 Mar 5000, 17 Mar 1000,
  31 Mar 100; the weeks between have 0.
  Week of 31 March: 4 weeks (from 10 March) 1000 + 100 = 1100; 8 weeks (from 10 February)
  3000 + 5000 + 1000 + 100 = 9100; 13 weeks (from 6 January) all of it, 15100.
  Week of 17 March, 13 weeks: the quarter's 15000 and its margin 10300 / 15000 = 68.67 %,
  the ratio of the sums, as the quarter reads.
  Sales cycle, an average re-taken over each window's deals (O1 closed in the week of 27
  January, 20 days; O3 of 3 March, 30; O5 of 31 March, 19): at 31 March 4 weeks 19, 8 weeks
  (30 + 19) / 2 = 24.5, 13 weeks (20 + 30 + 19) / 3 = 23.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from revenue_os.metrics import kpi_sql, load_contracts
from revenue_os.metrics.contract import SimpleCalculation
from revenue_os.metrics.kpi_layer import build_kpi_tables
from revenue_os.metrics.mart_catalogue import MART_MODELS, ROLLUPS, create_table_sql
from revenue_os.metrics.periods import period_start
from revenue_os.transform.models import build_order, discover
from tests.integration.conftest import ScratchDatabases

SCHEMA = "public"
MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped", "time_decay")

REVENUE_LINES = [
    # invoice_date, product_family, revenue_usd, cogs_usd
    (date(2025, 1, 10), "hardware", 1000, 600),
    (date(2025, 1, 12), "subscription", 1000, 300),
    (date(2025, 1, 28), "subscription", 2000, 500),
    (date(2025, 2, 3), "hardware", 2000, 1500),
    (date(2025, 2, 14), "subscription", 3000, 600),
    (date(2025, 3, 5), "subscription", 5000, 500),
    (date(2025, 3, 20), "services", 1000, 700),
    (date(2025, 4, 1), "subscription", 100, 10),
]
AD_SPEND = [
    # date_day, campaign_key, channel, platform, spend_usd
    (date(2025, 1, 5), "brand-search", "paid_search", "google_ads", 400),
    (date(2025, 1, 20), "brand-search", "paid_search", "google_ads", 600),
    (date(2025, 2, 10), "brand-search", "paid_search", "google_ads", 1000),
    (date(2025, 3, 10), "brand-search", "paid_search", "google_ads", 2000),
    (date(2025, 4, 1), "brand-search", "paid_search", "google_ads", 100),
    (date(2025, 1, 15), "linkedin-abm", "paid_social", "linkedin_ads", 3000),
    (date(2025, 2, 15), "linkedin-abm", "paid_social", "linkedin_ads", 3000),
    (date(2025, 3, 15), "linkedin-abm", "paid_social", "linkedin_ads", 4000),
    (date(2025, 1, 25), "display-retarget", "paid_display", "google_ads", 1000),
    (date(2025, 2, 25), "display-retarget", "paid_display", "google_ads", 1000),
    (date(2025, 3, 25), "display-retarget", "paid_display", "google_ads", 1000),
    (date(2025, 4, 1), "display-retarget", "paid_display", "google_ads", 200),
    (date(2025, 3, 28), "tiny-test", "paid_search", "google_ads", 500),
]
C1_TOUCHES = [
    # touch_id, touch_date, campaign_key, channel
    ("t1", date(2025, 2, 1), "brand-search", "paid_search"),
    ("t2", date(2025, 2, 10), "newsletter", "email"),
    ("t3", date(2025, 2, 20), "linkedin-abm", "paid_social"),
    ("t4", date(2025, 3, 1), "display-retarget", "paid_display"),
    ("t5", date(2025, 3, 8), "brand-search", "paid_search"),
]
C1_CREDITS = {
    "first_touch": (1, 0, 0, 0, 0),
    "last_touch": (0, 0, 0, 0, 1),
    "linear": (Decimal("0.2"),) * 5,
    "u_shaped": (Decimal("0.4"), *(Decimal(2) / 30,) * 3, Decimal("0.4")),
    "w_shaped": (Decimal("0.3"), Decimal("0.05"), Decimal("0.3"), Decimal("0.05"), Decimal("0.3")),
    "time_decay": (
        Decimal("0.05"),
        Decimal("0.1"),
        Decimal("0.15"),
        Decimal("0.3"),
        Decimal("0.4"),
    ),
}
OPPORTUNITIES = [
    # id, created, close, is_open, is_won, amount, cycle days
    ("O1", date(2025, 1, 10), date(2025, 1, 30), False, True, 1000, 20),
    ("O2", date(2025, 1, 15), date(2025, 2, 14), False, False, 500, 30),
    ("O3", date(2025, 2, 5), date(2025, 3, 7), False, True, 3000, 30),
    ("O4", date(2025, 3, 1), date(2025, 4, 20), True, False, 8000, None),
    ("O5", date(2025, 3, 12), date(2025, 3, 31), False, True, 2000, 19),
]
BOOKINGS_TARGETS = [
    (date(2025, 1, 1), "smb", 10000),
    (date(2025, 4, 1), "smb", 4000),
    (date(2025, 7, 1), "smb", 5000),
]
# fmt: off
RENEWALS = [
    # id, created, renewal date, close date, open, won, amount, forecast category, next step
    ("R1", date(2024, 11, 2), date(2025, 1, 31), date(2025, 1, 25), False, True, 1200, "Closed", None),
    ("R2", date(2024, 11, 30), date(2025, 2, 28), date(2025, 3, 10), False, True, 2400, "Closed", None),
    ("R3", date(2024, 12, 15), date(2025, 3, 15), date(2025, 3, 20), False, False, 600, "Omitted", None),
    ("R4", date(2024, 12, 31), date(2025, 3, 31), date(2025, 3, 28), False, True, 900, "Closed", None),
    ("R5", date(2025, 1, 30), date(2025, 4, 30), date(2025, 4, 25), True, False, 5000, "Best Case", "Call"),
    ("R6", date(2025, 2, 19), date(2025, 5, 20), date(2025, 5, 20), True, False, 3000, "Commit", None),
    ("R7", date(2025, 2, 24), date(2025, 5, 25), date(2025, 5, 25), True, False, 4000, "Commit", "Sign"),
    ("R8", date(2025, 3, 17), date(2025, 6, 15), date(2025, 6, 15), True, False, 7000, "Pipeline", None),
]
# fmt: on
FORECAST_SNAPSHOTS = [
    # week_start, won, commit, week of the quarter
    (date(2025, 1, 6), 0, 5000, 1),
    (date(2025, 2, 17), 1000, 3000, 7),
]


def _renewal_row(rid, created, due, close, is_open, won, amount, category, next_step) -> tuple:
    at_risk = is_open and (category != "Commit" or next_step is None)
    on_time = won and close <= due
    return (rid, is_open, won, created, close, amount, category, next_step, due, at_risk, on_time)


# month_start, account_key, arr, arr the month before, arr a year before
CUSTOMER_ARR = [
    (date(2025, 1, 1), "acme", 1200, 1200, 1000),
    (date(2025, 2, 1), "acme", 1500, 1200, 1000),
    (date(2025, 3, 1), "acme", 1500, 1500, 1200),
    (date(2025, 4, 1), "acme", 1500, 1500, 1200),
    (date(2025, 1, 1), "beta", 600, 0, 0),
    (date(2025, 2, 1), "beta", 480, 600, 0),
    (date(2025, 3, 1), "beta", 0, 480, 0),
    (date(2025, 1, 1), "gamma", 0, 300, 300),
    (date(2025, 3, 1), "delta", 900, 0, 0),
]


def _arr_row(month, account, arr, month_before, year_before) -> tuple:
    """A row of fct_customer_arr_monthly with its movement: each worked out in the docstring."""
    return (
        month,
        account,
        arr,
        year_before,
        arr if year_before > 0 else 0,
        min(arr, year_before),
        month_before,
        arr if month_before == 0 else 0,
        max(arr - month_before, 0) if month_before > 0 else 0,
        max(month_before - arr, 0) if arr > 0 else 0,
        month_before if arr == 0 else 0,
    )


# person_id, acquisition_campaign_key, mql_date
MQL_PERSONS = [
    *((f"brand-{n}", "brand-search", date(2025, 1 + n % 3, 10)) for n in range(10)),
    *((f"linkedin-{n}", "linkedin-abm", date(2025, 3, 1 + n)) for n in range(4)),
    *((f"display-{n}", "display-retarget", date(2025, 1 + n, 5)) for n in range(3)),
    ("late", "brand-search", date(2025, 4, 1)),
]


def _attribution_rows() -> list[tuple]:
    """(conversion, day, model, touch, touch day, campaign, channel, credit, amount) rows."""
    rows = []
    for model, credits in C1_CREDITS.items():
        for touch, credit in zip(C1_TOUCHES, credits, strict=True):
            share = Decimal(credit)
            rows.append(("C1", date(2025, 3, 10), model, *touch, share, share * 30000))
    for model in MODELS:
        c2_touch = ("t6", date(2025, 2, 1), "display-retarget", "paid_display")
        c3_touch = ("t7", date(2025, 3, 30), "brand-search", "paid_search")
        rows.append(("C2", date(2025, 2, 15), model, *c2_touch, Decimal(1), Decimal(2000)))
        rows.append(("C3", date(2025, 4, 1), model, *c3_touch, Decimal(1), Decimal(1000)))
    return rows


def create_hand_made_mart(conn: psycopg.Connection, schema: str) -> None:
    """Every mart model (empty unless listed above), with the catalogue's names and types."""
    with conn.cursor() as cursor:
        for model in MART_MODELS:
            cursor.execute(create_table_sql(schema, model))
        cursor.executemany(
            f'INSERT INTO "{schema}".fct_revenue_lines (invoice_line_id, invoice_date, '
            "product_family, channel, segment, region, revenue_usd, cogs_usd, gross_margin_usd) "
            "VALUES (%s, %s, %s, 'paid_search', 'smb', 'emea', %s, %s, %s)",
            [
                (f"line-{index}", day, family, revenue, cogs, revenue - cogs)
                for index, (day, family, revenue, cogs) in enumerate(REVENUE_LINES)
            ],
        )
        cursor.executemany(
            f'INSERT INTO "{schema}".fct_ad_spend_daily (date_day, campaign_key, channel, '
            "platform, currency_code, spend_local, spend_usd) VALUES (%s, %s, %s, %s, 'USD', "
            "%s, %s)",
            [(*row, row[-1]) for row in AD_SPEND],
        )
        cursor.executemany(
            f'INSERT INTO "{schema}".fct_attribution (conversion_id, conversion_type, '
            "opportunity_id, conversion_date, attribution_model, touch_id, touch_date, "
            "campaign_key, channel, credit, attributed_amount_usd, segment, region) VALUES "
            "(%s, 'won_opportunity', 'opp-' || %s, %s, %s, %s, %s, %s, %s, %s, %s, 'smb', "
            "'emea')",
            [(row[0], *row) for row in _attribution_rows()],
        )
        cursor.executemany(
            f'INSERT INTO "{schema}".fct_opportunities (opportunity_id, opportunity_type, '
            "is_open, is_closed, is_won, created_date, close_date, amount_usd, "
            "sales_cycle_days, sourced_channel, segment, region) VALUES (%s, 'new_business', "
            "%s, NOT %s, %s, %s, %s, %s, %s, 'paid_search', 'smb', 'emea')",
            [
                (oid, is_open, is_open, won, created, close, amount, cycle)
                for oid, created, close, is_open, won, amount, cycle in OPPORTUNITIES
            ],
        )
        cursor.executemany(
            f'INSERT INTO "{schema}".fct_bookings_targets (quarter_start, segment, target_usd) '
            "VALUES (%s, %s, %s)",
            BOOKINGS_TARGETS,
        )
        cursor.executemany(
            f'INSERT INTO "{schema}".fct_opportunities (opportunity_id, opportunity_type, '
            "is_open, is_closed, is_won, created_date, close_date, amount_usd, forecast_category, "
            "next_step, renewal_date, is_renewal_at_risk, is_renewed_on_time, sourced_channel, "
            "segment, region) VALUES (%s, 'renewal', %s, NOT %s, %s, %s, %s, %s, %s, %s, %s, %s, "
            "%s, 'other', 'smb', 'emea')",
            [
                (rid, is_open, is_open, *rest)
                for rid, is_open, *rest in (_renewal_row(*row) for row in RENEWALS)
            ],
        )
        cursor.executemany(
            f'INSERT INTO "{schema}".fct_forecast_snapshots (week_start, quarter_start, segment, '
            "won_usd, commit_usd, best_case_usd, pipeline_usd, forecast_usd, "
            "week_of_quarter) VALUES (%s, date_trunc('quarter', %s)::date, 'smb', %s, %s, "
            "0, 0, %s, %s)",
            [
                (week, week, won, commit, won + commit, week_of_quarter)
                for week, won, commit, week_of_quarter in FORECAST_SNAPSHOTS
            ],
        )
        cursor.executemany(
            f'INSERT INTO "{schema}".fct_customer_arr_monthly (month_start, account_key, '
            "segment, region, arr_usd, arr_12m_ago_usd, net_retained_arr_usd, "
            "gross_retained_arr_usd, arr_prior_month_usd, new_arr_usd, expansion_arr_usd, "
            "contraction_arr_usd, churned_arr_usd) VALUES (%s, %s, 'smb', 'emea', %s, %s, %s, "
            "%s, %s, %s, %s, %s, %s)",
            [_arr_row(*row) for row in CUSTOMER_ARR],
        )
        cursor.executemany(
            f'INSERT INTO "{schema}".fct_funnel (person_id, acquisition_channel, '
            "acquisition_campaign_key, segment, region, lead_date, mql_date) VALUES "
            "(%s, 'paid_search', %s, 'smb', 'emea', %s, %s)",
            [(person, campaign, day, day) for person, campaign, day in MQL_PERSONS],
        )
        build_rollups(cursor, schema)


def build_rollups(cursor: psycopg.Cursor, schema: str) -> None:
    """The monthly roll-ups, which the KPI layer reads for months and quarters, summed again
    from the facts by their own model SQL, as a build makes them."""
    cursor.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
    models = discover()
    # In build order: the attribution roll-up is summed from the campaign one.
    for rollup in [model.name for model in build_order(models) if model.name in ROLLUPS]:
        columns = sql.SQL(", ").join(map(sql.Identifier, MART_MODELS[rollup]))
        cursor.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, rollup)))
        cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM ({}) AS built").format(
                sql.Identifier(schema, rollup), columns, columns, sql.SQL(models[rollup].sql)
            )
        )
    cursor.execute("RESET search_path")


@pytest.fixture(scope="module")
def kpi_mart(warehouse_server):
    """The hand-made mart with its KPI tables built, once: the tests only read it."""
    databases = ScratchDatabases(warehouse_server)
    conn = databases.create("kpi_known_answers")
    create_hand_made_mart(conn, SCHEMA)
    counts = build_kpi_tables(conn, SCHEMA, load_contracts())
    yield conn, counts
    conn.close()
    databases.drop_all()


def kpi(conn, metric, period, *, grain="month", dimension="overall", value="all") -> dict:
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT * FROM kpi_values WHERE metric_name = %s AND period_grain = %s "
            "AND period_start = %s AND dimension_name = %s AND dimension_value = %s",
            (metric, grain, period, dimension, value),
        )
        rows = cursor.fetchall()
    assert len(rows) == 1, f"{metric} {grain} {period} {dimension}={value}: {len(rows)} rows"
    return _floats(rows[0])


def campaign(conn, campaign_key) -> dict:
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT * FROM campaign_recommendations WHERE campaign_key = %s", (campaign_key,)
        )
        return _floats(cursor.fetchone())


def _floats(row: dict) -> dict:
    """Numeric columns as floats, so that pytest.approx can compare them."""
    return {key: float(v) if isinstance(v, Decimal) else v for key, v in row.items()}


JAN, FEB, MAR, APR = (date(2025, month, 1) for month in (1, 2, 3, 4))


def test_row_counts_are_returned_for_both_tables(kpi_mart):
    conn, counts = kpi_mart
    with conn.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM kpi_values")
        kpi_rows = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM campaign_recommendations")
        campaign_rows = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM reporting_calendar")
        calendar_rows = cursor.fetchone()[0]
        # One scorecard row per metric, grain and breakdown value that has its reported period.
        cursor.execute("SELECT count(*) FROM kpi_scorecard")
        scorecard_rows = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM kpi_signals")
        signal_rows = cursor.fetchone()[0]
    assert calendar_rows == 3  # week, month, quarter
    assert scorecard_rows > 0
    assert counts == {
        "kpi_values": kpi_rows,
        "campaign_recommendations": campaign_rows,
        "reporting_calendar": calendar_rows,
        "kpi_scorecard": scorecard_rows,
        "kpi_signals": signal_rows,
        "decision_log": 0,  # a scratch database without the ops schema's log
    }
    assert campaign_rows == 4


def test_next_quarters_thin_coverage_fires_in_its_segment(kpi_mart):
    """Q3 2025 is the quarter after the one in progress: 0 open pipeline against a 5,000
    target, under 3.0x overall and in SMB (the only segment)."""
    conn, _ = kpi_mart
    rows = conn.execute(
        "SELECT dimension_value, value, judged, fired FROM kpi_signals WHERE rule_name = "
        "'thin_next_quarter' ORDER BY dimension_value"
    ).fetchall()
    assert rows == [("all", 0, True, True), ("smb", 0, True, True)]
    assert conn.execute(
        "SELECT DISTINCT period_start FROM kpi_signals WHERE rule_name = 'thin_next_quarter'"
    ).fetchall() == [(date(2025, 7, 1),)]


def test_total_revenue_per_month_and_by_product_family(kpi_mart):
    conn, _ = kpi_mart
    assert [kpi(conn, "total_revenue", month)["value"] for month in (JAN, FEB, MAR, APR)] == [
        4000,
        5000,
        6000,
        100,
    ]
    assert (
        kpi(conn, "total_revenue", JAN, dimension="product_family", value="hardware")["value"]
        == 1000
    )
    assert (
        kpi(conn, "total_revenue", JAN, dimension="product_family", value="subscription")["value"]
        == 3000
    )
    assert kpi(conn, "total_revenue", date(2025, 1, 1), grain="quarter")["value"] == 15000


def test_only_periods_up_to_the_as_of_day_are_complete(kpi_mart):
    conn, _ = kpi_mart
    assert kpi(conn, "total_revenue", MAR)["is_complete"] is True
    assert kpi(conn, "total_revenue", APR)["is_complete"] is False
    assert kpi(conn, "total_revenue", date(2025, 1, 1), grain="quarter")["is_complete"] is True


def test_gross_margin_pct_by_month_and_by_product(kpi_mart):
    conn, _ = kpi_mart
    assert kpi(conn, "gross_margin_pct", JAN)["value"] == pytest.approx(65.0)
    assert kpi(conn, "gross_margin_pct", FEB)["value"] == pytest.approx(58.0)
    assert kpi(conn, "gross_margin_pct", MAR)["value"] == pytest.approx(80.0)
    services = kpi(conn, "gross_margin_pct", MAR, dimension="product_family", value="services")
    assert services["value"] == pytest.approx(30.0)  # 300 / 1000


def test_revenue_growth_against_the_prior_month(kpi_mart):
    conn, _ = kpi_mart
    assert kpi(conn, "revenue_growth_pct", JAN)["value"] is None  # no December
    assert kpi(conn, "revenue_growth_pct", FEB)["value"] == pytest.approx(25.0)
    assert kpi(conn, "revenue_growth_pct", MAR)["value"] == pytest.approx(20.0)
    march = kpi(conn, "total_revenue", MAR)
    assert march["prior_value"] == 5000
    assert march["delta_pct"] == pytest.approx(20.0)


def test_trailing_value_is_a_ratio_of_sums(kpi_mart):
    conn, _ = kpi_mart
    assert kpi(conn, "gross_margin_pct", MAR)["trailing_value"] == pytest.approx(
        10300 * 100 / 15000
    )
    assert kpi(conn, "total_revenue", MAR)["trailing_value"] == 15000
    assert kpi(conn, "roas", MAR)["trailing_value"] == pytest.approx(30500 / 17500)


def test_a_month_without_revenue_keeps_its_trailing_window(kpi_mart):
    conn, _ = kpi_mart
    display = kpi(conn, "roas", APR, dimension="campaign", value="display-retarget")
    assert display["value"] == 0
    assert display["trailing_value"] == pytest.approx(3500 / 2200)
    earned = kpi(
        conn, "paid_attributed_revenue", APR, dimension="campaign", value="display-retarget"
    )
    assert (earned["value"], earned["trailing_value"]) == (0, 3500)
    linkedin = kpi(conn, "roas", APR, dimension="campaign", value="linkedin-abm")
    assert linkedin["value"] is None
    assert linkedin["trailing_value"] == pytest.approx(9000 / 7000)
    spend = kpi(conn, "paid_spend", APR, dimension="campaign", value="linkedin-abm")
    assert (spend["value"], spend["trailing_value"]) == (0, 7000)
    # Past the data, only what is planned: the renewal calendar (renewals due in May and June,
    # the at-risk ones of next month).
    assert set(
        conn.execute(
            "SELECT DISTINCT metric_name FROM kpi_values WHERE period_grain = 'month' "
            "AND period_start > %s",
            (APR,),
        ).fetchall()
    ) == {("renewals_due",), ("renewal_risk_arr",)}


def test_weeks_keep_their_4_8_and_13_week_windows(kpi_mart):
    conn, _ = kpi_mart
    week = kpi(conn, "total_revenue", date(2025, 3, 31), grain="week")
    assert (week["value"], week["trailing_value"]) == (100, 1100)
    assert (week["trailing_8_week_value"], week["trailing_13_week_value"]) == (9100, 15100)
    quiet = kpi(conn, "total_revenue", date(2025, 3, 24), grain="week")
    assert (quiet["value"], quiet["trailing_value"], quiet["trailing_13_week_value"]) == (
        0,
        6000,
        15000,
    )
    margin = kpi(conn, "gross_margin_pct", date(2025, 3, 17), grain="week")
    assert margin["trailing_13_week_value"] == pytest.approx(10300 * 100 / 15000)
    cycle = kpi(conn, "sales_cycle_days", date(2025, 3, 31), grain="week")
    assert cycle["value"] == 19
    assert cycle["trailing_value"] == 19
    assert cycle["trailing_8_week_value"] == pytest.approx(24.5)
    assert cycle["trailing_13_week_value"] == 23
    month = kpi(conn, "total_revenue", MAR)
    assert (month["trailing_8_week_value"], month["trailing_13_week_value"]) == (None, None)


def test_roas_per_attribution_model_with_spend_counted_once(kpi_mart):
    conn, _ = kpi_mart
    expected = {
        "w_shaped": 28500 / 7500,
        "first_touch": 30000 / 7500,
        "last_touch": 30000 / 7500,
        "linear": 24000 / 7500,
        "u_shaped": 28000 / 7500,
        "time_decay": 27000 / 7500,
    }
    for model, roas in expected.items():
        row = kpi(conn, "roas", MAR, dimension="attribution_model", value=model)
        assert row["value"] == pytest.approx(roas), model
    assert kpi(conn, "roas", MAR)["value"] == pytest.approx(28500 / 7500)  # default W-shaped
    assert kpi(conn, "paid_spend", MAR)["value"] == 7500
    social = kpi(conn, "roas", MAR, dimension="channel", value="paid_social")
    assert social["value"] == pytest.approx(9000 / 4000)


def test_campaigns_are_broken_out_by_month_only_and_the_channels_at_every_grain(kpi_mart):
    conn, _ = kpi_mart
    grains = dict(
        conn.execute(
            "SELECT dimension_name, array_agg(DISTINCT period_grain ORDER BY period_grain) "
            "FROM kpi_values WHERE metric_name = 'roas' AND dimension_name IN "
            "('campaign', 'channel') GROUP BY 1"
        ).fetchall()
    )
    assert grains == {"campaign": ["month"], "channel": ["month", "quarter", "week"]}
    # The quarter's ROAS by channel is still the campaigns' sums (spend in Q1: Jan-Mar).
    social = kpi(conn, "roas", JAN, grain="quarter", dimension="channel", value="paid_social")
    q1_spend = conn.execute(
        "SELECT sum(value) FROM kpi_values WHERE metric_name = 'paid_spend' AND period_grain = "
        "'month' AND dimension_name = 'channel' AND dimension_value = 'paid_social' "
        "AND period_start BETWEEN %s AND %s",
        (JAN, MAR),
    ).fetchone()[0]
    assert social["value"] * float(q1_spend) == pytest.approx(
        kpi(
            conn,
            "paid_attributed_revenue",
            JAN,
            grain="quarter",
            dimension="channel",
            value="paid_social",
        )["value"]
    )


def test_status_colours_follow_the_contract_thresholds(kpi_mart):
    conn, _ = kpi_mart
    assert kpi(conn, "gross_margin_pct", JAN)["status"] == "yellow"
    assert kpi(conn, "gross_margin_pct", FEB)["status"] == "red"
    assert kpi(conn, "gross_margin_pct", MAR)["status"] == "green"
    assert kpi(conn, "roas", MAR)["status"] == "green"  # 3.8 >= 3
    # Status is judged on the threshold period (month) only.
    assert kpi(conn, "gross_margin_pct", date(2025, 1, 1), grain="quarter")["status"] is None
    assert kpi(conn, "gross_margin_pct", MAR)["threshold_red"] == "< 60"


def test_a_volume_is_judged_on_its_total_and_a_ratio_on_every_slice(kpi_mart):
    conn, _ = kpi_mart
    # Revenue 6000 in March is red against the company's threshold; its subscription slice
    # (5000) is a part of that total, not a company of its own: no status.
    assert kpi(conn, "total_revenue", MAR)["status"] == "red"
    by_family = kpi(conn, "total_revenue", MAR, dimension="product_family", value="subscription")
    assert (by_family["value"], by_family["status"]) == (5000, None)
    # ROAS is a ratio: paid social's 9000 / 4000 = 2.25 holds the same thresholds (yellow).
    assert kpi(conn, "roas", MAR, dimension="channel", value="paid_social")["status"] == "yellow"


def test_campaign_recommendations_scale_reduce_and_test(kpi_mart):
    conn, _ = kpi_mart
    brand = campaign(conn, "brand-search")
    assert brand["month_start"] == MAR
    assert (brand["spend_3m_usd"], brand["attributed_revenue_3m_usd"]) == (4000, 18000)
    assert brand["cost_per_mql_3m"] == pytest.approx(400)
    assert brand["recommendation"] == "scale"
    assert "ROAS 4.5" in brand["reason"]

    linkedin = campaign(conn, "linkedin-abm")
    assert linkedin["recommendation"] == "reduce"
    assert "ROAS 0.9 over the last 3 months is below the red line (< 1)" in linkedin["reason"]
    assert "spend $10,000 for $9,000 attributed revenue (W-shaped)" in linkedin["reason"]

    display = campaign(conn, "display-retarget")
    assert display["recommendation"] == "test"
    assert display["roas_3m"] == pytest.approx(3500 / 3000)
    assert "ROAS 1.2 over the last 3 months is yellow (>= 1 and < 3)" in display["reason"]

    tiny = campaign(conn, "tiny-test")
    assert tiny["recommendation"] == "test"
    assert "$500" in tiny["reason"]
    assert "$3,000" in tiny["reason"]


def test_a_formula_trailing_value_is_a_rate_like_its_period_value(kpi_mart):
    conn, _ = kpi_mart
    assert kpi(conn, "pipeline_velocity", JAN)["value"] == pytest.approx(100)
    march = kpi(conn, "pipeline_velocity", MAR)
    assert march["value"] == pytest.approx(2 * 2500 / 24.5)
    assert march["trailing_value"] == pytest.approx(5 / 3 * 0.75 * 2000 / 23)
    assert march["trailing_basis"] == "average"
    assert kpi(conn, "total_revenue", MAR)["trailing_basis"] == "total"
    assert kpi(conn, "revenue_growth_pct", MAR)["trailing_basis"] == "growth"


def test_a_forward_looking_kpi_has_the_quarter_in_progress_and_the_next_only(kpi_mart):
    conn, _ = kpi_mart
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT period_start, value, status, is_complete FROM kpi_values WHERE metric_name = "
            "'pipeline_coverage' AND dimension_name = 'overall' ORDER BY period_start"
        )
        rows = [(day, float(value), status, done) for day, value, status, done in cursor]
    assert rows == [
        (date(2025, 4, 1), 2.0, "yellow", False),
        (date(2025, 7, 1), 0.0, "red", False),
    ]


def test_a_slice_is_judged_once_it_has_a_full_trailing_window(kpi_mart):
    conn, _ = kpi_mart
    young = kpi(conn, "roas", MAR, dimension="campaign", value="tiny-test")
    assert (young["value"], young["status"]) == (0, None)
    assert kpi(conn, "roas", MAR, dimension="campaign", value="brand-search")["status"] == "green"


def test_the_reporting_calendar_names_one_latest_complete_and_closed_period(kpi_mart):
    conn, _ = kpi_mart
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute("SELECT * FROM reporting_calendar ORDER BY period_grain")
        calendar = {row["period_grain"]: row for row in cursor}
    month = calendar["month"]
    # The newest day any model reaches is 1 April: the data runs through 31 March.
    assert (month["business_day"], month["data_through"]) == (APR, MAR.replace(day=31))
    assert (month["latest_complete_period"], month["latest_complete_label"]) == (MAR, "March 2025")
    # Closed for reporting 7 days after the month ends: March is not yet, February is.
    assert (month["latest_final_period"], month["latest_final_label"]) == (FEB, "February 2025")
    assert (month["current_period"], month["current_label"]) == (APR, "April 2025")
    assert calendar["quarter"]["latest_complete_label"] == "Q1 2025"
    assert month["published_at"] is None
    assert month["as_of_text"].startswith("Data through 31 Mar 2025 · latest complete month: ")


def test_the_scorecard_writes_each_kpi_out_in_its_unit(kpi_mart):
    conn, _ = kpi_mart
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT * FROM kpi_scorecard WHERE period_grain = 'month' "
            "AND dimension_name = 'overall'"
        )
        cards = {row["metric_name"]: row for row in cursor}
    margin = cards["gross_margin_pct"]  # March 80 % against February 58 %
    assert margin["period_label"] == "March 2025" and margin["reported_as"] == "complete"
    assert (margin["display_value"], margin["display_change"]) == ("80.0 %", "+22.0 pts")
    assert margin["display_prior"] == "Feb 2025: 58.0 %"
    assert margin["display_trailing"] == "3-month average 68.7 %"
    assert (margin["status_label"], margin["status_color"]) == ("On track", "#1e8e3e")
    assert (margin["change_arrow"], margin["change_color"]) == ("▲", "#1e8e3e")
    # Not closed yet (March ends 31 March; final 7 days later, after the data's 1 April).
    assert margin["is_final"] is False
    assert margin["provisional_note"] == "provisional until 8 Apr 2025"
    # One character per month that has a value, lowest to highest: 65, 58, 80 %.
    assert margin["sparkline"] == "▃▁█"
    revenue = cards["total_revenue"]  # 6000 against 5000: +20 %, lower than the red line
    assert (revenue["display_value"], revenue["display_change"]) == ("$6,000", "+20.0 %")
    assert revenue["display_trailing"] == "3-month total $15,000"
    assert (revenue["status_label"], revenue["status_color"]) == ("Off track", "#d93025")
    roas = cards["roas"]
    assert roas["display_value"] == "3.80x"
    velocity = cards["pipeline_velocity"]
    assert velocity["display_trailing"] == "3-month average $109"
    coverage = [row for row in cards.values() if row["metric_name"] == "pipeline_coverage"]
    assert coverage == []  # a quarterly KPI: no monthly row
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT * FROM kpi_scorecard WHERE metric_name = 'pipeline_coverage' "
            "AND dimension_name = 'overall'"
        )
        (current,) = cursor.fetchall()
    assert (current["period_label"], current["reported_as"]) == ("Q2 2025", "current")
    assert (current["display_value"], current["status_label"]) == ("2.00x", "At risk")
    assert current["provisional_note"] == "in progress: moves daily until 30 Jun 2025"


def test_a_slice_of_a_volume_says_it_is_judged_on_the_total(kpi_mart):
    conn, _ = kpi_mart
    with conn.cursor(row_factory=dict_row) as cursor:
        cursor.execute(
            "SELECT dimension_value, status_label FROM kpi_scorecard WHERE metric_name = "
            "'total_revenue' AND period_grain = 'month' AND dimension_name IN "
            "('overall', 'product_family') ORDER BY dimension_value"
        )
        labels = {row["dimension_value"]: row["status_label"] for row in cursor}
    # March: the company's $6,000 is red; its slices are parts of it, with the company's
    # thresholds, so they are not judged (hardware sold nothing in March: its row is 0, kept
    # while its trailing window reaches February); a ratio's slice is judged (gross margin of
    # subscription, 4500 / 5000 = 90 %, is green on its own).
    assert labels == {
        "all": "Off track",
        "hardware": "Judged on the total",
        "services": "Judged on the total",
        "subscription": "Judged on the total",
    }
    margin = kpi(conn, "gross_margin_pct", MAR, dimension="product_family", value="subscription")
    assert (margin["value"], margin["status"]) == (90, "green")


Q1, Q2, Q3 = (date(2025, month, 1) for month in (1, 4, 7))


def test_bookings_against_target_stops_at_the_quarter_in_progress(kpi_mart):
    conn, _ = kpi_mart
    q1 = kpi(conn, "bookings_vs_target_pct", Q1, grain="quarter")
    assert (q1["value"], q1["status"], q1["is_complete"]) == (60, "red", True)
    q2 = kpi(conn, "bookings_vs_target_pct", Q2, grain="quarter")
    assert (q2["value"], q2["is_complete"]) == (0, False)
    # Q3's target is set, Q3 has not begun: a KPI has no result there, its target still does.
    assert conn.execute(
        "SELECT count(*) FROM kpi_values WHERE metric_name = 'bookings_vs_target_pct' "
        "AND period_start > %s",
        (Q2,),
    ).fetchone() == (0,)
    assert kpi(conn, "bookings_target", Q3, grain="quarter")["value"] == 5000


def test_average_selling_price_judges_the_company_not_its_slices(kpi_mart):
    conn, _ = kpi_mart
    march = kpi(conn, "average_selling_price", MAR)
    assert (march["value"], march["status"]) == (2500, "red")
    smb = kpi(conn, "average_selling_price", MAR, dimension="segment", value="smb")
    assert (smb["value"], smb["status"]) == (2500, None)
    label = conn.execute(
        "SELECT status_label FROM kpi_scorecard WHERE metric_name = 'average_selling_price' "
        "AND period_grain = 'month' AND dimension_name = 'segment'"
    ).fetchone()
    assert label == ("Judged on the total",)


def test_cac_payback_in_months_of_new_business_gross_margin(kpi_mart):
    conn, _ = kpi_mart
    quarter = kpi(conn, "cac_payback_months", Q1, grain="quarter")
    assert quarter["value"] == pytest.approx(17500 / (6000 / 12 * 10300 / 15000), abs=1e-6)
    assert round(quarter["value"], 2) == 50.97 and quarter["status"] == "red"
    assert kpi(conn, "cac_payback_months", MAR)["value"] == pytest.approx(22.5)
    scorecard = conn.execute(
        "SELECT display_value FROM kpi_scorecard WHERE metric_name = 'cac_payback_months' "
        "AND period_grain = 'quarter' AND dimension_name = 'overall'"
    ).fetchone()
    assert scorecard == ("51.0 months",)


def test_arr_growth_year_over_year_and_its_trailing_months(kpi_mart):
    conn, _ = kpi_mart
    growth = [kpi(conn, "arr_growth_pct", month) for month in (JAN, FEB, MAR)]
    assert [round(g["value"], 2) for g in growth] == [38.46, 98.0, 100.0]
    assert [g["status"] for g in growth] == ["yellow", "green", "green"]
    assert round(growth[2]["trailing_value"], 2) == 76.57


def test_arr_movements_bridge_last_months_arr_to_this_months(kpi_mart):
    conn, _ = kpi_mart
    movements = ("new_arr", "expansion_arr", "contraction_arr", "churned_arr")
    by_month = {
        month: [kpi(conn, metric, month)["value"] for metric in movements]
        for month in (JAN, FEB, MAR)
    }
    assert by_month == {JAN: [600, 0, 0, 300], FEB: [0, 300, 120, 0], MAR: [900, 0, 0, 480]}
    quarter = [kpi(conn, metric, Q1, grain="quarter")["value"] for metric in movements]
    assert quarter == [1500, 300, 120, 780]
    december_arr = 1500  # the January rows' month before: acme 1200 + gamma 300
    new, expansion, contraction, churned = quarter
    assert december_arr + new + expansion - contraction - churned == kpi(conn, "arr", MAR)["value"]
    # Churn and expansion are judged by the company's dollar thresholds, on their own grain.
    assert kpi(conn, "churned_arr", MAR)["status"] == "green"
    assert kpi(conn, "expansion_arr", Q1, grain="quarter")["status"] == "red"


def test_renewal_on_time_rate_counts_late_and_lost_renewals_against_it(kpi_mart):
    conn, _ = kpi_mart
    assert [kpi(conn, "renewal_on_time_rate", m)["value"] for m in (JAN, FEB, MAR)] == [100, 0, 50]
    quarter = kpi(conn, "renewal_on_time_rate", Q1, grain="quarter")
    # Red by value (under 70 %), but not judged yet: a renewal due at the end of March may
    # still sign within the contract's 31 days, and the data runs to 1 April.
    assert (quarter["value"], quarter["is_final"], quarter["status"]) == (50, False, None)
    assert kpi(conn, "renewals_due", Q1, grain="quarter")["value"] == 4


def test_at_risk_renewals_are_judged_on_this_month_and_next(kpi_mart):
    conn, _ = kpi_mart
    rows = conn.execute(
        "SELECT period_start, value, status, is_complete FROM kpi_values WHERE metric_name = "
        "'renewal_risk_arr' AND dimension_name = 'overall' ORDER BY period_start"
    ).fetchall()
    may = date(2025, 5, 1)
    assert rows == [(APR, 5000, "green", False), (may, 3000, "green", False)]
    card = conn.execute(
        "SELECT period_label, display_value, reported_as FROM kpi_scorecard WHERE metric_name = "
        "'renewal_risk_arr' AND dimension_name = 'overall'"
    ).fetchone()
    assert card == ("April 2025", "$5,000", "current")


def test_bookings_against_the_mid_quarter_forecast_call(kpi_mart):
    conn, _ = kpi_mart
    attainment = kpi(conn, "forecast_attainment_pct", Q1, grain="quarter")
    assert (attainment["value"], attainment["status"]) == (150, "green")
    assert kpi(conn, "forecast_at_mid_quarter", Q1, grain="quarter")["value"] == 4000
    week = kpi(conn, "quarter_forecast", date(2025, 1, 6), grain="week")
    assert week["value"] == 5000


def test_a_date_columns_periods_start_where_date_trunc_starts_them(kpi_mart):
    """A date column's period is found by day arithmetic (weeks) or `date_trunc` without a
    time zone; for every day of 32 years and every grain it gives the day `date_trunc` gives
    and the one Python's calendar gives."""
    conn, _ = kpi_mart
    calculation = SimpleCalculation(
        kind="simple", model="fct_funnel", expression="count(*)", time_column="lead_date"
    )
    assert MART_MODELS["fct_funnel"]["lead_date"] == "date"
    for grain in ("week", "month", "quarter"):
        rows = conn.execute(
            sql.SQL(
                "SELECT lead_date, ({})::date, date_trunc({}, lead_date)::date FROM"
                " (SELECT day::date AS lead_date FROM generate_series('1999-12-01'::date,"
                " '2031-12-31'::date, interval '1 day') AS day) AS fct_funnel"
            ).format(kpi_sql._truncated(calculation, grain), sql.Literal(grain))
        ).fetchall()
        assert len(rows) == (date(2031, 12, 31) - date(1999, 12, 1)).days + 1
        assert [row for row in rows if not row[1] == row[2] == period_start(grain, row[0])] == []


def test_every_simple_metric_reads_the_same_rows_without_the_shortcuts(kpi_mart, monkeypatch):
    """The periods of date columns found without a time zone, and the sums and counts summed
    by slice before their grouping sets, give every simple metric's rows exactly as
    `date_trunc` and one grouping give them, at every grain."""
    conn, _ = kpi_mart
    contracts = load_contracts()
    simple = [
        (contract, grain)
        for contract in contracts.values()
        if isinstance(contract.calculation, SimpleCalculation)
        for grain in contract.grain
    ]

    def rows(contract, grain) -> tuple[str, list]:
        query = kpi_sql.simple_query(contract, contract.calculation, grain, SCHEMA)
        return query.as_string(conn), conn.execute(
            sql.SQL("SELECT r::text FROM ({}) AS r ORDER BY 1").format(query)
        ).fetchall()

    with_shortcuts = {(c.name, grain): rows(c, grain) for c, grain in simple}
    monkeypatch.setattr(kpi_sql, "_is_date", lambda calculation: False)
    monkeypatch.setattr(kpi_sql, "_summed_in_parts", lambda calculation: False)
    without = {(c.name, grain): rows(c, grain) for c, grain in simple}
    assert {key: found for key, (_, found) in with_shortcuts.items()} == {
        key: found for key, (_, found) in without.items()
    }
    texts = [text for text, _ in with_shortcuts.values()]
    # Both shortcuts were taken, and on metrics with rows: the comparison is not empty.
    assert sum("summed_by_slice" in text for text in texts) >= 10
    assert sum("'0001-01-01'::date" in text for text in texts) >= 10
    assert sum(len(found) for _, found in with_shortcuts.values()) > 1000
