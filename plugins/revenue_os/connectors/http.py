"""The HTTP client every connector uses: bounded retries, honest errors.

Vendors throttle (429) and fail transiently (5xx, resets, a body cut off mid-page); a refresh
must ride through those without losing or duplicating a record, and must stop at once, with
a message that says what to fix, on errors no retry can cure (a revoked token, a bad query).
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class SourceError(RuntimeError):
    """A source API call failed for good; the message names the source and what to fix."""

    def __init__(self, source: str, message: str, *, status: int | None = None):
        super().__init__(f"{source}: {message}")
        self.source = source
        self.status = status


class SourceAuthError(SourceError):
    """The API refused the credentials: retrying cannot help, the connection must be fixed."""


class SourceRequestError(SourceError):
    """The API rejected the request itself (4xx other than auth and throttling)."""


class SourceUnavailableError(SourceError):
    """Retries ran out on throttling or server errors."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential back-off with full jitter, capped; Retry-After wins when the vendor sends it."""

    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def delay(self, attempt: int, retry_after_s: float | None, rng: random.Random) -> float:
        if retry_after_s is not None:
            return min(max(retry_after_s, 0.0), self.max_delay_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return rng.uniform(0, ceiling)


@dataclass
class CallStats:
    requests: int = 0
    retries: int = 0
    retry_reasons: dict[str, int] = field(default_factory=dict)

    def count_retry(self, reason: str) -> None:
        self.retries += 1
        self.retry_reasons[reason] = self.retry_reasons.get(reason, 0) + 1


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _google_retry_delay(body: Any) -> float | None:
    """Google Ads puts the wait in error.details[].errors[].details.quotaErrorDetails.retryDelay."""
    try:
        for detail in body["error"]["details"]:
            for error in detail.get("errors", []):
                delay = error["details"]["quotaErrorDetails"]["retryDelay"]
                return float(str(delay).rstrip("s"))
    except (KeyError, TypeError, ValueError):
        return None
    return None


def vendor_message(body: Any) -> str:
    """The human part of a vendor error body, whatever its shape."""
    if isinstance(body, list) and body and isinstance(body[0], dict):  # Salesforce
        return "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in body)
    if isinstance(body, dict):
        if isinstance(body.get("error"), dict):  # Google
            return f"{body['error'].get('status')}: {body['error'].get('message')}"
        if "o:errorDetails" in body:  # NetSuite
            return "; ".join(
                f"{d.get('o:errorCode')}: {d.get('detail')}" for d in body["o:errorDetails"]
            )
        for key in ("message", "title"):
            if key in body:
                return str(body[key])
    return str(body)[:300]


class VendorClient:
    """An httpx client bound to one source and one Airflow connection."""

    def __init__(
        self,
        source: str,
        base_url: str,
        headers: Mapping[str, str],
        *,
        conn_id: str,
        policy: RetryPolicy | None = None,
        timeout_s: float = 60.0,
        seed: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.source = source
        self.conn_id = conn_id
        self.policy = policy or RetryPolicy()
        self.stats = CallStats()
        self._rng = random.Random(seed)
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=dict(headers), timeout=timeout_s
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> VendorClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request_json(self, method: str, path: str, **kwargs) -> Any:
        """Send one request, retrying what can be retried; return the decoded JSON body."""
        last_problem = ""
        for attempt in range(1, self.policy.max_attempts + 1):
            self.stats.requests += 1
            retry_after: float | None = None
            try:
                response = self._http.request(method, path, **kwargs)
            except (httpx.TimeoutException, httpx.TransportError) as error:
                reason, last_problem = type(error).__name__, f"{type(error).__name__}: {error}"
            else:
                if response.status_code < 400:
                    try:
                        return response.json()
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        # A page cut off mid-body: the same request again returns it whole.
                        reason = "truncated body"
                        last_problem = (
                            f"HTTP {response.status_code} with a body that is not whole JSON"
                        )
                else:
                    body = _json_or_text(response)
                    self._raise_if_final(response.status_code, body, path)
                    reason = f"HTTP {response.status_code}"
                    last_problem = f"HTTP {response.status_code}: {vendor_message(body)}"
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    if retry_after is None:
                        retry_after = _google_retry_delay(body)
            if attempt == self.policy.max_attempts:
                break
            wait = self.policy.delay(attempt, retry_after, self._rng)
            self.stats.count_retry(reason)
            log.warning(
                "%s %s %s: %s; retry %d/%d in %.1f s",
                self.source,
                method,
                path,
                last_problem,
                attempt,
                self.policy.max_attempts - 1,
                wait,
            )
            self._sleep(wait)
        raise SourceUnavailableError(
            self.source,
            f"{method} {path} still failing after {self.policy.max_attempts} attempts "
            f"({last_problem}); the service is throttling or down: try again later",
        )

    def _raise_if_final(self, status: int, body: Any, path: str) -> None:
        if status in RETRYABLE_STATUS:
            return
        message = vendor_message(body)
        if status == 403 and "LIMIT_EXCEEDED" in message:
            # Salesforce answers 403 when the org's daily API allowance is spent: not a
            # credentials problem, and no retry within this run will help.
            raise SourceUnavailableError(
                self.source,
                f"the daily API request limit is used up (HTTP 403: {message}); the next run "
                "resumes from the stored watermark once the allowance resets",
                status=status,
            )
        if status in (401, 403):
            raise SourceAuthError(
                self.source,
                f"the API refused the credentials (HTTP {status}: {message}). Fix the token of "
                f"Airflow connection '{self.conn_id}' (env AIRFLOW_CONN_{self.conn_id.upper()})",
                status=status,
            )
        raise SourceRequestError(self.source, f"HTTP {status} on {path}: {message}", status=status)


def _json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:500]
