"""The operator commands: the mart, the decision log, the pack, the glossary, the dashboards,
the mail, and the scheduler watch.

They act on the product's data and definitions. Those that reach a warehouse, Airflow or
Superset find it through the local stack's profile (revenue_os_stack); the glossary and
`mart docs` read only the checkout, and watch-scheduler given its addresses reads only its
environment (as it runs in compose).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

COMMANDS = frozenset(
    {"mart", "decisions", "pack", "preread", "glossary", "dashboards", "watch-scheduler", "mail"}
)


def add_parsers(commands) -> None:
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
        help="build: rebuild every model from all of raw and compute every KPI whole (the "
        "incremental and partitioned models are otherwise brought forward by what changed "
        "since their last build, and the simple KPIs by the periods their facts changed in)",
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
    add.add_argument("--success", required=True, help="how success is measured, in words")
    add.add_argument(
        "--success-when",
        default=None,
        help="a condition on the KPI's value checked at the due date, e.g. '>= 3': met closes "
        "the action, not met keeps it open",
    )
    add.add_argument(
        "--success-kpi",
        default=None,
        help="the metric contract --success-when is checked on (default: --kpi)",
    )
    add.add_argument(
        "--assignee", default=None, help="who carries the action out (default: the owner)"
    )
    add.add_argument("--impact", default=None, help="the impact expected, and by when")
    add.add_argument("--evidence", default=None, help="a link to the analysis behind the decision")
    add.add_argument(
        "--date", type=_iso_date, default=None, help="date of the decision (default: today)"
    )
    listing = actions.add_parser("list", help="open actions first (overdue marked), then closed")
    listing.add_argument("--open", action="store_true", help="only the open actions")
    actions.add_parser(
        "check",
        help="check the success of the open actions the data has passed the due date of "
        "(the refresh does it after each publish)",
    )
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
        help="the closed month, YYYY-MM (default: the last closed month, or the published "
        "mart's latest complete month when its data stops earlier)",
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
    preread = commands.add_parser(
        "preread",
        help="build the weekly pre-read (HTML e-mail and PDF) of the week just ended",
        description="Freeze the week's KPI values from the published mart into "
        "ops.kpi_snapshots (once: a rerun keeps the frozen values unless --refreeze), then "
        "write the weekly revenue meeting's pre-read drawn from that snapshot: open actions, "
        "the weekly forum's KPIs with the week, last week and their 4- and 13-week windows, "
        "the exceptions with their owners' proposed decisions and the known data issues, as "
        "revenue-os-preread-YYYY-MM-DD.html and .pdf. With --send, e-mail it to "
        "REVENUE_OS_PREREAD_RECIPIENTS through the profile's Airflow connection smtp_default. "
        "Needs the profile's Postgres running.",
    )
    preread.add_argument(
        "--week",
        type=_week,
        default=None,
        help="the week that ended, by its Monday (YYYY-MM-DD) or ISO week (YYYY-Www) "
        "(default: the last week that ended, or the published mart's latest complete week "
        "when its data stops before)",
    )
    preread.add_argument(
        "--out",
        type=Path,
        default=None,
        help="folder for the HTML and PDF (default: .local/<profile>/packs)",
    )
    preread.add_argument("--send", action="store_true", help="e-mail it to its recipients")
    preread.add_argument(
        "--refreeze",
        action="store_true",
        help="replace the week's frozen KPI values with what the published mart holds now",
    )
    glossary = commands.add_parser(
        "glossary",
        help="write the metric glossary (docs/metric-glossary.md) and the decision inventory "
        "(docs/decision-inventory.md) from metrics/",
        description="Validate every metric contract in metrics/ and the decision inventory "
        "(metrics/decisions.yml) against them, and write the glossary and the inventory generated "
        "from them. With --check, write nothing and exit 1 when a file is out of date. Needs no "
        "running stack.",
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


def _profile(name: str | None):
    """The local stack's profile (its ports and folders), or exit naming what to install."""
    try:
        from revenue_os_stack.profile import ProfileError, load_profile
    except ImportError:
        print(
            "revenue-os: this command reaches the local stack, whose package (revenue_os_stack) "
            "is not installed here; `make venv` installs it",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    try:
        return load_profile(name)
    except ProfileError as error:
        print(f"revenue-os: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def run(args) -> int:
    if args.command == "glossary":
        # Contracts and docs only: no profile, no stack.
        return _glossary(args.check, args.output)
    if args.command == "mart" and args.action == "docs":
        return _mart_docs(args.check)
    if args.command == "watch-scheduler":
        # Reads only its environment: in compose there is no profile state to build a Stack
        # on, nor the stack's package; the profile only gives defaults to what is not passed.
        given = args.api_url and args.scheduler_log and args.restart_command
        return _watch_scheduler(None if given else _profile(args.profile), args)
    profile = _profile(args.profile)
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
    from revenue_os_stack.stack import Stack

    stack = Stack(profile)
    handlers = {"mart": _mart, "decisions": _decisions, "pack": _pack, "preread": _preread}
    try:
        return handlers[args.command](stack, args)
    except (RuntimeError, TimeoutError, OSError) as error:
        print(f"revenue-os {args.command}: {error}", file=sys.stderr)
        return 1


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


def _week(text: str):
    from revenue_os.reporting.snapshot import PackError, parse_week

    try:
        return parse_week(text)
    except PackError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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
    from revenue_os_stack.stack import Stack
    from revenue_os_stack.superset_services import ADMIN_USER

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
    """`profile` is None when every address is given (as in compose)."""
    import logging
    import signal
    import threading
    from datetime import timedelta

    from revenue_os.notifications import scheduler_watch as watch
    from revenue_os.notifications.settings import AlertSettings

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
    if profile is not None:
        from revenue_os_stack.scheduler_watch_service import hints

        local = hints(profile)
        scheduler_log = args.scheduler_log or local.scheduler_log
        restart = args.restart_command or local.restart
    else:
        scheduler_log, restart = args.scheduler_log, args.restart_command
    monitor = watch.SchedulerWatch(
        api_url,
        down_after=timedelta(seconds=down_after),
        settings=AlertSettings.from_env(),
        hints=watch.OperatorHints(
            scheduler_log=scheduler_log,
            restart=restart,
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
    from revenue_os.metrics.decision_inventory import (
        INVENTORY_DOC,
        InventoryError,
        inventory_is_current,
        write_inventory,
    )
    from revenue_os.metrics.glossary import GLOSSARY_PATH, glossary_is_current, write_glossary

    path = output or GLOSSARY_PATH
    try:
        contracts = load_contracts()
        if check:
            stale = [
                shown
                for shown, current in (
                    (path, glossary_is_current(contracts, path)),
                    (INVENTORY_DOC, output is not None or inventory_is_current(contracts)),
                )
                if not current
            ]
            if not stale:
                return 0
            print(
                f"revenue-os glossary: {', '.join(map(str, stale))} out of date with metrics/; "
                "run `revenue-os glossary` and commit the result",
                file=sys.stderr,
            )
            return 1
        changed = write_glossary(contracts, path)
        inventory_changed = write_inventory(contracts) if output is None else False
    except (MetricContractError, InventoryError) as error:
        print(f"revenue-os glossary: {error}", file=sys.stderr)
        return 1
    print(f"{path}: {'written' if changed else 'already up to date'} ({len(contracts)} metrics)")
    if output is None:
        print(f"{INVENTORY_DOC}: {'written' if inventory_changed else 'already up to date'}")
    return 0


def _decisions(stack, args) -> int:
    from datetime import date

    import psycopg

    from revenue_os.operations.decisions import (
        DecisionError,
        add_decision,
        check_due_decisions,
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
                    assignee=args.assignee,
                    expected_impact=args.impact,
                    evidence_url=args.evidence,
                    success_when=args.success_when,
                    success_kpi=args.success_kpi,
                )
                print(f"decision {decision_id} recorded; due {args.due}")
            elif args.action == "close":
                close_decision(conn, args.decision_id, closed_on=today, dropped=args.dropped)
                print(f"decision {args.decision_id} {'dropped' if args.dropped else 'done'}")
            elif args.action == "check":
                from revenue_os.metrics import load_contracts

                checks = check_due_decisions(conn, load_contracts(), today=today)
                for check in checks:
                    print(
                        f"decision {check.decision_id}: {check.metric_name} {check.condition} "
                        f"{check.result.replace('_', ' ')} (value {check.value}, "
                        f"{check.period_grain or '-'} of {check.period_start or '-'})"
                    )
                if not checks:
                    print("no open action with a success check has come due in the data")
            else:
                for d in list_decisions(conn, open_only=args.open):
                    flag = "OVERDUE" if d.is_overdue(today) else d.status
                    check = (
                        f"  [{d.success_metric_name} {d.success_condition}: "
                        f"{(d.success_result or 'not checked yet').replace('_', ' ')}]"
                        if d.success_condition
                        else ""
                    )
                    print(
                        f"{d.decision_id:>4}  {flag:<8} due {d.due_on}  {d.metric_name:<24} "
                        f"{d.doer:<16} {d.action_type}: {d.action}{check}"
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
                conn,
                month,
                out_dir,
                send=args.send,
                refreeze=args.refreeze,
                today=today,
                or_latest_complete=args.month is None,
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


def _preread(stack, args) -> int:
    from datetime import date

    import psycopg

    from revenue_os.reporting import PackError
    from revenue_os.reporting.deliver import build_preread
    from revenue_os.reporting.snapshot import check_ended, last_ended_week
    from revenue_os.warehouse.connection import LOADER_ROLE

    today = date.today()
    week = args.week or last_ended_week(today)
    out_dir = args.out or stack.profile.state_dir / "packs"
    try:
        check_ended(week, today)  # before connecting: a wrong week needs no running stack
    except PackError as error:
        print(f"revenue-os preread: {error}", file=sys.stderr)
        return 2
    if args.send:
        os.environ.update(stack.airflow_env())
    try:
        stack.migrate_warehouse()
        with psycopg.connect(stack.warehouse_uri(LOADER_ROLE), autocommit=True) as conn:
            result = build_preread(
                conn,
                week,
                out_dir,
                send=args.send,
                refreeze=args.refreeze,
                today=today,
                or_latest_complete=args.week is None,
            )
    except PackError as error:
        print(f"revenue-os preread: {error}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as error:
        print(
            f"revenue-os preread: cannot reach the warehouse of profile {stack.profile.name} "
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
