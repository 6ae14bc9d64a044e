"""Partitions computed again: every row written back, against only the rows that moved.

    .venv/bin/python bench/mart_build.py --scales 10 --runs 1 --keep   # once
    .venv/bin/python bench/partition_writes.py [--runs 3] [--one-in 5]

On the warehouse `mart_build.py --keep` left, the published mart (`mart`) and the copy one
behind (`mart_previous`) differ by a day's changes. For each partitioned fact of the mart:

- its table one behind, copied with its grain index (as the build keeps it) into a scratch
  schema;
- the partitions a day reaches: the keys whose rows differ between the two copies, and one
  key in `--one-in` of the others (a day reaches many partitions whose rows come out the
  same, as an account's attribution for a touch after all its conversions);
- their rows as the build computes them again: the published copy's rows of those keys.

Then, each in a transaction rolled back, alternating, `--runs` times each:

  every row  every row of the partitions deleted (kept for the readers) and every fresh row
             inserted, as the build wrote them before
  moved      revenue_os.transform.changes as the build runs it now: the fresh rows' grain
             checked, the rows that moved found by one hash join on the grain, only those
             deleted and inserted

Prints the medians and their ratio as Markdown.
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg
from bench_postgres import bench_postgres
from mart_build import SCRATCH_DB
from psycopg import sql

from revenue_os.transform import changes
from revenue_os.transform.models import Model, discover
from revenue_os.warehouse.connection import connect

SCHEMA = "bench_partitions"


def reached_keys(conn: psycopg.Connection, model: Model, one_in: int) -> set[str | None]:
    """The keys whose rows differ between `mart` and `mart_previous`, and one in `one_in`
    of the others."""
    assert model.partitions is not None
    key = sql.Identifier(model.partitions.key)
    matched = sql.SQL(" AND ").join(
        sql.SQL("now.{c} = before.{c}").format(c=sql.Identifier(c)) for c in model.grain
    )
    differing = {
        row[0]
        for row in conn.execute(
            sql.SQL(
                "SELECT DISTINCT coalesce(now.{key}, before.{key})::text"
                " FROM {now} AS now FULL JOIN {before} AS before ON {matched}"
                " WHERE now::text IS DISTINCT FROM before::text"
            ).format(
                key=key,
                now=sql.Identifier("mart", model.name),
                before=sql.Identifier("mart_previous", model.name),
                matched=matched,
            )
        )
    }
    others = {
        row[0]
        for row in conn.execute(
            sql.SQL(
                "SELECT DISTINCT {key}::text FROM {now} WHERE abs(hashtext({key}::text)) %% %s = 0"
            ).format(key=key, now=sql.Identifier("mart", model.name)),
            (one_in,),
        )
    }
    return differing | others


def every_row(conn: psycopg.Connection, table: sql.Identifier, of_partitions) -> tuple[int, int]:
    conn.execute(sql.SQL("CREATE TEMPORARY TABLE rows_out (LIKE {}) ON COMMIT DROP").format(table))
    removed = conn.execute(
        sql.SQL(
            "WITH removed AS (DELETE FROM {} WHERE {} RETURNING *)"
            " INSERT INTO rows_out SELECT * FROM removed"
        ).format(table, of_partitions)
    ).rowcount
    added = conn.execute(sql.SQL("INSERT INTO {} TABLE rows_fresh").format(table)).rowcount
    return removed, added


def moved(conn: psycopg.Connection, model: Model, table: sql.Identifier, of_partitions):
    changes._refuse_repeated_grain(conn, model)
    return changes._replace_rows_moved(conn, SCHEMA, table, model, of_partitions)


def timed(conn, model, table, of_partitions, fresh: sql.Composable, way) -> tuple[float, tuple]:
    with conn.transaction(force_rollback=True):
        conn.execute(
            sql.SQL("CREATE TEMPORARY TABLE rows_fresh ON COMMIT DROP AS {}").format(fresh)
        )
        began = time.perf_counter()
        if way == "moved":
            counts = moved(conn, model, table, of_partitions)
        else:
            counts = every_row(conn, table, of_partitions)
        return time.perf_counter() - began, counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each way, alternating")
    parser.add_argument(
        "--one-in", type=int, default=5, help="of the partitions that did not change, one in N"
    )
    args = parser.parse_args()

    pg, secrets = bench_postgres()
    uri = pg.url("revenue_os", secrets["WAREHOUSE_PASSWORD"], SCRATCH_DB)
    facts = [m for m in discover().values() if m.published and m.partitions is not None]
    print("| fact | partitions | rows computed | rows moved (out / in) | every row, s | moved, s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    with connect(uri) as conn:
        conn.autocommit = True
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("SET jit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
        for model in sorted(facts, key=lambda m: m.name):
            assert model.partitions is not None and model.properties is not None
            table = sql.Identifier(SCHEMA, model.name)
            conn.execute(
                sql.SQL("CREATE TABLE {} AS TABLE {}").format(
                    table, sql.Identifier("mart_previous", model.name)
                )
            )
            conn.execute(
                sql.SQL("CREATE UNIQUE INDEX ON {} ({}) NULLS NOT DISTINCT").format(
                    table, sql.SQL(", ").join(map(sql.Identifier, model.grain))
                )
            )
            conn.execute(sql.SQL("ANALYZE {}").format(table))
            reached = reached_keys(conn, model, args.one_in)
            key = sql.Identifier(model.partitions.key)
            of_partitions = changes._in_partitions(
                key, reached, model.properties.column_types[model.partitions.key]
            )
            fresh = sql.SQL("SELECT * FROM {} WHERE {}").format(
                sql.Identifier("mart", model.name), of_partitions
            )
            (computed,) = conn.execute(
                sql.SQL("SELECT count(*) FROM ({}) AS fresh").format(fresh)
            ).fetchone()
            seconds: dict[str, list[float]] = {"every row": [], "moved": []}
            counts: tuple = ()
            for _ in range(args.runs):
                for way in seconds:
                    spent, result = timed(conn, model, table, of_partitions, fresh, way)
                    seconds[way].append(spent)
                    if way == "moved":
                        counts = result
            every, only = (statistics.median(seconds[w]) for w in ("every row", "moved"))
            print(
                f"| {model.name} | {len(reached):,} | {computed:,} |"
                f" {counts[0]:,} / {counts[1]:,} | {every:.2f} | {only:.2f} |",
                flush=True,
            )
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(SCHEMA)))


if __name__ == "__main__":
    main()
