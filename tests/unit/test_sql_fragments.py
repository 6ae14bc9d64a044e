"""The SQL fragments of the metric contracts are read on their parse tree: what a contract may
say, what it may not, and the facts the KPI layer and the dashboards take from them."""

from __future__ import annotations

import pytest

from revenue_os.dashboards.datasets import filtered
from revenue_os.metrics import load_contracts
from revenue_os.metrics.contract import SimpleCalculation
from revenue_os.metrics.sql_text import (
    SqlTextError,
    aggregate_calls,
    check_aggregate,
    check_formula,
    check_predicate,
    is_additive,
    is_volume,
    summed_column,
)

COLUMNS = frozenset({"amount_usd", "is_won", "opportunity_type", "person_id", "channel"})


@pytest.mark.parametrize(
    "predicate",
    [
        "is_won and opportunity_type = 'new_business'",
        "channel in ('paid_search', 'paid_social') and not is_won",
        "amount_usd between 1 and 2 or amount_usd is null",
        "(opportunity_type ilike 'new%' or opportunity_type <> 'renewal') and amount_usd >= 0",
        "case when is_won then amount_usd else 0 end > coalesce(amount_usd, 0)",
    ],
)
def test_what_a_filter_may_say(predicate):
    check_predicate(predicate, COLUMNS)


@pytest.mark.parametrize(
    ("fragment", "message"),
    [
        ("is_won; drop table mart.fct_opportunities", r"';' at character 7 is not allowed"),
        ("is_won -- and everything", r"'--' at character 8 is not allowed"),
        ("is_won /* hidden */", r"'/\*' at character 8 is not allowed"),
        ("opportunity_type = 'a\\' or true", r"'\\\\' at character 22 is not allowed"),
        ("opportunity_type = $$x$$", r"'\$' at character 20 is not allowed"),
        ('"is_won"', "'\"' at character 1 is not allowed"),
        ("is_won and pg_sleep(10) is null", r"unknown function pg_sleep\(\)"),
        ("amount_usd > (select max(amount_usd) from mart.fct_opportunities)", "not allowed"),
        ("amount_usd::text = '1'", r"unknown function cast\(\)"),
        ("cost > 0", r"unknown column 'cost'"),
        ("o.is_won", r"'o.is_won': name columns without a table"),
        ("sum(amount_usd) > 0", r"aggregate sum\(\) is not allowed here"),
        ("{win_rate} > 0", r"\{win_rate\} is a metric reference, allowed only in formulas"),
        ("is_won and", "does not parse"),
    ],
)
def test_what_a_filter_may_not_say_is_named(fragment, message):
    with pytest.raises(SqlTextError, match=message):
        check_predicate(fragment, COLUMNS)


def test_an_aggregate_must_aggregate_and_a_formula_names_metrics_only():
    check_aggregate("count(distinct person_id)", COLUMNS)
    check_aggregate("count(*)", COLUMNS)
    with pytest.raises(SqlTextError, match="must aggregate its rows"):
        check_aggregate("amount_usd * 2", COLUMNS)
    with pytest.raises(SqlTextError, match=r"\* is allowed only in count"):
        check_aggregate("sum(*)", COLUMNS)
    assert check_formula("{gross_margin_usd} * 100.0 / nullif({total_revenue}, 0)") == [
        "gross_margin_usd",
        "total_revenue",
    ]
    with pytest.raises(SqlTextError, match=r"'revenue' is not a metric reference in braces"):
        check_formula("revenue / {cac}")
    with pytest.raises(SqlTextError, match=r"string literal 'x' is not allowed in a formula"):
        check_formula("coalesce({cac}, 'x')")


@pytest.mark.parametrize(
    ("expression", "calls", "additive", "volume"),
    [
        ("sum(amount_usd)", {"sum"}, True, True),
        ("count(*)", {"count"}, True, True),
        ("count(distinct person_id)", {"count"}, False, True),
        ("avg(amount_usd)", {"avg"}, False, False),
        ("sum(amount_usd) / nullif(count(*), 0)", {"sum", "count"}, True, True),
        ("max(amount_usd) - min(amount_usd)", {"max", "min"}, False, False),
    ],
)
def test_how_an_aggregate_adds_up_over_periods(expression, calls, additive, volume):
    assert aggregate_calls(expression) == calls
    assert is_additive(expression) is additive
    assert is_volume(expression) is volume


@pytest.mark.parametrize(
    ("expression", "column"),
    [
        ("count(*)", "*"),
        ("sum(amount_usd)", "amount_usd"),
        ("SUM(amount_usd)", "amount_usd"),
        ("count(person_id)", "person_id"),
        ("count(distinct person_id)", None),
        ("sum(amount_usd) - sum(amount_usd)", None),
        ("coalesce(sum(amount_usd), 0)", None),
        ("sum(amount_usd * 2)", None),
        ("avg(amount_usd)", None),
    ],
)
def test_which_aggregates_are_one_plain_sum_or_count(expression, column):
    """Only one bare sum or count of a column (or of rows) may be summed in parts."""
    assert summed_column(expression) == column


def test_a_filter_goes_after_every_aggregate_call_not_inside_a_string():
    expression = "sum(amount_usd) * 100.0 / nullif(count(case when channel = ')' then 1 end), 0)"
    assert filtered(expression, "is_won") == (
        "sum(amount_usd) FILTER (WHERE is_won) * 100.0 / nullif(count(case when channel = ')'"
        " then 1 end) FILTER (WHERE is_won), 0)"
    )


def test_every_shipped_contract_reads_as_it_did():
    """The shipped contracts' fragments all parse, and the ones whose additivity is known by
    hand are read that way."""
    contracts = load_contracts()
    simple = {
        name: contract.calculation
        for name, contract in contracts.items()
        if isinstance(contract.calculation, SimpleCalculation)
    }
    assert is_additive(simple["total_revenue"].expression)
    assert not is_additive(simple["new_customers"].expression)  # distinct accounts
    assert not is_additive(simple["sales_cycle_days"].expression)  # an average
