"""Every dashboard chart as the executive opens it: Superset's time per chart, forced past its
cache and from the cache, against the same SQL run straight in Postgres.

Needs a running stack (`revenue-os --profile <p> demo`; for scale 10:
`REVENUE_OS_MOCK_SCALE=10 revenue-os --profile bench demo --refresh-timeout 2400`). Logs in
to Superset's API as `executive` (the dashboards-only role), lists the charts of each of our
dashboards, and for each chart, side by side and alternating, `--runs` times:

  superset  GET /api/v1/chart/{id}/data/?force=true: the saved query, past the cache, with
            everything Superset adds (security, query building, post-processing, JSON)
  postgres  the SQL Superset ran for it (the same endpoint with type=query), as `mart_reader`
            over psycopg: the floor

then `--runs` times from the cache (no force, right after a forced run). Prints p50/p95 per
chart and the ratios as Markdown, slowest first.

    .venv/bin/python bench/charts.py [--profile bench] [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx
import psycopg

from revenue_os.dashboards.specs import load_specs
from revenue_os.warehouse.connection import READER_ROLE
from revenue_os_stack.profile import load_profile
from revenue_os_stack.stack import Stack


def dashboard_slugs() -> list[str]:
    """Every dashboard the bundle publishes, from its spec: a new dashboard is measured too."""
    return sorted(spec.slug for spec in load_specs().values())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def executive_session(stack: Stack) -> httpx.Client:
    """A logged-in API client as `executive`: open, to be closed by the caller."""
    client = httpx.Client(base_url=stack.profile.superset_url, timeout=120)
    token = client.post(
        "/api/v1/security/login",
        json={
            "username": "executive",
            "password": stack.secrets["SUPERSET_EXECUTIVE_PASSWORD"],
            "provider": "db",
            "refresh": False,
        },
    )
    token.raise_for_status()
    client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return client


def charts_of(client: httpx.Client, slugs: list[str]) -> list[tuple[str, int, str]]:
    """(dashboard slug, chart id, chart title) for every chart of our dashboards."""
    found = []
    for slug in slugs:
        response = client.get(f"/api/v1/dashboard/{slug}/charts")
        response.raise_for_status()
        for chart in response.json()["result"]:
            found.append((slug, chart["id"], chart["slice_name"]))
    return found


def chart_sql(client: httpx.Client, chart_id: int) -> list[str]:
    response = client.get(f"/api/v1/chart/{chart_id}/data/", params={"type": "query"})
    response.raise_for_status()
    return [part["query"] for part in response.json()["result"]]


def timed_get(client: httpx.Client, chart_id: int, force: bool) -> tuple[float, bool]:
    began = time.perf_counter()
    response = client.get(
        f"/api/v1/chart/{chart_id}/data/", params={"force": "true"} if force else None
    )
    elapsed = time.perf_counter() - began
    response.raise_for_status()
    return elapsed, all(part.get("is_cached") for part in response.json()["result"])


def timed_sql(conn: psycopg.Connection, statements: list[str]) -> float:
    began = time.perf_counter()
    for statement in statements:
        conn.execute(statement).fetchall()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="bench")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    stack = Stack(load_profile(args.profile))
    rows = []
    client = executive_session(stack)
    try:
        conn = psycopg.connect(stack.warehouse_uri(READER_ROLE), autocommit=True)
    except Exception:
        client.close()
        raise
    with conn:
        slugs = dashboard_slugs()
        charts = charts_of(client, slugs)
        print(f"{len(charts)} charts on {len(slugs)} dashboards, {args.runs} runs each")
        for slug, chart_id, title in charts:
            statements = chart_sql(client, chart_id)
            forced, direct, cached, hits = [], [], [], 0
            for _ in range(args.runs):
                forced.append(timed_get(client, chart_id, force=True)[0])
                direct.append(timed_sql(conn, statements))
                seconds, hit = timed_get(client, chart_id, force=False)
                cached.append(seconds)
                hits += hit
            rows.append((slug, title, forced, direct, cached, hits))
    client.close()
    rows.sort(key=lambda row: -percentile(row[2], 0.95))
    print()
    print(
        "| dashboard | chart | forced p50 ms | forced p95 ms | Postgres p50 ms | "
        "ratio (p50) | cached p50 ms | cache hits |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for slug, title, forced, direct, cached, hits in rows:
        f50, f95, d50 = (
            percentile(forced, 0.5) * 1000,
            percentile(forced, 0.95) * 1000,
            percentile(direct, 0.5) * 1000,
        )
        print(
            f"| {slug} | {title} | {f50:.0f} | {f95:.0f} | {d50:.1f} | "
            f"{f50 / max(d50, 0.01):.0f}x | {percentile(cached, 0.5) * 1000:.0f} | "
            f"{hits}/{len(cached)} |"
        )
    every_forced = [seconds for row in rows for seconds in row[2]]
    print()
    print(
        f"All charts: forced p50 {percentile(every_forced, 0.5) * 1000:.0f} ms, p95 "
        f"{percentile(every_forced, 0.95) * 1000:.0f} ms; charts with p95 over 150 ms: "
        f"{sum(1 for row in rows if percentile(row[2], 0.95) > 0.150)} of {len(rows)}"
    )
    # A chart's p95 over a few runs is its slowest request or next to it: how many requests
    # were slow, and how slow, says whether a miss is the chart or a pause of the server.
    slow = [seconds for seconds in every_forced if seconds > 0.150]
    print(
        f"forced requests over 150 ms: {len(slow)} of {len(every_forced)}; the slowest"
        f" {max(every_forced) * 1000:.0f} ms"
    )
    ratios = [percentile(r[2], 0.5) / max(percentile(r[3], 0.5), 1e-5) for r in rows]
    print(f"median ratio to Postgres: {statistics.median(ratios):.0f}x")


if __name__ == "__main__":
    main()
