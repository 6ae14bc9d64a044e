"""Mart build time: a full rebuild from raw, and the next day's refresh, at each scale.

    .venv/bin/python bench/mart_build.py [--scales 1 10] [--runs 3]

For each scale: the mock vendor APIs in a process of their own, a scratch database on the
`bench` profile's Postgres, every source object pulled into raw (as the first refresh does),
then, side by side and alternating, `--runs` times each:

  baseline  CREATE TABLE AS SELECT * of every raw table into a scratch schema: the floor of
            any rebuild, reading and writing every raw row once
  mart      revenue_os.transform.build.build_all(full=True): every model rebuilt from raw,
            the audits and the publish

then two builds as a refresh builds (untimed: the steady state of a refresh day after day), the
source moves on a day (POST /_admin/advance), the incremental pull loads it, and the mart is
built once more as a refresh builds it (the incremental staging models and the partitioned
models brought forward by the day's changes), with the raw copy timed again just before and
after it. Prints medians, the ratio to the baseline, the next day's build against the full
one in seconds and in copies of raw (the machine's speed drifts between them), the slowest
models and the next day's figures as Markdown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import psycopg
from bench_postgres import bench_postgres, recreate_database
from extract_load import advance_one_day, mock_apis, run

from revenue_os.orchestration.extract_load import Request
from revenue_os.raw.objects import RAW_OBJECTS
from revenue_os.transform.build import build_all
from revenue_os.transform.models import discover
from revenue_os.warehouse.connection import connect
from revenue_os.warehouse.migrations import migrate

SCRATCH_DB = "bench_mart_build"
INCREMENTAL = [m.name for m in discover().values() if m.incremental]


def copy_raw(conn: psycopg.Connection) -> float:
    began = time.perf_counter()
    conn.execute("DROP SCHEMA IF EXISTS bench_copy CASCADE")
    conn.execute("CREATE SCHEMA bench_copy")
    for obj in RAW_OBJECTS.values():
        conn.execute(f"CREATE TABLE bench_copy.{obj.table} AS SELECT * FROM raw.{obj.table}")
    return time.perf_counter() - began


def build(conn: psycopg.Connection, *, full: bool) -> tuple[float, dict[str, float], int]:
    began = time.perf_counter()
    result = build_all(conn, echo=lambda _: None, full=full)
    return time.perf_counter() - began, result.seconds, sum(result.rows.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--keep", action="store_true", help=f"keep the database {SCRATCH_DB} for profiling"
    )
    args = parser.parse_args()

    pg, secrets = bench_postgres()
    for scale in args.scales:
        with mock_apis(scale) as base_url:
            uri = recreate_database(pg, secrets, SCRATCH_DB)
            with connect(uri) as conn:
                migrate(conn)
                run(uri, base_url, Request(mode="full"))
                raw_rows = sum(
                    conn.execute(f"SELECT count(*) FROM raw.{o.table}").fetchone()[0]
                    for o in RAW_OBJECTS.values()
                )
                baseline, mart, models = [], [], []
                for i in range(args.runs):
                    baseline.append(copy_raw(conn))
                    seconds, per_model, rows = build(conn, full=True)
                    mart.append(seconds)
                    models.append(per_model)
                    print(
                        f"  run {i + 1}: copy {baseline[-1]:.1f} s, mart {seconds:.1f} s",
                        file=sys.stderr,
                        flush=True,
                    )
                # Two builds as a refresh builds, untimed: the mart one copy behind is then one
                # a build brought forward, as it is day after day (a full build records that
                # everything changed, so the build after it rebuilds the partitioned tables).
                for _ in range(2):
                    build(conn, full=False)
                advance_one_day(base_url)
                began = time.perf_counter()
                daily = run(uri, base_url, Request())
                load_s = time.perf_counter() - began
                # As a refresh builds: the incremental staging models brought forward. The raw
                # copy is timed just before and after it too: the machine's speed drifts over
                # the minutes between the full builds and this one, and the copy beside each
                # says by how much.
                copy_beside = [copy_raw(conn)]
                next_build_s, next_models, _ = build(conn, full=False)
                copy_beside.append(copy_raw(conn))
                staging_next = sum(next_models[m] for m in INCREMENTAL)
                staging_full = sum(models[-1][m] for m in INCREMENTAL)
        copy_med, mart_med = statistics.median(baseline), statistics.median(mart)
        print(f"\nScale {scale:g}: {raw_rows:,} raw rows, {rows:,} rows built\n")
        print("| step | median s (of runs) | vs copying raw |")
        print("| --- | ---: | ---: |")
        print(f"| copy every raw table (baseline) | {copy_med:.1f} ({args.runs}) | 1.00x |")
        print(
            f"| full mart build, audit, publish | {mart_med:.1f} ({args.runs}) | {mart_med / copy_med:.2f}x |"
        )
        copy_next = statistics.mean(copy_beside)
        print(
            f"| the next day's build (raw copied just before and after: {copy_next:.1f} s)"
            f" | {next_build_s:.1f} (1) | {next_build_s / copy_next:.2f}x |"
        )
        print(
            f"\nthe next day's build against the full one: {next_build_s / mart_med:.0%} in"
            f" seconds, {(next_build_s / copy_next) / (mart_med / copy_med):.0%} in copies of raw"
        )
        slowest = sorted(models[-1].items(), key=lambda kv: -kv[1])[:6]
        print("\nslowest models (last run): " + ", ".join(f"{m} {s:.1f} s" for m, s in slowest))
        day_rows = sum(r for r, _ in daily.values())
        print(
            f"\nnext day: {day_rows:,} records pulled and loaded in {load_s:.1f} s, "
            f"mart built in {next_build_s:.1f} s; the {len(INCREMENTAL)} incremental staging "
            f"models {staging_next:.1f} s (in the full builds {staging_full:.1f} s)"
        )
        next_slowest = sorted(next_models.items(), key=lambda kv: -kv[1])[:12]
        print(
            "\nslowest steps of the next day's build: "
            + ", ".join(f"{m} {s:.1f} s" for m, s in next_slowest)
        )
    if not args.keep:
        pg.psql(command=f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
