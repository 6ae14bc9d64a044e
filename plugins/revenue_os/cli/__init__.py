"""`revenue-os`: the operator's command.

Stack commands run the local stack (revenue_os_stack, installed for development and the demo):
revenue-os demo      install what is missing, start everything, run one refresh
revenue-os status    which services run, their memory, the latest refresh runs
revenue-os refresh   trigger the refresh DAG through the scheduler and wait for it
revenue-os down      stop exactly what `demo` started
revenue-os env       print the environment for running the airflow CLI by hand
revenue-os purge     stop the profile and delete its data
revenue-os mail-server     the local SMTP server that stores the stack's mail (the stack starts it)
revenue-os mock-apis       the mock vendor APIs (revenue_os_mock_apis)

Operator commands work on the product's data and definitions:
revenue-os mart      build, audit and publish the mart by hand; roll it back; its builds;
                     docs: write the model reference in docs/mart.md (--check: verify)
revenue-os decisions record, list and close decisions taken on KPI breaches
revenue-os pack      build the monthly reporting pack (HTML e-mail + PDF) of a closed month
                     from its frozen KPI snapshot; --send e-mails it
revenue-os glossary  write docs/metric-glossary.md from the metric contracts (--check: verify)
revenue-os dashboards build|import  compile superset/dashboards/*.yaml into a Superset bundle;
                     import it into the profile's Superset and check every chart's data
revenue-os mail list|show  read the mail the stack sent (alerts, the reporting pack)
revenue-os watch-scheduler notice a stopped Airflow scheduler from outside Airflow and mail
                     on-call (the stack starts it; --once checks once)

The commands that reach a warehouse, Airflow or Superset find them through the local stack's
profile; glossary, `mart docs` and watch-scheduler given its addresses need no stack.
"""

from __future__ import annotations

import argparse
import sys

from revenue_os import __version__
from revenue_os.cli import operator_commands, stack_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="revenue-os",
        description="Run the Revenue OS stack (Postgres, Airflow 3, Superset) locally on loopback.",
        epilog="State (secrets, logs, PID files) lives under .local/<profile>/ in the checkout.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--profile", help=stack_commands.profile_help())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    stack_commands.add_parsers(commands)
    operator_commands.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["mock-apis"]:
        # The mock server has its own options; hand it everything after the command name.
        return stack_commands.serve_mock_apis(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command in operator_commands.COMMANDS:
        return operator_commands.run(args)
    return stack_commands.run(args)


if __name__ == "__main__":
    sys.exit(main())
