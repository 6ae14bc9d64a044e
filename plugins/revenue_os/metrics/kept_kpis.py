"""The KPI rows kept from one build to the next, and brought forward by the periods a day
changed and the rows that moved in them.

A metric's row for a period reads little of the history: a simple metric the fact's rows of
that period (and, for its windows, of the periods before), a ratio or a formula its inputs'
rows of the same period, a growth its input's rows of the period and of those it compares
with. So a build need not compute every row again:

- the facts the simple metrics read are fingerprinted day by day on each time column the
  contracts read (a row count and a sum of hashes of the columns the metrics read); the days
  whose fingerprint moved since the kept rows were computed give each grain's changed
  periods;
- a simple metric's rows are computed again for those periods only, from its one SQL
  filtered on the period. A sum's windows and quiet periods are sums of its period values,
  kept for the purpose, so they are computed from the kept values (and when its last period
  moves, every slice's quiet periods up to it); an average's or a distinct count's windows
  read the fact, so the periods its windows reach are computed again too;
- of the rows computed again, only those whose values moved (or which came or went) are
  written: a day that changes a few slices of most months moves a few percent of their rows,
  and what derives from them follows those rows;
- a derived metric's rows are computed again for the periods its inputs' rows moved in (a
  growth: and the periods that compare with them), from the work rows; a dimension one input
  lends every period of another (ROAS by attribution model: spend has no model) makes it
  whole when that input's values of the dimension change;
- `kpi_values` rows are written again where their work row moved, the next period of the
  same slice (its prior value), the periods whose completeness or finality the business day
  moved past, the periods the business day moved into, and every period of a slice whose
  first period moved (a slice is not judged before it has a full trailing window). The table
  stays in the build schema and catches up with the rows every computation since its own
  found due (`kpi_values_log`, the rows by key in `kpi_values_log_rows`).

A metric whose compiled SQL changed, a forward-looking one (its periods move with the
business day), a fact without a kept fingerprint, or a full build computes the metric whole,
and what derives from it. The kept tables live in the builder's `staging` schema and are
written in the KPI build's transaction: they and the fingerprints they were computed from
always agree, whatever became of the build after it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

import psycopg
from psycopg import sql

from revenue_os.metrics.contract import GrowthCalculation, MetricContract, SimpleCalculation
from revenue_os.metrics.kpi_sql import (
    INSERT_WORK,
    OVERALL,
    WORK_COLUMN_NAMES,
    WORK_COLUMNS_TYPED,
    additive_rows_query,
    broadcasts,
    complete_sql,
    kpi_values_sql,
    simple_periods_sql,
    simple_query,
    window_reach,
    work_rows_query,
)
from revenue_os.metrics.kpi_tables import add_grain_key, create_kpi_table, table_definition
from revenue_os.metrics.loader import inputs_of
from revenue_os.metrics.periods import WINDOW_COLUMNS, period_start, shift, window_columns
from revenue_os.metrics.sql_text import columns_in, is_additive
from revenue_os.transform.differences import REANALYSE_SHARE

FACT_DAYS = "kpi_fact_days"
PERIOD_VALUES = "kpi_metric_rows"
WORK_ROWS = "kpi_work_rows"
VALUES_LOG = "kpi_values_log"
VALUES_LOG_ROWS = "kpi_values_log_rows"
COMPUTATIONS = "kpi_computations"
STATE = "kpi_kept_state"
LAYOUT = "kpi_kept_layout"
# Kept tables of earlier layouts, dropped with the rest when the layout changes.
_RETIRED = ("kpi_metric_state",)
VALUES_WRITTEN = "kpi_values_written"
COMPUTATION_LOG = (VALUES_LOG, VALUES_LOG_ROWS, VALUES_WRITTEN)
"""What each computation wrote: bookkeeping, which differs between builds that hold the same."""
# The log keeps what the last computations found due, enough for a build schema a few
# builds behind.
_LOGGED_COMPUTATIONS = 10
# The business day the definitions of kpi_values rows are compared on, so that a definition
# says what the SQL computes, not which day it ran.
_ANY_DAY = date(2000, 1, 3)

BROUGHT_FORWARD_KPI_TABLES = ("kpi_values",)
"""The KPI tables a build schema keeps from the build that last held it."""

_FINGERPRINTS = "the columns the metrics read, hashed by day"
# The kept tables are unlogged: they are derived state, and a crash that empties them all
# leaves no state to disagree with, so the next computation is whole. Writing a full
# computation's work rows to the write-ahead log cost more than the computation saved.
_KEPT_AS = "unlogged, row counts, rows due by key"

_State = tuple[str, date | None]

Reach = frozenset[tuple[date, str, str]] | None
"""The work rows (period, dimension name, dimension value) a build rewrote with other values
for a metric and grain, or which came or went; None: every row."""


@dataclass(frozen=True)
class Due:
    """The kpi_values rows of a metric and grain to write again: every row of `periods`
    (None: every row at all) and of `slices`, and `rows` by key (period, dimension name,
    dimension value), or, once logged, those in `kpi_rows_due` (`rows_logged`)."""

    periods: list[date] | None
    slices: list[tuple[str, str]] = field(default_factory=list)
    rows: list[tuple[date, str, str]] = field(default_factory=list)
    rows_logged: bool = False

    @property
    def nothing(self) -> bool:
        return self.periods == [] and not self.slices and not self.rows and not self.rows_logged

    def condition(self, name: str, grain: str) -> sql.Composable:
        """The rows due, as a condition on the work rows' columns."""
        assert self.periods is not None
        conditions = []
        if self.periods:
            conditions.append(
                sql.SQL("period_start = ANY({}::date[])").format(sql.Literal(self.periods))
            )
        if self.slices:
            conditions.append(
                sql.SQL(
                    "(dimension_name, dimension_value) IN (SELECT * FROM unnest({}::text[], {}::text[]))"
                ).format(
                    sql.Literal([n for n, _ in self.slices]),
                    sql.Literal([v for _, v in self.slices]),
                )
            )
        if self.rows_logged:
            conditions.append(
                sql.SQL(
                    "(period_start, dimension_name, dimension_value) IN (SELECT due_period,"
                    " due_name, due_value FROM kpi_rows_due WHERE due_metric = {} AND due_grain = {})"
                ).format(sql.Literal(name), sql.Literal(grain))
            )
        return sql.SQL(" OR ").join(conditions)


# Keys compared as text (name and value, or period, name and value, joined by a unit
# separator): a condition of arrays, not of a sub-query, so Postgres pushes it into the
# derived metrics' queries down to the input rows they read.
_SEPARATOR = "\x1f"
_SLICE_TEXT = sql.SQL("(dimension_name || chr(31) || dimension_value)")
_DIMENSION_TEXT = sql.SQL("(to_char(period_start, 'YYYY-MM-DD') || chr(31) || dimension_name)")
_KEY_TEXT = sql.SQL(
    "(to_char(period_start, 'YYYY-MM-DD') || chr(31) || dimension_name || chr(31)"
    " || dimension_value)"
)


@dataclass(frozen=True)
class Scope:
    """The work rows of a metric and grain computed again: those of `periods`, and where
    `slices` or `keys` is given only those of the slices (dimension name and value) or with
    the keys (period, name, value), with every value of a dimension in a period
    (`dimensions`: period, name)."""

    periods: list[date]
    slices: frozenset[tuple[str, str]] | None = None
    keys: frozenset[tuple[date, str, str]] | None = None
    dimensions: frozenset[tuple[date, str]] = frozenset()

    def condition(self) -> sql.Composed:
        """The rows in scope, as a condition (after AND) on the work rows' columns."""
        condition = sql.SQL(" AND period_start = ANY({}::date[])").format(sql.Literal(self.periods))
        among = []
        if self.slices is not None:
            among.append(
                sql.SQL("{} = ANY({}::text[])").format(
                    _SLICE_TEXT,
                    sql.Literal(sorted(f"{n}{_SEPARATOR}{v}" for n, v in self.slices)),
                )
            )
        if self.keys is not None:
            among.append(
                sql.SQL("{} = ANY({}::text[])").format(
                    _KEY_TEXT,
                    sql.Literal(
                        sorted(
                            f"{p.isoformat()}{_SEPARATOR}{n}{_SEPARATOR}{v}"
                            for p, n, v in self.keys
                        )
                    ),
                )
            )
            if self.dimensions:
                among.append(
                    sql.SQL("{} = ANY({}::text[])").format(
                        _DIMENSION_TEXT,
                        sql.Literal(
                            sorted(f"{p.isoformat()}{_SEPARATOR}{n}" for p, n in self.dimensions)
                        ),
                    )
                )
        if among:
            condition += sql.SQL(" AND ({})").format(sql.SQL(" OR ").join(among))
        return condition


def _digest(statement: sql.Composable) -> str:
    return hashlib.sha256(statement.as_string(None).encode()).hexdigest()


# The values a work row holds besides its key.
_WORK_VALUES = ("value", *WINDOW_COLUMNS)


def _values_as_text(alias: str) -> sql.Composed:
    """A work row's values as text: a sum of the same value at another scale (1.0, 1.00) is
    another row to a checksum of the table."""
    return sql.SQL("({})").format(
        sql.SQL(", ").join(
            sql.SQL("{}.{}::text").format(sql.Identifier(alias), sql.Identifier(c))
            for c in _WORK_VALUES
        )
    )


@dataclass
class KeptMetrics:
    """The kept rows of the metrics in `schema`, brought forward against the facts in the
    mart schema being built. `full`: compute every metric whole."""

    schema: str
    full: bool = False
    # (model, time column) pairs whose kept fingerprints the build can compare with.
    _known: set[tuple[str, str]] = field(default_factory=set)
    # (model, time column) pairs whose days `fact_days_now` holds for this build.
    fingerprinted: frozenset[tuple[str, str]] = frozenset()
    # How many metric grains were computed whole or by their changed periods: the simple
    # metrics, the derived ones, and their kpi_values rows.
    computed: dict[str, int] = field(default_factory=lambda: {"whole": 0, "periods": 0})
    derived: dict[str, int] = field(default_factory=lambda: {"whole": 0, "periods": 0})
    values: dict[str, int] = field(default_factory=lambda: {"whole": 0, "periods": 0})
    rewritten: dict[tuple[str, str], Reach] = field(default_factory=dict)
    # The work rows each metric grain computed again (None: all).
    scopes: dict[tuple[str, str], Scope | None] = field(default_factory=dict)
    # The rows of kpi_values once brought forward, counted as they were written.
    values_rows: int = 0
    # The work rows that moved in the periods computed again, and the kpi_values rows
    # written again by key (not those of metric grains written whole).
    rows_moved: int = 0
    values_rewritten: int = 0
    # What each metric grain's kept rows were computed by (its definition, and for
    # kpi_values the business day), as kept and as this computation leaves it.
    _states: dict[tuple[str, str, str], _State] = field(default_factory=dict)
    _new_states: dict[tuple[str, str, str], _State] = field(default_factory=dict)
    # The days whose fingerprint moved, by (model, time column); each sum's last period.
    _changed_days: dict[tuple[str, str], list[date]] = field(default_factory=dict)
    _last_periods: dict[tuple[str, str], date] = field(default_factory=dict)
    # The slices whose first period moved, by metric and grain.
    _moved: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)
    # The work rows and kpi_values rows written by the metric grains computed whole.
    _work_rows_whole: int = 0
    _values_rows_whole: int = 0

    def _table(self, name: str) -> sql.Identifier:
        return sql.Identifier(self.schema, name)

    @property
    def work_table(self) -> sql.Identifier:
        """The kept work rows, which the temporary view `kpi_work` shows during the build."""
        return self._table(WORK_ROWS)

    # --- set-up and wrap-up ---------------------------------------------------------------

    def _layout(self) -> str:
        """The kept tables' shape: a change (a new window column) drops them all, so kept
        rows and state never disagree on it."""
        return _digest(
            sql.SQL("{} | {} | {}").format(
                WORK_COLUMNS_TYPED,
                table_definition("kpi_values"),
                sql.SQL(_FINGERPRINTS + _KEPT_AS),
            )
        )

    def _create_tables(self, cursor: psycopg.Cursor) -> None:
        cursor.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} (layout text)").format(self._table(LAYOUT))
        )
        cursor.execute(sql.SQL("SELECT layout FROM {}").format(self._table(LAYOUT)))
        if [row[0] for row in cursor.fetchall()] != [self._layout()]:
            kept = (
                FACT_DAYS,
                PERIOD_VALUES,
                WORK_ROWS,
                VALUES_LOG,
                VALUES_LOG_ROWS,
                VALUES_WRITTEN,
                STATE,
            )
            for name in (*kept, *_RETIRED):
                cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(self._table(name)))
            cursor.execute(sql.SQL("DELETE FROM {}").format(self._table(LAYOUT)))
            cursor.execute(
                sql.SQL("INSERT INTO {} VALUES (%s)").format(self._table(LAYOUT)),
                (self._layout(),),
            )
        cursor.execute(
            sql.SQL(
                "CREATE UNLOGGED TABLE IF NOT EXISTS {} (model text, time_column text, hashed text,"
                " day date, row_count bigint, row_digest numeric,"
                " PRIMARY KEY (model, time_column, day))"
            ).format(self._table(FACT_DAYS))
        )
        cursor.execute(
            sql.SQL(
                "CREATE UNLOGGED TABLE IF NOT EXISTS {} (metric_name text, period_grain text,"
                " part text, definition text, business_day date,"
                " PRIMARY KEY (metric_name, period_grain, part))"
            ).format(self._table(STATE))
        )
        cursor.execute(
            sql.SQL(
                "CREATE UNLOGGED TABLE IF NOT EXISTS {} (metric_name text, period_grain text,"
                " period_start date, dimension_name text, dimension_value text, value numeric,"
                " PRIMARY KEY (metric_name, period_grain, period_start, dimension_name,"
                " dimension_value))"
            ).format(self._table(PERIOD_VALUES))
        )
        cursor.execute(
            sql.SQL("CREATE UNLOGGED TABLE IF NOT EXISTS {} ({})").format(
                self._table(WORK_ROWS), WORK_COLUMNS_TYPED
            )
        )
        cursor.execute(
            sql.SQL(
                "CREATE INDEX IF NOT EXISTS kpi_work_rows_slices ON {} (metric_name,"
                " period_grain, dimension_name, dimension_value, period_start)"
            ).format(self._table(WORK_ROWS))
        )
        cursor.execute(
            sql.SQL(
                "CREATE UNLOGGED TABLE IF NOT EXISTS {} (computation bigint, metric_name text,"
                " period_grain text, periods date[], slice_names text[], slice_values text[])"
            ).format(self._table(VALUES_LOG))
        )
        cursor.execute(
            sql.SQL(
                "CREATE UNLOGGED TABLE IF NOT EXISTS {} (computation bigint, metric_name text,"
                " period_grain text, period_start date, dimension_name text, dimension_value text)"
            ).format(self._table(VALUES_LOG_ROWS))
        )
        cursor.execute(
            sql.SQL(
                "CREATE UNLOGGED TABLE IF NOT EXISTS {} (relation oid PRIMARY KEY, computation bigint,"
                " row_count bigint)"
            ).format(self._table(VALUES_WRITTEN))
        )
        cursor.execute(
            sql.SQL("CREATE SEQUENCE IF NOT EXISTS {}").format(self._table(COMPUTATIONS))
        )

    def prepare(
        self, cursor: psycopg.Cursor, mart_schema: str, contracts: Iterable[MetricContract]
    ) -> None:
        """Create the kept tables if needed, show the kept work rows as `kpi_work`,
        fingerprint the facts the simple metrics read, and find the days that changed since
        the kept rows were computed."""
        self._create_tables(cursor)
        cursor.execute(
            sql.SQL(
                "SELECT metric_name, period_grain, part, definition, business_day FROM {}"
            ).format(self._table(STATE))
        )
        self._states = {(n, g, part): (d, day) for n, g, part, d, day in cursor.fetchall()}
        cursor.execute(
            sql.SQL("CREATE TEMPORARY VIEW kpi_work AS SELECT * FROM {}").format(self.work_table)
        )
        cursor.execute(
            sql.SQL("SELECT DISTINCT model, time_column, hashed FROM {}").format(
                self._table(FACT_DAYS)
            )
        )
        kept = {(model, column): hashed for model, column, hashed in cursor.fetchall()}
        cursor.execute(
            "CREATE TEMPORARY TABLE fact_days_now (model text, time_column text, hashed text,"
            " day date, row_count bigint, row_digest numeric) ON COMMIT DROP"
        )
        read = columns_read(contracts)
        self.fingerprinted = frozenset(read)
        self._known = {pair for pair, columns in read.items() if kept.get(pair) == columns}
        for (model, column), columns in sorted(read.items()):
            # Read back and written by the client: Postgres scans for a SELECT in parallel,
            # for an INSERT ... SELECT alone (half the time at scale 10, for a day's rows).
            cursor.execute(
                sql.SQL(
                    "SELECT {model}, {name}, {hashed}, f.{column}::date,"
                    " count(*), sum(hash_record_extended(ROW({columns}), 0)) FROM {table} AS f"
                    " WHERE f.{column} IS NOT NULL GROUP BY 4"
                ).format(
                    model=sql.Literal(model),
                    name=sql.Literal(column),
                    hashed=sql.Literal(columns),
                    column=sql.Identifier(column),
                    columns=sql.SQL(", ").join(
                        sql.SQL("f.{}").format(sql.Identifier(c)) for c in columns.split(",")
                    ),
                    table=sql.Identifier(mart_schema, model),
                )
            )
            days = cursor.fetchall()
            with cursor.copy("COPY fact_days_now FROM STDIN") as copy:
                for day in days:
                    copy.write_row(day)
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
        cursor.execute("SELECT model, time_column, day FROM changed_days")
        self._changed_days = {}
        for model, column, day in cursor.fetchall():
            self._changed_days.setdefault((model, column), []).append(day)
        # Each sum's last period, kept: its quiet periods run to it.
        cursor.execute(
            sql.SQL(
                "SELECT metric_name, period_grain, max(period_start) FROM {} GROUP BY 1, 2"
            ).format(self._table(PERIOD_VALUES))
        )
        self._last_periods = {(name, grain): last for name, grain, last in cursor.fetchall()}

    def finish(self, cursor: psycopg.Cursor, contracts: Iterable[MetricContract]) -> None:
        """Keep today's fingerprints, forget the rows of metrics no contract computes, and
        put the view away."""
        cursor.execute(sql.SQL("DELETE FROM {}").format(self._table(FACT_DAYS)))
        cursor.execute(
            sql.SQL("INSERT INTO {} SELECT * FROM fact_days_now").format(self._table(FACT_DAYS))
        )
        computed = {(c.name, grain) for c in contracts for grain in c.grain}
        for pair in {(name, grain) for name, grain, _ in self._states} - computed:
            for table in (PERIOD_VALUES, WORK_ROWS):
                cursor.execute(
                    sql.SQL("DELETE FROM {} WHERE metric_name = %s AND period_grain = %s").format(
                        self._table(table)
                    ),
                    pair,
                )
        cursor.execute(sql.SQL("DELETE FROM {}").format(self._table(STATE)))
        cursor.executemany(
            sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s)").format(self._table(STATE)),
            [(*key, *value) for key, value in sorted(self._new_states.items())],
        )
        cursor.execute("DROP VIEW kpi_work")

    # --- statistics -----------------------------------------------------------------------

    def work_statistics_stale(self, cursor: psycopg.Cursor) -> bool:
        """Whether the work rows' statistics need refreshing: more than a tenth of the rows
        they last counted were written since (moved, or of metric grains computed whole, as
        the forward-looking ones are every day). A day moves a few percent of them, and
        ANALYZE of the whole table took 0.1 s of a 4 s step at scale 1."""
        written = self.rows_moved + self._work_rows_whole
        return written > REANALYSE_SHARE * _estimated_rows(cursor, self.work_table)

    def values_statistics_stale(self, cursor: psycopg.Cursor, table: sql.Identifier) -> bool:
        """The same for `kpi_values` once brought forward (0.2 s at scale 1)."""
        written = self.values_rewritten + self._values_rows_whole
        return written > REANALYSE_SHARE * _estimated_rows(cursor, table)

    # --- state ----------------------------------------------------------------------------

    def _state(self, contract: MetricContract, grain: str, part: str) -> _State | None:
        return self._states.get((contract.name, grain, part))

    def _keep_state(
        self,
        contract: MetricContract,
        grain: str,
        part: str,
        definition: str,
        business_day: date | None = None,
    ) -> None:
        self._new_states[(contract.name, grain, part)] = (definition, business_day)

    # --- the work rows --------------------------------------------------------------------

    def work_rows(
        self,
        cursor: psycopg.Cursor,
        contract: MetricContract,
        grain: str,
        mart_schema: str,
        contracts: Mapping[str, MetricContract],
    ) -> Reach:
        """Bring the metric's work rows at `grain` up to date, computing only what changed;
        the rows that moved (None: all)."""
        query = work_rows_query(contract, grain, mart_schema, contracts)
        definition = _digest(query)
        state = self._state(contract, grain, "work")
        whole = self.full or state is None or state[0] != definition or contract.is_forward_looking
        if isinstance(contract.calculation, SimpleCalculation):
            reach = self._simple_rows(cursor, contract, grain, mart_schema, whole)
        else:
            reach = self._derived_rows(cursor, contract, grain, query, contracts, whole)
        self._keep_state(contract, grain, "work", definition)
        self.rewritten[(contract.name, grain)] = reach
        return reach

    def _of_metric(self, contract: MetricContract, grain: str) -> sql.Composed:
        return self._of_metric_named(contract.name, grain)

    @staticmethod
    def _of_metric_named(name: str, grain: str) -> sql.Composed:
        return sql.SQL("metric_name = {} AND period_grain = {}").format(
            sql.Literal(name), sql.Literal(grain)
        )

    def _simple_rows(
        self,
        cursor: psycopg.Cursor,
        contract: MetricContract,
        grain: str,
        mart_schema: str,
        whole: bool,
    ) -> Reach:
        calculation = contract.calculation
        assert isinstance(calculation, SimpleCalculation)
        pair = (calculation.model, calculation.time_column)
        additive = is_additive(calculation.expression)
        of_metric = self._of_metric(contract, grain)
        values = self._table(PERIOD_VALUES)
        if whole or pair not in self._known:
            self.computed["whole"] += 1
            cursor.execute(sql.SQL("DELETE FROM {} WHERE {}").format(values, of_metric))
            if not additive:
                self._replace(
                    cursor,
                    contract,
                    grain,
                    None,
                    simple_query(contract, calculation, grain, mart_schema),
                )
                return None
            self._keep_period_values(cursor, contract, grain, mart_schema)
            self._replace(
                cursor,
                contract,
                grain,
                None,
                additive_rows_query(contract, grain, self._period_values(contract, grain)),
            )
            return None
        changed = sorted({period_start(grain, day) for day in self._changed_days.get(pair, ())})
        if not changed:
            return frozenset()
        self.computed["periods"] += 1
        # A changed period moves the windows of the periods after it, which need the
        # periods before them.
        reach = range(window_reach(grain) + 1)
        if additive:
            last = sql.SQL("SELECT max(period_start) FROM {} WHERE {}").format(values, of_metric)
            last_before = self._last_periods.get((contract.name, grain))
            moved = self._period_values_moved(cursor, contract, grain, mart_schema, changed)
            cursor.execute(last)
            last_after = _one(cursor)
            # A sum's work row reads its slice's period values only: the slices whose values
            # moved are computed again, in the periods their windows carry the move to.
            slices: frozenset[tuple[str, str]] | None = frozenset((n, v) for _, n, v in moved)
            reached = {shift(grain, p, k) for p, _, _ in moved for k in reach}
            # Quiet periods run to the metric's last period: when that moves, every slice
            # gains (or loses) quiet rows up to it, not only those the change reached.
            if last_before != last_after:
                if last_before is None or last_after is None:
                    self.computed["periods"] -= 1
                    return self._simple_rows(cursor, contract, grain, mart_schema, True)
                start, end = sorted((last_before, last_after))
                while start < end:
                    start = shift(grain, start, 1)
                    reached.add(start)
                slices = None
            elif not moved:
                return frozenset()
            needed = sorted({shift(grain, p, -k) for p in reached for k in reach})
            query = additive_rows_query(
                contract, grain, self._period_values(contract, grain, needed, slices), last
            )
            return self._replace(cursor, contract, grain, Scope(sorted(reached), slices), query)
        reached = {shift(grain, p, k) for p in changed for k in reach}
        needed = sorted({shift(grain, p, -k) for p in reached for k in reach})
        query = simple_query(contract, calculation, grain, mart_schema, needed)
        return self._replace(cursor, contract, grain, Scope(sorted(reached)), query)

    def _keep_period_values(
        self,
        cursor: psycopg.Cursor,
        contract: MetricContract,
        grain: str,
        mart_schema: str,
    ) -> None:
        """Every period value of the sum, read from the fact (it is computed whole)."""
        calculation = contract.calculation
        assert isinstance(calculation, SimpleCalculation)
        cursor.execute(
            sql.SQL(
                "INSERT INTO {} (metric_name, period_grain, period_start, dimension_name,"
                " dimension_value, value) SELECT {}, {}, period_start, dimension_name,"
                " dimension_value, value FROM ({}) AS fresh"
            ).format(
                self._table(PERIOD_VALUES),
                sql.Literal(contract.name),
                sql.Literal(grain),
                simple_periods_sql(contract, calculation, grain, mart_schema),
            )
        )

    def _period_values_moved(
        self,
        cursor: psycopg.Cursor,
        contract: MetricContract,
        grain: str,
        mart_schema: str,
        periods: list[date],
    ) -> list[tuple[date, str, str]]:
        """Read the sum's values of `periods` from the fact again and keep those that moved
        (or came, or went); their keys. A day that changes a few slices of most months moves
        a few of their values, and the work rows follow those slices only."""
        calculation = contract.calculation
        assert isinstance(calculation, SimpleCalculation)
        of_kept = sql.SQL("{} AND period_start = ANY({}::date[])").format(
            self._of_metric(contract, grain), sql.Literal(periods)
        )
        key = sql.SQL("(period_start, dimension_name, dimension_value)")
        cursor.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE kpi_periods_fresh ON COMMIT DROP AS SELECT period_start,"
                " dimension_name, dimension_value, value::numeric AS value FROM ({}) AS fresh"
            ).format(simple_periods_sql(contract, calculation, grain, mart_schema, periods))
        )
        # Values compare as text, as the work rows do: a sum at another scale is another row.
        # One statement finds the keys that moved, removes those gone and writes the others
        # (the delete and the upsert touch different keys of the primary key).
        cursor.execute(
            sql.SQL(
                "WITH moved AS MATERIALIZED (SELECT coalesce(f.period_start, k.period_start)"
                " AS period_start, coalesce(f.dimension_name, k.dimension_name) AS dimension_name,"
                " coalesce(f.dimension_value, k.dimension_value) AS dimension_value,"
                " f.period_start IS NOT NULL AS is_now"
                " FROM kpi_periods_fresh AS f FULL JOIN (SELECT * FROM {values} WHERE {of_kept})"
                " AS k ON f.period_start = k.period_start AND f.dimension_name = k.dimension_name"
                " AND f.dimension_value = k.dimension_value WHERE f.period_start IS NULL"
                " OR k.period_start IS NULL OR f.value::text IS DISTINCT FROM k.value::text),"
                " removed AS (DELETE FROM {values} WHERE {of_kept} AND {key} IN (SELECT"
                " period_start, dimension_name, dimension_value FROM moved WHERE NOT is_now)),"
                " written AS (INSERT INTO {values} (metric_name, period_grain, period_start,"
                " dimension_name, dimension_value, value) SELECT {name}, {grain}, period_start,"
                " dimension_name, dimension_value, value FROM kpi_periods_fresh WHERE {key} IN"
                " (SELECT period_start, dimension_name, dimension_value FROM moved WHERE is_now)"
                " ON CONFLICT (metric_name, period_grain, period_start, dimension_name,"
                " dimension_value) DO UPDATE SET value = excluded.value)"
                " SELECT period_start, dimension_name, dimension_value FROM moved"
            ).format(
                values=self._table(PERIOD_VALUES),
                of_kept=of_kept,
                key=key,
                name=sql.Literal(contract.name),
                grain=sql.Literal(grain),
            )
        )
        moved = cursor.fetchall()
        cursor.execute("DROP TABLE kpi_periods_fresh")
        return moved

    def _period_values(
        self,
        contract: MetricContract,
        grain: str,
        within: list[date] | None = None,
        slices: frozenset[tuple[str, str]] | None = None,
    ) -> sql.Composed:
        return sql.SQL(
            "SELECT period_start, dimension_name, dimension_value, value FROM {} WHERE {}{}"
        ).format(
            self._table(PERIOD_VALUES),
            self._of_metric(contract, grain),
            Scope(within, slices).condition() if within is not None else sql.SQL(""),
        )

    def _derived_rows(
        self,
        cursor: psycopg.Cursor,
        contract: MetricContract,
        grain: str,
        query: sql.Composed,
        contracts: Mapping[str, MetricContract],
        whole: bool,
    ) -> Reach:
        """The derived metric's rows (`query`, computed from the work rows) again for the
        periods its inputs' rows moved in."""
        inputs = [contracts[name] for name in inputs_of(contract)]
        scope: Scope | None = None
        if not whole:
            sources = [self.rewritten.get((upstream.name, grain)) for upstream in inputs]
            if all(source is not None for source in sources):
                scope = derived_scope(
                    contract, grain, inputs, [source or frozenset() for source in sources]
                )
                if scope.periods and self._lent_values_moved(cursor, contract, grain, inputs):
                    scope = None
        if scope is None:
            self.derived["whole"] += 1
            return self._replace(cursor, contract, grain, None, query)
        if not scope.periods:
            return frozenset()
        self.derived["periods"] += 1
        return self._replace(cursor, contract, grain, scope, query)

    def _lent_values_moved(
        self,
        cursor: psycopg.Cursor,
        contract: MetricContract,
        grain: str,
        inputs: list[MetricContract],
    ) -> bool:
        """Whether an input that lends a dimension's values to every period now has other
        values than the metric's kept rows."""
        for _, _, name in broadcasts(contract, grain, inputs):
            carriers = [u.name for u in inputs if name in u.dimensions_at(grain)]
            cursor.execute(
                "WITH kept AS (SELECT DISTINCT dimension_value FROM kpi_work"
                " WHERE metric_name = %(metric)s AND period_grain = %(grain)s"
                " AND dimension_name = %(name)s), lent AS (SELECT DISTINCT dimension_value"
                " FROM kpi_work WHERE metric_name = ANY(%(carriers)s)"
                " AND period_grain = %(grain)s AND dimension_name = %(name)s)"
                " SELECT EXISTS (SELECT * FROM kept EXCEPT SELECT * FROM lent)"
                " OR EXISTS (SELECT * FROM lent EXCEPT SELECT * FROM kept)",
                {"metric": contract.name, "grain": grain, "name": name, "carriers": carriers},
            )
            row = cursor.fetchone()
            if row and row[0]:
                return True
        return False

    def _replace(
        self,
        cursor: psycopg.Cursor,
        contract: MetricContract,
        grain: str,
        scope: Scope | None,
        query: sql.Composable,
    ) -> Reach:
        """Replace the metric's work rows in `scope` (None: all) with those of `query`; the
        rows that came out different (None: all).

        Of the periods computed again, only the rows whose values moved are written: a day
        that changes a few slices of most months moves a few percent of their rows, and what
        derives from them (the derived metrics' periods, the kpi_values rows) follows those.
        Where the metric is judged at this grain, the slices whose first period moved are
        noted: a slice's status depends on it in every period of its first window."""
        of_metric = self._of_metric(contract, grain)
        self.scopes[(contract.name, grain)] = scope
        if scope is None:
            cursor.execute(sql.SQL("DELETE FROM kpi_work WHERE {}").format(of_metric))
            cursor.execute(INSERT_WORK + sql.SQL("SELECT * FROM ({}) AS fresh").format(query))
            self._work_rows_whole += cursor.rowcount
            return None
        in_scope = scope.condition()
        key = sql.SQL("(period_start, dimension_name, dimension_value)")
        # One hash join of the rows computed again with those kept (a period and slice is
        # one row of each): the rows that differ, came or went, and which they did.
        cursor.execute(
            sql.SQL(
                "WITH fresh AS MATERIALIZED (SELECT * FROM ({query}) AS q ({columns})"
                " WHERE true{in_scope}),"
                " kept AS MATERIALIZED (SELECT * FROM kpi_work WHERE {of_metric}{in_scope}),"
                " changed AS MATERIALIZED (SELECT coalesce(f.period_start, k.period_start)"
                " AS period_start, coalesce(f.dimension_name, k.dimension_name) AS dimension_name,"
                " coalesce(f.dimension_value, k.dimension_value) AS dimension_value,"
                " k.period_start IS NOT NULL AS was, f.period_start IS NOT NULL AS is_now"
                " FROM fresh AS f FULL JOIN kept AS k ON f.period_start = k.period_start"
                " AND f.dimension_name = k.dimension_name AND f.dimension_value = k.dimension_value"
                " WHERE f.period_start IS NULL OR k.period_start IS NULL"
                " OR {fresh_text} IS DISTINCT FROM {kept_text}),"
                " removed AS (DELETE FROM kpi_work WHERE {of_metric}{in_scope}"
                " AND {key} IN (SELECT period_start, dimension_name, dimension_value"
                " FROM changed WHERE was)),"
                " added AS ({insert} SELECT * FROM fresh WHERE {key} IN"
                " (SELECT period_start, dimension_name, dimension_value FROM changed WHERE is_now))"
                " SELECT period_start, dimension_name, dimension_value, was, is_now FROM changed"
            ).format(
                query=query,
                columns=WORK_COLUMN_NAMES,
                in_scope=in_scope,
                of_metric=of_metric,
                fresh_text=_values_as_text("f"),
                kept_text=_values_as_text("k"),
                key=key,
                insert=INSERT_WORK,
            )
        )
        moved_rows = cursor.fetchall()
        self.rows_moved += len(moved_rows)
        if contract.thresholds is not None and contract.thresholds.period == grain:
            self._note_moved_firsts(cursor, contract, grain, moved_rows)
        return frozenset((p, name, value) for p, name, value, _, _ in moved_rows)

    def _note_moved_firsts(
        self,
        cursor: psycopg.Cursor,
        contract: MetricContract,
        grain: str,
        moved_rows: list[tuple[date, str, str, bool, bool]],
    ) -> None:
        """Note the slices whose first period moved: only a row come or gone can move it."""
        came: dict[tuple[str, str], list[date]] = {}
        went: dict[tuple[str, str], list[date]] = {}
        for period, name, value, before, now in moved_rows:
            if before != now:
                (came if now else went).setdefault((name, value), []).append(period)
        slices = sorted(came.keys() | went.keys())
        if not slices:
            return
        cursor.execute(
            sql.SQL(
                "SELECT dimension_name, dimension_value, min(period_start),"
                " min(period_start) FILTER (WHERE NOT (period_start, dimension_name,"
                " dimension_value) IN (SELECT * FROM unnest(%s::date[], %s::text[], %s::text[])))"
                " FROM kpi_work WHERE {} AND (dimension_name, dimension_value) IN"
                " (SELECT * FROM unnest(%s::text[], %s::text[])) GROUP BY 1, 2"
            ).format(self._of_metric(contract, grain)),
            (
                [p for periods in came.values() for p in periods],
                [n for (n, _), periods in came.items() for _ in periods],
                [v for (_, v), periods in came.items() for _ in periods],
                [n for n, _ in slices],
                [v for _, v in slices],
            ),
        )
        now_first = {}
        kept_first = {}
        for name, value, first, first_kept in cursor.fetchall():
            now_first[(name, value)] = first
            kept_first[(name, value)] = first_kept
        moved = []
        for piece in slices:
            # Before: the rows that stayed, and those that went.
            before = [p for p in (kept_first.get(piece), *went.get(piece, ())) if p is not None]
            if (min(before) if before else None) != now_first.get(piece):
                moved.append(piece)
        if moved:
            self._moved[(contract.name, grain)] = moved

    # --- kpi_values -----------------------------------------------------------------------

    def bring_values_forward(
        self,
        cursor: psycopg.Cursor,
        schema: str,
        contracts: Mapping[str, MetricContract],
        as_of: Mapping[str, date | None],
        business_day: date | None,
    ) -> sql.Identifier:
        """Bring `kpi_values` in `schema` up to date; its name.

        The table the build schema holds was written by an earlier computation (the build
        schema is the mart one copy behind), recorded by the table's oid. Each computation logs which
        rows it found due (`kpi_values_log`, and its rows by key in `kpi_values_log_rows`);
        the table is brought forward by the rows due since its own, written again from the
        work rows. Without a table, or one whose computation the log no longer holds, it is
        written whole.
        """
        cursor.execute("SELECT nextval(%s)", (f"{self.schema}.{COMPUTATIONS}",))
        row = cursor.fetchone()
        assert row is not None
        computation = int(row[0])
        computed = [(c, grain) for c in contracts.values() for grain in c.grain]
        log = [
            (
                contract.name,
                grain,
                self._values_due(contract, grain, contracts, as_of, business_day),
            )
            for contract, grain in computed
        ]
        gone = {(name, grain) for name, grain, part in self._states if part == "values"}
        gone -= {(c.name, g) for c, g in computed}
        log += [(name, grain, Due(None)) for name, grain in sorted(gone)]  # no longer computed
        self._log_due(cursor, computation, log)
        table = sql.Identifier(schema, "kpi_values")
        written = self._written_by(cursor, table)
        since, rows = written if written is not None else (None, 0)
        if since is None:
            create_kpi_table(cursor, schema, "kpi_values", keyed=False)
            pending = {(c.name, g): Due(None) for c, g in computed}
        else:
            pending = self._due_since(cursor, since)
        for (name, grain), due in pending.items():
            of_metric = self._of_metric_named(name, grain)
            contract = contracts.get(name)
            if contract is None or grain not in contract.grain:
                cursor.execute(sql.SQL("DELETE FROM {} WHERE {}").format(table, of_metric))
                rows -= cursor.rowcount
                continue
            if due.periods is None:
                self.values["whole"] += 1
                these = None
            elif due.nothing:
                continue
            else:
                self.values["periods"] += 1
                these = due.condition(name, grain)
            if since is not None:
                cursor.execute(
                    sql.SQL("DELETE FROM {} WHERE {}{}").format(
                        table,
                        of_metric,
                        sql.SQL(" AND ({})").format(these) if these is not None else sql.SQL(""),
                    )
                )
                rows -= cursor.rowcount
            final_days = contract.refresh_sla.final_after_days
            cursor.execute(
                kpi_values_sql(
                    contract,
                    grain,
                    table,
                    complete_sql(contract, grain, contracts, as_of, business_day),
                    complete_sql(contract, grain, contracts, as_of, business_day, final_days),
                    business_day,
                    these,
                )
            )
            rows += cursor.rowcount
            if these is not None:
                self.values_rewritten += cursor.rowcount
            else:
                self._values_rows_whole += cursor.rowcount
        if since is None:
            add_grain_key(cursor, table, "kpi_values")
        # Recorded by the table's oid, which a schema's rename keeps: a comment on the
        # table would wait on the autovacuum the day's rewrites start.
        cursor.execute(
            sql.SQL(
                "DELETE FROM {written} WHERE relation = to_regclass(%s)::oid"
                " OR NOT EXISTS (SELECT FROM pg_class WHERE oid = relation)"
            ).format(written=self._table(VALUES_WRITTEN)),
            (table.as_string(None),),
        )
        cursor.execute(
            sql.SQL("INSERT INTO {} VALUES (to_regclass(%s)::oid, %s, %s)").format(
                self._table(VALUES_WRITTEN)
            ),
            (table.as_string(None), computation, rows),
        )
        # Enough computations for a table a few builds behind; an older one is written whole.
        for log_table in (VALUES_LOG, VALUES_LOG_ROWS):
            cursor.execute(
                sql.SQL("DELETE FROM {} WHERE computation <= %s").format(self._table(log_table)),
                (computation - _LOGGED_COMPUTATIONS,),
            )
        self.values_rows = rows
        return table

    def _log_due(
        self, cursor: psycopg.Cursor, computation: int, log: list[tuple[str, str, Due]]
    ) -> None:
        cursor.executemany(
            sql.SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s)").format(
                self._table(VALUES_LOG)
            ),
            [
                (
                    computation,
                    name,
                    grain,
                    due.periods,
                    [n for n, _ in due.slices],
                    [v for _, v in due.slices],
                )
                for name, grain, due in log
            ],
        )
        with cursor.copy(
            sql.SQL("COPY {} FROM STDIN").format(self._table(VALUES_LOG_ROWS))
        ) as copy:
            for name, grain, due in log:
                for period, dimension_name, dimension_value in due.rows:
                    copy.write_row(
                        (computation, name, grain, period, dimension_name, dimension_value)
                    )

    def _values_due(
        self,
        contract: MetricContract,
        grain: str,
        contracts: Mapping[str, MetricContract],
        as_of: Mapping[str, date | None],
        business_day: date | None,
    ) -> Due:
        """The metric's kpi_values rows at `grain` that may differ from the last
        computation's, and the state to compare the next with."""
        final_days = contract.refresh_sla.final_after_days
        # What the rows compute, compared on a fixed day: not which day they ran (whether
        # the models behind it have data still counts).
        definition = _digest(
            kpi_values_sql(
                contract,
                grain,
                sql.Identifier("kpi_values"),
                complete_sql(contract, grain, contracts, as_of, _ANY_DAY),
                complete_sql(contract, grain, contracts, as_of, _ANY_DAY, final_days),
                _ANY_DAY,
            )
        )
        state = self._state(contract, grain, "values")
        self._keep_state(contract, grain, "values", definition, business_day)
        reach = self.rewritten.get((contract.name, grain))
        kept_day = state[1] if state else None
        if (
            self.full
            or state is None
            or state[0] != definition
            or reach is None
            or contract.is_forward_looking
            or business_day is None
            or kept_day is None
            or business_day < kept_day
        ):
            return Due(None)
        periods = sorted(
            moved_past(grain, kept_day, business_day, 0)
            | moved_past(grain, kept_day, business_day, final_days)
            | moved_into(grain, kept_day, business_day)
        )
        # The rows rewritten, and the next period of each slice (its prior value moved).
        rows = set(reach) | {(shift(grain, p, 1), name, value) for p, name, value in reach}
        return Due(periods, sorted(self._moved.get((contract.name, grain), [])), sorted(rows))

    def _written_by(self, cursor: psycopg.Cursor, table: sql.Identifier) -> tuple[int, int] | None:
        """The computation that wrote `table` and the rows it left, if the log holds every
        computation since."""
        cursor.execute(
            sql.SQL(
                "SELECT computation, row_count FROM {} WHERE relation = to_regclass(%s)::oid"
            ).format(self._table(VALUES_WRITTEN)),
            (table.as_string(None),),
        )
        row = cursor.fetchone()
        if row is None:
            return None
        since, rows = int(row[0]), int(row[1])
        cursor.execute(
            sql.SQL("SELECT EXISTS (SELECT FROM {} WHERE computation = %s)").format(
                self._table(VALUES_LOG)
            ),
            (since,),
        )
        row = cursor.fetchone()
        return (since, rows) if row and row[0] else None

    def _due_since(self, cursor: psycopg.Cursor, since: int) -> dict[tuple[str, str], Due]:
        """The rows every computation after `since` found due, by metric and grain; the
        rows due by key are put in the temporary table `kpi_rows_due`."""
        cursor.execute(
            sql.SQL(
                "SELECT metric_name, period_grain, periods, slice_names, slice_values FROM {}"
                " WHERE computation > %s ORDER BY computation"
            ).format(self._table(VALUES_LOG)),
            (since,),
        )
        due: dict[tuple[str, str], tuple[set[date] | None, set[tuple[str, str]]]] = {}
        for name, grain, periods, names, values in cursor.fetchall():
            kept_periods, kept_slices = due.get((name, grain), (set(), set()))
            if periods is None or kept_periods is None:
                due[(name, grain)] = (None, set())
            else:
                due[(name, grain)] = (
                    kept_periods | set(periods),
                    kept_slices | set(zip(names, values, strict=True)),
                )
        # Named apart from the work rows' columns, which a condition on them reads unqualified.
        cursor.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE kpi_rows_due ON COMMIT DROP AS SELECT DISTINCT"
                " metric_name AS due_metric, period_grain AS due_grain,"
                " period_start AS due_period, dimension_name AS due_name,"
                " dimension_value AS due_value FROM {} WHERE computation > %s"
            ).format(self._table(VALUES_LOG_ROWS)),
            (since,),
        )
        # The planner takes a metric's rows due for a few and joins them in a loop, once for
        # each kpi_values row read: scanned whole each time, 0.2 to 7 s a metric at scale 10;
        # found by key, a few milliseconds.
        cursor.execute(
            "CREATE INDEX ON kpi_rows_due (due_metric, due_grain, due_name, due_value, due_period)"
        )
        cursor.execute("ANALYZE kpi_rows_due")
        cursor.execute("SELECT DISTINCT due_metric, due_grain FROM kpi_rows_due")
        with_rows = set(cursor.fetchall())
        return {
            pair: Due(None)
            if periods is None
            else Due(sorted(periods), sorted(slices), rows_logged=pair in with_rows)
            for pair, (periods, slices) in due.items()
        }


def derived_scope(
    contract: MetricContract,
    grain: str,
    inputs: list[MetricContract],
    moved: list[frozenset[tuple[date, str, str]]],
) -> Scope:
    """The derived metric's rows its inputs' moved rows (`moved`, in the order of `inputs`)
    reach. A ratio's or a formula's row reads its inputs' rows of the same key, and the
    overall row of an input without the row's dimension (spend has no attribution model), so
    an overall row moved reaches every value of such a dimension in its period. A growth's
    row reads its input's rows of the same slice in the periods it compares with."""
    keys: set[tuple[date, str, str]] = set()
    dimensions: set[tuple[date, str]] = set()
    if isinstance(contract.calculation, GrowthCalculation):
        # A growth compares its period with the one before and each window with the window
        # as far before.
        steps = {0, 1, *window_columns(grain).values()}
        keys = {(shift(grain, p, step), n, v) for p, n, v in moved[0] for step in steps}
    else:
        for upstream, rows in zip(inputs, moved, strict=True):
            carried = upstream.dimensions_at(grain)
            lent = [name for name in contract.dimensions_at(grain) if name not in carried]
            for period, name, value in rows:
                keys.add((period, name, value))
                if name == OVERALL:
                    dimensions.update((period, other) for other in lent)
    periods = sorted({p for p, _, _ in keys} | {p for p, _ in dimensions})
    return Scope(periods, keys=frozenset(keys), dimensions=frozenset(dimensions))


def _estimated_rows(cursor: psycopg.Cursor, table: sql.Identifier) -> float:
    """The table's rows as its statistics last counted them; 0 if never counted."""
    cursor.execute(
        "SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = to_regclass(%s)",
        (table.as_string(None),),
    )
    row = cursor.fetchone()
    return float(row[0]) if row else 0.0


def _one(cursor: psycopg.Cursor) -> date | None:
    row = cursor.fetchone()
    return row[0] if row else None


def columns_read(contracts: Iterable[MetricContract]) -> dict[tuple[str, str], str]:
    """The columns the simple metrics read, by model and time column, comma-separated: a
    fact's fingerprint hashes those only (its other columns move no metric, and hashing
    the whole row took twice as long)."""
    read: dict[tuple[str, str], set[str]] = {}
    for contract in contracts:
        calculation = contract.calculation
        if not isinstance(calculation, SimpleCalculation):
            continue
        columns = read.setdefault((calculation.model, calculation.time_column), set())
        columns |= {calculation.time_column, *contract.dimension_columns.values()}
        columns |= columns_in(calculation.expression)
        if calculation.filter:
            columns |= columns_in(calculation.filter)
    return {pair: ",".join(sorted(columns)) for pair, columns in read.items()}


def moved_past(grain: str, before: date, after: date, days_after: int) -> set[date]:
    """The periods that became complete (`days_after` 0) or final as the business day moved
    from `before` to `after`: a period is complete once its end is on or before the day."""
    moved: set[date] = set()
    offset = timedelta(days=days_after)
    start = shift(grain, period_start(grain, before - offset), -1)
    while start <= after - offset:
        end = shift(grain, start, 1) + offset
        if (end <= before) != (end <= after):
            moved.add(start)
        start = shift(grain, start, 1)
    return moved


def moved_into(grain: str, before: date, after: date) -> set[date]:
    """The periods a KPI reaches now and did not before: a KPI stops at the period in
    progress, so the business day moving into a new period adds it (and any skipped)."""
    periods, start = set(), shift(grain, period_start(grain, before), 1)
    while start <= period_start(grain, after):
        periods.add(start)
        start = shift(grain, start, 1)
    return periods
