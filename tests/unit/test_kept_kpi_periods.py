"""Which kept KPI rows a build finds due without reading them: the periods the business day
made complete or final, the periods it moved into, the columns a fact is hashed on, and the
keys of a derived metric its inputs' moved rows reach."""

from __future__ import annotations

from datetime import date

from revenue_os.metrics import load_contracts
from revenue_os.metrics.kept_kpis import columns_read, derived_scope, moved_into, moved_past
from revenue_os.metrics.loader import inputs_of
from revenue_os.metrics.sql_text import columns_in


def test_a_month_becomes_complete_when_the_business_day_passes_its_end():
    # A period is complete once its end (the next period's start) is on or before the day.
    assert moved_past("month", date(2025, 4, 30), date(2025, 5, 1), 0) == {date(2025, 4, 1)}
    assert moved_past("month", date(2025, 4, 10), date(2025, 4, 30), 0) == set()
    # A jump of two months completes both.
    assert moved_past("month", date(2025, 3, 15), date(2025, 5, 3), 0) == {
        date(2025, 3, 1),
        date(2025, 4, 1),
    }


def test_a_month_becomes_final_its_final_after_days_later():
    # Final 7 days after its end: April is final from 8 May.
    assert moved_past("month", date(2025, 5, 7), date(2025, 5, 8), 7) == {date(2025, 4, 1)}
    assert moved_past("month", date(2025, 5, 1), date(2025, 5, 7), 7) == set()


def test_weeks_start_on_monday():
    # 2025-05-05 is a Monday: the week of 28 April ends then.
    assert moved_past("week", date(2025, 5, 4), date(2025, 5, 5), 0) == {date(2025, 4, 28)}
    assert moved_past("quarter", date(2025, 6, 30), date(2025, 7, 1), 0) == {date(2025, 4, 1)}


def test_the_periods_the_business_day_moved_into():
    assert moved_into("month", date(2025, 4, 10), date(2025, 4, 30)) == set()
    assert moved_into("month", date(2025, 4, 30), date(2025, 6, 2)) == {
        date(2025, 5, 1),
        date(2025, 6, 1),
    }
    assert moved_into("quarter", date(2025, 6, 30), date(2025, 7, 1)) == {date(2025, 7, 1)}


def test_a_fact_is_hashed_on_the_columns_its_metrics_read():
    read = columns_read(load_contracts().values())
    spend = read[("fct_ad_spend_daily", "date_day")].split(",")
    # The time column, the measure and the dimensions the contracts break spend out by;
    # not the local-currency amount, which no metric reads.
    assert {"date_day", "spend_usd", "campaign_key", "channel"} <= set(spend)
    assert "spend_local" not in spend
    assert spend == sorted(spend)
    assert columns_in("sum(revenue_usd) / count(distinct account_key)") == {
        "revenue_usd",
        "account_key",
    }
    assert columns_in("is_won and segment = 'smb'") == {"is_won", "segment"}


def test_a_ratio_is_computed_again_for_its_inputs_moved_keys_and_a_lent_dimension():
    """ROAS reads paid attributed revenue (which has attribution models) and paid spend
    (which has none, so its overall row stands for every model): a campaign's revenue moved
    in March reaches ROAS's row of that campaign in March; spend's overall row moved in April
    reaches every attribution model's row in April, and the overall row."""
    contracts = load_contracts()
    roas = contracts["roas"]
    inputs = [contracts[name] for name in inputs_of(roas)]
    assert [c.name for c in inputs] == ["paid_attributed_revenue", "paid_spend"]
    march, april = date(2026, 3, 1), date(2026, 4, 1)
    scope = derived_scope(
        roas,
        "month",
        inputs,
        [
            frozenset({(march, "campaign", "brand-search")}),
            frozenset({(april, "overall", "all"), (april, "campaign", "linkedin-abm")}),
        ],
    )
    assert scope.periods == [march, april]
    assert scope.keys == {
        (march, "campaign", "brand-search"),
        (april, "overall", "all"),
        (april, "campaign", "linkedin-abm"),
    }
    assert scope.dimensions == {(april, "attribution_model")}


def test_a_growth_is_computed_again_where_it_compares_with_a_moved_row():
    """Revenue growth by month compares a month with the one before and its 3-month total
    with the one three months before: revenue moved in March reaches March, April and June."""
    contracts = load_contracts()
    growth = contracts["revenue_growth_pct"]
    moved = frozenset({(date(2026, 3, 1), "channel", "paid_search")})
    scope = derived_scope(growth, "month", [contracts["total_revenue"]], [moved])
    assert scope.keys == {
        (date(2026, 3, 1), "channel", "paid_search"),
        (date(2026, 4, 1), "channel", "paid_search"),
        (date(2026, 6, 1), "channel", "paid_search"),
    }
    assert scope.periods == [date(2026, 3, 1), date(2026, 4, 1), date(2026, 6, 1)]
