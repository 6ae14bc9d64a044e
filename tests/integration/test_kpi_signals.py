"""Known answers: the contracts' rules (`rules:` in metrics/*.yaml) judged on hand-made KPI rows.

Win rate, `falling_against_8_weeks` (the week against the 8 weeks before it, down 15 % or
more, on at least 10 closed deals), week of 23 November 2026:
  overall       20.0 % on 12 deals against 25.0 % the 8 weeks before: -20.0 %, fired;
  SMB           30.0 % against 40.0 %, -25.0 %, but on 5 deals: not judged, not fired;
  Mid-market    24.0 % on 10 deals against 25.0 %: -4.0 %, judged, not fired.
Sales cycle, `lengthening_two_windows` (4 weeks against the 4 before, up 10 % or more, two
windows running), on the 4-week values of 28 September (54.0), 26 October (60.0) and 23
November (66.0):
  week of 23 November: 66.0 against 60.0 (+10.0 %), and 60.0 against 54.0 (+11.1 %): fired;
  week of 16 November: 61.0 against 60.0 four weeks before (+1.7 %), and no window before
  that one: not judged, not fired.
Pipeline coverage, `thin_next_quarter` (next quarter under 3.0x in a segment), business day
  2 December 2026 (Q4 in progress, Q1 2027 next): overall 3.4 not fired; SMB 2.1 fired;
  Enterprise without a value: not judged. Q4's own 2.5 is not the rule's period: no row.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from psycopg import sql
from psycopg.rows import dict_row

from revenue_os.metrics import load_contracts
from revenue_os.metrics.kpi_tables import create_kpi_table
from revenue_os.metrics.signals import build_signals
from tests.integration.conftest import ScratchDatabases

W = date(2026, 11, 23)
WEEK = timedelta(days=7)
CONTRACTS = load_contracts()


def _row(metric, grain, start, value, dimension="overall", dim_value="all", **windows):
    contract = CONTRACTS[metric]
    return {
        "metric_name": metric,
        "label": contract.label,
        "tier": contract.tier,
        "area": contract.area,
        "period_grain": grain,
        "period_start": start,
        "is_complete": start + (WEEK if grain == "week" else timedelta(days=92))
        <= date(2026, 12, 2),
        "is_final": False,
        "dimension_name": dimension,
        "dimension_value": dim_value,
        "value": None if value is None else Decimal(str(value)),
        "format": contract.format,
        "direction": contract.direction,
        "kpi_owner": contract.owner.kpi_owner,
        "steward": contract.owner.steward,
        "confidence": contract.confidence.level,
        **{column: Decimal(str(number)) for column, number in windows.items()},
    }


ROWS = [
    # win rate: the week and the 8 weeks before it (the week before's 8-week window)
    _row("win_rate", "week", W, 20),
    _row("win_rate", "week", W - WEEK, 22, trailing_8_week_value=25),
    _row("closed_deals", "week", W, 12),
    _row("win_rate", "week", W, 30, "segment", "smb"),
    _row("win_rate", "week", W - WEEK, 35, "segment", "smb", trailing_8_week_value=40),
    _row("closed_deals", "week", W, 5, "segment", "smb"),
    _row("win_rate", "week", W, 24, "segment", "mid_market"),
    _row("win_rate", "week", W - WEEK, 26, "segment", "mid_market", trailing_8_week_value=25),
    _row("closed_deals", "week", W, 10, "segment", "mid_market"),
    # sales cycle: 4-week windows
    _row("sales_cycle_days", "week", W, 70, trailing_value=66),
    _row("sales_cycle_days", "week", W - 4 * WEEK, 58, trailing_value=60),
    _row("sales_cycle_days", "week", W - 8 * WEEK, 50, trailing_value=54),
    _row("sales_cycle_days", "week", W - WEEK, 61, trailing_value=61),
    _row("sales_cycle_days", "week", W - 5 * WEEK, 59, trailing_value=60),
    # coverage: the quarter in progress and the next
    _row("pipeline_coverage", "quarter", date(2026, 10, 1), 2.5),
    _row("pipeline_coverage", "quarter", date(2027, 1, 1), 3.4),
    _row("pipeline_coverage", "quarter", date(2027, 1, 1), 2.1, "segment", "smb"),
    _row("pipeline_coverage", "quarter", date(2027, 1, 1), None, "segment", "enterprise"),
]


@pytest.fixture(scope="module")
def signals(warehouse_server):
    databases = ScratchDatabases(warehouse_server)
    conn = databases.create("kpi_signals_known_answers")
    with conn.cursor() as cursor:
        table = create_kpi_table(cursor, "public", "kpi_values")
        for row in ROWS:
            cursor.execute(
                sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    table,
                    sql.SQL(", ").join(map(sql.Identifier, row)),
                    sql.SQL(", ").join(sql.Placeholder() * len(row)),
                ),
                list(row.values()),
            )
        count = build_signals(cursor, "public", CONTRACTS, date(2026, 12, 2))
    with conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute("SELECT * FROM kpi_signals").fetchall()
    yield count, {(r["rule_name"], r["period_start"], r["dimension_value"]): r for r in rows}
    conn.close()
    databases.drop_all()


def test_win_rate_falling_against_its_8_weeks_with_a_minimum_of_deals(signals):
    _, found = signals
    overall = found[("falling_against_8_weeks", W, "all")]
    assert (overall["value"], overall["baseline_value"], overall["minimum_value"]) == (20, 25, 12)
    assert overall["change_pct"] == -20
    assert (overall["judged"], overall["fired"]) == (True, True)
    assert overall["condition"] == "change <= -15 %"
    assert overall["kpi_owner"] == "Head of Sales" and overall["action_type"] == "investigate"
    assert (overall["period_label"], overall["dimension_label"], overall["display_reading"]) == (
        "Week of 23 Nov 2026",
        "All",
        "20.0 % against 25.0 % (-20.0 %)",
    )
    smb = found[("falling_against_8_weeks", W, "smb")]
    assert (smb["change_pct"], smb["judged"], smb["fired"]) == (-25, False, False)
    mid = found[("falling_against_8_weeks", W, "mid_market")]
    assert (mid["change_pct"], mid["judged"], mid["fired"]) == (-4, True, False)
    # The week before has no 8 weeks before it in these rows: not judged.
    before = found[("falling_against_8_weeks", W - WEEK, "all")]
    assert (before["baseline_value"], before["judged"], before["fired"]) == (None, False, False)


def test_the_sales_cycle_fires_on_two_lengthening_windows_running(signals):
    _, found = signals
    latest = found[("lengthening_two_windows", W, "all")]
    assert (latest["value"], latest["baseline_value"], latest["change_pct"]) == (66, 60, 10)
    assert (latest["judged"], latest["fired"]) == (True, True)
    one_week_earlier = found[("lengthening_two_windows", W - WEEK, "all")]
    assert float(one_week_earlier["change_pct"]) == pytest.approx(100 / 60)
    assert (one_week_earlier["judged"], one_week_earlier["fired"]) == (False, False)


def test_next_quarters_coverage_is_judged_in_each_segment(signals):
    count, found = signals
    q1 = date(2027, 1, 1)
    assert (found[("thin_next_quarter", q1, "all")]["fired"]) is False
    smb = found[("thin_next_quarter", q1, "smb")]
    assert (smb["value"], smb["judged"], smb["fired"], smb["condition"]) == (
        Decimal("2.1"),
        True,
        True,
        "value < 3",
    )
    assert (smb["period_label"], smb["dimension_label"], smb["display_reading"]) == (
        "Q1 2027",
        "SMB",
        "2.10x",
    )
    assert (found[("thin_next_quarter", q1, "enterprise")]["judged"]) is False
    assert ("thin_next_quarter", date(2026, 10, 1), "all") not in found
    # Every row above and nothing else: 2 weeks x 3 slices of win rate (the week before's
    # rows too), 5 weeks of the cycle, 3 slices of coverage.
    assert count == 6 + 5 + 3
