"""The stack commands: run the local stack of a profile (demo, down, status, refresh, env,
purge), its mail server and the mock vendor APIs.

The stack (revenue_os_stack) and the mock APIs (revenue_os_mock_apis) are packages of their
own, installed for development and the demo and never in the production images; these
commands import them when they run and say so when they are missing.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

# How long `demo` and `refresh` wait for a refresh run: a first refresh at the demo's scale
# takes under a minute.
REFRESH_TIMEOUT_S = 600.0


def _missing(package: str) -> int:
    print(
        f"revenue-os: {package} is a development package, not installed here; `make venv` "
        "installs it (the production images leave it out)",
        file=sys.stderr,
    )
    return 2


def serve_mock_apis(argv: list[str]) -> int:
    try:
        from revenue_os_mock_apis.server import main as serve
    except ImportError:
        return _missing("revenue_os_mock_apis (the mock vendor APIs)")
    return serve(argv)


def profile_help() -> str:
    try:
        return _profile_help()
    except ImportError:
        return "which copy of the local stack (needs revenue_os_stack): demo, test or bench"


def add_parsers(commands) -> None:
    demo = commands.add_parser(
        "demo",
        help="set up and start the whole stack, run one refresh, print where to look",
        description="Install what is missing (PostgreSQL server, Superset venv), start a "
        "project-local Postgres, Airflow (api-server, scheduler, dag-processor) and Superset "
        "on 127.0.0.1, run one refresh through the scheduler (the schedule's run when one is "
        "due, else a manual one), wait for it and print the URLs and logins. Safe to run again: "
        "what runs keeps running, what exists is reused.",
    )
    demo.add_argument(
        "--no-refresh", action="store_true", help="start the stack but do not trigger a refresh run"
    )
    demo.add_argument(
        "--refresh-timeout",
        type=float,
        default=REFRESH_TIMEOUT_S,
        metavar="SECONDS",
        help=f"how long to wait for the refresh run (default {REFRESH_TIMEOUT_S:g}; a first "
        "refresh at REVENUE_OS_MOCK_SCALE=10 took 11 minutes on two cores)",
    )

    commands.add_parser(
        "down",
        help="stop exactly the processes `demo` started for this profile",
        description="Stop the services recorded in .local/<profile>/run/*.pid (checked against "
        "the process start time, so a reused PID is never signalled) and the profile's Postgres. "
        "Data, secrets and logs are kept.",
    )
    status = commands.add_parser(
        "status",
        help="show which services run, their memory (PSS) and the latest refresh runs",
    )
    status.add_argument("--json", action="store_true", help="print machine-readable JSON")
    refresh = commands.add_parser(
        "refresh",
        help="trigger the refresh DAG through the running scheduler and wait for it",
    )
    refresh.add_argument(
        "--timeout",
        type=float,
        default=REFRESH_TIMEOUT_S,
        metavar="SECONDS",
        help=f"how long to wait for the run (default {REFRESH_TIMEOUT_S:g})",
    )
    commands.add_parser(
        "mock-apis",
        add_help=False,
        help="serve the mock vendor APIs (HubSpot, Salesforce, Google Ads, LinkedIn, NetSuite); "
        "`revenue-os mock-apis --help` for their options",
    )
    commands.add_parser(
        "env",
        help="print `export` lines for running the airflow CLI against this profile",
        description='Example: eval "$(revenue-os env)" && airflow dags list (as root: '
        "runuser -u revenue-os -m -- airflow dags list, as the services run)",
    )
    purge = commands.add_parser(
        "purge",
        help="stop the profile, then delete its data, secrets and logs (asks first)",
        description="Stop the profile like `down`, then delete its Postgres cluster and "
        ".local/<profile>/ (secrets, logs, received mail, Airflow and Superset homes). The venvs "
        "are kept.",
    )
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    mail_server = commands.add_parser(
        "mail-server",
        help="serve SMTP on 127.0.0.1 and store every message as a .eml file (the stack "
        "starts it; Airflow's smtp_default points at it)",
        description="Run the profile's SMTP server in the foreground until SIGTERM or Ctrl-C. "
        "It accepts any sender and recipient without TLS or login, on 127.0.0.1 only, and "
        "writes each message as received (plus X-Revenue-OS-* trace headers naming the SMTP "
        "envelope) to <dir>/<UTC time>-<sequence>-<subject>.eml, atomically. Read them with "
        "`revenue-os mail list`.",
    )
    mail_server.add_argument(
        "--port", type=int, help="port on 127.0.0.1 (default: the profile's mail port)"
    )
    mail_server.add_argument(
        "--dir",
        type=Path,
        help="where to store the messages (default: .local/<profile>/mail)",
    )


def run(args) -> int:
    try:
        from revenue_os_stack.profile import ProfileError, load_profile
        from revenue_os_stack.service_user import SERVICE_USER
        from revenue_os_stack.stack import RefreshFailed, Stack
    except ImportError:
        return _missing("revenue_os_stack (the local stack)")
    try:
        profile = load_profile(args.profile)
    except ProfileError as error:
        print(f"revenue-os: {error}", file=sys.stderr)
        return 2
    if args.command == "mail-server":
        from revenue_os_stack.mail_server import run as serve_mail

        return serve_mail(args.port or profile.mail_port, args.dir or profile.mail_dir)
    stack = Stack(profile)
    try:
        if args.command == "demo":
            summary = stack.demo(refresh=not args.no_refresh, refresh_timeout=args.refresh_timeout)
            _print_demo_summary(stack, summary)
        elif args.command == "down":
            stack.down()
        elif args.command == "status":
            status = stack.status()
            if args.json:
                print(json.dumps(status, indent=2, default=str))
            else:
                _print_status(status)
        elif args.command == "refresh":
            run = stack.refresh(timeout=args.timeout)
            print(f"{run['run_id']}: {run['state']}  {run['url']}")
        elif args.command == "purge":
            if not args.yes:
                if not sys.stdin.isatty():
                    print(
                        "revenue-os purge: pass --yes to delete without a prompt", file=sys.stderr
                    )
                    return 2
                answer = input(f"Delete all data of profile {profile.name!r}? [y/N] ")
                if answer.strip().lower() not in ("y", "yes"):
                    print("nothing deleted")
                    return 1
            stack.purge()
        elif args.command == "env":
            env = stack.airflow_env()
            for key in sorted(env):
                if key.startswith(("AIRFLOW", "REVENUE_OS")) or key == "PATH":
                    print(f"export {key}={shlex.quote(env[key])}")
            if os.geteuid() == 0:
                # AIRFLOW_HOME is the services' user's: Airflow run there as root would import
                # code that user may have written.
                print(
                    f"revenue-os env: as root, run Airflow as {SERVICE_USER}: "
                    f"runuser -u {SERVICE_USER} -m -- airflow ...",
                    file=sys.stderr,
                )
    except RefreshFailed as error:
        print(f"revenue-os: {error}", file=sys.stderr)
        return 1
    except (RuntimeError, TimeoutError, OSError) as error:
        print(f"revenue-os {args.command}: {error}", file=sys.stderr)
        return 1
    return 0


def _profile_help() -> str:
    from revenue_os_stack.profile import DEFAULT_PORTS

    lines = [
        f"{name} (postgres {pg}, airflow {af}, superset {ss}, mock APIs {mock}, mail {smtp})"
        for name, (pg, af, ss, mock, smtp) in DEFAULT_PORTS.items()
    ]
    return (
        "which copy of the stack: "
        + "; ".join(lines)
        + ". Default: $REVENUE_OS_PROFILE or demo. Ports can be overridden with "
        "REVENUE_OS_POSTGRES_PORT, REVENUE_OS_AIRFLOW_PORT, REVENUE_OS_SUPERSET_PORT, "
        "REVENUE_OS_MOCK_APIS_PORT, REVENUE_OS_MAIL_PORT."
    )


def _dashboard_slugs() -> list[str]:
    from revenue_os.dashboards.specs import load_specs

    return [spec.slug for spec in load_specs().values()]


def _print_demo_summary(stack, summary: dict) -> None:
    profile, secrets = stack.profile, stack.secrets
    print()
    print(f"Revenue OS is up (profile {profile.name}, {summary['elapsed_s']} s).")
    print()
    print(f"  Airflow   {profile.airflow_url}    login admin / {secrets['AIRFLOW_ADMIN_PASSWORD']}")
    print(
        f"  Superset  {profile.superset_url}    login admin / {secrets['SUPERSET_ADMIN_PASSWORD']}"
    )
    print(f"            executive / {secrets['SUPERSET_EXECUTIVE_PASSWORD']} (dashboards only)")
    for slug in _dashboard_slugs():
        print(f"            {profile.superset_url}/superset/dashboard/{slug}/")
    print(
        f"  Postgres  127.0.0.1:{profile.postgres_port}  database warehouse: read the mart as "
        f"mart_reader (passwords in "
        f"{profile.secrets_file.relative_to(profile.state_dir.parents[1])}; docs/security.md "
        "says which login does what)"
    )
    print(f"  Logs      {profile.log_dir}")
    print(
        f"  Mail      alerts, the reporting pack and the pre-read land in {profile.mail_dir} "
        f"(SMTP 127.0.0.1:{profile.mail_port}); read them with `revenue-os mail list`"
    )
    run = summary.get("run")
    if run:
        print()
        print(f"  Refresh   {run['run_id']}: {run['state']}")
        failed = [task for task, (state, _) in run["tasks"].items() if state != "success"]
        print(f"            {len(run['tasks']) - len(failed)}/{len(run['tasks'])} tasks succeeded")
        if run.get("loads"):
            print(
                f"            {'raw object':<34} {'rows read':>9} {'new':>8} {'changed':>8} {'quarantined':>11}"
            )
            for name, extracted, inserted, updated, quarantined in run["loads"]:
                print(
                    f"            {name:<34} {extracted:>9} {inserted:>8} {updated:>8} {quarantined:>11}"
                )
        print(f"            {run['url']}")
        mart = run.get("mart")
        if mart:
            print()
            print(f"  Mart      build {mart['build_id']}: {mart['status']}")
            for model, rows in mart["models"]:
                print(f"            mart.{model:<30} {rows:>9} rows")
    print()
    print("Stop it with `make down` (or `revenue-os down`); see it with `revenue-os status`.")


def _print_status(status: dict) -> None:
    print(f"profile {status['profile']}")
    total = 0.0
    for row in status["services"]:
        state = f"pid {row['pid']}" if row["pid"] else "stopped"
        memory = f"{row['pss_mib']:.0f} MiB" if row["pss_mib"] is not None else ""
        total += row["pss_mib"] or 0
        print(f"  {row['service']:<24} {state:<12} {memory:>9}")
    print(f"  {'total':<24} {'':<12} {total:>5.0f} MiB")
    if "scheduler_watch" in status:
        from revenue_os.notifications.scheduler_watch import status_line

        print(f"scheduler watch: {status_line(status['scheduler_watch'])}")
    if status.get("runs"):
        print("latest refresh runs:")
        for run in status["runs"]:
            print(f"  {run['dag_run_id']:<48} {run['state']:<8} {run['run_type']}")
    elif status.get("runs_error"):
        print(f"refresh runs unavailable: {status['runs_error']}")
