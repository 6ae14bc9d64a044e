"""The KPI layer: every metric contract computed into the KPI tables of a mart schema.

`build_kpi_tables` runs the compiled SQL (`kpi_sql`) metric by metric into a work table, then
writes `kpi_values`, the campaign recommendations (`recommendations`), the reporting calendar
and the scorecard (`scorecard`), in one transaction. The SQL is compiled from the contracts,
so the glossary, the tables and the dashboards read one definition; the tables' shape is
declared in metrics/kpi_tables.yml (`kpi_tables`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import psycopg
from psycopg import sql

from revenue_os.metrics.as_of import as_of_by_model, business_day_of
from revenue_os.metrics.contract import (
    MetricContract,
    SimpleCalculation,
)
from revenue_os.metrics.kept_kpis import KeptMetrics
from revenue_os.metrics.kpi_sql import (
    WORK_COLUMNS_TYPED,
    complete_sql,
    forward_zero_rows_sql,
    kpi_values_sql,
    work_rows_sql,
)
from revenue_os.metrics.kpi_tables import add_grain_key, create_kpi_table
from revenue_os.metrics.loader import load_contracts
from revenue_os.metrics.recommendations import (
    RecommendationSettings,
    build_campaign_recommendations,
)
from revenue_os.metrics.scorecard import (
    build_calendar_and_scorecard,
)
from revenue_os.metrics.signals import build_signals
from revenue_os.operations.decisions import build_decision_log_table

KPI_WORK_MEM = "64MB"


def build_kpi_tables(
    conn: psycopg.Connection,
    schema: str,
    contracts: Mapping[str, MetricContract] | None = None,
    *,
    settings: RecommendationSettings | None = None,
    kept: KeptMetrics | None = None,
) -> dict[str, int]:
    """(Re)create `kpi_values` and `campaign_recommendations` in `schema`; their row counts.

    Runs in one transaction, so readers of the schema see the old tables or the new ones,
    never a half-built pair. With `kept`, the work rows and kpi_values are brought forward
    from the rows kept by the build before, by the periods the day changed (`kept_kpis`).
    """
    contracts = load_contracts() if contracts is None else contracts
    settings = settings or RecommendationSettings.load(contracts=contracts)
    with conn.transaction(), conn.cursor() as cursor:
        # The windows of averages and distinct counts group every row once per period its
        # windows reach: in 64 MB they are hashed in memory instead of sorted on disk (a
        # quarter less time for those metrics at scale 10). For this transaction only.
        cursor.execute("SELECT set_config('work_mem', %s, true)", (KPI_WORK_MEM,))
        # Simple metrics first (they read the mart), then derived ones in dependency order
        # (they join kpi_work to itself): statistics are refreshed once between the phases
        # and once after, not after every metric.
        simple = [c for c in contracts.values() if isinstance(c.calculation, SimpleCalculation)]
        derived = [
            c for c in contracts.values() if not isinstance(c.calculation, SimpleCalculation)
        ]
        if kept is None:
            _create_work_table(cursor)
            as_of = as_of_by_model(cursor, schema, contracts)
        else:
            kept.prepare(cursor, schema, simple)
            as_of = as_of_by_model(cursor, schema, contracts, kept.fingerprinted)
        business_day = business_day_of(as_of)
        for phase in (simple, derived):
            for contract in phase:
                for grain in contract.grain:
                    if kept is not None:
                        kept.work_rows(cursor, contract, grain, schema, contracts)
                    else:
                        cursor.execute(work_rows_sql(contract, grain, schema, contracts))
                    zeros = forward_zero_rows_sql(contract, grain, business_day)
                    if zeros is not None:
                        cursor.execute(zeros)
            if kept is None:
                cursor.execute("ANALYZE kpi_work")
            elif kept.work_statistics_stale(cursor):
                cursor.execute(sql.SQL("ANALYZE {}").format(kept.work_table))
        if kept is not None:
            kpi_values = kept.bring_values_forward(cursor, schema, contracts, as_of, business_day)
            values_stale = kept.values_statistics_stale(cursor, kpi_values)
        else:
            kpi_values = create_kpi_table(cursor, schema, "kpi_values", keyed=False)
            for contract in contracts.values():
                for grain in contract.grain:
                    final_days = contract.refresh_sla.final_after_days
                    cursor.execute(
                        kpi_values_sql(
                            contract,
                            grain,
                            kpi_values,
                            complete_sql(contract, grain, contracts, as_of, business_day),
                            complete_sql(
                                contract, grain, contracts, as_of, business_day, final_days
                            ),
                            business_day,
                        )
                    )
            add_grain_key(cursor, kpi_values, "kpi_values")
            values_stale = True
        kpi_count = _count(cursor, kpi_values) if kept is None else kept.values_rows
        campaign_count = build_campaign_recommendations(
            cursor, schema, contracts, settings, business_day
        )
        counts = build_calendar_and_scorecard(
            cursor, schema, contracts, business_day, analyze_values=values_stale
        )
        counts["kpi_signals"] = build_signals(cursor, schema, contracts, business_day)
        counts["decision_log"] = build_decision_log_table(cursor, schema, contracts, date.today())
        if kept is not None:
            kept.finish(cursor, contracts.values())
    return {"kpi_values": kpi_count, "campaign_recommendations": campaign_count, **counts}


def _create_work_table(cursor: psycopg.Cursor) -> None:
    """The work rows of this build alone, dropped at its end."""
    cursor.execute(
        sql.SQL("CREATE TEMPORARY TABLE kpi_work ({}) ON COMMIT DROP").format(WORK_COLUMNS_TYPED)
    )
    cursor.execute(
        "CREATE INDEX ON kpi_work (metric_name, period_grain, dimension_name, "
        "dimension_value, period_start)"
    )


def _count(cursor: psycopg.Cursor, table: sql.Identifier) -> int:
    cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(table))
    row = cursor.fetchone()
    return int(row[0]) if row else 0
