"""The freshness watchdog: is each source, and the published mart, within its SLA?

It runs as its own small DAG on its own schedule and reads only the warehouse's ledgers
(ops.load_batches, ops.mart_builds), so it sees what failure callbacks cannot: a refresh that
hangs, a worker killed mid-task. Being a DAG, it stops when the scheduler stops; that is
noticed from outside Airflow by revenue_os.notifications.scheduler_watch.

SLAs come from the metric contracts (revenue_os.metrics.slas), the same the data-quality gate's
freshness checks and the Data Health dashboard use.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import psycopg

from revenue_os.metrics.contract import MetricContract
from revenue_os.metrics.scorecard import as_of_line
from revenue_os.metrics.slas import MART, SOURCE_NAMES, freshness_slas
from revenue_os.notifications import spells
from revenue_os.notifications.delivery import notify_oncall
from revenue_os.notifications.message import AlertMessage
from revenue_os.notifications.runbook import runbook_facts
from revenue_os.notifications.settings import AlertSettings
from revenue_os.transform.build import published_build

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Freshness:
    target: str  # a source (e.g. "hubspot") or "mart"
    last_success: datetime | None
    hours_old: float | None  # None: never loaded / never published
    sla_hours: float

    @property
    def kind(self) -> str:
        return "stale_mart" if self.target == MART else "stale_source"

    @property
    def is_stale(self) -> bool:
        return self.hours_old is None or self.hours_old > self.sla_hours

    @property
    def label(self) -> str:
        return (
            "The published mart"
            if self.target == MART
            else SOURCE_NAMES.get(self.target, self.target)
        )


def measure(conn: psycopg.Connection, slas: Mapping[str, float]) -> list[Freshness]:
    """Hours since each source's last committed load and since the last publish."""
    loaded = dict(
        conn.execute(
            "SELECT split_part(source_object, '.', 1), max(finished_at) "
            "FROM ops.load_batches GROUP BY 1"
        ).fetchall()
    )
    published = published_build(conn)
    loaded[MART] = published[1] if published else None
    now = conn.execute("SELECT now()").fetchone()[0]
    result = []
    for target, sla in slas.items():
        last = loaded.get(target)
        hours = None if last is None else (now - last).total_seconds() / 3600
        result.append(Freshness(target, last, hours, sla))
    return result


def check_freshness(
    conn: psycopg.Connection,
    contracts: Mapping[str, MetricContract],
    settings: AlertSettings | None = None,
) -> dict[str, list[str]]:
    """Alert on-call when a source or the mart goes stale (once per spell), and when it is
    fresh again; return the stale targets and what was alerted."""
    settings = settings or AlertSettings.from_env()
    readings = measure(conn, freshness_slas(contracts))
    alerted, recovered = [], []
    for reading in readings:
        with conn.transaction():
            if reading.is_stale:
                if spells.open_spell(conn, reading.kind, reading.target, _details(reading)):
                    notify_oncall(stale_message(reading, settings, as_of_line(conn)), settings)
                    alerted.append(reading.target)
            elif spells.clear_spells(conn, reading.kind, [reading.target]):
                notify_oncall(fresh_message(reading, settings), settings)
                recovered.append(reading.target)
    stale = [r.target for r in readings if r.is_stale]
    for reading in readings:
        log.info(
            "%-13s %s (SLA %.0f h)%s",
            reading.target,
            "never" if reading.hours_old is None else f"{reading.hours_old:.1f} h old",
            reading.sla_hours,
            "  STALE" if reading.is_stale else "",
        )
    return {"stale": stale, "alerted": alerted, "recovered": recovered}


def _details(reading: Freshness) -> dict:
    return {
        "last_success": reading.last_success.isoformat() if reading.last_success else None,
        "hours_old": None if reading.hours_old is None else round(reading.hours_old, 1),
        "sla_hours": reading.sla_hours,
    }


def _age(reading: Freshness) -> str:
    if reading.hours_old is None:
        return "never " + ("published" if reading.target == MART else "loaded")
    return f"{reading.hours_old:.1f} hours"


def stale_message(
    reading: Freshness, settings: AlertSettings, as_of: str | None = None
) -> AlertMessage:
    what = "published" if reading.target == MART else "loaded"
    return AlertMessage(
        kind_label="Stale data",
        title=f"{reading.label} is stale: last {what} {_age(reading)} ago",
        summary=(
            f"{reading.label} is older than its SLA of {reading.sla_hours:.0f} hours. The "
            "dashboards show data that old; the refresh may be failing, hanging or not scheduled."
        ),
        facts=[
            ("Data", reading.label),
            (
                "Last " + what,
                f"{reading.last_success:%Y-%m-%d %H:%M} UTC" if reading.last_success else "never",
            ),
            ("Age", _age(reading)),
            ("SLA", f"{reading.sla_hours:.0f} hours (from the metric contracts)"),
            *([("Dashboards show", as_of)] if as_of else []),
            *runbook_facts("stale-data", settings.runbook_url),
        ],
        links=[
            ("Refresh runs", f"{settings.airflow_url}/dags/revenue_refresh/runs"),
            *settings.runbook_links("stale-data"),
        ],
        tone="warning",
    )


def fresh_message(reading: Freshness, settings: AlertSettings) -> AlertMessage:
    return AlertMessage(
        kind_label="Fresh again",
        title=f"{reading.label} is fresh again",
        summary=f"{reading.label} is back within its SLA. No action needed.",
        facts=[
            ("Data", reading.label),
            ("Age", _age(reading)),
            ("SLA", f"{reading.sla_hours:.0f} hours"),
        ],
        links=settings.runbook_links("stale-data"),
        tone="resolved",
    )
