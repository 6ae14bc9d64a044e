"""`revenue-os`: the operator's command for the local stack.

revenue-os demo      install what is missing, start everything, run one refresh
revenue-os status    which services run, their memory, the latest refresh runs
revenue-os refresh   trigger the refresh DAG through the scheduler and wait for it
revenue-os down      stop exactly what `demo` started
revenue-os mart      build, audit and publish the mart by hand; roll it back; its builds;
                     docs: write the model reference in docs/mart.md (--check: verify)
revenue-os decisions record, list and close decisions taken on KPI breaches
revenue-os pack      build the monthly reporting pack (HTML e-mail + PDF) of a closed month
                     from its frozen KPI snapshot; --send e-mails it
revenue-os env       print the environment for running the airflow CLI by hand
revenue-os glossary  write docs/metric-glossary.md from the metric contracts (--check: verify)
revenue-os dashboards build|import  compile superset/dashboards/*.yaml into a Superset bundle;
                     import it into the profile's Superset and check every chart's data
revenue-os mail list|show  read the mail the stack sent (alerts, the reporting pack)
revenue-os mail-server     the local SMTP server that stores that mail (the stack starts it)
revenue-os watch-scheduler notice a stopped Airflow scheduler from outside Airflow and mail
                     on-call (the stack starts it; --once checks once)
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from revenue_os import __version__
from revenue_os.runtime.profile import DEFAULT_PORTS, ProfileError, load_profile
from revenue_os.runtime.service_user import SERVICE_USER

# How long `demo` and `refresh` wait for a refresh run: a first refresh at the demo's scale
# takes under a minute.
REFRESH_TIMEOUT_S = 600.0


def _profile_help() -> str:
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


class _ContractActionTypes:
    """The metric contracts' action types as argparse choices, read only when a decision is
    parsed: importing the contracts' models on every start would make each --help slow."""

    @staticmethod
    def _types() -> tuple[str, ...]:
        from revenue_os.operations.decisions import ACTION_TYPES

        return ACTION_TYPES

    def __contains__(self, item: object) -> bool:
        return item in self._types()

    def __iter__(self):
        return iter(self._types())


def _iso_date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _month(text: str):
    from revenue_os.reporting.snapshot import PackError, parse_month

    try:
        return parse_month(text)
    except PackError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revenue-os",
        description="Run the Revenue OS stack (Postgres, Airflow 3, Superset) locally on loopback.",
        epilog="State (secrets, logs, PID files) lives under .local/<profile>/ in the checkout.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--profile", help=_profile_help())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    mart = commands.add_parser(
        "mart",
        help="build, audit and publish the mart from raw by hand; roll it back; list its builds",
        description="build: run the SQL models (sql/models) aside, audit them and swap them in "
        "as the published mart, as the refresh DAG does (needs the profile's Postgres running). "
        "rollback: put the previously published mart back. builds: the latest builds with "
        "their status and audits that failed. docs: write the model reference in docs/mart.md "
        "from the models' properties files (sql/models/*/_*__models.yml); no Postgres needed.",
    )
    mart.add_argument("action", choices=["build", "rollback", "builds", "docs"])
    mart.add_argument(
        "--check",
        action="store_true",
        help="docs: exit 1 if docs/mart.md is out of date with the properties files, write nothing",
    )
    mart.add_argument(
        "--no-publish",
        action="store_true",
        help="build: stop after the audit and leave the result in schema mart_build",
    )
    mart.add_argument(
        "--full",
        action="store_true",
        help="build: rebuild the incremental staging models from all of raw too (they are "
        "otherwise brought forward by the raw rows loaded since their last build)",
    )
    decisions = commands.add_parser(
        "decisions",
        help="record, list and close the decisions taken on KPI breaches (the decision log)",
        description="The decision log in ops.decision_log: what a forum decided about a KPI, "
        "who owns the action, by when, and how success is measured. Open and overdue actions "
        "head the next reporting pack.",
    )
    actions = decisions.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="record a decision")
    add.add_argument("--kpi", required=True, help="the metric contract's name, e.g. roas")
    add.add_argument("--forum", required=True, help='e.g. "Weekly revenue review"')
    add.add_argument("--owner", required=True, help="who owns the action, e.g. CMO")
    add.add_argument("--trigger", required=True, help="the breach, e.g. 'ROAS 0.8 < 1 in June'")
    add.add_argument(
        "--type",
        required=True,
        choices=_ContractActionTypes(),
        metavar="TYPE",  # listing the choices here would read the contracts at every start
        help="the action type, as in the metric contracts' action_on_breach (e.g. reallocate)",
    )
    add.add_argument("--action", dest="action_text", required=True, help="what will be done")
    add.add_argument("--due", required=True, type=_iso_date, help="due date, YYYY-MM-DD")
    add.add_argument("--success", required=True, help="how success is measured")
    add.add_argument(
        "--date", type=_iso_date, default=None, help="date of the decision (default: today)"
    )
    listing = actions.add_parser("list", help="open actions first (overdue marked), then closed")
    listing.add_argument("--open", action="store_true", help="only the open actions")
    close = actions.add_parser("close", help="mark an open action done (or --dropped)")
    close.add_argument("decision_id", type=int)
    close.add_argument("--dropped", action="store_true", help="closed without being done")
    pack = commands.add_parser(
        "pack",
        help="build the monthly reporting pack (HTML e-mail and PDF) of a closed month",
        description="Freeze the month's KPI values from the published mart into "
        "ops.kpi_snapshots (once: a rerun keeps the frozen values unless --refreeze), then "
        "write the pack drawn from that snapshot, with the open actions of the decision log, "
        "the exceptions and the known data issues, as revenue-os-pack-YYYY-MM.html and .pdf. "
        "With --send, e-mail it to REVENUE_OS_PACK_RECIPIENTS through the profile's Airflow "
        "connection smtp_default. Needs the profile's Postgres running.",
    )
    pack.add_argument(
        "--month",
        type=_month,
        default=None,
        help="the closed month, YYYY-MM (default: the last closed month)",
    )
    pack.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the HTML and PDF (default: .local/<profile>/packs)",
    )
    pack.add_argument("--send", action="store_true", help="e-mail the pack to its recipients")
    pack.add_argument(
        "--refreeze",
        action="store_true",
        help="replace the month's frozen KPI values with what the published mart holds now",
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
    glossary = commands.add_parser(
        "glossary",
        help="write the metric glossary (docs/metric-glossary.md) from metrics/*.yaml",
        description="Validate every metric contract in metrics/ and write the glossary generated "
        "from them. With --check, write nothing and exit 1 when the file is out of date. Needs "
        "no running stack.",
    )
    glossary.add_argument(
        "--check",
        action="store_true",
        help="exit 1, naming the file, when it differs from what the contracts generate",
    )
    glossary.add_argument(
        "--output",
        type=Path,
        help="where the glossary lives (default: docs/metric-glossary.md in the checkout)",
    )
    dashboards = commands.add_parser(
        "dashboards",
        help="build the Superset dashboards bundle from superset/dashboards/*.yaml; import it",
        description="build: validate the dashboard specs against the metric contracts and write "
        "the Superset import ZIP (datasets with the contracts' metrics, charts, dashboards); "
        "needs no running stack. import: build it and import it into the profile's running "
        "Superset (admin login and the mart_reader password from the profile's secrets), then "
        "query every chart and exit 1 if one answers no data. Importing again updates the "
        "same objects.",
    )
    dashboards.add_argument("action", choices=["build", "import"])
    dashboards.add_argument(
        "--output",
        type=Path,
        help="build: where to write the ZIP (default: .local/<profile>/superset-bundle.zip, "
        "next to the profile's other generated state, ignored by git)",
    )
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
    watch = commands.add_parser(
        "watch-scheduler",
        help="notice a stopped Airflow scheduler from outside Airflow: mail on-call once when "
        "it is down, once when it is back (the stack starts it; --once checks once)",
        description="Poll the Airflow API server's public health endpoint "
        "(/api/v2/monitor/health) until SIGTERM or Ctrl-C. When the scheduler has had no "
        "heartbeat for --down-after seconds, or the API server has not answered for as long, "
        "e-mail on-call once (REVENUE_OS_ONCALL_EMAILS through the Airflow connection "
        "smtp_default, and REVENUE_OS_ALERT_WEBHOOK_URL when set), and once more when the "
        "scheduler is healthy again; the outage is recorded in ops.alert_spells when the "
        "warehouse connection answers. It reads these from the environment like Airflow's "
        "processes: the stack gives its service Airflow's environment; by hand, run "
        'eval "$(revenue-os env)" first. The freshness watchdog cannot do this: it is a DAG of '
        "the scheduler it would have to report.",
    )
    watch.add_argument(
        "--api-url",
        metavar="URL",
        help="the Airflow API server as this process reaches it (default: the profile's, "
        "e.g. http://127.0.0.1:8080)",
    )
    watch.add_argument(
        "--down-after",
        type=float,
        metavar="SECONDS",
        help="how long the scheduler may be down before on-call is told (default: "
        "$REVENUE_OS_SCHEDULER_DOWN_AFTER_S or 300)",
    )
    watch.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        help="seconds between two checks (default: $REVENUE_OS_SCHEDULER_WATCH_INTERVAL_S or 30)",
    )
    watch.add_argument(
        "--once",
        action="store_true",
        help="check once, print what the API server says, exit 1 when the scheduler is not "
        "healthy or the API server does not answer; sends no mail",
    )
    watch.add_argument(
        "--status-file",
        type=Path,
        metavar="PATH",
        help="write each check there as JSON (the stack's health check and `revenue-os "
        "status` read it)",
    )
    watch.add_argument(
        "--scheduler-log",
        metavar="WHERE",
        help="where on-call reads the scheduler's log, quoted in the alert (default: the "
        "profile's logs/airflow-scheduler.log)",
    )
    watch.add_argument(
        "--restart-command",
        metavar="COMMAND",
        help="how on-call starts the scheduler again, quoted in the alert (default: "
        "`revenue-os --profile <profile> demo --no-refresh`)",
    )
    mail = commands.add_parser(
        "mail",
        help="list and read the mail the stack sent (alerts, the reporting pack)",
        description="Read the messages the profile's mail server stored in .local/<profile>/mail "
        "(or --dir): `mail list` numbers them oldest first; `mail show N` or `mail show latest` "
        "prints one message.",
    )
    mail_actions = mail.add_subparsers(dest="action", required=True, metavar="ACTION")
    mail_dir = argparse.ArgumentParser(add_help=False)
    mail_dir.add_argument(
        "--dir", type=Path, help="the mail folder (default: .local/<profile>/mail)"
    )
    mail_actions.add_parser(
        "list",
        parents=[mail_dir],
        help="one line per message, oldest first: number, time (UTC), recipients, subject, "
        "attachments",
    )
    mail_show = mail_actions.add_parser(
        "show",
        parents=[mail_dir],
        help="one message: its headers, its text (HTML turned into text), its attachments",
    )
    mail_show.add_argument(
        "message", metavar="N|latest", help="a number from `mail list`, or latest for the newest"
    )
    mail_show.add_argument(
        "--raw", action="store_true", help="print the stored .eml file as it is, headers and all"
    )
    return parser


def _dashboards(profile, args) -> int:
    from revenue_os.dashboards.bundle import build_bundle
    from revenue_os.dashboards.specs import DashboardSpecError
    from revenue_os.metrics import MetricContractError

    if args.action == "build":
        # The URI names the role and port only; the password is passed at import time.
        uri = f"postgresql://mart_reader@127.0.0.1:{profile.postgres_port}/warehouse"
        try:
            bundle = build_bundle(uri)
        except (DashboardSpecError, MetricContractError) as error:
            print(f"revenue-os dashboards: {error}", file=sys.stderr)
            return 1
        output = args.output or profile.state_dir / "superset-bundle.zip"
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(bundle)
        print(f"{output}: {len(bundle)} bytes")
        return 0

    from revenue_os.dashboards.publish import import_and_check
    from revenue_os.dashboards.superset_client import SupersetError
    from revenue_os.runtime.stack import Stack
    from revenue_os.runtime.superset_services import ADMIN_USER

    stack = Stack(profile)
    try:
        report = import_and_check(
            profile.superset_url,
            ADMIN_USER,
            stack.secrets["SUPERSET_ADMIN_PASSWORD"],
            stack.warehouse_uri("mart_reader"),
        )
    except (DashboardSpecError, MetricContractError, SupersetError) as error:
        print(f"revenue-os dashboards import: {error}", file=sys.stderr)
        return 1
    for name, rows in sorted(report.rows_by_chart.items()):
        print(f"  {rows:>6} rows  {name}")
    for name, error in sorted(report.errors_by_chart.items()):
        print(f"  {name}: {error}", file=sys.stderr)
    print(report.summary())
    return 0 if report.ok else 1  # empty charts are listed above with 0 rows, not failed


def _recipients_column(recipients: tuple[str, ...], width: int = 36) -> str:
    text = ", ".join(recipients)
    if len(text) <= width or len(recipients) < 2:
        return text
    return f"{recipients[0]} +{len(recipients) - 1} more"


def _mail(profile, args) -> int:
    from revenue_os.notifications.mailbox import (
        MailboxError,
        attachments,
        body_text,
        find_message,
        list_messages,
        read_message,
    )

    mail_dir = args.dir or profile.mail_dir
    if args.action == "list":
        messages = list_messages(mail_dir)
        if not messages:
            print(f"no messages in {mail_dir}")
            return 0
        for m in messages:
            when = f"{m.received:%Y-%m-%d %H:%M:%S}" if m.received else "?"
            files = f"  [{', '.join(m.attachments)}]" if m.attachments else ""
            to = _recipients_column(m.recipients)
            print(f"{m.number:>4}  {when}  {to:<36}  {m.subject}{files}")
        print(f"({len(messages)} in {mail_dir}; times UTC; `revenue-os mail show N` to read one)")
        return 0

    try:
        summary = find_message(mail_dir, args.message)
    except MailboxError as error:
        print(f"revenue-os mail show: {error}", file=sys.stderr)
        return 1
    if args.raw:
        sys.stdout.flush()
        sys.stdout.buffer.write(summary.path.read_bytes())
        return 0
    message = read_message(summary.path)
    print(f"Message {summary.number}: {summary.path}")
    if summary.received:
        print(f"Received: {summary.received:%Y-%m-%d %H:%M:%S} UTC")
    for name in ("From", "To", "Cc", "Date", "Subject"):
        if message.get(name) is not None:
            print(f"{name}: {message[name]}")
    print(f"Delivered to: {', '.join(summary.recipients)}")
    files = attachments(message)
    if files:
        listed = ", ".join(f"{name} ({len(data):,} bytes)" for name, data in files)
        print(f"Attachments: {listed}")
    print()
    print(body_text(message).rstrip())
    return 0


def _watch_scheduler(profile, args) -> int:
    import logging
    import signal
    import threading
    from datetime import timedelta

    from revenue_os.notifications import scheduler_watch as watch
    from revenue_os.notifications.settings import AlertSettings
    from revenue_os.runtime.scheduler_watch_service import hints

    api_url = args.api_url or profile.airflow_url
    if args.once:
        import httpx

        with httpx.Client(timeout=10) as http:
            reading = watch.read_health(http, api_url)
        print(f"{api_url}{watch.HEALTH_PATH}: {reading.verdict()}")
        return 0 if reading.scheduler_healthy else 1

    default_down_after, default_interval = watch.timing_from_env()
    down_after = args.down_after or default_down_after
    interval = args.interval or default_interval
    if down_after <= 0 or interval <= 0:
        print(
            "revenue-os watch-scheduler: --down-after and --interval must be > 0", file=sys.stderr
        )
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout
    )
    # One line per poll would bury the state changes the log is read for.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    local = hints(profile)
    monitor = watch.SchedulerWatch(
        api_url,
        down_after=timedelta(seconds=down_after),
        settings=AlertSettings.from_env(),
        hints=watch.OperatorHints(
            scheduler_log=args.scheduler_log or local.scheduler_log,
            restart=args.restart_command or local.restart,
        ),
        record=watch.WarehouseSpells(_warehouse_uri),
        status_file=args.status_file,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        monitor.run(interval, stop)
    finally:
        monitor.close()
    return 0


def _warehouse_uri() -> str:
    from revenue_os.warehouse.connection import LOADER_CONN_ID, warehouse_uri

    return warehouse_uri(LOADER_CONN_ID)


def _glossary(check: bool, output: Path | None) -> int:
    from revenue_os.metrics import MetricContractError, load_contracts
    from revenue_os.metrics.glossary import GLOSSARY_PATH, glossary_is_current, write_glossary

    path = output or GLOSSARY_PATH
    try:
        contracts = load_contracts()
    except MetricContractError as error:
        print(f"revenue-os glossary: {error}", file=sys.stderr)
        return 1
    if check:
        if glossary_is_current(contracts, path):
            return 0
        print(
            f"revenue-os glossary: {path} is out of date with metrics/; "
            "run `revenue-os glossary` and commit the result",
            file=sys.stderr,
        )
        return 1
    changed = write_glossary(contracts, path)
    print(f"{path}: {'written' if changed else 'already up to date'} ({len(contracts)} metrics)")
    return 0


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
        f"  Mail      alerts and the reporting pack land in {profile.mail_dir} "
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


def _decisions(stack, args) -> int:
    from datetime import date

    import psycopg

    from revenue_os.operations.decisions import (
        DecisionError,
        add_decision,
        close_decision,
        list_decisions,
    )
    from revenue_os.warehouse.connection import LOADER_ROLE

    today = date.today()
    stack.migrate_warehouse()
    with psycopg.connect(stack.warehouse_uri(LOADER_ROLE), autocommit=True) as conn:
        try:
            if args.action == "add":
                decision_id = add_decision(
                    conn,
                    metric_name=args.kpi,
                    forum=args.forum,
                    owner=args.owner,
                    trigger=args.trigger,
                    action_type=args.type,
                    action=args.action_text,
                    due_on=args.due,
                    success_metric=args.success,
                    decided_on=args.date or today,
                )
                print(f"decision {decision_id} recorded; due {args.due}")
            elif args.action == "close":
                close_decision(conn, args.decision_id, closed_on=today, dropped=args.dropped)
                print(f"decision {args.decision_id} {'dropped' if args.dropped else 'done'}")
            else:
                for d in list_decisions(conn, open_only=args.open):
                    flag = "OVERDUE" if d.is_overdue(today) else d.status
                    print(
                        f"{d.decision_id:>4}  {flag:<8} due {d.due_on}  {d.metric_name:<24} "
                        f"{d.owner:<16} {d.action_type}: {d.action}"
                    )
        except DecisionError as error:
            print(f"revenue-os decisions {args.action}: {error}", file=sys.stderr)
            return 2
    return 0


def _pack(stack, args) -> int:
    from datetime import date

    import psycopg

    from revenue_os.reporting import PackError, build_pack, last_closed_month
    from revenue_os.reporting.snapshot import check_closed
    from revenue_os.warehouse.connection import LOADER_ROLE

    today = date.today()
    month = args.month or last_closed_month(today)
    out_dir = args.out or stack.profile.state_dir / "packs"
    try:
        check_closed(month, today)  # before connecting: a wrong month needs no running stack
    except PackError as error:
        print(f"revenue-os pack: {error}", file=sys.stderr)
        return 2
    if args.send:
        # E-mail goes through the Airflow SMTP provider: the profile's Airflow environment
        # defines the smtp_default connection and the recipients.
        os.environ.update(stack.airflow_env())
    try:
        stack.migrate_warehouse()
        with psycopg.connect(stack.warehouse_uri(LOADER_ROLE), autocommit=True) as conn:
            result = build_pack(
                conn, month, out_dir, send=args.send, refreeze=args.refreeze, today=today
            )
    except PackError as error:
        print(f"revenue-os pack: {error}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as error:
        print(
            f"revenue-os pack: cannot reach the warehouse of profile {stack.profile.name} "
            f"(start it with `revenue-os demo`): {error}",
            file=sys.stderr,
        )
        return 1
    print(result.snapshot.summary())
    print(f"{result.html_path}")
    print(f"{result.pdf_path}")
    print(f"{result.subject}: {result.delivery.detail}")
    return 0 if result.delivery.sent or not args.send else 1


def _mart_docs(check: bool) -> int:
    from revenue_os.transform.model_docs import MART_DOC, reference_is_current, write_reference
    from revenue_os.transform.properties import PropertiesError

    try:
        if check:
            if reference_is_current():
                print(f"{MART_DOC.name} is up to date with the models' properties")
                return 0
            print(
                f"revenue-os mart docs: {MART_DOC} is out of date with sql/models/*/_*__models.yml;"
                " run `revenue-os mart docs` and commit the result",
                file=sys.stderr,
            )
            return 1
        changed = write_reference()
    except (PropertiesError, ValueError) as error:
        print(f"revenue-os mart docs: {error}", file=sys.stderr)
        return 1
    print(f"{MART_DOC}: {'written' if changed else 'already up to date'}")
    return 0


def _mart(stack, args) -> int:
    import psycopg

    from revenue_os.transform import build
    from revenue_os.transform.models import ModelError
    from revenue_os.warehouse.connection import BUILDER_ROLE

    # The build schemas belong to the builder: a mart built with another login could not be
    # replaced by the next refresh.
    if args.action == "build":
        stack.migrate_warehouse()
    with psycopg.connect(stack.warehouse_uri(BUILDER_ROLE), autocommit=True) as conn:
        try:
            if args.action == "build":
                build.build_all(
                    conn,
                    publish_after=not args.no_publish,
                    echo=print,
                    quality_uri=stack.warehouse_uri(BUILDER_ROLE),
                    full=args.full,
                )
            elif args.action == "rollback":
                rolled_back = build.rollback(conn)
                print(f"the previous mart is published again (build {rolled_back} rolled back)")
            else:
                rows = conn.execute(
                    "SELECT build_id, started_at, finished_at, status, coalesce(error, '')"
                    " FROM ops.mart_builds ORDER BY started_at DESC LIMIT 10"
                ).fetchall()
                for build_id, started, finished, status, error in rows:
                    took = f"{(finished - started).total_seconds():.1f} s" if finished else ""
                    print(f"{started:%Y-%m-%d %H:%M:%S}  {status:<12} {took:>8}  {build_id}")
                    if error:
                        print(f"    {error[:500]}")
        except (ModelError, build.AuditFailed) as error:
            print(f"revenue-os mart {args.action}: {error}", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["mock-apis"]:
        # The mock server has its own options; hand it everything after the command name.
        from revenue_os.mock_apis.server import main as serve_mock_apis

        return serve_mock_apis(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "glossary":
        # Contracts and docs only: no profile, no stack.
        return _glossary(args.check, args.output)
    if args.command == "mart" and args.action == "docs":
        return _mart_docs(args.check)
    try:
        profile = load_profile(args.profile)
    except ProfileError as error:
        print(f"revenue-os: {error}", file=sys.stderr)
        return 2

    if args.command == "mail-server":
        from revenue_os.runtime.mail_server import run as serve_mail

        return serve_mail(args.port or profile.mail_port, args.dir or profile.mail_dir)
    if args.command == "watch-scheduler":
        # Reads only its environment: in compose there is no profile state to build a Stack on.
        return _watch_scheduler(profile, args)
    if args.command == "mail":
        try:
            return _mail(profile, args)
        except OSError as error:
            print(f"revenue-os mail: {error}", file=sys.stderr)
            return 1

    if args.command == "dashboards":
        try:
            return _dashboards(profile, args)
        except OSError as error:
            print(f"revenue-os dashboards: {error}", file=sys.stderr)
            return 1

    # Imported after argument parsing so that --help stays instant.
    from revenue_os.runtime.stack import RefreshFailed, Stack

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
        elif args.command == "mart":
            return _mart(stack, args)
        elif args.command == "decisions":
            return _decisions(stack, args)
        elif args.command == "pack":
            return _pack(stack, args)
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


if __name__ == "__main__":
    sys.exit(main())
