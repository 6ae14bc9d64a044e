"""The refresh's last step: export the Superset bundle, and import it where Superset is set up.

The bundle (dashboards, charts, datasets with the governed metrics) is built from the specs in
superset/dashboards/ and the metric contracts, and written to the export folder every run: it
is the artefact a platform team imports into any Superset. When the Airflow connection
`superset` exists, the bundle is also imported into that Superset through its API, with the
read-only warehouse password (from the connection `mart_reader`) passed beside the bundle,
never inside it.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from revenue_os.paths import LOCAL_DIR

log = logging.getLogger(__name__)

SUPERSET_CONN_ID = "superset"
MART_READER_CONN_ID = "mart_reader"
BUNDLE_NAME = "revenue-os-dashboards.zip"
# Which bundle (by digest) was last imported into which Superset, beside the bundle.
IMPORTED_NAME = "imported.json"


def export_dir() -> Path:
    """REVENUE_OS_EXPORT_DIR, else the profile's folder under .local/."""
    configured = os.environ.get("REVENUE_OS_EXPORT_DIR")
    if configured:
        return Path(configured)
    return LOCAL_DIR / os.environ.get("REVENUE_OS_PROFILE", "demo") / "exports"


def _connection(conn_id: str):
    """The Airflow connection, or None when it is not defined."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def export_and_import(output_dir: Path | None = None) -> dict:
    """Build the bundle, write it, import it when a Superset connection exists; fail when a
    chart of ours answers with an error or is missing after the import."""
    from revenue_os.dashboards.bundle import bundle_files, zip_bundle
    from revenue_os.dashboards.publish import import_and_check

    reader = _connection(MART_READER_CONN_ID)
    if reader is None:
        raise RuntimeError(
            f"the Airflow connection {MART_READER_CONN_ID!r} (the read-only warehouse login "
            "Superset uses) is not defined: set AIRFLOW_CONN_MART_READER"
        )
    reader_uri = reader.get_uri()
    files = bundle_files(reader_uri)
    bundle = zip_bundle(files)
    folder = output_dir or export_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / BUNDLE_NAME
    path.write_bytes(bundle)
    log.info("exported the Superset bundle to %s (%d bytes)", path, len(bundle))
    result = {"bundle": str(path), "bytes": len(bundle), "imported": False}

    superset = _connection(SUPERSET_CONN_ID)
    if superset is None:
        log.info("no Airflow connection %r: the bundle is exported, not imported", SUPERSET_CONN_ID)
        return result
    base_url = superset.host if "://" in (superset.host or "") else f"http://{superset.host}"
    if superset.port and f":{superset.port}" not in base_url:
        base_url = f"{base_url}:{superset.port}"
    stamp = folder / IMPORTED_NAME
    imported = _read_stamp(stamp)
    report = import_and_check(
        base_url,
        superset.login,
        superset.password,
        reader_uri,
        files=files,
        imported_digest=imported.get(base_url),
    )
    log.info(report.summary())
    # A chart without rows can be right (no campaign spent last month); one that errors or
    # did not arrive is a broken dashboard in front of executives.
    for name in report.empty:
        log.warning("chart %r has no data after the import", name)
    if not report.ok:
        raise RuntimeError(
            report.summary()
            + "".join(
                f"\n  {name}: {problem}" for name, problem in sorted(report.errors_by_chart.items())
            )
        )
    if report.imported:
        _write_stamp(stamp, {**imported, base_url: report.bundle_digest})
    result.update(imported=report.imported, superset=base_url, dashboards=report.dashboards)
    return result


def _read_stamp(path: Path) -> dict[str, str]:
    """{superset url: digest of the bundle last imported there}; empty when unreadable, which
    only costs one import."""
    try:
        stamp = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return stamp if isinstance(stamp, dict) else {}


def _write_stamp(path: Path, stamp: dict[str, str]) -> None:
    # Written after a checked import only: a failed one leaves the old digest, so the next
    # run imports again.
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
    temporary.replace(path)
