"""The local stack as a whole: `demo`, `down`, `status` and `refresh` for one profile.

Each step prints what it does and how long it took, so a first run on a fresh machine (which
installs packages) never looks hung.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from revenue_os.paths import PROJECT_ROOT
from revenue_os.warehouse.connection import BUILDER_ROLE, LOADER_ROLE, OWNER_ROLE, READER_ROLE
from revenue_os_stack import airflow_services as airflow
from revenue_os_stack import mail_server as mail
from revenue_os_stack import mock_api_services as mock_apis
from revenue_os_stack import scheduler_watch_service as scheduler_watch
from revenue_os_stack import superset_services as superset
from revenue_os_stack.memory import tree_pss_mib
from revenue_os_stack.postgres_cluster import (
    LocalPostgres,
    ensure_server_installed,
    find_server_bin_dir,
)
from revenue_os_stack.processes import (
    PortTaken,
    Service,
    ServiceDied,
    port_in_use,
    wait_until,
)
from revenue_os_stack.profile import Profile
from revenue_os_stack.secret_store import load_or_create_secrets
from revenue_os_stack.service_user import (
    ServiceUser,
    check_reachable,
    hand_over,
    service_user,
    writable_dirs,
)

REFRESH_DAG_ID = "revenue_refresh"
# DAGs that only run on their schedule: unpaused once the first refresh has published, so
# the watchdog never reports the mart a fresh stack has not built yet as stale.
OPERATIONS_DAG_IDS = ("freshness_watchdog", "monthly_reporting_pack", "weekly_revenue_preread")
# The secret that holds each warehouse login's password.
WAREHOUSE_PASSWORDS = {
    OWNER_ROLE: "WAREHOUSE_PASSWORD",
    LOADER_ROLE: "WAREHOUSE_LOADER_PASSWORD",
    BUILDER_ROLE: "WAREHOUSE_BUILDER_PASSWORD",
    READER_ROLE: "MART_READER_PASSWORD",
}


class Progress:
    """Numbered steps with timings on stdout."""

    def __init__(self, total: int, echo=print):
        self.total = total
        self.done = 0
        self.echo = echo
        self.started = time.monotonic()

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        self.done += 1
        self.echo(f"[{self.done}/{self.total}] {title} ...", flush=True)
        began = time.monotonic()
        yield
        self.echo(f"      done in {time.monotonic() - began:.1f} s", flush=True)

    def note(self, text: str) -> None:
        self.echo(f"      {text}", flush=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


@dataclass
class Stack:
    """The services of one profile, built from its secrets."""

    profile: Profile
    secrets: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.secrets = load_or_create_secrets(self.profile.secrets_file)

    # -- parts ------------------------------------------------------------------------
    def postgres(self) -> LocalPostgres | None:
        bin_dir = find_server_bin_dir()
        return LocalPostgres(self.profile, bin_dir) if bin_dir else None

    def airflow_env(self) -> dict[str, str]:
        return airflow.airflow_env(self.profile, self.secrets)

    def superset_env(self) -> dict[str, str]:
        return superset.superset_env(self.profile, self.secrets)

    def services(self) -> list[Service]:
        # The watch last: started once Airflow answers, and stopped first by `down`, so
        # stopping the stack is never mistaken for a scheduler outage.
        return (
            mail.services(self.profile)
            + mock_apis.services(self.profile)
            + airflow.services(self.profile)
            + superset.services(self.profile)
            + scheduler_watch.services(self.profile)
        )

    def airflow_client(self) -> airflow.AirflowClient:
        return airflow.AirflowClient(
            self.profile.airflow_url, airflow.ADMIN_USER, self.secrets["AIRFLOW_ADMIN_PASSWORD"]
        )

    def warehouse_uri(self, role: str) -> str:
        """The warehouse URI of one of its logins (see revenue_os.warehouse.connection)."""
        password = self.secrets[WAREHOUSE_PASSWORDS[role]]
        return f"postgresql://{role}:{password}@127.0.0.1:{self.profile.postgres_port}/warehouse"

    def migrate_warehouse(self) -> list:
        """Apply pending warehouse migrations as the owner, the one login allowed to."""
        from revenue_os.warehouse.migrations import migrate

        with psycopg.connect(self.warehouse_uri(OWNER_ROLE), autocommit=True) as conn:
            return migrate(conn)

    # -- commands ---------------------------------------------------------------------
    def demo(self, *, refresh: bool = True, refresh_timeout: float = 600, echo=print) -> dict:
        """Install what is missing, start everything, run one refresh; return a summary."""
        progress = Progress(total=8 if refresh else 7, echo=echo)
        profile = self.profile

        with progress.step("PostgreSQL server"):
            bin_dir = ensure_server_installed(progress.note)
            pg = LocalPostgres(profile, bin_dir)
            running_port = pg.running_port()
            if running_port is None:
                _check_port_free(profile.postgres_port, "postgres", "REVENUE_OS_POSTGRES_PORT")
            elif running_port != profile.postgres_port:
                raise PortTaken(
                    f"this profile's Postgres already runs on 127.0.0.1:{running_port}, but "
                    f"REVENUE_OS_POSTGRES_PORT now asks for {profile.postgres_port}: stop it "
                    f"first with `revenue-os --profile {profile.name} down`"
                )
            if pg.init():
                progress.note(f"created a cluster in {pg.data_dir}")
            started = pg.start()
            progress.note(f"{'started' if started else 'already running'} on 127.0.0.1:{pg.port}")
            pg.bootstrap_roles(self.secrets)
            progress.note(
                f"roles {', '.join(WAREHOUSE_PASSWORDS)}, airflow, superset; databases "
                "warehouse, airflow, superset"
            )

        with progress.step("Superset venv (.venv-superset)"):
            if not superset.ensure_venv(progress.note):
                progress.note("up to date")

        with progress.step("Airflow metadata database"):
            airflow.write_passwords_file(profile, self.secrets)
            # From here on nothing runs as root in a folder the services' user may write: the
            # homes are handed over (the passwords file with them), and the one-off commands
            # run as that user, as the services will.
            user = self._service_user(progress)

            def as_user(env: dict[str, str]) -> dict[str, str]:
                return user.env(env, profile.service_home) if user else env

            airflow_env = as_user(self.airflow_env())
            airflow.run_airflow(airflow_env, "db", "migrate", user=user)
            airflow.ensure_pools(airflow_env, user)

        with progress.step("Superset metadata database, admin user and roles"):
            if not superset.initialise(
                profile, as_user(self.superset_env()), self.secrets, progress.note, user
            ):
                progress.note("already initialised")

        with progress.step(
            "Starting the mail server, the mock vendor APIs, Airflow (api-server, scheduler, "
            "dag-processor) and Superset"
        ):
            ports = {
                "mail-server": (profile.mail_port, "REVENUE_OS_MAIL_PORT"),
                "mock-apis": (profile.mock_apis_port, "REVENUE_OS_MOCK_APIS_PORT"),
                "airflow-api-server": (profile.airflow_port, "REVENUE_OS_AIRFLOW_PORT"),
                "airflow-scheduler": (profile.scheduler_health_port, "REVENUE_OS_AIRFLOW_PORT"),
                "superset": (profile.superset_port, "REVENUE_OS_SUPERSET_PORT"),
            }
            for service in self.services():
                if service.name in ports and service.pid() is None:
                    port, variable = ports[service.name]
                    _check_port_free(port, service.name, variable)
            # The sources and the mail server first: the scheduler may start a run (and a run
            # may send an alert) as soon as it is up.
            for services, env in (
                (mail.services(profile), dict(os.environ)),  # needs nothing of the stack's
                (mock_apis.services(profile), mock_apis.mock_env(self.secrets)),
                (airflow.services(profile), airflow_env),
                (superset.services(profile), self.superset_env()),
            ):
                env = as_user(env)
                for service in services:
                    was_running = service.pid()
                    pid = service.start(env, PROJECT_ROOT, user)
                    if not was_running:
                        state = ""
                    elif pid == was_running:
                        state = " (already running)"
                    else:
                        state = " (restarted: its configuration changed)"
                    progress.note(f"{service.name}: pid {pid}{state}")

        with progress.step("Waiting for the services to answer, then starting the scheduler watch"):
            client = self.airflow_client()
            by_name = {service.name: service for service in self.services()}

            def alive_and(check, *names):
                # A service that died will never answer: fail now, with its log, not at timeout.
                def probe():
                    for name in names:
                        by_name[name].ensure_alive()
                    return check()

                return probe

            wait_until(
                alive_and(
                    lambda: client.health()["metadatabase"]["status"] == "healthy",
                    "airflow-api-server",
                ),
                timeout=180,
                what=f"Airflow API at {profile.airflow_url}",
                fatal=(ServiceDied,),
            )
            wait_until(
                alive_and(lambda: _scheduler_healthy(client), "airflow-scheduler"),
                timeout=120,
                what="Airflow scheduler",
                fatal=(ServiceDied,),
            )
            wait_until(
                alive_and(lambda: mock_apis.health(profile), "mock-apis"),
                timeout=300,
                what=f"mock vendor APIs at {profile.mock_apis_url}",
                fatal=(ServiceDied,),
            )
            wait_until(
                alive_and(lambda: mail.health(profile), "mail-server"),
                timeout=30,
                what=f"mail server at 127.0.0.1:{profile.mail_port}",
                fatal=(ServiceDied,),
            )
            wait_until(
                alive_and(lambda: superset.health(profile), "superset"),
                timeout=180,
                what=f"Superset at {profile.superset_url}",
                fatal=(ServiceDied,),
            )
            progress.note(
                f"Airflow {profile.airflow_url} and Superset {profile.superset_url} healthy; "
                f"mail to 127.0.0.1:{profile.mail_port} lands in {profile.mail_dir}"
            )
            self._start_scheduler_watch(airflow_env, progress, user)

        # The refresh's first task migrates the warehouse, as its owner.
        with progress.step("Warehouse reachable by each of its logins"):
            for role in WAREHOUSE_PASSWORDS:
                with psycopg.connect(self.warehouse_uri(role), connect_timeout=10) as conn:
                    conn.execute("SELECT 1")
            progress.note(f"{', '.join(WAREHOUSE_PASSWORDS)} can connect")

        summary: dict = {"profile": profile.name}
        if refresh:
            with progress.step(f"Refresh: one {REFRESH_DAG_ID} run through the scheduler"):
                summary["run"] = self._refresh(client, progress, timeout=refresh_timeout)
        client.close()
        summary["elapsed_s"] = round(progress.elapsed, 1)
        return summary

    def _service_user(self, progress: Progress) -> ServiceUser | None:
        """As root: the unprivileged user every service runs as, given its folders."""
        user = service_user()
        if user is None:
            return None
        check_reachable(user, [airflow.BIN_DIR / "python", superset.VENV_DIR / "bin" / "python"])
        hand_over(user, writable_dirs(self.profile))
        progress.note(f"services run as the OS user {user.name!r} (uid {user.uid}), not root")
        return user

    def _start_scheduler_watch(
        self, env: dict[str, str], progress: Progress, user: ServiceUser | None = None
    ) -> None:
        """Start the watch only now that Airflow answers: a start-up slower than its threshold
        must not page anyone. Wait for its first check, which proves it polls."""
        (watch,) = scheduler_watch.services(self.profile)
        was_running = watch.pid()
        started = datetime.now(UTC)
        pid = watch.start(env, PROJECT_ROOT, user)
        interval = scheduler_watch.interval_s(self.profile)
        # A watch that kept running checked within its interval; a new one checks at once.
        since = started - timedelta(seconds=interval + 5) if pid == was_running else started

        def checked() -> bool:
            watch.ensure_alive()  # a watch that died will never check: fail now, with its log
            return scheduler_watch.checked_since(self.profile, since)

        wait_until(
            checked,
            timeout=interval + 60,
            what=f"{watch.name} (its first check, in {scheduler_watch.status_file(self.profile)})",
            fatal=(ServiceDied,),
        )
        down_after = scheduler_watch.down_after_s(self.profile)
        progress.note(
            f"{watch.name}: pid {pid}{' (already running)' if pid == was_running else ''}; "
            f"mails on-call when the scheduler is down for {down_after:g} s"
        )

    def _refresh(
        self, client: airflow.AirflowClient, progress: Progress, timeout: float = 600
    ) -> dict:
        def parsed() -> bool:
            errors = client.import_errors()
            if errors:
                raise DagImportError(errors[0].get("stack_trace", str(errors[0])))
            for dag_id in (REFRESH_DAG_ID, *OPERATIONS_DAG_IDS):
                client.dag(dag_id)
            return True

        wait_until(
            parsed,
            timeout=180,
            what=f"DAGs {REFRESH_DAG_ID}, {', '.join(OPERATIONS_DAG_IDS)} parsed by the dag-processor",
            fatal=(DagImportError,),
        )
        run_id = self._start_or_follow_refresh(client, progress)

        def show(states: dict[str, str | None]) -> None:
            counts: dict[str, int] = {}
            for state in states.values():
                counts[state or "waiting"] = counts.get(state or "waiting", 0) + 1
            done = counts.get("success", 0)
            progress.note(
                f"{done}/{len(states)} tasks done: "
                + ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
            )

        run = client.wait_for_run(REFRESH_DAG_ID, run_id, timeout=timeout, on_change=show)
        tasks = client.task_instances(REFRESH_DAG_ID, run_id)
        result = {
            "dag_id": REFRESH_DAG_ID,
            "run_id": run_id,
            "state": run["state"],
            "url": f"{client.base_url}/dags/{REFRESH_DAG_ID}/runs/{run_id}",
            "tasks": {ti["task_id"]: (ti["state"], ti.get("duration")) for ti in tasks},
            "loads": self._loads_since(run.get("start_date")),
            "mart": self._mart_built_by(run_id),
        }
        if run["state"] != "success":
            failed = [ti for ti in tasks if ti["state"] == "failed"]
            raise RefreshFailed(result, failed)
        for dag_id in OPERATIONS_DAG_IDS:
            client.set_paused(dag_id, False)
        return result

    def _start_or_follow_refresh(self, client: airflow.AirflowClient, progress: Progress) -> str:
        """The one refresh to show: a run already under way, else the run the schedule starts
        on unpausing (its latest slot, when no run has it yet), else a new manual run.

        Never one of each: a trigger beside the schedule's run would queue a second refresh
        behind the first, which then reports "new 0" for everything the first loaded."""
        active = [
            run
            for run in client.dag_runs(REFRESH_DAG_ID, limit=5, order_by="-run_after")
            if run["state"] in ("queued", "running")
        ]
        client.set_paused(REFRESH_DAG_ID, False)
        if active:
            run_id = active[-1]["dag_run_id"]  # the oldest: the next to finish
            progress.note(f"run {run_id} (already {active[-1]['state']}: following it)")
            return run_id
        due = client.dag(REFRESH_DAG_ID).get("next_dagrun_run_after")
        if due and datetime.fromisoformat(due) <= datetime.now(UTC):
            found: list[str] = []

            def scheduled() -> bool:
                found[:] = [
                    run["dag_run_id"]
                    for run in client.dag_runs(REFRESH_DAG_ID, limit=5, order_by="-run_after")
                    if run["run_type"] == "scheduled"
                    and datetime.fromisoformat(run["run_after"]) == datetime.fromisoformat(due)
                ]
                return bool(found)

            try:
                wait_until(scheduled, timeout=60, interval=1, what="the schedule's run")
            except TimeoutError:
                pass  # the scheduler did not take the slot: trigger instead
            else:
                progress.note(f"run {found[0]} (the schedule's run for {due}, due on unpausing)")
                return found[0]
        run_id = client.trigger(REFRESH_DAG_ID, note="triggered by revenue-os")
        progress.note(f"run {run_id}")
        return run_id

    def _loads_since(self, started: str | None) -> list[tuple]:
        """What each load of a run brought: object, extracted, inserted, updated, quarantined."""
        if not started:
            return []
        with psycopg.connect(self.warehouse_uri(LOADER_ROLE), connect_timeout=10) as conn:
            return conn.execute(
                """
                SELECT source_object, rows_extracted, rows_inserted, rows_updated, rows_quarantined
                FROM ops.load_batches WHERE started_at >= %s ORDER BY source_object
                """,
                (started,),
            ).fetchall()

    def _mart_built_by(self, run_id: str) -> dict | None:
        """The mart build of a run: its status and the published tables' row counts."""
        with psycopg.connect(self.warehouse_uri(LOADER_ROLE), connect_timeout=10) as conn:
            build = conn.execute(
                "SELECT build_id, status FROM ops.mart_builds WHERE run_id = %s"
                " ORDER BY started_at DESC LIMIT 1",
                (run_id,),
            ).fetchone()
            if not build:
                return None
            models = conn.execute(
                "SELECT model, row_count FROM ops.mart_build_models"
                " WHERE build_id = %s AND layer = 'marts' ORDER BY model",
                (build[0],),
            ).fetchall()
        return {"build_id": str(build[0]), "status": build[1], "models": models}

    def refresh(self, echo=print, timeout: float = 600) -> dict:
        progress = Progress(total=1, echo=echo)
        client = self.airflow_client()
        try:
            with progress.step(f"Refresh: one {REFRESH_DAG_ID} run through the scheduler"):
                return self._refresh(client, progress, timeout=timeout)
        finally:
            client.close()

    def down(self, echo=print) -> list[str]:
        """Stop exactly the processes this profile started (by PID file) and its Postgres."""
        stopped = []
        for service in reversed(self.services()):
            if service.stop():
                stopped.append(service.name)
                echo(f"stopped {service.name}")
        pg = self.postgres()
        if pg and pg.stop():
            stopped.append("postgres")
            echo("stopped postgres")
        if not stopped:
            echo(f"nothing of profile {self.profile.name!r} was running")
        return stopped

    def purge(self, echo=print) -> list[Path]:
        """Stop the profile, then delete its state: cluster, secrets, logs, homes, mail."""
        self.down(echo=echo)
        removed = []
        for folder in (self.profile.postgres_dir, self.profile.state_dir):
            if folder.exists():
                shutil.rmtree(folder)
                removed.append(folder)
                echo(f"deleted {folder}")
        # A cluster kept outside the checkout lives in folders of its own: drop them once empty.
        outside = self.profile.postgres_dir.parent
        while str(outside).startswith("/var/tmp/revenue-os-") and outside.exists():
            if any(outside.iterdir()):
                break
            outside.rmdir()
            outside = outside.parent
        return removed

    def status(self) -> dict:
        """Which services run, their memory, and the latest refresh runs."""
        rows = []
        for service in self.services():
            pid = service.pid()
            rows.append(
                {
                    "service": service.name,
                    "pid": pid,
                    "pss_mib": round(tree_pss_mib(pid), 1) if pid else None,
                    "log": str(service.log_file),
                }
            )
        pg = self.postgres()
        pg_pid = _postmaster_pid(pg) if pg and pg.is_running() else None
        rows.insert(
            0,
            {
                "service": "postgres",
                "pid": pg_pid,
                "pss_mib": round(tree_pss_mib(pg_pid), 1) if pg_pid else None,
                "log": str(pg.log_link) if pg else None,
            },
        )
        status: dict = {
            "profile": self.profile.name,
            "services": rows,
            "scheduler_watch": scheduler_watch.latest_check(self.profile),
            "runs": [],
        }
        if all(row["pid"] for row in rows):
            client = self.airflow_client()
            try:
                status["runs"] = [
                    {
                        k: run.get(k)
                        for k in ("dag_run_id", "state", "run_type", "start_date", "end_date")
                    }
                    for run in client.dag_runs(REFRESH_DAG_ID, limit=5)
                ]
            except Exception as error:  # the API is still starting, or the DAG is not parsed yet
                status["runs_error"] = str(error)
            finally:
                client.close()
        return status


class DagImportError(RuntimeError):
    """The refresh DAG file does not import; the message is Airflow's stack trace."""


class RefreshFailed(RuntimeError):
    def __init__(self, result: dict, failed: list[dict]):
        names = ", ".join(ti["task_id"] for ti in failed) or "no task failed (run marked failed)"
        super().__init__(
            f"refresh run {result['run_id']} ended {result['state']}: failed task(s) {names}; "
            f"logs: {result['url']}"
        )
        self.result = result


def _check_port_free(port: int, service: str, variable: str) -> None:
    if port_in_use(port):
        raise PortTaken(
            f"127.0.0.1:{port} is already in use, and {service} needs it: stop what listens "
            f"there, or give this profile another port with {variable}=<port>"
        )


def _scheduler_healthy(client: airflow.AirflowClient) -> bool:
    return client.health()["scheduler"]["status"] == "healthy"


def _postmaster_pid(pg: LocalPostgres) -> int | None:
    try:
        return int((pg.data_dir / "postmaster.pid").read_text().split()[0])
    except (FileNotFoundError, PermissionError, ValueError, IndexError):
        return None
