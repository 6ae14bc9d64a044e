"""Our extract-load against dlt 1.31 and against a plain HTTP + COPY floor, on the same pages.

    .venv/bin/python bench/extract_load_vs_dlt.py [--scale 1] [--runs 3]

Starts the mock vendor APIs once, in a process of their own (as bench/extract_load.py does),
and pulls HubSpot contacts (live, then archived) and HubSpot events from them into a scratch
database of the `bench` profile's Postgres in three ways, each timed from its first request to
its last row committed:

  ours   revenue_os.orchestration.extract_load.extract_load of hubspot.contacts, then of
         hubspot.events, mode full, into a freshly migrated database (migrating is not timed)
  dlt    a dlt pipeline (destination postgres, dataset raw_dlt) over dlt's rest_api source:
         the same endpoints, params and page sizes, a cursor paginator on paging.next.after,
         bearer auth, write disposition replace, dlt's default normaliser (nested objects
         flattened into columns, lists into child tables). dlt cannot share the project's venv
         (its dependencies conflict), so it runs in .local/bench-dlt-venv (created on first
         use) as a subprocess that times itself after its imports; the wall time including
         interpreter start-up and `import dlt` is reported on a row of its own.
  floor  one httpx client GETting the same pages one after the other (keep-alive), each
         record's JSON COPYed into a single jsonb column, one transaction per object: the
         least any extract-load of these pages has to do

All three read the same pages: the project's page sizes and contact properties
(revenue_os.connectors.hubspot) and the event time range of a full load (the history start to
a `now` fixed once for the whole bench). The contenders alternate (ours, dlt, floor, ours, ...)
on the same mock process so that drift in the machine's speed hits all of them equally; each
run starts from an empty database. Prints, per contender, the median seconds, the records
loaded (top-level rows: contacts + events), records per second and the ratios of the medians
to the floor's and to ours as a Markdown table, and warns when the contenders loaded different
numbers of records or made different numbers of requests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
from bench_postgres import bench_postgres, recreate_database
from extract_load import ADMIN_HEADERS, TOKEN, mock_apis
from psycopg.types.json import Jsonb

from revenue_os.connectors.hubspot import CONTACT_PROPERTIES, EVENTS_PAGE, LIST_PAGE
from revenue_os.orchestration.extract_load import Request, extract_load, history_start
from revenue_os.warehouse.connection import connect
from revenue_os.warehouse.migrations import migrate
from revenue_os_stack.mock_api_services import mock_source_connections
from revenue_os_stack.postgres_cluster import LocalPostgres

REPO = Path(__file__).resolve().parent.parent
DLT_VENV = REPO / ".local" / "bench-dlt-venv"
DLT_REQUIREMENT = "dlt[postgres]==1.31.*"
DLT_VERSION_PREFIX = "1.31."
OURS_DB, DLT_DB, FLOOR_DB = "bench_el_ours", "bench_el_dlt", "bench_el_floor"
HUBSPOT_OBJECTS = ("hubspot.contacts", "hubspot.events")
CONTACTS_PATH = "crm/v3/objects/contacts"
EVENTS_PATH = "events/v3/events"
RESULT_MARKER = "BENCH_DLT_RESULT "


def iso_z(moment: datetime) -> str:
    """A UTC instant as the HubSpot connector writes it (so every contender sends the same)."""
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class HubSpotPages:
    """The requests a full load of contacts and events makes, shared by all three contenders:
    the same paths, params and page sizes mean the same pages from the mock."""

    contacts: tuple[dict[str, Any], ...]  # live contacts, then archived ones (as all_contacts)
    events: dict[str, Any]

    @classmethod
    def full_load(cls, now: datetime) -> HubSpotPages:
        """What HubSpotConnector reads for a full load planned at `now` (extract_load.plan)."""
        live = {"limit": LIST_PAGE, "properties": ",".join(CONTACT_PROPERTIES)}
        return cls(
            contacts=(live, {**live, "archived": "true"}),
            events={
                "objectType": "contact",
                "occurredAfter": iso_z(
                    datetime.combine(history_start(), clock_time.min, tzinfo=UTC)
                ),
                "occurredBefore": iso_z(now),
                "limit": EVENTS_PAGE,
            },
        )


@dataclass(frozen=True)
class Outcome:
    """One timed run of one contender: what it loaded and how many requests it took."""

    seconds: float
    contacts: int
    events: int
    requests: int
    wall_seconds: float | None = None  # dlt only: including interpreter start-up and imports
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return self.contacts + self.events


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def hubspot_requests_so_far(base_url: str) -> int:
    """The mock's count of HubSpot requests served: the difference over a run is its pages."""
    response = httpx.get(f"{base_url}/_admin/faults", headers=ADMIN_HEADERS, timeout=60)
    response.raise_for_status()
    return int(response.json()["requests"].get("hubspot", 0))


def mock_full_pull_counts(base_url: str) -> tuple[int, int]:
    """The contacts and events a full pull returns, by the mock's own count (a reference)."""
    response = httpx.get(f"{base_url}/_admin/counts", headers=ADMIN_HEADERS, timeout=60)
    response.raise_for_status()
    objects = response.json()["objects"]
    return objects["hubspot.contacts"]["total"], objects["hubspot.events"]["total"]


def count_rows(uri: str, tables: tuple[str, str]) -> tuple[int, int]:
    """Rows in the contacts and the events table (counted after the timed part)."""
    with connect(uri) as conn:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables)


# ---------------------------------------------------------------------------------------------
# ours


def run_ours(pg: LocalPostgres, secrets: dict[str, str], base_url: str, now: datetime) -> Outcome:
    """The project's extract-load of both objects, as a full refresh runs them, one by one."""
    uri = recreate_database(pg, secrets, OURS_DB)
    with connect(uri) as conn:
        migrate(conn)
    connection = mock_source_connections(base_url, TOKEN)["hubspot"]
    requests_before = hubspot_requests_so_far(base_url)
    began = time.perf_counter()
    results = {
        name: extract_load(name, uri, connection, Request(mode="full"), now=now)
        for name in HUBSPOT_OBJECTS
    }
    seconds = time.perf_counter() - began
    requests = hubspot_requests_so_far(base_url) - requests_before
    contacts, events = count_rows(uri, ("raw.hubspot__contacts", "raw.hubspot__events"))
    quarantined = sum(result.quarantined for result in results.values())
    return Outcome(seconds, contacts, events, requests, details={"quarantined": quarantined})


# ---------------------------------------------------------------------------------------------
# floor


def pages_of(client: httpx.Client, path: str, params: dict[str, Any]) -> Iterator[list[dict]]:
    """Every page of a HubSpot listing, following paging.next.after; no retries, no checks."""
    after: str | None = None
    while True:
        response = client.get(path, params={**params, "after": after} if after else params)
        response.raise_for_status()
        page = response.json()
        yield page["results"]
        after = (page.get("paging") or {}).get("next", {}).get("after")
        if not after:
            return


def run_floor(uri: str, base_url: str, pages: HubSpotPages) -> Outcome:
    """The same pages read plainly and COPYed as they come: the floor for this work."""
    with connect(uri) as conn:
        conn.execute("CREATE SCHEMA raw_floor")
        conn.execute("CREATE TABLE raw_floor.contacts (record jsonb NOT NULL)")
        conn.execute("CREATE TABLE raw_floor.events (record jsonb NOT NULL)")
    plan = {"contacts": [(CONTACTS_PATH, p) for p in pages.contacts]}
    plan["events"] = [(EVENTS_PATH, pages.events)]
    requests_before = hubspot_requests_so_far(base_url)
    began = time.perf_counter()
    with (
        httpx.Client(
            base_url=f"{base_url}/hubspot/",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=60,
        ) as client,
        connect(uri) as conn,
    ):
        for table, requests in plan.items():
            with (
                conn.transaction(),
                conn.cursor().copy(f"COPY raw_floor.{table} (record) FROM STDIN") as copy,
            ):
                for path, params in requests:
                    for page in pages_of(client, path, params):
                        for record in page:
                            copy.write_row((Jsonb(record),))
    seconds = time.perf_counter() - began
    requests = hubspot_requests_so_far(base_url) - requests_before
    contacts, events = count_rows(uri, ("raw_floor.contacts", "raw_floor.events"))
    return Outcome(seconds, contacts, events, requests)


# ---------------------------------------------------------------------------------------------
# dlt

# Runs in the dlt venv. Settings come in BENCH_DLT_SETTINGS (JSON) and the token in
# BENCH_DLT_TOKEN; the result goes to stdout as one JSON line after RESULT_MARKER.
DLT_SCRIPT = """
import json
import os
import time

import dlt
import psycopg2
from dlt.sources.rest_api import rest_api_source

settings = json.loads(os.environ["BENCH_DLT_SETTINGS"])
paginator = {"type": "cursor", "cursor_path": "paging.next.after", "cursor_param": "after"}


def resource(name, table, path, params):
    return {
        "name": name,
        "table_name": table,
        "endpoint": {
            "path": path,
            "params": params,
            "data_selector": "results",
            "paginator": paginator,
        },
    }


live_contacts, archived_contacts = settings["contacts"]
source = rest_api_source(
    {
        "client": {
            "base_url": settings["base_url"],
            "auth": {"type": "bearer", "token": os.environ["BENCH_DLT_TOKEN"]},
        },
        "resource_defaults": {"write_disposition": "replace"},
        "resources": [
            resource("contacts", "contacts", settings["contacts_path"], live_contacts),
            resource("archived_contacts", "contacts", settings["contacts_path"], archived_contacts),
            resource("events", "events", settings["events_path"], settings["events"]),
        ],
    }
)
pipeline = dlt.pipeline(
    pipeline_name="bench_el_dlt",
    destination=dlt.destinations.postgres(credentials=settings["uri"]),
    dataset_name=settings["dataset"],
    pipelines_dir=settings["pipelines_dir"],
)
began = time.perf_counter()
pipeline.run(source)
seconds = time.perf_counter() - began

steps = {
    step.step: (step.finished_at - step.started_at).total_seconds()
    for step in pipeline.last_trace.steps
    if step.step != "run"  # the whole of the three steps
}
with psycopg2.connect(settings["uri"]) as conn, conn.cursor() as cursor:
    cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
        " ORDER BY table_name",
        (settings["dataset"],),
    )
    rows = {}
    for (table,) in cursor.fetchall():
        if table.startswith("_dlt"):
            continue  # dlt's own state and load tables
        cursor.execute(f'SELECT count(*) FROM "{settings["dataset"]}"."{table}"')
        rows[table] = cursor.fetchone()[0]
    cursor.execute(
        "SELECT table_name, count(*) FROM information_schema.columns WHERE table_schema = %s"
        " AND table_name IN ('contacts', 'events') GROUP BY table_name",
        (settings["dataset"],),
    )
    columns = dict(cursor.fetchall())
result = {
    "version": dlt.__version__,
    "seconds": seconds,
    "steps": steps,
    "rows": rows,
    "columns": columns,
}
print(settings["result_marker"] + json.dumps(result), flush=True)
"""


def dlt_python() -> Path:
    """The dlt venv's interpreter, creating the venv and installing dlt 1.31 on first use."""
    python = DLT_VENV / "bin" / "python"
    check = [str(python), "-c", "import dlt, psycopg2; print(dlt.__version__)"]
    if python.exists():
        found = subprocess.run(check, capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip().startswith(DLT_VERSION_PREFIX):
            return python
    base_python = shutil.which("python3.11")
    if base_python is None:
        raise RuntimeError("python3.11 is needed on PATH to create the dlt venv")
    progress(f"creating {DLT_VENV} with {DLT_REQUIREMENT} (once)")
    subprocess.run([base_python, "-m", "venv", str(DLT_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", DLT_REQUIREMENT],
        check=True,
        stdout=sys.stderr,
    )
    subprocess.run(check, check=True, stdout=sys.stderr)
    return python


def run_dlt(
    python: Path,
    script: Path,
    workdir: Path,
    uri: str,
    base_url: str,
    pages: HubSpotPages,
) -> Outcome:
    """One dlt pipeline run in a fresh interpreter, with a fresh pipelines dir (no state)."""
    pipelines_dir = Path(tempfile.mkdtemp(prefix="pipelines-", dir=workdir))
    settings = {
        "base_url": f"{base_url}/hubspot/",
        "contacts_path": CONTACTS_PATH,
        "events_path": EVENTS_PATH,
        "contacts": list(pages.contacts),
        "events": pages.events,
        "uri": uri,
        "dataset": "raw_dlt",
        "pipelines_dir": str(pipelines_dir),
        "result_marker": RESULT_MARKER,
    }
    # Nothing of the project's environment reaches dlt's interpreter; telemetry is off so the
    # bench sends nothing out (dlt's default otherwise).
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env |= {
        "BENCH_DLT_SETTINGS": json.dumps(settings),
        "BENCH_DLT_TOKEN": TOKEN,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    requests_before = hubspot_requests_so_far(base_url)
    began = time.perf_counter()
    finished = subprocess.run(
        [str(python), str(script)], cwd=workdir, env=env, stdout=subprocess.PIPE, text=True
    )
    wall_seconds = time.perf_counter() - began
    requests = hubspot_requests_so_far(base_url) - requests_before
    shutil.rmtree(pipelines_dir, ignore_errors=True)
    if finished.returncode != 0:
        raise RuntimeError(f"the dlt pipeline failed (exit {finished.returncode})")
    lines = [line for line in finished.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if not lines:
        raise RuntimeError(f"the dlt pipeline printed no result: {finished.stdout[-500:]}")
    result = json.loads(lines[-1].removeprefix(RESULT_MARKER))
    rows: dict[str, int] = result["rows"]
    return Outcome(
        seconds=result["seconds"],
        contacts=rows.get("contacts", 0),
        events=rows.get("events", 0),
        requests=requests,
        wall_seconds=wall_seconds,
        details=result,
    )


# ---------------------------------------------------------------------------------------------
# report


def check_same_work(run: int, outcomes: dict[str, Outcome]) -> None:
    """Warn, naming the difference, when a contender loaded or requested other than ours."""
    reference_name, reference = next(iter(outcomes.items()))
    for name, outcome in outcomes.items():
        for what in ("contacts", "events", "requests"):
            mine, theirs = getattr(outcome, what), getattr(reference, what)
            if mine != theirs:
                print(
                    f"WARNING: run {run}: {name} {what} {mine:,} vs {reference_name} "
                    f"{theirs:,} (difference {mine - theirs:+,})",
                    flush=True,
                )


def table(runs: dict[str, list[Outcome]]) -> None:
    """The Markdown table: medians, and ratios of the medians (above 1 is slower)."""
    rows: dict[str, tuple[int, float]] = {}
    for name, outcomes in runs.items():
        rows[name] = (outcomes[-1].records, statistics.median(o.seconds for o in outcomes))
    dlt_walls = [o.wall_seconds for o in runs["dlt 1.31"] if o.wall_seconds is not None]
    rows["dlt 1.31, wall incl. start-up + import"] = (
        runs["dlt 1.31"][-1].records,
        statistics.median(dlt_walls),
    )
    floor_s, ours_s = rows["floor"][1], rows["ours"][1]
    print("| contender | records | median s | records/s | vs floor | vs ours |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, (records, seconds) in rows.items():
        print(
            f"| {name} | {records:,} | {seconds:.2f} | {records / seconds:,.0f} "
            f"| {seconds / floor_s:.2f}x | {seconds / ours_s:.2f}x |"
        )
    dlt_s = rows["dlt 1.31"][1]
    print(
        f"\nClaimed: dlt takes ~2.3x our time, ours ~1.3x the floor's. "
        f"Measured: dlt {dlt_s / ours_s:.2f}x ours, ours {ours_s / floor_s:.2f}x the floor."
    )


def notes(
    runs: dict[str, list[Outcome]], scale: float, run_count: int, mock_counts: tuple[int, int]
) -> None:
    """What each figure includes, and what dlt did that the others do not."""
    dlt_last = runs["dlt 1.31"][-1].details
    child_tables = {t: n for t, n in dlt_last["rows"].items() if t not in ("contacts", "events")}
    step_medians = {
        step: statistics.median(o.details["steps"].get(step, 0.0) for o in runs["dlt 1.31"])
        for step in dlt_last["steps"]
    }
    last = {name: outcomes[-1] for name, outcomes in runs.items()}
    print(
        f"\nScale {scale:g}, {run_count} alternating runs; medians of each contender's runs, "
        "ratios are of the medians (above 1x: slower). Records are the top-level rows loaded "
        "(contacts + events): "
        + ", ".join(f"{n} {o.contacts:,} + {o.events:,}" for n, o in last.items())
        + ". HubSpot requests per run: "
        + ", ".join(f"{n} {o.requests:,}" for n, o in last.items())
        + f". The mock counts {mock_counts[0]:,} contacts and {mock_counts[1]:,} events in "
        "a full pull."
    )
    print(
        f"\ndlt {dlt_last['version']}: rest_api source, cursor paginator on paging.next.after, "
        "write disposition replace, default normaliser and loader settings (insert_values "
        "files for postgres), telemetry off. Its default normaliser flattens the nested "
        "`properties` objects into typed columns, types inferred from the data ("
        + ", ".join(f"raw_dlt.{t}: {n} columns" for t, n in sorted(dlt_last["columns"].items()))
        + ", _dlt_id and _dlt_load_id included) and would put lists into child tables: "
        + (
            ", ".join(f"{t} ({n:,} rows)" for t, n in child_tables.items())
            if child_tables
            else "none were created"
        )
        + ". Its timed part (after `import dlt`) includes creating its tables and state "
        "tables in the empty database; median steps: "
        + ", ".join(f"{step} {s:.2f} s" for step, s in step_medians.items())
        + "."
    )
    print(
        "\nours: extract_load, mode full, into a freshly migrated database: each record keyed, "
        "checked and stored with its key, change time and deleted flag (quarantined: "
        f"{last['ours'].details.get('quarantined', 0)}). floor: the record JSON alone in one "
        "jsonb column, no keys, no checks, no retries."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--scale", type=float, default=1.0, help="mock scale (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="runs per contender (default 3)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    python = dlt_python()
    pg, secrets = bench_postgres()
    now = datetime.now(UTC)
    pages = HubSpotPages.full_load(now)
    runs: dict[str, list[Outcome]] = {"ours": [], "dlt 1.31": [], "floor": []}
    try:
        with (
            mock_apis(args.scale) as base_url,
            tempfile.TemporaryDirectory(prefix="bench-dlt-") as workdir,
        ):
            mock_counts = mock_full_pull_counts(base_url)
            script = Path(workdir) / "dlt_pipeline.py"
            script.write_text(DLT_SCRIPT)
            contenders: dict[str, Callable[[], Outcome]] = {
                "ours": lambda: run_ours(pg, secrets, base_url, now),
                "dlt 1.31": lambda: run_dlt(
                    python,
                    script,
                    Path(workdir),
                    recreate_database(pg, secrets, DLT_DB),
                    base_url,
                    pages,
                ),
                "floor": lambda: run_floor(
                    recreate_database(pg, secrets, FLOOR_DB), base_url, pages
                ),
            }
            for run in range(1, args.runs + 1):
                this_run = {}
                for name, contender in contenders.items():
                    outcome = contender()
                    this_run[name] = outcome
                    runs[name].append(outcome)
                    progress(
                        f"  run {run}/{args.runs} {name:<9} {outcome.records:>9,} rows "
                        f"{outcome.seconds:>7.2f} s ({outcome.requests:,} requests)"
                    )
                check_same_work(run, this_run)
    finally:
        for database in (OURS_DB, DLT_DB, FLOOR_DB):
            pg.psql(command=f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    print(f"dlt version: {runs['dlt 1.31'][-1].details['version']}\n")
    table(runs)
    notes(runs, args.scale, args.runs, mock_counts)


if __name__ == "__main__":
    main()
