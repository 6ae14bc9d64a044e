"""The mock server's configuration: the fake business, the tokens and the injected faults."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

VENDORS: tuple[str, ...] = ("hubspot", "salesforce", "google_ads", "linkedin", "netsuite")
DEFAULT_AS_OF = date(2026, 11, 1)
SCHEMA_DRIFT_MODES = ("none", "add_field", "remove_field")

TOKEN_ENV_PREFIX = "MOCK_API_TOKEN"
ADMIN_TOKEN_ENV = "MOCK_API_ADMIN_TOKEN"


@dataclass(frozen=True)
class FaultOptions:
    """What goes wrong, and how often; changeable at run time through /_admin/faults.

    Every decision is drawn from `fault_seed` and a per-vendor request counter, so a test run
    sees the same faults in the same order every time; a fault never changes what the same
    request returns once it succeeds.
    """

    error_rate: float = 0.0
    rate_limit_rate: float = 0.0
    latency_ms: int = 0
    truncated_page_rate: float = 0.0
    schema_drift: str = "none"
    malformed_rate: float = 0.0
    fault_seed: int = 0
    retry_after_s: int = 1
    # Google Ads also restates cost on days up to this old (0: only the usual settling days),
    # as late conversions and invalid-click credits do.
    late_restatement_days: int = 0

    def validated(self) -> FaultOptions:
        for name in ("error_rate", "rate_limit_rate", "truncated_page_rate", "malformed_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.error_rate + self.rate_limit_rate + self.truncated_page_rate > 1.0:
            raise ValueError("error_rate + rate_limit_rate + truncated_page_rate must be <= 1")
        if self.schema_drift not in SCHEMA_DRIFT_MODES:
            raise ValueError(f"schema_drift must be one of {SCHEMA_DRIFT_MODES}")
        if self.latency_ms < 0 or self.retry_after_s < 0:
            raise ValueError("latency_ms and retry_after_s must not be negative")
        if not 0 <= self.late_restatement_days <= 400:
            raise ValueError("late_restatement_days must be between 0 and 400")
        return self

    def updated(self, changes: Mapping[str, Any]) -> FaultOptions:
        """A copy with `changes` applied; unknown keys are refused so typos do not pass silently."""
        known = {f.name: f.type for f in fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown fault option(s): {', '.join(unknown)}")
        coerced: dict[str, Any] = {}
        for name, value in changes.items():
            current = getattr(self, name)
            coerced[name] = type(current)(value)
        return replace(self, **coerced).validated()


@dataclass(frozen=True)
class MockConfig:
    """Everything the mock server needs at start-up.

    The business is a pure function of (seed, scale, as_of, horizon_days): the same four give
    byte-identical API responses. `horizon_days` is how far /_admin/advance may move time.
    """

    seed: int = 7
    scale: float = 1.0
    as_of: date = DEFAULT_AS_OF
    horizon_days: int = 92
    tokens: Mapping[str, str] = field(default_factory=dict)
    # Without one the /_admin endpoints (docs included) are refused, whatever token is sent.
    admin_token: str | None = None
    # The start-up faults; /_admin/faults changes a copy and /_admin/reset comes back to these.
    faults: FaultOptions = field(default_factory=FaultOptions)
    salesforce_daily_limit: int = 100_000
    progress: bool = False

    def validated(self) -> MockConfig:
        if not 0.0 < self.scale <= 100.0:
            raise ValueError(f"scale must be in (0, 100], got {self.scale}")
        if not 0 <= self.horizon_days <= 3660:
            raise ValueError("horizon_days must be between 0 and 3660")
        missing = [vendor for vendor in VENDORS if not self.tokens.get(vendor)]
        if missing:
            raise ValueError(
                f"no API token for {', '.join(missing)}: set {TOKEN_ENV_PREFIX} (all vendors) or "
                f"{TOKEN_ENV_PREFIX}_<VENDOR>, or pass --token-file"
            )
        if self.admin_token and self.admin_token in self.tokens.values():
            raise ValueError(
                f"{ADMIN_TOKEN_ENV} equals a vendor token: give the admin API a token of its own"
            )
        self.faults.validated()
        return self


def tokens_from_mapping(values: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    """Vendor tokens and the admin token from env-style keys.

    Accepts `MOCK_API_TOKEN` (every vendor), `MOCK_API_TOKEN_<VENDOR>` (one vendor, wins over
    the shared one), `MOCK_API_ADMIN_TOKEN`, and bare vendor names (`hubspot=...`, `admin=...`),
    ignoring everything else so a whole secrets file can be pointed at.
    """
    shared = values.get(TOKEN_ENV_PREFIX) or values.get("all")
    tokens = {vendor: shared for vendor in VENDORS if shared}
    for vendor in VENDORS:
        specific = values.get(f"{TOKEN_ENV_PREFIX}_{vendor.upper()}") or values.get(vendor)
        if specific:
            tokens[vendor] = specific
    admin = values.get(ADMIN_TOKEN_ENV) or values.get("admin") or None
    return tokens, admin


def tokens_from_env(environ: Mapping[str, str] | None = None) -> tuple[dict[str, str], str | None]:
    return tokens_from_mapping(os.environ if environ is None else environ)


def read_token_file(path: Path) -> tuple[dict[str, str], str | None]:
    """A JSON object or KEY=VALUE lines (comments and unrelated keys allowed)."""
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of tokens")
        return tokens_from_mapping({str(k): str(v) for k, v in data.items()})
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        values[key] = value.strip().strip("'\"")
    return tokens_from_mapping(values)
