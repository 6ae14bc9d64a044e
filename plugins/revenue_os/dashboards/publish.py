"""Import the bundle into a Superset and check that every one of its charts has data.

Shared by `revenue-os dashboards import` and the refresh DAG's last task, so the operator's
command and the scheduled refresh import the same way and judge success the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial

from psycopg.conninfo import conninfo_to_dict

from revenue_os.dashboards.bundle import DATABASE_FILE, bundle_files, zip_bundle
from revenue_os.dashboards.superset_client import SupersetClient, SupersetError


@dataclass
class ImportReport:
    superset_url: str
    charts_expected: int
    rows_by_chart: dict[str, int] = field(default_factory=dict)
    errors_by_chart: dict[str, str] = field(default_factory=dict)
    dashboards: int = 0
    bundle_digest: str = ""
    imported: bool = False  # False when Superset already held this very bundle

    @property
    def missing(self) -> int:
        return self.charts_expected - len(self.rows_by_chart) - len(self.errors_by_chart)

    @property
    def empty(self) -> list[str]:
        return [name for name, rows in self.rows_by_chart.items() if rows == 0]

    @property
    def ok(self) -> bool:
        """Every chart arrived and answered. An empty chart can be right (no known issue
        today, no campaign spent last month), so it is reported, not failed."""
        return not self.errors_by_chart and self.missing == 0

    def summary(self) -> str:
        found = len(self.rows_by_chart) + len(self.errors_by_chart)
        verb = "imported into" if self.imported else "unchanged (not re-imported) in"
        return (
            f"{verb} {self.superset_url}: {self.dashboards} dashboards, {found} of "
            f"{self.charts_expected} charts found, {len(self.errors_by_chart)} failing, "
            f"{len(self.empty)} without data"
        )


def bundle_digest(bundle: bytes, reader_password: str) -> str:
    """What an import depends on: the bundle's bytes (deterministic: zip_bundle) and the
    password passed beside it, which is hashed in, never stored."""
    password_digest = hashlib.sha256(reader_password.encode()).hexdigest()
    return hashlib.sha256(bundle + password_digest.encode()).hexdigest()


def import_and_check(
    superset_url: str,
    username: str,
    password: str,
    reader_uri: str,
    files: dict[str, dict] | None = None,
    imported_digest: str | None = None,
) -> ImportReport:
    """Import the bundle for the warehouse at `reader_uri` (the read-only login, with its
    password; `files` when the caller has built them already) with the password passed
    beside it, and query every chart.

    With `imported_digest` (the digest of the last bundle imported into this Superset), the
    import is skipped when the bundle is the same and every chart and dashboard of it is
    still there: a refresh changes the data, rarely the dashboards, and a re-import rewrites
    every chart's metadata for nothing."""
    reader_password = conninfo_to_dict(reader_uri).get("password", "")
    files = bundle_files(reader_uri) if files is None else files
    bundle = zip_bundle(files)
    ours = {
        config["uuid"]: config["slice_name"]
        for path, config in files.items()
        if path.startswith("charts/")
    }
    slugs = {c["slug"] for p, c in files.items() if p.startswith("dashboards/")}
    report = ImportReport(
        superset_url,
        charts_expected=len(ours),
        bundle_digest=bundle_digest(bundle, reader_password),
    )
    with SupersetClient(superset_url, username, password) as client:
        client.login()
        charts, dashboards = client.charts(), client.dashboards()
        present = set(ours) <= {c.get("uuid") for c in charts} and slugs <= {
            d.get("slug") for d in dashboards
        }
        if not (present and imported_digest == report.bundle_digest):
            client.import_bundle(bundle, {DATABASE_FILE: reader_password})
            report.imported = True
            charts, dashboards = client.charts(), client.dashboards()
        report.dashboards = sum(1 for d in dashboards if d.get("slug") in slugs)
        # The mart was just published: no cached answer of our datasets may outlive it.
        our_datasets = {c["uuid"] for p, c in files.items() if p.startswith("datasets/")}
        published_at = datetime.now(UTC).isoformat(timespec="seconds")
        for dataset in client.datasets():
            if dataset["uuid"] in our_datasets:
                client.stamp_dataset(dataset["id"], published_at)
        warm_errors = _warm_dashboards(client, [d for d in dashboards if d.get("slug") in slugs])
        for chart in sorted(charts, key=lambda chart: chart["slice_name"]):
            if chart.get("uuid") not in ours:
                continue
            # Two dashboards may show the same headline chart under one title.
            name = f"{chart['slice_name']} (chart {chart['id']})"
            if chart["id"] in warm_errors:
                report.errors_by_chart[name] = warm_errors[chart["id"]]
                continue
            try:
                # Served from the cache the warm-up just filled: the check costs little.
                result = client.chart_data(chart["id"])["result"]
            except SupersetError as error:
                report.errors_by_chart[name] = str(error)
                continue
            report.rows_by_chart[name] = sum(part.get("rowcount", 0) for part in result)
    return report


WARM_UP_REQUESTS = 4
"""Requests the warm-up keeps in flight: Superset's two gunicorn workers, two each. One at a
time left one worker idle and made the warm-up the longest part of `publish_dashboards`."""


def _warm_dashboards(client: SupersetClient, dashboards: list[dict]) -> dict[int, str]:
    """Run every chart of each dashboard as the dashboard shows it, past the cache, so the
    next open (an executive's first, after a refresh) is answered from the cache; return the
    errors by chart id."""
    warm_ups: list[tuple[int | None, Callable[[], str | None]]] = []
    options: set[tuple[int, str]] = set()  # a filter's option list is one query everywhere
    for dashboard in dashboards:
        for chart in client.dashboard_charts(dashboard["id"]):
            warm_ups.append(
                (chart["id"], partial(client.warm_up_cache, chart["id"], dashboard["id"]))
            )
        # The select filters' option lists load with the dashboard too.
        for native_filter in client.dashboard_filters(dashboard["id"]):
            if native_filter.get("filterType") != "filter_select":
                continue
            for target in native_filter.get("targets", []):
                column = (target.get("column") or {}).get("name")
                if target.get("datasetId") and column:
                    options.add((target["datasetId"], column))
    warm_ups += [(None, partial(client.warm_filter_options, *option)) for option in options]
    errors: dict[int, str] = {}
    with ThreadPoolExecutor(max_workers=WARM_UP_REQUESTS) as pool:
        outcomes = pool.map(lambda warm_up: warm_up[1](), warm_ups)
        for (chart_id, _), error in zip(warm_ups, outcomes, strict=True):
            if chart_id is not None and error:
                errors[chart_id] = str(error)
    return errors
