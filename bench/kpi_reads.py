"""The KPI step's reads of the facts, as built against the plain way, side by side.

    .venv/bin/python bench/mart_build.py --scales 10 --runs 1 --keep   # once
    .venv/bin/python bench/kpi_reads.py [--runs 3]

On the warehouse `mart_build.py --keep` left, every simple metric of the shipped contracts
is read from the published mart (`mart`) at each of its grains, in the two queries the KPI
step runs on a fact:

  period values  a sum's or count's value per period and slice (`simple_periods_sql`), what
                 a day's build reads for the periods that changed (here: every period)
  windows        an average's or distinct count's rows with their windows
                 (`simple_query`), which group every row once per period a window reaches

each three ways, alternating, `--runs` times:

  plain     `date_trunc` on every time column, one grouping of the rows, `work_mem` 4 MB
  periods   a date column's period found without a time zone (day arithmetic for weeks)
  built     as the KPI step runs them: that, sums and counts grouped by slice first, and
            the step's own `work_mem` (`kpi_layer.KPI_WORK_MEM`)

The first two are the compiler with its shortcuts switched off. Prints the median seconds by
fact and grain, the totals, and each total's ratio to the plain one, as Markdown.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from bench_postgres import bench_postgres
from mart_build import SCRATCH_DB
from psycopg import sql

from revenue_os.metrics import kpi_sql
from revenue_os.metrics.contract import MetricContract, SimpleCalculation
from revenue_os.metrics.kpi_layer import KPI_WORK_MEM
from revenue_os.metrics.loader import load_contracts
from revenue_os.metrics.sql_text import is_additive
from revenue_os.warehouse.connection import connect

WAYS = ("plain", "periods", "built")


@contextmanager
def compiled(conn: psycopg.Connection, way: str) -> Iterator[None]:
    """The compiler and session as `way` has them, as built after."""
    is_date, summed_in_parts = kpi_sql._is_date, kpi_sql._summed_in_parts
    if way in ("plain", "periods"):
        kpi_sql._summed_in_parts = lambda calculation: False
        conn.execute("SET work_mem = '4MB'")
    else:
        conn.execute(sql.SQL("SET work_mem = {}").format(sql.Literal(KPI_WORK_MEM)))
    if way == "plain":
        kpi_sql._is_date = lambda calculation: False
    try:
        yield
    finally:
        kpi_sql._is_date, kpi_sql._summed_in_parts = is_date, summed_in_parts
        conn.execute("RESET work_mem")


def query(contract: MetricContract, grain: str) -> tuple[str, sql.Composed]:
    calculation = contract.calculation
    assert isinstance(calculation, SimpleCalculation)
    if is_additive(calculation.expression):
        return "period values", kpi_sql.simple_periods_sql(contract, calculation, grain, "mart")
    return "windows", kpi_sql.simple_query(contract, calculation, grain, "mart")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of each way, alternating")
    args = parser.parse_args()

    pg, secrets = bench_postgres()
    uri = pg.url("revenue_os", secrets["WAREHOUSE_PASSWORD"], SCRATCH_DB)
    simple = [
        (contract, grain)
        for contract in load_contracts().values()
        if isinstance(contract.calculation, SimpleCalculation)
        for grain in contract.grain
    ]
    # (read, fact, grain) -> way -> the seconds of each run, summed over the metrics.
    seconds: dict[tuple[str, str, str], dict[str, list[float]]] = {}
    with connect(uri) as conn:
        conn.autocommit = True
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute("SET jit = off")
        for run in range(args.runs):
            for way in WAYS:
                with compiled(conn, way):
                    for contract, grain in simple:
                        read, statement = query(contract, grain)
                        assert isinstance(contract.calculation, SimpleCalculation)
                        key = (read, contract.calculation.model, grain)
                        runs = seconds.setdefault(key, {w: [0.0] * args.runs for w in WAYS})
                        started = time.perf_counter()
                        conn.execute(
                            sql.SQL("SELECT count(*) FROM ({}) AS read").format(statement)
                        ).fetchone()
                        runs[way][run] += time.perf_counter() - started
            print(f"run {run + 1} of {args.runs} done", flush=True)

    print("\n| read | fact | grain | " + " | ".join(f"{w}, s" for w in WAYS) + " |")
    print("| --- | --- | --- | " + " | ".join("---:" for _ in WAYS) + " |")
    totals = {way: 0.0 for way in WAYS}
    for (read, fact, grain), runs in sorted(seconds.items()):
        medians = {way: statistics.median(runs[way]) for way in WAYS}
        for way in WAYS:
            totals[way] += medians[way]
        if max(medians.values()) >= 0.05:
            cells = " | ".join(f"{medians[way]:.2f}" for way in WAYS)
            print(f"| {read} | {fact} | {grain} | {cells} |")
    print(
        f"| every read | ({len(simple)} metric grains) | | "
        + " | ".join(f"{totals[way]:.2f}" for way in WAYS)
        + " |"
    )
    print(
        "\nto the plain way: "
        + ", ".join(f"{way} {totals[way] / totals['plain']:.2f}" for way in WAYS[1:])
    )


if __name__ == "__main__":
    main()
