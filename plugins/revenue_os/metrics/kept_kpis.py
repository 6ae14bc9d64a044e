"""The simple metrics' rows kept from one build to the next, and brought forward by the
periods a day changed.

A simple metric is a grouped scan of one fact. Its value for a period reads only the fact's
rows of that period, so a build need not scan the whole history again: the facts are
fingerprinted day by day on each time column the contracts read (a row count and a sum of
row hashes), the days whose fingerprint moved since the kept rows were computed give each
grain's changed periods, and only those are computed again, from the metric's one SQL
filtered on the period. A sum's windows and quiet periods are sums of its periods, so they
are computed from the kept period values; an average's or a distinct count's windows read the
fact, so the periods its windows reach are computed again too. A metric whose compiled SQL
changed, or a fact without a kept fingerprint, is computed whole, and so is everything in a
full build. The kept tables live in the builder's `staging` schema, written in the KPI
build's transaction: they and the fingerprints they were computed from always agree.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import psycopg
from psycopg import sql

from revenue_os.metrics.contract import MetricContract, SimpleCalculation
from revenue_os.metrics.kpi_sql import (
    additive_rows_sql,
    simple_periods_sql,
    simple_sql,
    window_reach,
)
from revenue_os.metrics.periods import WINDOW_COLUMNS, shift
from revenue_os.metrics.sql_text import is_additive

FACT_DAYS = "kpi_fact_days"
METRIC_ROWS = "kpi_metric_rows"
METRIC_STATE = "kpi_metric_state"


@dataclass
class KeptMetrics:
    """The kept rows of the simple metrics in `schema`, brought forward against the facts in
    the mart schema being built. `full`: compute every metric whole."""

    schema: str
    full: bool = False
    # (model, time column) pairs whose kept fingerprints the build can compare with.
    _known: set[tuple[str, str]] = field(default_factory=set)
    computed: dict[str, int] = field(default_factory=lambda: {"whole": 0, "periods": 0})

    def _table(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.schema, name)

    def prepare(
        self, cursor: psycopg.Cursor, mart_schema: str, contracts: Iterable[MetricContract]
    ) -> None:
        """Create the kept tables if needed, fingerprint the facts the simple metrics read,
        and find the days that changed since the kept rows were computed."""
        windows = sql.SQL(", ").join(
            sql.SQL("{} numeric").format(sql.Identifier(column)) for column in WINDOW_COLUMNS
        )
        cursor.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (model text, time_column text, day date,"
                " row_count bigint, row_digest numeric, PRIMARY KEY (model, time_column, day))"
            ).format(self._table(FACT_DAYS))
        )
        cursor.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (metric_name text, period_grain text,"
                " definition text, PRIMARY KEY (metric_name, period_grain))"
            ).format(self._table(METRIC_STATE))
        )
        cursor.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (metric_name text, period_grain text,"
                " period_start date, dimension_name text, dimension_value text, value numeric,"
                " {}, PRIMARY KEY (metric_name, period_grain, period_start, dimension_name,"
                " dimension_value))"
            ).format(self._table(METRIC_ROWS), windows)
        )
        cursor.execute(
            sql.SQL("SELECT DISTINCT model, time_column FROM {}").format(self._table(FACT_DAYS))
        )
        self._known = {(model, column) for model, column in cursor.fetchall()}
        cursor.execute(
            "CREATE TEMPORARY TABLE fact_days_now (model text, time_column text, day date,"
            " row_count bigint, row_digest numeric) ON COMMIT DROP"
        )
        pairs = sorted(
            {
                (c.calculation.model, c.calculation.time_column)
                for c in contracts
                if isinstance(c.calculation, SimpleCalculation)
            }
        )
        for model, column in pairs:
            cursor.execute(
                sql.SQL(
                    "INSERT INTO fact_days_now SELECT {model}, {name}, f.{column}::date,"
                    " count(*), sum(hash_record_extended(f, 0)) FROM {table} AS f"
                    " WHERE f.{column} IS NOT NULL GROUP BY 3"
                ).format(
                    model=sql.Literal(model),
                    name=sql.Literal(column),
                    column=sql.Identifier(column),
                    table=sql.Identifier(mart_schema, model),
                )
            )
        cursor.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE changed_days ON COMMIT DROP AS"
                " SELECT coalesce(now.model, kept.model) AS model,"
                " coalesce(now.time_column, kept.time_column) AS time_column,"
                " coalesce(now.day, kept.day) AS day"
                " FROM fact_days_now AS now FULL JOIN {} AS kept"
                " USING (model, time_column, day)"
                " WHERE (now.row_count, now.row_digest) IS DISTINCT FROM"
                " (kept.row_count, kept.row_digest)"
            ).format(self._table(FACT_DAYS))
        )

    def work_rows(
        self, cursor: psycopg.Cursor, contract: MetricContract, grain: str, mart_schema: str
    ) -> None:
        """Put the metric's rows at `grain` into kpi_work, computing only what changed."""
        calculation = contract.calculation
        assert isinstance(calculation, SimpleCalculation)
        name, rows = (contract.name, grain), self._table(METRIC_ROWS)
        definition = hashlib.sha256(
            simple_sql(contract, calculation, grain, mart_schema).as_string(None).encode()
        ).hexdigest()
        cursor.execute(
            sql.SQL(
                "SELECT definition FROM {} WHERE metric_name = %s AND period_grain = %s"
            ).format(self._table(METRIC_STATE)),
            name,
        )
        state = cursor.fetchone()
        pair = (calculation.model, calculation.time_column)
        whole = self.full or state is None or state[0] != definition or pair not in self._known
        additive = is_additive(calculation.expression)
        of_metric = sql.SQL("metric_name = {} AND period_grain = {}").format(
            sql.Literal(contract.name), sql.Literal(grain)
        )
        if whole:
            self.computed["whole"] += 1
            cursor.execute(sql.SQL("DELETE FROM {} WHERE {}").format(rows, of_metric))
            changed: list[date] | None = None
        else:
            cursor.execute(
                "SELECT DISTINCT date_trunc(%s, day)::date FROM changed_days"
                " WHERE model = %s AND time_column = %s",
                (grain, *pair),
            )
            changed = sorted(row[0] for row in cursor.fetchall())
            self.computed["periods"] += bool(changed)
        if additive:
            # The kept rows are the period values; windows and quiet periods follow from them.
            if changed is None or changed:
                if changed:
                    cursor.execute(
                        sql.SQL("DELETE FROM {} WHERE {} AND period_start = ANY(%s)").format(
                            rows, of_metric
                        ),
                        (changed,),
                    )
                cursor.execute(
                    sql.SQL(
                        "INSERT INTO {} (metric_name, period_grain, period_start,"
                        " dimension_name, dimension_value, value)"
                        " SELECT {}, {}, period_start, dimension_name, dimension_value, value"
                        " FROM ({}) AS fresh"
                    ).format(
                        rows,
                        sql.Literal(contract.name),
                        sql.Literal(grain),
                        simple_periods_sql(contract, calculation, grain, mart_schema, changed),
                    )
                )
            cursor.execute(
                additive_rows_sql(
                    contract,
                    grain,
                    sql.SQL(
                        "SELECT period_start, dimension_name, dimension_value, value"
                        " FROM {} WHERE {}"
                    ).format(rows, of_metric),
                )
            )
        else:
            # An average's window reads the fact: a changed period moves the windows of the
            # periods after it, which need the periods before them.
            reached = None
            if changed:
                reach = range(window_reach(grain) + 1)
                reached = sorted({shift(grain, p, k) for p in changed for k in reach})
                needed = sorted({shift(grain, p, -k) for p in reached for k in reach})
                cursor.execute(
                    sql.SQL("DELETE FROM {} WHERE {} AND period_start = ANY(%s)").format(
                        rows, of_metric
                    ),
                    (reached,),
                )
                cursor.execute(simple_sql(contract, calculation, grain, mart_schema, needed))
            elif changed is None:
                cursor.execute(simple_sql(contract, calculation, grain, mart_schema))
            if changed is None or changed:
                cursor.execute(
                    sql.SQL("INSERT INTO {} SELECT * FROM kpi_work WHERE {}{}").format(
                        rows,
                        of_metric,
                        sql.SQL(" AND period_start = ANY({}::date[])").format(sql.Literal(reached))
                        if reached
                        else sql.SQL(""),
                    )
                )
                cursor.execute(sql.SQL("DELETE FROM kpi_work WHERE {}").format(of_metric))
            cursor.execute(
                sql.SQL("INSERT INTO kpi_work SELECT * FROM {} WHERE {}").format(rows, of_metric)
            )
        cursor.execute(
            sql.SQL(
                "INSERT INTO {} (metric_name, period_grain, definition) VALUES (%s, %s, %s)"
                " ON CONFLICT (metric_name, period_grain) DO UPDATE"
                " SET definition = excluded.definition"
            ).format(self._table(METRIC_STATE)),
            (*name, definition),
        )

    def finish(self, cursor: psycopg.Cursor, contracts: Iterable[MetricContract]) -> None:
        """Keep today's fingerprints, and forget the rows of metrics no contract computes."""
        cursor.execute(sql.SQL("DELETE FROM {}").format(self._table(FACT_DAYS)))
        cursor.execute(
            sql.SQL("INSERT INTO {} SELECT * FROM fact_days_now").format(self._table(FACT_DAYS))
        )
        grains = [
            f"{c.name}:{grain}"
            for c in contracts
            if isinstance(c.calculation, SimpleCalculation)
            for grain in c.grain
        ]
        for table in (METRIC_ROWS, METRIC_STATE):
            cursor.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE NOT metric_name || ':' || period_grain = ANY(%s)"
                ).format(self._table(table)),
                (grains,),
            )
