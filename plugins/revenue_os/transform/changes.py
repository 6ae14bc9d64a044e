"""Bringing a model forward by the partitions a day's changes reach, through a change log.

A partitioned model (`meta.partitions` in its properties) is rebuilt from all of history only
when it must be: first build, new SQL, `full` mode, an input rebuilt whole, or a change to an
input whose changes it does not follow. Otherwise it computes again only the partitions
(e.g. the persons) that its inputs' changes reach and writes only their rows that came out
different, in one transaction with its recorded state, so a retried build applies what is
left and nothing twice.

The inputs say what changed in `ops.model_changes`: the values, in the columns the partitioned
models key on, of the rows each build added, removed or altered. An incremental staging model
records the rows its new load batches replaced; a model rebuilt whole compares itself with
its previous table (kept aside for the comparison, then dropped); a partitioned model records
the rows that came out different in the partitions it computed again. A model whose changes
cannot be known records '*', which rebuilds its readers whole.

A change of an input reaches the partitions holding the value in the model's column that
carries it (`changes_from: {stg_hubspot__events: {event_id: touch_id}}`): the partitions of
the model's current rows with those values, and of the rows its SQL now gives for them,
found by filtering the SQL's output, which Postgres pushes down into the model's joins. A
value the model's rows do not carry reaches the partitions another model's column maps it to
(`{contact_id: int_person_identity.source_contact_id}`), or those the model's own rows held
it in when last built (`{domain: int_persons.email_domain}`), without running its SQL. The
rows without a key (an opportunity with no account) are one partition of their own: a null
recorded in a column that carries the key reaches it. A null in another column reaches
nothing, since the models join their inputs on these columns and a null joins no row.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

from revenue_os.transform import differences
from revenue_os.transform.models import Model, ModelError
from revenue_os.transform.properties import via_parts

EVERYTHING = "*"
PREVIOUS_SUFFIX = "__previous"


def columns_read(models: Mapping[str, Model]) -> dict[str, set[str]]:
    """For each model a partitioned model follows: the columns whose changes are read."""
    read: dict[str, set[str]] = {}
    for model in models.values():
        if model.partitions is not None:
            for source, mapping in model.partitions.changes_from.items():
                read.setdefault(source, set()).update(mapping)
    return read


def changes_dated_by(models: Mapping[str, Model]) -> dict[str, str]:
    """For each model whose changes a partitioned model reads by date (`dated_changes`): the
    column that dates them. One per model: its changes are recorded once for every reader."""
    dated: dict[str, str] = {}
    for model in models.values():
        if model.partitions is None:
            continue
        for source, mapping in model.partitions.dated_changes.items():
            (column,) = mapping
            if dated.setdefault(source, column) != column:
                raise ModelError(
                    f"{model.path.name}: {source}'s changes are dated by {dated[source]} for"
                    f" another reader; date them by the same column ({column} here)"
                )
    return dated


def record_everything(conn: psycopg.Connection, model: str) -> None:
    conn.execute(
        "INSERT INTO ops.model_changes (model, column_name) VALUES (%s, %s)", (model, EVERYTHING)
    )


def _earliest_day(day: sql.Composable) -> sql.Composed:
    """A group's earliest `day`, or none when one of its rows has none: a change without a
    day reaches as an undated one, so a day is kept only if every row had one."""
    return sql.SQL("CASE WHEN bool_or({0} IS NULL) THEN NULL ELSE min({0}) END").format(day)


def record_values(
    conn: psycopg.Connection,
    model: str,
    columns: set[str],
    rows: sql.Composable,
    dated_by: str | None = None,
) -> None:
    """The values of `columns` in `rows` (a query), as the model's changes; a null too, which
    reaches a reader's rows without a partition key. With `dated_by`, each value with the
    earliest day of the rows carrying it (none when one of them has no day)."""
    first_day = (
        _earliest_day(sql.SQL("changed.{}").format(sql.Identifier(dated_by)))
        if dated_by is not None
        else sql.SQL("NULL::date")
    )
    for column in sorted(columns):
        conn.execute(
            sql.SQL(
                "INSERT INTO ops.model_changes (model, column_name, value, first_day)"
                " SELECT {model}, {name}, changed.{column}::text, {first_day}"
                " FROM ({rows}) AS changed GROUP BY changed.{column}"
            ).format(
                model=sql.Literal(model),
                name=sql.Literal(column),
                column=sql.Identifier(column),
                first_day=first_day,
                rows=rows,
            )
        )


def set_aside(conn: psycopg.Connection, schema: str, name: str) -> bool:
    """Keep a model's current table as `<name>__previous` for the comparison after its rebuild;
    False when there is none."""
    previous = sql.Identifier(schema, name + PREVIOUS_SUFFIX)
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(previous))
    if conn.execute("SELECT to_regclass(%s)", (f"{schema}.{name}",)).fetchone()[0] is None:
        return False
    conn.execute(
        sql.SQL("ALTER TABLE {} RENAME TO {}").format(
            sql.Identifier(schema, name), sql.Identifier(name + PREVIOUS_SUFFIX)
        )
    )
    return True


def _column_list(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str]]:
    return conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = to_regclass(%s) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (f"{schema}.{table}",),
    ).fetchall()


def record_rebuild(
    conn: psycopg.Connection,
    schema: str,
    model: Model,
    columns: set[str],
    had_previous: bool,
    dated_by: str | None = None,
) -> None:
    """A rebuilt model's changes: its rows that differ from the previous table's row of the
    same grain, on either side; the previous table is then dropped. Everything, when there was
    none or its columns differ. `dated_by`: as for `record_values`."""
    previous = model.name + PREVIOUS_SUFFIX
    kept = sorted(columns | ({dated_by} if dated_by else set()))
    if not had_previous or _column_list(conn, schema, model.name) != _column_list(
        conn, schema, previous
    ):
        record_everything(conn, model.name)
    else:
        # Rows matched on the grain and compared whole: a hash join, not a sort of all columns.
        matched = sql.SQL(" AND ").join(
            sql.SQL("now.{c} = before.{c}").format(c=sql.Identifier(c)) for c in model.grain
        )
        # Which side holds the row: a row added or removed has no value on the other side,
        # which is not a null value (a null reaches the readers' rows without a key).
        conn.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE model_difference ON COMMIT DROP AS"
                " SELECT {now_columns}, {before_columns}, now.ctid IS NOT NULL AS is_now,"
                " before.ctid IS NOT NULL AS was"
                " FROM {current} AS now FULL JOIN {before} AS before ON {matched}"
                " WHERE row(now.*) IS DISTINCT FROM row(before.*)"
            ).format(
                now_columns=sql.SQL(", ").join(
                    sql.SQL("now.{} AS {}").format(sql.Identifier(c), sql.Identifier(f"now_{c}"))
                    for c in kept
                ),
                before_columns=sql.SQL(", ").join(
                    sql.SQL("before.{} AS {}").format(
                        sql.Identifier(c), sql.Identifier(f"before_{c}")
                    )
                    for c in kept
                ),
                current=sql.Identifier(schema, model.name),
                before=sql.Identifier(schema, previous),
                matched=matched,
            )
        )
        for column in sorted(columns):
            # The column, and the day dating it where the readers ask for one.
            picked = [column] + ([dated_by] if dated_by and dated_by != column else [])
            sides = [
                sql.SQL("SELECT {} FROM model_difference WHERE {}").format(
                    sql.SQL(", ").join(
                        sql.SQL("{} AS {}").format(sql.Identifier(f"{side}_{c}"), sql.Identifier(c))
                        for c in picked
                    ),
                    sql.SQL(where),
                )
                for side, where in (("now", "is_now"), ("before", "was"))
            ]
            record_values(conn, model.name, {column}, sql.SQL(" UNION ALL ").join(sides), dated_by)
        conn.execute("DROP TABLE model_difference")
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(schema, previous)))


def input_digests(conn: psycopg.Connection, model: Model) -> dict[str, str]:
    """A digest of each input (model or seed) whose changes the model does not follow, named
    as the model's SQL names it: the build's search path finds it in its schema."""
    assert model.partitions is not None
    unfollowed = sorted((model.depends_on | model.seeds) - set(model.partitions.changes_from))
    digests = {}
    for name in unfollowed:
        digests[name] = conn.execute(
            sql.SQL(
                "SELECT md5(coalesce(string_agg(row_digest, ',' ORDER BY row_digest), ''))"
                " FROM (SELECT md5(t::text) AS row_digest FROM {} AS t) AS rows"
            ).format(sql.Identifier(name))
        ).fetchone()[0]
    return digests


def latest_change(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT coalesce(max(change_id), 0) FROM ops.model_changes").fetchone()[0]


def forget_applied(conn: psycopg.Connection) -> None:
    """Drop the changes every partitioned table has applied, in staging and in each mart
    schema (a table with no state yet is rebuilt whole, so it needs none)."""
    conn.execute(
        "DELETE FROM ops.model_changes WHERE change_id <= (SELECT coalesce(min(applied), 0)"
        " FROM (SELECT applied_change_id AS applied FROM ops.staging_state"
        " UNION ALL SELECT applied_change_id FROM ops.mart_model_state) AS states)"
    )


@dataclass(frozen=True)
class StateStore:
    """Where a partitioned model's state is kept: `ops.staging_state` by model for the one
    `staging` schema, `ops.mart_model_state` by build and model for the mart's schemas, whose
    tables move between `mart_build`, `mart` and `mart_previous`."""

    build_id: str | None = None  # None: the staging schema's

    def load(self, conn: psycopg.Connection, model: str) -> tuple | None:
        """(sql digest, applied change id, input digests, row count), locked; None if none."""
        if self.build_id is None:
            return conn.execute(
                "SELECT sql_digest, applied_change_id, input_digests, row_count"
                " FROM ops.staging_state WHERE model = %s FOR UPDATE",
                (model,),
            ).fetchone()
        return conn.execute(
            "SELECT sql_digest, applied_change_id, input_digests, row_count"
            " FROM ops.mart_model_state WHERE build_id = %s AND model = %s FOR UPDATE",
            (self.build_id, model),
        ).fetchone()

    def save(
        self,
        conn: psycopg.Connection,
        model: str,
        digest: str,
        rows: int,
        applied_change_id: int,
        digests: dict[str, str],
    ) -> None:
        if self.build_id is None:
            conn.execute(
                """
                INSERT INTO ops.staging_state (model, sql_digest, applied_batches, row_count,
                                               updated_at, applied_change_id, input_digests)
                VALUES (%s, %s, '{}', %s, now(), %s, %s)
                ON CONFLICT (model) DO UPDATE SET sql_digest = excluded.sql_digest,
                    row_count = excluded.row_count, updated_at = excluded.updated_at,
                    applied_change_id = excluded.applied_change_id,
                    input_digests = excluded.input_digests
                """,
                (model, digest, rows, applied_change_id, json.dumps(digests)),
            )
            return
        conn.execute(
            """
            INSERT INTO ops.mart_model_state (build_id, model, sql_digest, applied_change_id,
                                              input_digests, row_count, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, now())
            ON CONFLICT (build_id, model) DO UPDATE SET sql_digest = excluded.sql_digest,
                applied_change_id = excluded.applied_change_id,
                input_digests = excluded.input_digests, row_count = excluded.row_count,
                updated_at = excluded.updated_at
            """,
            (self.build_id, model, digest, applied_change_id, json.dumps(digests), rows),
        )


@dataclass
class PartitionsReplaced:
    """What bringing a partitioned model forward did: the partitions its changes reached,
    computed again (`computed` rows), and the rows of theirs that moved, taken out and put in."""

    partitions: int
    rows_out: int
    rows_in: int
    computed: int = 0

    def note(self) -> str:
        if not self.partitions:
            return "up to date, no change reached it"
        return (
            f"brought forward: {self.partitions:,} partition{'s' if self.partitions > 1 else ''}"
            f" computed again ({self.computed:,} rows), "
            f"{self.rows_out:,} row{'' if self.rows_out == 1 else 's'} out, {self.rows_in:,} in"
        )


def _typed(values: list[str], data_type: str) -> sql.Composable:
    return sql.SQL("{}::{}[]").format(sql.Literal(values), sql.SQL(data_type))


def _in_partitions(key: sql.Composable, keys: set[str | None], data_type: str) -> sql.Composable:
    """A condition on a row's `key`: one of `keys`, a None among them meaning no key."""
    condition = sql.SQL("{} = ANY({})").format(
        key, _typed(sorted(k for k in keys if k is not None), data_type)
    )
    if None in keys:
        condition = sql.SQL("({} OR {} IS NULL)").format(condition, key)
    return condition


def _reached_partitions(
    conn: psycopg.Connection,
    table: sql.Identifier,
    model: Model,
    column: str,
    values: set[str],
) -> set[str | None]:
    """The partitions whose rows hold one of `values` in `column`: now, and as the model's SQL
    gives them from today's inputs (None: the rows without a key)."""
    assert model.partitions is not None and model.properties is not None
    key = sql.Identifier(model.partitions.key)
    chosen = _in_partitions(
        sql.SQL("m.{}").format(sql.Identifier(column)),
        set(values),
        model.properties.column_types[column],
    )
    found: set[str | None] = set()
    for source in (table, sql.SQL("({})").format(sql.SQL(model.sql))):
        found.update(
            row[0]
            for row in conn.execute(
                sql.SQL("SELECT DISTINCT m.{key}::text FROM {source} AS m WHERE {chosen}").format(
                    key=key, source=source, chosen=chosen
                )
            )
        )
    return found


def _reached_by_date(
    conn: psycopg.Connection,
    table: sql.Identifier,
    model: Model,
    until: str,
    values: list[str | None],
    days: list[date | None],
) -> set[str | None]:
    """Of the partitions whose key changed, those a change dated `day` can move: its rows
    hold an `until` on or after the day (a touch counts toward the conversions on or after
    it), or the change has no day. A partition without rows gains them through another input
    (a new conversion is a changed opportunity), so a dated change alone does not reach it."""
    assert model.partitions is not None and model.properties is not None
    reached = {
        value for value, day in zip(values, days, strict=True) if value is None or day is None
    }
    dated = [(value, day) for value, day in zip(values, days, strict=True) if value not in reached]
    if not dated:
        return reached
    # The partitions' last day in one pass (a constant list, looked up by hash), compared here.
    last = dict(
        conn.execute(
            sql.SQL(
                "SELECT m.{key}::text, max(m.{until}) FROM {table} AS m"
                " WHERE m.{key} = ANY(%s::{data_type}[]) GROUP BY 1"
            ).format(
                key=sql.Identifier(model.partitions.key),
                table=table,
                until=sql.Identifier(until),
                data_type=sql.SQL(model.properties.column_types[model.partitions.key]),
            ),
            ([value for value, _ in dated],),
        ).fetchall()
    )
    return reached | {
        value for value, day in dated if last.get(value) is not None and last[value] >= day
    }


def _partitions_beside(
    conn: psycopg.Connection,
    table: sql.Identifier,
    model: Model,
    via: str,
    column: str,
    values: set[str],
) -> set[str | None]:
    """The partitions whose key the model `via` holds beside one of `values` in `column`: as
    it stands in this build, or for the model itself, as its table was last built."""
    assert model.partitions is not None
    source = table if via == model.name else sql.Identifier(via)
    return {
        row[0]
        for row in conn.execute(
            sql.SQL(
                "SELECT DISTINCT v.{key}::text FROM {source} AS v"
                " WHERE v.{column}::text = ANY({values})"
            ).format(
                key=sql.Identifier(model.partitions.key),
                source=source,
                column=sql.Identifier(column),
                # A constant list, which Postgres looks rows up in by hash.
                values=_typed(sorted(values), "text"),
            )
        )
    }


@contextmanager
def _inputs_filtered(
    conn: psycopg.Connection,
    inputs: tuple[str, ...],
    key: sql.Identifier,
    of_partitions: sql.Composable,
) -> Iterator[None]:
    """While the block runs, the model's SQL reads each of `inputs` as its rows of the
    partitions (`of_partitions`, a condition on the key) only.

    A model names its inputs without a schema, and Postgres looks a name up in the session's
    temporary schema first: a temporary view of the same name, filtered on the key, stands in
    for the table without a word of the model's SQL changed. The planner inlines the view, so
    the filter is applied where the input is scanned.
    """
    # Inside the model's transaction: a failure rolls the views back with the rest.
    for name in inputs:
        table = conn.execute(
            "SELECT n.nspname FROM pg_class AS c JOIN pg_namespace AS n"
            " ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%s)",
            (name,),
        ).fetchone()
        if table is None:
            raise ModelError(f"{name}, an input filtered on {key.as_string(conn)}, is not built")
        conn.execute(
            sql.SQL(
                "CREATE TEMPORARY VIEW {view} AS SELECT * FROM {table} WHERE {of_partitions}"
            ).format(
                view=sql.Identifier(name),
                table=sql.Identifier(table[0], name),
                of_partitions=of_partitions,
            )
        )
    yield
    for name in inputs:
        conn.execute(sql.SQL("DROP VIEW pg_temp.{}").format(sql.Identifier(name)))


def bring_forward(
    conn: psycopg.Connection,
    schema: str,
    model: Model,
    digest: str,
    readers_columns: set[str],
    store: StateStore,
    keep_difference_of: str | None = None,
    dated_by: str | None = None,
) -> tuple[int, PartitionsReplaced] | None:
    """Replace the partitions of a partitioned model that its inputs' changes reach. None when
    it must be rebuilt whole instead. `digest`: of the model's SQL, as recorded when built.
    `keep_difference_of`: the build whose roll-ups of this model apply its replaced rows
    (transform/differences.py); `dated_by`: the column dating its own changes for a reader
    (`record_values`)."""
    partitions = model.partitions
    assert partitions is not None and model.properties is not None
    table = sql.Identifier(schema, model.name)
    state = store.load(conn, model.name)
    exists = conn.execute("SELECT to_regclass(%s)", (f"{schema}.{model.name}",)).fetchone()[0]
    if state is None or state[0] != digest or state[1] is None or exists is None:
        return None
    applied, rows = state[1], state[3]
    digests = input_digests(conn, model)
    if digests != state[2]:
        return None
    latest = latest_change(conn)
    # Each value once, with the earliest day it was recorded with (none if once without).
    changes = conn.execute(
        sql.SQL(
            "SELECT model, column_name, array_agg(value), array_agg(first_day) FROM ("
            " SELECT model, column_name, value, {first_day} AS first_day FROM ops.model_changes"
            " WHERE model = ANY(%s) AND change_id > %s AND change_id <= %s GROUP BY 1, 2, 3"
            ") AS changed GROUP BY 1, 2"
        ).format(first_day=_earliest_day(sql.SQL("first_day"))),
        (list(partitions.changes_from), applied, latest),
    ).fetchall()
    if any(column == EVERYTHING for _, column, _, _ in changes):
        return None
    reached: set[str | None] = set()
    for source, column, values, days in changes:
        mine = partitions.changes_from[source].get(column)
        if mine is None:
            continue  # a column recorded for another reader
        if mine == partitions.key and source in partitions.dated_changes:
            (until,) = partitions.dated_changes[source].values()
            reached |= _reached_by_date(conn, table, model, until, values, days)
        elif mine == partitions.key:
            reached.update(values)
        elif known := {value for value in values if value is not None}:
            # A null in a column other than the key reaches nothing: the models join their
            # inputs on these columns, and a null joins no row.
            if (via := via_parts(mine)) is not None:
                reached |= _partitions_beside(conn, table, model, *via, known)
            else:
                reached |= _reached_partitions(conn, table, model, mine, known)
    if not reached:
        store.save(conn, model.name, digest, rows, latest, digests)
        if keep_difference_of is not None:
            differences.keep_difference(
                conn, model.name, keep_difference_of, applied, latest, None, like=table
            )
        return rows, PartitionsReplaced(0, 0, 0)
    key = sql.Identifier(partitions.key)
    of_partitions = _in_partitions(key, reached, model.properties.column_types[partitions.key])
    conn.execute(
        sql.SQL("CREATE TEMPORARY TABLE rows_fresh (LIKE {}) ON COMMIT DROP").format(table)
    )
    try:
        with (
            _inputs_filtered(conn, partitions.filtered_inputs, key, of_partitions),
            model_settings(conn, model),
        ):
            computed = conn.execute(
                sql.SQL("INSERT INTO rows_fresh SELECT * FROM ({}) AS m WHERE {}").format(
                    sql.SQL(model.sql), of_partitions
                )
            ).rowcount
    except psycopg.Error as error:
        raise ModelError(f"{model.path.name}: {error.diag.message_primary or error}") from error
    _refuse_repeated_grain(conn, model)
    removed, added = _replace_rows_moved(conn, schema, table, model, of_partitions)
    if readers_columns:
        record_values(
            conn,
            model.name,
            readers_columns,
            sql.SQL("TABLE rows_in UNION ALL TABLE rows_out"),
            dated_by,
        )
    if keep_difference_of is not None:
        differences.keep_difference(
            conn,
            model.name,
            keep_difference_of,
            applied,
            latest,
            (sql.SQL("TABLE rows_out"), sql.SQL("TABLE rows_in")),
            like=table,
        )
    conn.execute("DROP TABLE rows_fresh, rows_moved, rows_out, rows_in")
    rows = rows - removed + added
    store.save(conn, model.name, digest, rows, latest, digests)
    differences.analyse_if_moved(conn, table, removed + added, rows)
    return rows, PartitionsReplaced(len(reached), removed, added, computed)


def grain_repeated(model: Model, error: psycopg.errors.UniqueViolation) -> ModelError:
    """The error of rows brought forward that repeat a key the table's grain index holds."""
    return ModelError(
        f"{model.path.name}: the rows brought forward repeat its grain"
        f" ({', '.join(model.grain)}): {error.diag.message_detail or error}"
    )


# Types whose equality holds only between values written the same: a row kept is the same
# row only if it reads the same. A numeric's equality ignores its scale (1.0 = 1.00), and a
# table compared by checksum with a full rebuild would not; those compare as text.
_EQUAL_MEANS_SAME_TEXT = frozenset(
    {
        "text",
        "character varying",
        "boolean",
        "smallint",
        "integer",
        "bigint",
        "date",
        "uuid",
        "timestamp with time zone",
        "timestamp without time zone",
    }
)


# A declared length or precision, `(255)` or `(6)`, which does not change what equality means.
_TYPE_MODIFIER = re.compile(r"\(\d+(,\d+)?\)")


def _refuse_repeated_grain(conn: psycopg.Connection, model: Model) -> None:
    """The partitions' rows just computed (`rows_fresh`) repeat no key of the grain. Only the
    rows that moved are written, so the table's unique index would not see a repeat whose
    twin is the row already kept."""
    grain = sql.SQL(", ").join(map(sql.Identifier, model.grain))
    repeated = conn.execute(
        sql.SQL(
            "SELECT {grain} FROM rows_fresh GROUP BY {grain} HAVING count(*) > 1 LIMIT 1"
        ).format(grain=grain)
    ).fetchone()
    if repeated is not None:
        key = ", ".join("null" if value is None else str(value) for value in repeated)
        raise ModelError(
            f"{model.path.name}: the rows brought forward repeat its grain"
            f" ({', '.join(model.grain)}): ({key}) more than once"
        )


@contextmanager
def settings(conn: psycopg.Connection, **planner: str) -> Iterator[None]:
    """Planner settings for the statements of the block, as they were after it."""
    before = {
        name: conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0] for name in planner
    }
    for name, value in planner.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))
    yield
    for name, value in before.items():
        conn.execute("SELECT set_config(%s, %s, true)", (name, value))


def model_settings(conn: psycopg.Connection, model: Model) -> AbstractContextManager[None]:
    """The settings the model's properties give its statements (`meta.work_mem`), whether it
    is built whole or its partitions are computed again."""
    work_mem = model.properties.meta.work_mem if model.properties else None
    return settings(conn, **({"work_mem": work_mem} if work_mem else {}))


def _replace_rows_moved(
    conn: psycopg.Connection,
    schema: str,
    table: sql.Identifier,
    model: Model,
    of_partitions: sql.Composable,
) -> tuple[int, int]:
    """Write to the table, of the partitions' rows computed again (`rows_fresh`), only those
    that moved: a kept row that differs from the fresh row of its key, or has none, goes out
    (`rows_out`); a fresh row that differs from the kept row of its key, or has none, comes in
    (`rows_in`). (rows out, rows in).

    A day reaches many partitions and moves few of their rows (an account's attribution is
    computed again for a new touch after all its conversions): one hash join on the grain
    finds them, and the table's indexes take a tenth of the writes. A text part of the key
    matches null to null (the campaign roll-up's touches without a campaign are a partition
    of 28,000 rows at scale 10); a null in another part matches nothing (null = null is
    unknown), so such a row goes out and comes in again.
    """
    columns = _column_list(conn, schema, model.name)
    text_columns = {c for c, data_type in columns if data_type in ("text", "character varying")}
    matched = sql.SQL(" AND ").join(
        # Still one hash join: the hash is on the value or '', and the nulls are told apart
        # from '' after it.
        sql.SQL(
            "coalesce(kept.{c}, '') = coalesce(fresh.{c}, '')"
            " AND (kept.{c} IS NULL) = (fresh.{c} IS NULL)"
            if c in text_columns
            else "kept.{c} = fresh.{c}"
        ).format(c=sql.Identifier(c))
        for c in model.grain
    )
    differs = [sql.SQL("kept.ctid IS NULL"), sql.SQL("fresh.ctid IS NULL")]
    for column, data_type in columns:
        if column in model.grain:
            continue
        same_text = _TYPE_MODIFIER.sub("", data_type) in _EQUAL_MEANS_SAME_TEXT
        cast = sql.SQL("" if same_text else "::text")
        differs.append(
            sql.SQL("kept.{c}{cast} IS DISTINCT FROM fresh.{c}{cast}").format(
                c=sql.Identifier(column), cast=cast
            )
        )
    # The planner takes the partitions for much of the table and would sort both sides to
    # merge them; a hash join with room for the fresh rows is three times faster.
    with settings(conn, enable_mergejoin="off", work_mem="64MB"):
        conn.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE rows_moved ON COMMIT DROP AS"
                " SELECT kept.ctid AS kept_row, fresh.ctid AS fresh_row"
                " FROM (SELECT ctid, * FROM {table} WHERE {of_partitions}) AS kept"
                " FULL JOIN rows_fresh AS fresh ON {matched} WHERE {differs}"
            ).format(
                table=table,
                of_partitions=of_partitions,
                matched=matched,
                differs=sql.SQL(" OR ").join(differs),
            )
        )
    conn.execute(sql.SQL("CREATE TEMPORARY TABLE rows_out (LIKE {}) ON COMMIT DROP").format(table))
    removed = conn.execute(
        sql.SQL(
            "WITH removed AS (DELETE FROM {} WHERE ctid = ANY(ARRAY("
            "SELECT kept_row FROM rows_moved WHERE kept_row IS NOT NULL)) RETURNING *)"
            " INSERT INTO rows_out SELECT * FROM removed"
        ).format(table)
    ).rowcount
    added = conn.execute(
        "CREATE TEMPORARY TABLE rows_in ON COMMIT DROP AS SELECT * FROM rows_fresh"
        " WHERE ctid = ANY(ARRAY(SELECT fresh_row FROM rows_moved WHERE fresh_row IS NOT NULL))"
    ).rowcount
    try:
        conn.execute(sql.SQL("INSERT INTO {} TABLE rows_in").format(table))
    except psycopg.errors.UniqueViolation as error:
        raise grain_repeated(model, error) from error
    return removed, added
