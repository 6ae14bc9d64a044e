"""The raw loader against a plain COPY of the same rows into the same table, side by side.

    .venv/bin/python bench/raw_load.py [--rows 200000] [--pairs 5]

Starts (or reuses) the `bench` profile's Postgres only, loads N HubSpot-shaped contact
records into raw.hubspot__contacts of a scratch database in three ways, alternating A and B
so that drift in the machine's speed hits both equally:

  B  plain COPY of the prepared rows (key, updated-at, deleted flag, record, batch, time)
  A1 revenue_os.raw.loader.load_pages into the empty table (a first, full load)
  A2 load_pages of the same pages again (a re-run: everything unchanged)
  A3 load_pages where 10% of the records changed (a typical incremental)

Prints each figure's median and the median of the per-pair ratios A/B as a Markdown table.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from bench_postgres import bench_postgres, recreate_database
from psycopg.types.json import Jsonb

from revenue_os.raw.loader import load_pages
from revenue_os.raw.objects import RAW_OBJECTS
from revenue_os.warehouse.migrations import migrate

SCRATCH_DB = "bench_raw_load"
PAGE = 100  # HubSpot's list page size


def contacts(n: int, seed: int, changed_share: float = 0.0) -> list[list[dict]]:
    rng = random.Random(seed)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    records = []
    for i in range(n):
        modified = base + timedelta(minutes=i)
        if changed_share and rng.random() < changed_share:
            modified += timedelta(days=30)
        records.append(
            {
                "id": str(100000 + i),
                "properties": {
                    "email": f"person{i}@example{i % 97}.com",
                    "firstname": f"First{i}",
                    "lastname": f"Last{i}",
                    "lifecyclestage": rng.choice(["lead", "marketingqualifiedlead", "customer"]),
                    "utm_source": rng.choice(["google", "linkedin", "newsletter", ""]),
                    "lastmodifieddate": modified.isoformat().replace("+00:00", "Z"),
                },
                "createdAt": base.isoformat().replace("+00:00", "Z"),
                "updatedAt": modified.isoformat().replace("+00:00", "Z"),
                "archived": False,
            }
        )
    return [records[i : i + PAGE] for i in range(0, n, PAGE)]


def plain_copy(conn: psycopg.Connection, pages: list[list[dict]]) -> None:
    """The baseline: the same rows COPYed straight into the table, nothing else."""
    batch, now = uuid.uuid4(), datetime.now(UTC)
    with (
        conn.transaction(),
        conn.cursor().copy(
            "COPY raw.hubspot__contacts (source_id, source_updated_at, is_deleted, record, "
            "batch_id, extracted_at) FROM STDIN"
        ) as copy,
    ):
        for page in pages:
            for r in page:
                updated = datetime.fromisoformat(r["updatedAt"].replace("Z", "+00:00"))
                copy.write_row([r["id"], updated, r["archived"], Jsonb(r), batch, now])


def reset(conn: psycopg.Connection) -> None:
    conn.execute("TRUNCATE raw.hubspot__contacts, ops.source_state, ops.load_batches")


def timed(action) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()

    pg, secrets = bench_postgres()
    uri = recreate_database(pg, secrets, SCRATCH_DB)
    obj = RAW_OBJECTS["hubspot.contacts"]
    first = contacts(args.rows, seed=1)
    changed = contacts(args.rows, seed=1, changed_share=0.10)
    figures: dict[str, list[float]] = {"B": [], "A1": [], "A2": [], "A3": []}
    with psycopg.connect(uri, autocommit=True) as conn:
        migrate(conn)
        for pair in range(1, args.pairs + 1):
            print(f"pair {pair}/{args.pairs}", file=sys.stderr, flush=True)
            reset(conn)
            figures["B"].append(timed(lambda: plain_copy(conn, first)))
            reset(conn)
            figures["A1"].append(timed(lambda: load_pages(conn, obj, first, mode_label="full")))
            figures["A2"].append(timed(lambda: load_pages(conn, obj, first)))
            figures["A3"].append(timed(lambda: load_pages(conn, obj, changed)))
    pg.psql(command=f"DROP DATABASE {SCRATCH_DB} WITH (FORCE)")

    baseline = figures["B"]
    print(f"| {args.rows} contact records | median s | rows/s | median ratio to plain COPY |")
    print("| --- | --- | --- | --- |")
    labels = {
        "B": "plain COPY into the table (baseline)",
        "A1": "load_pages, first load into an empty table",
        "A2": "load_pages, the same pages again (nothing changed)",
        "A3": "load_pages, 10% of records changed",
    }
    for key, label in labels.items():
        median = statistics.median(figures[key])
        ratio = statistics.median(a / b for a, b in zip(figures[key], baseline, strict=True))
        print(f"| {label} | {median:.2f} | {args.rows / median:,.0f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
