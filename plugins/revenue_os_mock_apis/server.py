"""Run the mock vendor APIs: `python -m revenue_os_mock_apis.server --help`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import fields
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from revenue_os_mock_apis.config import (
    ADMIN_TOKEN_ENV,
    DEFAULT_AS_OF,
    SCHEMA_DRIFT_MODES,
    TOKEN_ENV_PREFIX,
    VENDORS,
    FaultOptions,
    MockConfig,
    read_token_file,
    tokens_from_env,
)

if TYPE_CHECKING:
    import httpx

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8900


def _program_name() -> str:
    """How the user started us: through the project CLI or as a module."""
    launcher = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return (
        "revenue-os mock-apis"
        if launcher == "revenue-os"
        else "python -m revenue_os_mock_apis.server"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=_program_name(),
        description=(
            "Mock HubSpot, Salesforce, Google Ads, LinkedIn Ads and NetSuite APIs over one "
            "deterministic fake business. Each vendor is served under a path prefix standing for "
            "its host: /hubspot, /salesforce, /google-ads, /linkedin, /netsuite; GET /health and "
            "the /_admin endpoints sit at the root."
        ),
        epilog=(
            f"Tokens: {TOKEN_ENV_PREFIX} (all vendors) or "
            + ", ".join(f"{TOKEN_ENV_PREFIX}_{v.upper()}" for v in VENDORS)
            + f". {ADMIN_TOKEN_ENV}: the token of /_admin and its docs (/_admin/docs, "
            "/_admin/openapi.json), different from every vendor token; no vendor token opens "
            "them. Without it the admin API is off (every /_admin request is refused with 403) "
            "and only the vendor APIs serve. A --token-file holds the same keys as KEY=VALUE "
            "lines or a JSON object and wins over the environment."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="interface to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (0 picks a free one)")
    business = parser.add_argument_group("the fake business")
    business.add_argument(
        "--seed", type=int, default=7, help="same seed, scale and as-of: same data"
    )
    business.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="1 = ~50k contacts, ~500k touches, ~10k opportunities",
    )
    business.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=DEFAULT_AS_OF,
        help="the business's today (YYYY-MM-DD)",
    )
    business.add_argument(
        "--advance-horizon-days",
        dest="horizon_days",
        type=int,
        default=92,
        help="how far POST /_admin/advance may move time (generated up front)",
    )
    faults = parser.add_argument_group("faults (changeable at run time: POST /_admin/faults)")
    faults.add_argument(
        "--error-rate", type=float, default=0.0, help="share of requests answered 500"
    )
    faults.add_argument(
        "--rate-limit-rate",
        type=float,
        default=0.0,
        help="share of requests answered 429 with Retry-After",
    )
    faults.add_argument(
        "--latency-ms", type=int, default=0, help="delay added to every vendor request"
    )
    faults.add_argument(
        "--truncated-page-rate",
        type=float,
        default=0.0,
        help="share of 200 answers with the body cut off",
    )
    faults.add_argument(
        "--schema-drift",
        choices=SCHEMA_DRIFT_MODES,
        default="none",
        help="add or remove a field on every record",
    )
    faults.add_argument(
        "--malformed-rate",
        type=float,
        default=0.0,
        help="share of records with a broken key or timestamp",
    )
    faults.add_argument(
        "--late-restatement-days",
        type=int,
        default=0,
        help="Google Ads also restates cost on days up to this old (late conversions)",
    )
    faults.add_argument("--fault-seed", type=int, default=0, help="seed of the fault sequence")
    faults.add_argument(
        "--retry-after",
        dest="retry_after_s",
        type=int,
        default=1,
        help="Retry-After seconds on 429",
    )
    faults.add_argument(
        "--salesforce-daily-limit",
        type=int,
        default=100_000,
        help="requests before Salesforce answers 403",
    )
    parser.add_argument(
        "--token-file", type=Path, help="tokens as KEY=VALUE lines or JSON (see below)"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no generation progress and no access log"
    )
    return parser


def config_from_args(args: argparse.Namespace, environ: dict[str, str] | None = None) -> MockConfig:
    tokens, admin = tokens_from_env(os.environ if environ is None else environ)
    if args.token_file:
        file_tokens, file_admin = read_token_file(args.token_file)
        tokens.update(file_tokens)
        admin = file_admin or admin
    return MockConfig(
        seed=args.seed,
        scale=args.scale,
        as_of=args.as_of,
        horizon_days=args.horizon_days,
        tokens=tokens,
        admin_token=admin,
        # Each fault flag's destination is the FaultOptions field of the same name.
        faults=FaultOptions(**{f.name: getattr(args, f.name) for f in fields(FaultOptions)}),
        salesforce_daily_limit=args.salesforce_daily_limit,
        progress=not args.quiet,
    ).validated()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
    except (ValueError, OSError) as error:
        print(f"mock-apis: {error}", file=sys.stderr)
        return 2
    import uvicorn

    from revenue_os_mock_apis.app import create_app

    class AnnouncingServer(uvicorn.Server):
        """Says where it listens once bound, so callers using --port 0 learn the port."""

        async def startup(self, sockets=None) -> None:
            await super().startup(sockets=sockets)
            if self.started and self.servers:
                port = self.servers[0].sockets[0].getsockname()[1]
                admin = "" if config.admin_token else f"; admin API off: no {ADMIN_TOKEN_ENV}"
                print(
                    f"[mock-apis] serving http://{args.host}:{port} "
                    f"(as_of {config.as_of}, scale {config.scale}, seed {config.seed}{admin})",
                    file=sys.stderr,
                    flush=True,
                )

    app = create_app(config)
    server = AnnouncingServer(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level="warning" if args.quiet else "info",
            access_log=not args.quiet,
        )
    )
    server.run()
    return 0


class BackgroundMockServer:
    """The mock APIs on 127.0.0.1 in a thread of this process, on a port the OS picks.

    For tests and benchmarks that need a real HTTP server but not a separate process; the
    `state` attribute gives direct access to the business behind it.
    """

    def __init__(self, config: MockConfig, *, start_timeout_s: float = 120.0):
        import threading
        import time

        import uvicorn

        from revenue_os_mock_apis.app import create_app

        app = create_app(config)
        self.state = app.state.mock
        self.server = uvicorn.Server(
            uvicorn.Config(app, host=DEFAULT_HOST, port=0, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, name="mock-apis", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + start_timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the mock APIs did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://{DEFAULT_HOST}:{port}"

    def admin_client(self, admin_token: str) -> httpx.Client:
        """A client of the /_admin endpoints, after resetting the server to its start-up state."""
        import httpx

        headers = {"Authorization": f"Bearer {admin_token}"}
        httpx.post(f"{self.base_url}/_admin/reset", headers=headers, timeout=60).raise_for_status()
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def __enter__(self) -> BackgroundMockServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
