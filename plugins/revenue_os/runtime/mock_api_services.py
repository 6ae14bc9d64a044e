"""The mock vendor APIs as a service of the local stack (one process, every vendor).

They stand in for HubSpot, Salesforce, Google Ads, LinkedIn Ads and NetSuite on loopback, so
the refresh has sources to pull from; the business they serve is generated from a seed and a
scale (REVENUE_OS_MOCK_SCALE, REVENUE_OS_MOCK_SEED).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import httpx

from revenue_os.runtime.processes import Service
from revenue_os.runtime.profile import Profile

BIN_DIR = Path(sys.executable).parent
# Small enough that the demo's first full load takes seconds, large enough to tell a story.
DEFAULT_SCALE = {"demo": "0.1", "test": "0.02", "bench": "0.1"}
DEFAULT_SEED = "42"


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
    return [Service("mock-apis", argv, profile.run_dir, profile.log_dir)]


def mock_env(secrets: Mapping[str, str]) -> dict[str, str]:
    return {**os.environ, "MOCK_API_TOKEN": secrets["MOCK_API_TOKEN"]}


def health(profile: Profile) -> bool:
    return httpx.get(f"{profile.mock_apis_url}/health", timeout=5).status_code == 200
