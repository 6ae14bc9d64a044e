"""The scheduler watch: a stopped Airflow scheduler noticed from outside Airflow.

The freshness watchdog is a DAG, so it only runs while the scheduler runs: a stopped scheduler
stops the very check that would report it, and failure callbacks do not fire either. This watch
is a small process of its own (`revenue-os watch-scheduler`, a service of the local stack and of
compose) that polls the API server's public health endpoint, GET /api/v2/monitor/health:

    {"metadatabase": {"status": "healthy"},
     "scheduler": {"status": "healthy", "latest_scheduler_heartbeat": "2026-...+00:00"}, ...}

The scheduler counts as down while that status is not "healthy" (Airflow reports it unhealthy
once its job stopped or its heartbeat is older than [scheduler] scheduler_health_check_threshold,
30 s), and the API server as down while it does not answer. When either has lasted `down_after`
(from the last heartbeat, else from the first check that found it down), on-call gets one alert;
when the scheduler is healthy again, one recovery notice. A restart blip shorter than that
sends nothing.

The alert is remembered as a `scheduler_down` spell in ops.alert_spells when the warehouse can
be reached, so a watch restarted during an outage neither repeats the alert nor forgets the
recovery. The warehouse is often the thing that is down (it shares its Postgres with Airflow's
metadata), so the mail never waits for it: the process also remembers what it sent.

REVENUE_OS_SCHEDULER_DOWN_AFTER_S     how long before on-call is told (default 300)
REVENUE_OS_SCHEDULER_WATCH_INTERVAL_S how often the health endpoint is polled (default 30)
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from revenue_os.notifications import spells
from revenue_os.notifications.delivery import notify_oncall
from revenue_os.notifications.message import AlertMessage
from revenue_os.notifications.runbook import runbook_facts
from revenue_os.notifications.settings import AlertSettings

log = logging.getLogger(__name__)

HEALTH_PATH = "/api/v2/monitor/health"
HEALTHY = "healthy"
SCHEDULER_DOWN = "scheduler_down"
SUBJECT_KEY = "airflow-scheduler"
RUNBOOK_SECTION = "the-airflow-scheduler-is-down"
DEFAULT_DOWN_AFTER_S = 300
DEFAULT_INTERVAL_S = 30
DOWN_AFTER_VARIABLE = "REVENUE_OS_SCHEDULER_DOWN_AFTER_S"
INTERVAL_VARIABLE = "REVENUE_OS_SCHEDULER_WATCH_INTERVAL_S"
# The other components the health endpoint reports, named as on-call knows them.
COMPONENTS = (("metadatabase", "metadata database"), ("dag_processor", "dag-processor"))

WHAT_IT_MEANS = (
    "Nothing is scheduled while it is down: no refresh, no monthly pack, and no freshness "
    "watchdog (a DAG of this same scheduler, so no stale-data alert will come either). The "
    "dashboards keep showing the last published mart, which grows older by the hour."
)
WHAT_NO_ANSWER_MEANS = (
    "Without the API server no task can run (tasks report to it) and the UI is out; if the "
    "scheduler is down too, nothing is scheduled: no refresh, no monthly pack, and no freshness "
    "watchdog, so no stale-data alert will come either. The dashboards keep showing the last "
    "published mart, which grows older by the hour."
)
AFTER_RECOVERY = (
    "The scheduler starts the latest missed run of each DAG (catchup is off), so a refresh "
    "missed during the outage runs now; tasks that were running when it stopped are failed "
    "after their heartbeat timeout and retried. Check that the refresh succeeds "
    "(revenue-os status); the freshness watchdog reports any data that went stale meanwhile."
)


@dataclass(frozen=True)
class HealthReading:
    """One poll of the health endpoint; `error` says why there is no answer to read."""

    checked_at: datetime
    scheduler_status: str | None = None
    latest_heartbeat: datetime | None = None
    components: dict[str, str | None] = field(default_factory=dict)
    error: str | None = None

    @property
    def scheduler_healthy(self) -> bool:
        return self.error is None and self.scheduler_status == HEALTHY

    def verdict(self) -> str:
        """One line for a log or a terminal: what the API server said about the scheduler."""
        if self.error is not None:
            return f"the API server did not answer ({self.error})"
        beat = f"{self.latest_heartbeat:%Y-%m-%d %H:%M:%S} UTC" if self.latest_heartbeat else "none"
        return f"scheduler {self.scheduler_status}, latest heartbeat {beat}"


def read_health(http: httpx.Client, api_url: str) -> HealthReading:
    """Poll the API server's health endpoint once; never raises (no answer is a reading too)."""
    checked_at = datetime.now(UTC)
    try:
        response = http.get(f"{api_url.rstrip('/')}{HEALTH_PATH}")
        response.raise_for_status()
        body = response.json()
        scheduler = body["scheduler"]
        heartbeat = scheduler.get("latest_scheduler_heartbeat")
        return HealthReading(
            checked_at=checked_at,
            scheduler_status=scheduler.get("status"),
            latest_heartbeat=_utc(datetime.fromisoformat(heartbeat)) if heartbeat else None,
            components={name: (body.get(name) or {}).get("status") for name, _ in COMPONENTS},
        )
    except httpx.HTTPStatusError as error:
        return HealthReading(checked_at, error=f"HTTP {error.response.status_code}")
    except httpx.HTTPError as error:
        return HealthReading(checked_at, error=f"{type(error).__name__}: {error}".rstrip(": "))
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        return HealthReading(checked_at, error=f"an answer that is not Airflow's health: {error}")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True)
class OperatorHints:
    """Where on-call reads the scheduler's log and how it is restarted, in this deployment."""

    scheduler_log: str
    restart: str


@dataclass
class Outage:
    """The current spell of a scheduler (or API server) found down."""

    first_seen: datetime
    latest: HealthReading
    last_heartbeat: datetime | None = None
    alerted: bool = False  # on-call was told, by this process or by a watch before it
    recorded: bool = False  # its spell is open in ops.alert_spells

    def observe(self, reading: HealthReading) -> None:
        """Take a new reading; the heartbeat is the latest Airflow reported (a reading without
        an answer keeps the one known before)."""
        self.latest = reading
        if reading.latest_heartbeat is not None:
            self.last_heartbeat = reading.latest_heartbeat

    @property
    def since(self) -> datetime:
        """Down since the last heartbeat, or since it was first found down when none is known."""
        if self.last_heartbeat is None:
            return self.first_seen
        return min(self.last_heartbeat, self.first_seen)

    def details(self) -> dict:
        return {
            "down_since": self.since.isoformat(),
            "last_heartbeat": self.last_heartbeat.isoformat() if self.last_heartbeat else None,
            "reading": self.latest.verdict(),
        }


class WarehouseSpells:
    """The watch's `scheduler_down` spell in ops.alert_spells, best effort.

    Every call connects afresh and returns None when the warehouse cannot be reached: the
    warehouse going down is one of the reasons the scheduler is down. Without a warehouse
    connection at all, the watch remembers its outages in its own memory only.
    """

    def __init__(self, uri: Callable[[], str]) -> None:
        self._uri = uri
        self._resolved: str | None = None
        self._unavailable = False
        self._last_problem: str | None = None

    def _warn(self, problem: str) -> None:
        # Once per distinct problem: a warehouse down for an hour is one line, not hundreds.
        if problem != self._last_problem:
            log.warning("%s", problem)
            self._last_problem = problem

    def _connect(self) -> psycopg.Connection | None:
        from revenue_os.warehouse.connection import connect

        if self._unavailable:
            return None
        if self._resolved is None:
            try:
                self._resolved = self._uri()
            except Exception as error:
                self._unavailable = True
                log.warning(
                    "no warehouse connection (%s): outages are remembered by this process only",
                    error,
                )
                return None
        return connect(self._resolved, connect_timeout=5)

    def open(self, details: dict, recipients: tuple[str, ...]) -> bool | None:
        """Open the spell; False when one was open already (an earlier watch alerted), None
        when it could not be recorded."""
        try:
            conn = self._connect()
            if conn is None:
                return None
            with conn:
                opened = spells.open_spell(conn, SCHEDULER_DOWN, SUBJECT_KEY, details, recipients)
        # Before migration 0012 the table refuses the kind: the mail goes out all the same.
        except Exception as error:
            self._warn(f"the outage could not be recorded in ops.alert_spells: {error}")
            return None
        self._last_problem = None
        return opened

    def clear(self) -> list[spells.Spell] | None:
        """Close the open spell; the spells closed now, None when the warehouse did not answer."""
        try:
            conn = self._connect()
            if conn is None:
                return None
            with conn:
                closed = spells.clear_spells(conn, SCHEDULER_DOWN, [SUBJECT_KEY])
        except psycopg.errors.UndefinedTable:
            return []  # a warehouse not migrated yet (a first start) holds no spell to close
        except Exception as error:
            self._warn(f"ops.alert_spells could not be read to close an outage: {error}")
            return None
        self._last_problem = None
        return closed


class SchedulerWatch:
    """Polls the health endpoint and alerts on-call once per outage, then once on recovery."""

    def __init__(
        self,
        api_url: str,
        *,
        down_after: timedelta,
        settings: AlertSettings,
        hints: OperatorHints,
        record: WarehouseSpells | None = None,
        status_file: Path | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.down_after = down_after
        self.settings = settings
        self.hints = hints
        self.record = record
        self.status_file = status_file
        self.outage: Outage | None = None
        self._pending_recovery: AlertMessage | None = None
        # A spell left open by an earlier watch is closed (and announced) at the first healthy
        # check; after that only this process's own outages need closing.
        self._earlier_spells_checked = record is None
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def check(self) -> HealthReading:
        """Poll once, alert or announce the recovery as due, and write the status file."""
        reading = read_health(self._http, self.api_url)
        if reading.scheduler_healthy:
            self._healthy(reading)
        else:
            self._down(reading)
        self._write_status(reading)
        return reading

    def run(self, interval: float, stop: threading.Event) -> None:
        """Check every `interval` seconds until `stop` is set. A failed check is logged, never
        fatal: the one process that notices an outage must not be ended by one."""
        log.info(
            "watching the scheduler through %s%s every %.0f s; on-call is told after %.0f s down",
            self.api_url,
            HEALTH_PATH,
            interval,
            self.down_after.total_seconds(),
        )
        while not stop.is_set():
            try:
                self.check()
            except Exception:
                log.exception("the scheduler check failed; trying again in %.0f s", interval)
            stop.wait(interval)

    # -- decisions --------------------------------------------------------------------
    def _down(self, reading: HealthReading) -> None:
        if self.outage is None:
            self.outage = Outage(first_seen=reading.checked_at, latest=reading)
            log.warning("scheduler not healthy: %s", reading.verdict())
        self.outage.observe(reading)
        self._pending_recovery = None  # down again before the notice went out: it is moot
        outage = self.outage
        if outage.alerted or reading.checked_at - outage.since < self.down_after:
            return
        if not outage.recorded and self.record is not None:
            opened = self.record.open(outage.details(), self.settings.oncall_emails)
            outage.recorded = opened is not None
            if opened is False:
                log.warning("on-call was already alerted about this outage by an earlier watch")
                outage.alerted = True
                return
        message = down_message(outage, self.api_url, self.down_after, self.settings, self.hints)
        outage.alerted = self._send(message)

    def _healthy(self, reading: HealthReading) -> None:
        outage, self.outage = self.outage, None
        if outage is not None:
            log.info("scheduler healthy again: %s", reading.verdict())
        closed: list[spells.Spell] = []
        if self.record is not None and (
            (outage is not None and outage.alerted) or not self._earlier_spells_checked
        ):
            found = self.record.clear()
            if found is not None:
                closed = found
                self._earlier_spells_checked = True
        if (outage is not None and outage.alerted) or closed:
            since = outage.since if outage is not None else _spell_down_since(closed[0])
            self._pending_recovery = back_message(since, reading, self.settings)
        if self._pending_recovery is not None and self._send(self._pending_recovery):
            self._pending_recovery = None

    def _send(self, message: AlertMessage) -> bool:
        """Deliver to on-call; False (logged) when it could not be sent, so the next check
        tries again rather than the outage going unreported."""
        try:
            sent = notify_oncall(message, self.settings)
        except Exception:
            log.exception("%r could not be sent; trying again at the next check", message.subject)
            return False
        if sent:
            log.warning("sent %r", message.subject)
        # Not sent because no channel is configured (notify_oncall logged it): trying again
        # every few seconds would change nothing.
        return True

    def _write_status(self, reading: HealthReading) -> None:
        """The latest check as JSON, written aside then renamed: a reader never sees half."""
        if self.status_file is None:
            return
        status = {
            "checked_at": reading.checked_at.isoformat(),
            "api_url": self.api_url,
            "scheduler": reading.scheduler_status if reading.error is None else "unreachable",
            "latest_heartbeat": (
                reading.latest_heartbeat.isoformat() if reading.latest_heartbeat else None
            ),
            "error": reading.error,
            "down_since": self.outage.since.isoformat() if self.outage else None,
            "alerted": bool(self.outage and self.outage.alerted),
            "down_after_s": self.down_after.total_seconds(),
        }
        self.status_file.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.status_file.parent, prefix=".scheduler-watch.")
        with os.fdopen(fd, "w") as handle:
            json.dump(status, handle)
        os.replace(temp, self.status_file)


def _spell_down_since(spell: spells.Spell) -> datetime:
    text = spell.details.get("down_since")
    return datetime.fromisoformat(text) if text else spell.opened_at


def read_status(path: Path) -> dict | None:
    """The watch's latest check from its status file; None when it has not written one."""
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None


# -- messages ---------------------------------------------------------------------------------
def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return f"{int(span.total_seconds())} s"
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes / 60:.1f} hours"


def down_message(
    outage: Outage,
    api_url: str,
    down_after: timedelta,
    settings: AlertSettings,
    hints: OperatorHints,
) -> AlertMessage:
    """The alert: what is down and since when, what that means, and the first step."""
    reading = outage.latest
    now = reading.checked_at
    down_for = _duration(now - outage.since)
    if reading.error is not None:
        title = f"Airflow API server not answering for {down_for}: the scheduler cannot be checked"
        facts = [
            ("What is down", "Airflow's API server; whether the scheduler runs is unknown"),
            ("Not answering since", _when(outage.first_seen)),
            ("Health check", f"{api_url}{HEALTH_PATH}: {reading.error}"),
        ]
        meaning = WHAT_NO_ANSWER_MEANS
    else:
        title = f"Airflow scheduler down: no heartbeat for {down_for}"
        others = ", ".join(
            f"{label} {reading.components.get(name) or 'not reported'}"
            for name, label in COMPONENTS
        )
        facts = [
            ("What is down", "the Airflow scheduler"),
            ("Airflow says", f"scheduler {reading.scheduler_status}; {others}"),
        ]
        meaning = WHAT_IT_MEANS
    facts += [
        (
            "Last heartbeat",
            f"{_when(outage.last_heartbeat)} ({_duration(now - outage.last_heartbeat)} ago)"
            if outage.last_heartbeat
            else "none known to this watch",
        ),
        ("What it means", meaning),
        ("Scheduler log", hints.scheduler_log),
        ("Restart it", hints.restart),
        ("Alerted after", f"{_duration(down_after)} down, once per outage"),
        *runbook_facts(RUNBOOK_SECTION, settings.runbook_url),
    ]
    return AlertMessage(
        kind_label="Scheduler down",
        title=title,
        summary="Noticed from outside Airflow by the scheduler watch. You will get one notice "
        "when the scheduler is healthy again and none in between.",
        facts=facts,
        links=[
            ("Airflow UI", settings.airflow_url),
            # As readers open Airflow, not as this process reaches it (compose's service name).
            ("Health endpoint", f"{settings.airflow_url}{HEALTH_PATH}"),
            *settings.runbook_links(RUNBOOK_SECTION),
        ],
    )


def back_message(since: datetime, reading: HealthReading, settings: AlertSettings) -> AlertMessage:
    """The recovery notice: how long it was down, and what to check now."""
    back_at = reading.checked_at
    return AlertMessage(
        kind_label="Scheduler back",
        title="Airflow scheduler is back",
        summary="The scheduler is healthy again. No action needed beyond the check below.",
        facts=[
            ("Down since", _when(since)),
            ("Healthy again at", _when(back_at)),
            ("Down for", _duration(max(back_at - since, timedelta(0)))),
            ("What happens now", AFTER_RECOVERY),
        ],
        links=[
            ("Refresh runs", f"{settings.airflow_url}/dags/revenue_refresh/runs"),
            *settings.runbook_links(RUNBOOK_SECTION),
        ],
        tone="resolved",
    )


def status_line(status: dict | None, now: datetime | None = None) -> str:
    """The watch's latest check for `revenue-os status`, e.g. "scheduler healthy (checked
    12 s ago)"."""
    if status is None:
        return "no check yet"
    now = now or datetime.now(UTC)
    checked = datetime.fromisoformat(status["checked_at"])
    ago = f"checked {_duration(now - checked)} ago"
    if status.get("down_since") is None:
        return f"scheduler {status['scheduler']} ({ago})"
    since = datetime.fromisoformat(status["down_since"])
    told = "on-call alerted" if status.get("alerted") else "on-call not alerted yet"
    return f"scheduler {status['scheduler']} since {_when(since)}, {told} ({ago})"


def timing_from_env(environ: dict[str, str] | None = None) -> tuple[float, float]:
    """(down_after, interval) in seconds from REVENUE_OS_SCHEDULER_* or the defaults."""
    env = os.environ if environ is None else environ
    return (
        float(env.get(DOWN_AFTER_VARIABLE) or DEFAULT_DOWN_AFTER_S),
        float(env.get(INTERVAL_VARIABLE) or DEFAULT_INTERVAL_S),
    )
