"""The next day's mart build on the warehouse `mart_build.py --keep` left, every statement timed.

    .venv/bin/python bench/mart_build.py --scales 10 --runs 1 --keep   # once
    .venv/bin/python bench/next_day_profile.py --scale 10 --day 2      # then day 3, 4, ...

The mock APIs start afresh at `--scale` and move on `--day` days (the kept warehouse has
pulled the first: day 1); the incremental pull loads what changed since, and the mart is
built as a refresh builds it. Every statement the build sends is timed on the client
(psycopg's `Cursor.execute`, wrapped for the run), so a statement's figure includes its round
trip. Prints the slowest models, the KPI step by phase (fingerprints, period values read from
the facts, work rows computed again and compared, `kpi_values`, the scorecard), and the
slowest statements. Each day must be later than the last one profiled: the mock's changes
are replayed from its start, and a day already loaded loads nothing.
"""

from __future__ import annotations

import argparse
import collections
import re
import sys
import time
from collections.abc import Callable

import psycopg
from bench_postgres import bench_postgres
from extract_load import advance_one_day, mock_apis, run
from mart_build import SCRATCH_DB

from revenue_os.orchestration.extract_load import Request
from revenue_os.transform.build import build_all
from revenue_os.warehouse.connection import connect
from revenue_os.warehouse.migrations import migrate

Timing = tuple[float, str]

# The KPI step's statements by what they do; the first pattern that matches names a phase.
PHASES: list[tuple[str, Callable[[str], bool]]] = [
    ("fingerprints of the facts", lambda t: t.startswith("SELECT") and "hash_record_extended" in t),
    (
        "period values read from the facts",
        lambda t: (
            t.startswith("CREATE TEMPORARY TABLE kpi_periods_fresh")
            or ('"kpi_metric_rows" (metric_name' in t[:80] and "kpi_periods_fresh" not in t)
        ),
    ),
    (
        "period values compared and kept",
        lambda t: (
            "kpi_periods_fresh" in t
            or re.match(r'(DELETE FROM|INSERT INTO) "\w+"\."kpi_metric_rows"', t) is not None
        ),
    ),
    ("work rows computed again and compared", lambda t: t.startswith("WITH fresh AS")),
    ("work rows computed whole", lambda t: t.startswith("INSERT INTO kpi_work")),
    ("kpi_values written", lambda t: re.match(r'INSERT INTO "\w+"\."kpi_values"', t) is not None),
    (
        "kpi_values rows due removed",
        lambda t: re.match(r'DELETE FROM "\w+"\."kpi_values"', t) is not None,
    ),
    ("scorecard", lambda t: t.startswith("WITH settings (metric_name")),
]


def phase_of(text: str) -> str:
    for name, matches in PHASES:
        if matches(text):
            return name
    return "other"


def timed_statements() -> list[Timing]:
    """Wrap `Cursor.execute` for the rest of the process; the list its timings go to."""
    timings: list[Timing] = []
    execute = psycopg.Cursor.execute

    def timed(self, query, params=None, **kwargs):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        try:
            return execute(self, query, params, **kwargs)
        finally:
            text = query if isinstance(query, str) else query.as_string(self.connection)
            timings.append((time.perf_counter() - began, " ".join(text.split())))

    psycopg.Cursor.execute = timed  # type: ignore[method-assign]
    return timings


def kpi_step(timings: list[Timing]) -> list[Timing]:
    """The statements of the KPI step: from its kept tables' layout to the view put away."""
    starts = [i for i, (_, t) in enumerate(timings) if "kpi_kept_layout" in t]
    ends = [i for i, (_, t) in enumerate(timings) if t == "DROP VIEW kpi_work"]
    return timings[starts[0] : ends[-1] + 1] if starts and ends else []


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    parser.add_argument("--scale", type=float, default=10.0, help="the kept warehouse's scale")
    parser.add_argument(
        "--day", type=int, default=2, help="days the mock moves on from its start (2 or later)"
    )
    parser.add_argument("--top", type=int, default=25, help="slowest statements to print")
    parser.add_argument(
        "--statements",
        type=argparse.FileType("w"),
        help="also write every statement of the build to this file, one a line: seconds, text",
    )
    args = parser.parse_args()
    if args.day < 2:
        parser.error("--day must be 2 or later: the kept warehouse has loaded day 1")

    pg, secrets = bench_postgres()
    uri = pg.url("revenue_os", secrets["WAREHOUSE_PASSWORD"], SCRATCH_DB)
    # As the stack does when it starts: the kept warehouse takes the migrations since.
    with connect(uri) as conn:
        migrate(conn)
    timings = timed_statements()
    with mock_apis(args.scale) as base_url:
        for _ in range(args.day):
            advance_one_day(base_url)
        run(uri, base_url, Request())
    timings.clear()
    with connect(uri) as conn:
        began = time.perf_counter()
        result = build_all(conn, echo=lambda line: print(line, file=sys.stderr), full=False)
        total = time.perf_counter() - began

    print(f"\nNext day's build (day {args.day}, scale {args.scale:g}): {total:.1f} s\n")
    print("| model or step | s |\n| --- | ---: |")
    for name, seconds in sorted(result.seconds.items(), key=lambda kv: -kv[1])[:15]:
        print(f"| {name} | {seconds:.2f} |")
    step = kpi_step(timings)
    phases: dict[str, list[float]] = collections.defaultdict(list)
    for seconds, text in step:
        phases[phase_of(text)].append(seconds)
    print(f"\nThe KPI step: {len(step)} statements, {sum(s for s, _ in step):.1f} s\n")
    print("| phase | statements | s |\n| --- | ---: | ---: |")
    for name, spent in sorted(phases.items(), key=lambda kv: -sum(kv[1])):
        print(f"| {name} | {len(spent)} | {sum(spent):.2f} |")
    if args.statements:
        for seconds, text in timings:
            args.statements.write(f"{seconds:.4f}\t{text}\n")
        args.statements.close()
    print(f"\nThe {args.top} slowest statements of the build:\n")
    for seconds, text in sorted(timings, key=lambda timing: -timing[0])[: args.top]:
        print(f"  {seconds:7.3f} s  {text[:110]}")


if __name__ == "__main__":
    main()
