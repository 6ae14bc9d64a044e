"""Extract + load throughput: every source object pulled over HTTP from the mock APIs into raw.

    .venv/bin/python bench/extract_load.py [--scales 1 10]

For each scale: starts the mock vendor APIs in a process of their own (`revenue-os mock-apis
--port 0`, so the server does not share this interpreter), creates a scratch database on the
`bench` profile's Postgres with every migration applied, then runs

  full         a first pull of every object, one after the other, as the first refresh does
  incremental  the next run after the source moved on by one day (POST /_admin/advance)

and prints, per object and in total, the records read, seconds and records per second as a
Markdown table. The refresh DAG runs up to three objects at a time (the source_apis pool);
this runs them one at a time, so the figures are per connector, not per refresh.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from bench_postgres import bench_postgres, recreate_database

from revenue_os.orchestration.extract_load import Request, extract_load
from revenue_os.raw.objects import RAW_OBJECTS
from revenue_os.warehouse.connection import connect
from revenue_os.warehouse.migrations import migrate
from revenue_os_stack.mock_api_services import mock_source_connections

SCRATCH_DB = "bench_extract_load"
TOKEN = "bench-token"
ADMIN_TOKEN = "bench-admin-token"
ADMIN_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
SERVING = re.compile(r"serving (http://127\.0\.0\.1:\d+)")


def start_mock_apis(scale: float) -> tuple[subprocess.Popen, str]:
    """The mock APIs in their own process; returns it and its base URL once it serves."""
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "revenue-os"),
            "mock-apis",
            "--port",
            "0",
            "--scale",
            str(scale),
            "--seed",
            "42",
            "--quiet",
        ],
        env={**os.environ, "MOCK_API_TOKEN": TOKEN, "MOCK_API_ADMIN_TOKEN": ADMIN_TOKEN},
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in server.stderr:
        print(f"  {line.rstrip()}", file=sys.stderr, flush=True)
        match = SERVING.search(line)
        if match:
            return server, match.group(1)
    raise RuntimeError(f"the mock APIs exited ({server.wait()}) before serving")


@contextlib.contextmanager
def mock_apis(scale: float) -> Iterator[str]:
    """The mock APIs at `scale` while the block runs; yields their base URL."""
    print(f"scale {scale:g}: starting the mock APIs", file=sys.stderr, flush=True)
    server, base_url = start_mock_apis(scale)
    try:
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=30)


def advance_one_day(base_url: str) -> None:
    """Move the mock business on by a day: new and changed records, restated ad days."""
    httpx.post(
        f"{base_url}/_admin/advance",
        json={"days": 1},
        headers=ADMIN_HEADERS,
        timeout=600,
    ).raise_for_status()


def run(uri: str, base_url: str, request: Request) -> dict[str, tuple[int, float]]:
    connections = mock_source_connections(base_url, TOKEN)
    figures = {}
    for name in RAW_OBJECTS:
        began = time.perf_counter()
        result = extract_load(name, uri, connections[name.split(".")[0]], request)
        figures[name] = (result.extracted, time.perf_counter() - began)
        print(
            f"  {request.mode:<11} {name:<30} {result.extracted:>9} rows "
            f"{figures[name][1]:>7.1f} s",
            file=sys.stderr,
            flush=True,
        )
    return figures


def table(scale: float, generation_s: float, runs: dict[str, dict[str, tuple[int, float]]]):
    print(f"\nScale {scale:g} (the mock generated its business in {generation_s:.0f} s)\n")
    print("| object | full: rows | s | rows/s | next day: rows | s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    full, daily = runs["full"], runs["incremental"]
    for name in RAW_OBJECTS:
        rows, seconds = full[name]
        d_rows, d_seconds = daily[name]
        print(
            f"| {name} | {rows:,} | {seconds:.1f} | {rows / seconds:,.0f} "
            f"| {d_rows:,} | {d_seconds:.2f} |"
        )
    rows = sum(r for r, _ in full.values())
    seconds = sum(s for _, s in full.values())
    d_rows = sum(r for r, _ in daily.values())
    d_seconds = sum(s for _, s in daily.values())
    print(
        f"| **all objects** | **{rows:,}** | **{seconds:.1f}** | **{rows / seconds:,.0f}** "
        f"| **{d_rows:,}** | **{d_seconds:.1f}** |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    args = parser.parse_args()

    pg, secrets = bench_postgres()
    for scale in args.scales:
        with mock_apis(scale) as base_url:
            state = httpx.get(f"{base_url}/_admin/state", headers=ADMIN_HEADERS, timeout=60)
            generation_s = state.json()["generation_seconds"]
            uri = recreate_database(pg, secrets, SCRATCH_DB)
            with connect(uri) as conn:
                migrate(conn)
            runs = {"full": run(uri, base_url, Request(mode="full"))}
            advance_one_day(base_url)
            runs["incremental"] = run(uri, base_url, Request())
        table(scale, generation_s, runs)
    pg.psql(command=f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")


if __name__ == "__main__":
    main()
