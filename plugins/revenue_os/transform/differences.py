"""A monthly roll-up of a partitioned fact, brought forward by the rows the fact replaced.

A roll-up holds sums and a row count by month and a few columns. When its fact is brought
forward partition by partition, the fact's rows taken out and put in are exactly what moved
between the fact the roll-up was computed from and today's: the roll-up's SQL run over each
of them gives the sums to subtract and to add. The groups they fall in are summed again from
their kept row plus the one minus the other (a group whose row count falls to zero is gone)
and written back; the other groups are kept as they are. That reads the day's rows and the
roll-up, not the whole fact, and writes only the groups the day moved.

The fact's bring-forward keeps its two sets of rows in the builder's `staging` schema,
labelled with the build and the change ids the fact moved between. A roll-up applies them
only when it was computed from the fact as of the first of those ids and the fact now stands
at the second; anything else (first build, new SQL, a fact rebuilt whole, a build that
stopped between the two) rebuilds it whole from the fact, so the two always agree. Its sums
are written with trailing zeros trimmed (`trim_scale`): a sum's scale is its largest
summand's, which would otherwise depend on which rows came and went.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg import sql

from revenue_os.transform.models import Model, ModelError

DIFFERENCE_SCHEMA = "staging"
ROWS_OUT, ROWS_IN = "__rows_out", "__rows_in"


def followed_facts(models: Mapping[str, Model]) -> dict[str, str]:
    """For each roll-up brought forward by its fact's differences (`follows_replaced_rows`
    in its `rollup_of`): the fact, which must be partitioned and the roll-up's only input."""
    followed = {}
    for model in models.values():
        rollup = model.properties.meta.rollup_of if model.properties else None
        if rollup is None or not rollup.follows_replaced_rows:
            continue
        fact = models.get(rollup.model)
        if fact is None or fact.partitions is None or model.depends_on != {fact.name}:
            raise ModelError(
                f"{model.path.name}: follows_replaced_rows needs a roll-up that reads"
                f" {rollup.model} and nothing else, and {rollup.model} partitioned"
            )
        followed[model.name] = fact.name
    return followed


def sums_of(model: Model) -> list[str]:
    """A roll-up's sums (its row count among them): its number columns outside the grain.
    The others outside the grain follow from it, as a product's name from its id."""
    assert model.properties is not None
    return [
        column
        for column, data_type in model.properties.column_types.items()
        if column not in model.grain and data_type in _NUMBER_TYPES
    ]


# A table rewritten in place (a partitioned model, a roll-up brought forward, the kept KPI
# tables) is re-analysed once this share of it changed.
REANALYSE_SHARE = 0.1


def analyse_if_moved(
    conn: psycopg.Connection, table: sql.Identifier, written: int, rows: int
) -> None:
    """Refresh the statistics of a table rewritten in place once `written` of its `rows`
    passed the share: a day moves a few percent of a kept table, and ANALYZE reads it whole."""
    if written > REANALYSE_SHARE * max(rows, 1):
        conn.execute(sql.SQL("ANALYZE {}").format(table))


_NUMBER_TYPES = frozenset({"numeric", "integer", "bigint", "smallint", "double precision"})


def _label(build_id: str, applied_before: int, applied_now: int) -> str:
    return f"{build_id} {applied_before} {applied_now}"


def keep_difference(
    conn: psycopg.Connection,
    fact: str,
    build_id: str,
    applied_before: int,
    applied_now: int,
    rows: tuple[sql.Composable, sql.Composable] | None,
    like: sql.Identifier,
) -> None:
    """Keep the fact's rows taken out and put in (`rows`, two queries; None: none moved) for
    its roll-ups, labelled with the build and the change ids the fact moved between."""
    label = _label(build_id, applied_before, applied_now)
    for suffix, source in zip((ROWS_OUT, ROWS_IN), rows or (None, None), strict=True):
        table = sql.Identifier(DIFFERENCE_SCHEMA, fact + suffix)
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        if source is None:
            conn.execute(sql.SQL("CREATE UNLOGGED TABLE {} (LIKE {})").format(table, like))
        else:
            conn.execute(sql.SQL("CREATE UNLOGGED TABLE {} AS {}").format(table, source))
        conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(table, sql.Literal(label)))


def forget_difference(conn: psycopg.Connection, fact: str) -> None:
    """A fact rebuilt whole has no difference: its roll-ups are rebuilt whole too."""
    for suffix in (ROWS_OUT, ROWS_IN):
        conn.execute(
            sql.SQL("DROP TABLE IF EXISTS {}").format(
                sql.Identifier(DIFFERENCE_SCHEMA, fact + suffix)
            )
        )


def kept_difference(conn: psycopg.Connection, fact: str) -> tuple[str, int, int] | None:
    """(build, applied before, applied now) of the fact's kept difference; None if none."""
    label = conn.execute(
        "SELECT obj_description(to_regclass(%s), 'pg_class')",
        (f"{DIFFERENCE_SCHEMA}.{fact}{ROWS_IN}",),
    ).fetchone()[0]
    if label is None:
        return None
    build_id, before, now = label.split()
    return build_id, int(before), int(now)


def apply_difference(
    conn: psycopg.Connection, schema: str, model: Model, fact_model: Model, rows_before: int
) -> tuple[int, int, int]:
    """Replace the roll-up's table in `schema` by itself plus the sums of the fact's rows put
    in, minus those of its rows taken out; (rows now, fact rows out, fact rows in).
    `rows_before`: the table's rows, as recorded when it was last written."""
    assert model.properties is not None and model.properties.meta.rollup_of is not None
    fact = fact_model.name
    types = model.properties.column_types
    measures = sums_of(model)
    row_count = model.properties.meta.rollup_of.row_count
    table = sql.Identifier(schema, model.name)
    moved = []
    for suffix, sign in ((ROWS_OUT, "-"), (ROWS_IN, "")):
        rows = sql.Identifier(DIFFERENCE_SCHEMA, fact + suffix)
        moved.append(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(rows)).fetchone()[0])
        # The roll-up's own SQL over the moved rows, signed: a temporary view of the fact's
        # name stands in for it (a schema-less name is looked up in the temporary schema
        # first).
        _model_over(conn, model, fact, sql.SQL("TABLE {}").format(rows), "sums_unsigned")
        conn.execute(
            sql.SQL(
                "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM sums_unsigned"
            ).format(
                sql.Identifier("sums" + suffix),
                sql.SQL(", ").join(
                    sql.SQL("{}{} AS {}").format(
                        sql.SQL(sign if c in measures else ""), sql.Identifier(c), sql.Identifier(c)
                    )
                    for c in types
                ),
            )
        )
        conn.execute("DROP TABLE sums_unsigned")
    columns = sql.SQL(", ").join(map(sql.Identifier, types))
    summed = sql.SQL(", ").join(
        (
            sql.SQL("trim_scale(sum({c}))::{t} AS {c}")
            if types[c] == "numeric"
            else sql.SQL("sum({c})::{t} AS {c}")
        ).format(c=sql.Identifier(c), t=sql.SQL(types[c]))
        if c in measures
        else sql.Identifier(c)
        for c in types
    )
    # The grain and the columns that follow from it (a product's name): a renamed product's
    # rows leave the group of its old name, which empties, and join one of the new.
    grouped = [c for c in types if c not in measures]
    # Only the groups the moved rows fall in are summed again, from their kept row and the
    # moved rows' sums; the others are kept as they are (a day moves a few of the campaign
    # roll-up's 420,000 groups at scale 10, which were all rewritten).
    conn.execute(
        sql.SQL(
            "CREATE TEMPORARY TABLE rollup_touched ON COMMIT DROP AS"
            " SELECT r.ctid AS kept_row, r.* FROM {table} AS r WHERE EXISTS (SELECT FROM"
            " (TABLE sums__rows_out UNION ALL TABLE sums__rows_in) AS s WHERE {same})"
        ).format(table=table, same=_same_group("r", "s", grouped))
    )
    conn.execute(
        sql.SQL(
            "CREATE TEMPORARY TABLE rollup_now ON COMMIT DROP AS SELECT {summed} FROM ("
            "SELECT {columns} FROM rollup_touched UNION ALL TABLE sums__rows_out"
            " UNION ALL TABLE sums__rows_in) AS parts GROUP BY {grouped}"
            " HAVING sum({row_count}) <> 0"
        ).format(
            summed=summed,
            columns=columns,
            grouped=sql.SQL(", ").join(map(sql.Identifier, grouped)),
            row_count=sql.Identifier(row_count),
        )
    )
    _recompute_emptied(conn, model, [m for m in measures if m not in never_null(fact_model)])
    removed = conn.execute(
        sql.SQL(
            "DELETE FROM {} WHERE ctid = ANY(ARRAY(SELECT kept_row FROM rollup_touched))"
        ).format(table)
    ).rowcount
    added = conn.execute(
        sql.SQL("INSERT INTO {} ({}) SELECT {} FROM rollup_now").format(table, columns, columns)
    ).rowcount
    conn.execute("DROP TABLE rollup_touched, rollup_now, sums__rows_out, sums__rows_in")
    rows = rows_before - removed + added
    analyse_if_moved(conn, table, removed + added, rows)
    return rows, moved[0], moved[1]


def _same_group(left: str, right: str, grain: tuple[str, ...]) -> sql.Composable:
    """Two rows of the same group, a null equal to a null, as GROUP BY has it; a hash join
    (each side's value as text, and whether it is null)."""
    return sql.SQL(" AND ").join(
        sql.SQL(
            "coalesce({l}.{c}::text, '') = coalesce({r}.{c}::text, '')"
            " AND ({l}.{c} IS NULL) = ({r}.{c} IS NULL)"
        ).format(l=sql.Identifier(left), r=sql.Identifier(right), c=sql.Identifier(c))
        for c in grain
    )


def _model_over(
    conn: psycopg.Connection, model: Model, fact: str, rows: sql.Composable, into: str
) -> None:
    """The roll-up's SQL over `rows` (a query of the fact's shape), into a temporary table."""
    conn.execute(sql.SQL("CREATE TEMPORARY VIEW {} AS {}").format(sql.Identifier(fact), rows))
    try:
        conn.execute(
            sql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS {}").format(
                sql.Identifier(into), sql.SQL(model.sql)
            )
        )
    except psycopg.Error as error:
        raise ModelError(f"{model.path.name}: {error.diag.message_primary or error}") from error
    finally:
        conn.execute(sql.SQL("DROP VIEW IF EXISTS pg_temp.{}").format(sql.Identifier(fact)))


def never_null(fact: Model) -> set[str]:
    """The fact's columns declared never null (a `not_null` test or constraint): a build
    whose fact holds a null there fails its audit, and the next starts from an empty schema,
    so a roll-up's sum of such a column is null only for a group without rows."""
    assert fact.properties is not None
    return {
        column.name
        for column in fact.properties.columns
        if column.not_null or any(test.kind == "not_null" for test in column.data_tests)
    }


def _recompute_emptied(conn: psycopg.Connection, model: Model, measures: list[str]) -> None:
    """A sum is null when none of its values is, and 0 when they add up to 0: a group whose
    sum came to 0 after a value left may have no value left, which the sums cannot tell.
    Such groups (an amount of 0, or every known amount gone) are summed again from the
    fact, reading only the months, campaigns and so on they fall in. A known value left
    exactly where the sum of the rows taken out is not null, and one is still there where
    the sum of the rows put in is not null (a row out and in again at a new rate is no
    question). `measures`: the sums that can be null (not those of a column the fact
    declares never null: a day's clicks of 0 are common, and each such group summed again
    read most of the fact)."""
    assert model.properties is not None and model.properties.meta.rollup_of is not None
    types = model.properties.column_types
    row_count = model.properties.meta.rollup_of.row_count
    grain = model.grain
    nullable = [m for m in measures if m != row_count]
    if not nullable:
        return
    emptied_by = sql.SQL(" OR ").join(
        sql.SQL("(n.{m} = 0 AND o.{m} IS NOT NULL AND i.{m} IS NULL)").format(m=sql.Identifier(m))
        for m in nullable
    )
    conn.execute(
        sql.SQL(
            "CREATE TEMPORARY TABLE emptied ON COMMIT DROP AS SELECT {columns} FROM rollup_now AS n"
            " JOIN sums__rows_out AS o ON {out_group} LEFT JOIN sums__rows_in AS i ON {in_group}"
            " WHERE {emptied_by}"
        ).format(
            columns=sql.SQL(", ").join(sql.SQL("n.{}").format(sql.Identifier(c)) for c in grain),
            out_group=_same_group("n", "o", grain),
            in_group=_same_group("n", "i", grain),
            emptied_by=emptied_by,
        )
    )
    if not conn.execute("SELECT count(*) FROM emptied").fetchone()[0]:
        conn.execute("DROP TABLE emptied")
        return
    # Each grain column's values as a constant list: Postgres pushes them into the fact's
    # scan, so only rows that can fall in those groups are summed.
    box = sql.SQL(" AND ").join(
        sql.SQL("(m.{c} = ANY(ARRAY(SELECT DISTINCT {c} FROM emptied)){nulls})").format(
            c=sql.Identifier(c),
            nulls=sql.SQL(" OR m.{} IS NULL").format(sql.Identifier(c)),
        )
        for c in grain
    )
    conn.execute(
        sql.SQL(
            "CREATE TEMPORARY TABLE summed_again ON COMMIT DROP AS"
            " SELECT m.* FROM ({sql}) AS m WHERE {box}"
            " AND EXISTS (SELECT FROM emptied AS e WHERE {same})"
        ).format(sql=sql.SQL(model.sql), box=box, same=_same_group("m", "e", grain))
    )
    conn.execute(
        sql.SQL(
            "DELETE FROM rollup_now AS n WHERE EXISTS (SELECT FROM emptied AS e WHERE {same})"
        ).format(same=_same_group("n", "e", grain))
    )
    conn.execute(
        sql.SQL("INSERT INTO rollup_now ({columns}) SELECT {columns} FROM summed_again").format(
            columns=sql.SQL(", ").join(map(sql.Identifier, types))
        )
    )
    conn.execute("DROP TABLE emptied, summed_again")


def applies(
    state: tuple | None,
    fact_state: tuple | None,
    difference: tuple[str, int, int] | None,
    digest: str,
    build_id: str,
) -> bool:
    """Whether the roll-up, in its recorded state, can apply the fact's kept difference: same
    SQL, the difference is this build's, and it leads from the fact the roll-up was computed
    from to the fact as it stands."""
    return (
        state is not None
        and fact_state is not None
        and difference is not None
        and state[0] == digest
        and difference[0] == build_id
        and state[1] == difference[1]
        and fact_state[1] == difference[2]
    )
