"""The mock vendor APIs as a service of the local stack (one process, every vendor).

They stand in for HubSpot, Salesforce, Google Ads, LinkedIn Ads and NetSuite on loopback, so
the refresh has sources to pull from; the business they serve is generated from a seed, a
scale and the business's today (REVENUE_OS_MOCK_SCALE, REVENUE_OS_MOCK_SEED,
REVENUE_OS_MOCK_AS_OF).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

from revenue_os.connectors.base import SourceConnection
from revenue_os_stack.processes import Service
from revenue_os_stack.profile import Profile

BIN_DIR = Path(sys.executable).parent
# Small enough that the demo's first full load takes seconds, large enough to tell a story.
DEFAULT_SCALE = {"demo": "0.1", "test": "0.02", "bench": "0.1"}
DEFAULT_SEED = "42"
# The business's today. The demo's is the 9th of a month, the day after the monthly pack goes
# out, so its first pack reports a month that is closed (final) rather than all provisional;
# the test and bench profiles keep the generator's default, which their known answers use.
DEFAULT_AS_OF = {"demo": "2026-11-09"}
# Airflow connection id (= vendor) -> the mock APIs' path prefix standing for its host.
SOURCE_PREFIXES = {
    "hubspot": "hubspot",
    "salesforce": "salesforce",
    "google_ads": "google-ads",
    "linkedin_ads": "linkedin",
    "netsuite": "netsuite",
}
# Google Ads wants the manager account in login-customer-id when reading client accounts; the
# mock checks the header is there, not its value.
GOOGLE_ADS_MANAGER_ID = "1000000000"


def mock_source_connections(base_url: str, token: str) -> dict[str, SourceConnection]:
    """The source connections of every vendor, pointing at a mock server's prefixes."""
    extras = {
        # The mock checks these headers are present, as Google Ads does.
        "google_ads": {"developer_token": token, "login_customer_id": GOOGLE_ADS_MANAGER_ID},
    }
    return {
        conn_id: SourceConnection(
            conn_id, f"{base_url.rstrip('/')}/{prefix}", token, extras.get(conn_id, {})
        )
        for conn_id, prefix in SOURCE_PREFIXES.items()
    }


def services(profile: Profile) -> list[Service]:
    argv = [
        str(BIN_DIR / "revenue-os"),
        "mock-apis",
        "--host",
        "127.0.0.1",
        "--port",
        str(profile.mock_apis_port),
        "--scale",
        os.environ.get("REVENUE_OS_MOCK_SCALE", DEFAULT_SCALE[profile.name]),
        "--seed",
        os.environ.get("REVENUE_OS_MOCK_SEED", DEFAULT_SEED),
    ]
    as_of = os.environ.get("REVENUE_OS_MOCK_AS_OF", DEFAULT_AS_OF.get(profile.name, ""))
    if as_of:
        argv += ["--as-of", as_of]
    return [Service("mock-apis", argv, profile.run_dir, profile.log_dir)]


def mock_env(secrets: Mapping[str, str]) -> dict[str, str]:
    # The admin token is a secret of its own: the vendor token reaches every Airflow
    # connection, and must not also be able to reset or fault the sources.
    return {
        **os.environ,
        "MOCK_API_TOKEN": secrets["MOCK_API_TOKEN"],
        "MOCK_API_ADMIN_TOKEN": secrets["MOCK_API_ADMIN_TOKEN"],
    }


def health(profile: Profile) -> bool:
    return httpx.get(f"{profile.mock_apis_url}/health", timeout=5).status_code == 200
