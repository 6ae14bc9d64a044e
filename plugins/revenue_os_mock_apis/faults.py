"""Auth, rate limits and injected faults, shared by every vendor mock.

Each vendor app installs `vendor_guard` as a dependency of all its routes: it checks the
bearer token (and the vendor's mandatory headers), counts the request, and then decides from
`fault_seed` and that count whether this request is throttled (429), fails (500), is slowed
down, or has its body cut off. The decision never depends on what is asked, and the data
never depends on the decision: a retried request returns exactly what the first one would
have returned without the fault.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from revenue_os_mock_apis.business.core import stable_u64, stable_unit, uuid_like
from revenue_os_mock_apis.config import FaultOptions
from revenue_os_mock_apis.state import MockState

RATE_LIMIT, SERVER_ERROR, TRUNCATE = "rate_limit", "server_error", "truncate"


class VendorError(Exception):
    """An error answered in the vendor's own shape."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def json_bytes(payload: Any) -> bytes:
    """Compact, key-order-preserving JSON: identical payloads give identical bytes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def fault_for(options: FaultOptions, vendor: str, request_number: int) -> str | None:
    """The fault (if any) of the n-th request to a vendor: a pure function of the options."""
    total = options.rate_limit_rate + options.error_rate + options.truncated_page_rate
    if total <= 0:
        return None
    draw = stable_unit(options.fault_seed, vendor, request_number)
    if draw < options.rate_limit_rate:
        return RATE_LIMIT
    if draw < options.rate_limit_rate + options.error_rate:
        return SERVER_ERROR
    if draw < total:
        return TRUNCATE
    return None


def malformed_kind(options: FaultOptions, object_name: str, key: object) -> str | None:
    """Whether one record is served broken ('key' or 'timestamp'), fixed per record."""
    if options.malformed_rate <= 0:
        return None
    if stable_unit(options.fault_seed, "malformed", object_name, key) >= options.malformed_rate:
        return None
    return (
        "key"
        if stable_u64(options.fault_seed, "malformed-kind", object_name, key) % 2
        else "timestamp"
    )


def correlation_id(options: FaultOptions, vendor: str, request_number: int) -> str:
    return uuid_like(options.fault_seed, vendor, "correlation", request_number)


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class VendorErrors:
    """A vendor's error bodies. Each vendor module provides one."""

    vendor: str = ""

    def unauthorized(self, request: Request) -> VendorError:
        raise NotImplementedError

    def rate_limited(self, request: Request, options: FaultOptions, n: int) -> VendorError:
        raise NotImplementedError

    def server_error(self, request: Request, options: FaultOptions, n: int) -> VendorError:
        raise NotImplementedError

    def not_found(self, request: Request) -> VendorError:
        raise NotImplementedError

    def bad_request(self, request: Request, message: str) -> VendorError:
        raise NotImplementedError

    def headers(self, state: MockState, n: int) -> dict[str, str]:
        return {}


def vendor_guard(
    state: MockState,
    errors: VendorErrors,
    extra_checks: Callable[[Request], None] | None = None,
) -> Callable:
    """The dependency every route of one vendor app runs first."""
    vendor = errors.vendor

    async def guard(request: Request) -> None:
        request.state.vendor = vendor
        request.state.request_number = state.request_count(vendor)
        if bearer_token(request) != state.config.tokens.get(vendor):
            raise errors.unauthorized(request)
        if extra_checks is not None:
            extra_checks(request)
        n = state.next_request(vendor)
        request.state.request_number = n
        options = state.faults
        request.state.faults = options
        if options.latency_ms:
            await asyncio.sleep(options.latency_ms / 1000)
        fault = fault_for(options, vendor, n)
        if fault == RATE_LIMIT:
            raise errors.rate_limited(request, options, n)
        if fault == SERVER_ERROR:
            raise errors.server_error(request, options, n)
        request.state.truncate = fault == TRUNCATE

    return guard


def vendor_response(
    state: MockState,
    errors: VendorErrors,
    request: Request,
    payload: Any,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Serialise a vendor answer, adding the vendor's headers and, when drawn, the cut-off."""
    body = json_bytes(payload)
    if status < 300 and getattr(request.state, "truncate", False):
        body = body[: max(1, (len(body) * 2) // 3)]  # a page cut off mid-stream
    n = getattr(request.state, "request_number", state.request_count(errors.vendor))
    all_headers = errors.headers(state, n)
    all_headers.update(headers or {})
    return Response(body, status_code=status, headers=all_headers, media_type="application/json")


def vendor_app(
    title: str,
    state: MockState,
    errors: VendorErrors,
    extra_checks: Callable[[Request], None] | None = None,
) -> FastAPI:
    """One vendor's app: every route behind the guard, every error in the vendor's shape."""
    app = FastAPI(
        title=title,
        dependencies=[Depends(vendor_guard(state, errors, extra_checks))],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.mock = state
    install_error_handlers(app, state, errors)
    return app


def install_error_handlers(app: FastAPI, state: MockState, errors: VendorErrors) -> None:
    """Every error a vendor app returns, including FastAPI's own, in the vendor's shape."""

    @app.exception_handler(VendorError)
    async def _vendor_error(request: Request, error: VendorError) -> Response:
        return vendor_response(state, errors, request, error.body, error.status, error.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code in (404, 405):
            mapped = errors.not_found(request)
        else:
            mapped = errors.bad_request(request, str(error.detail))
        return vendor_response(state, errors, request, mapped.body, mapped.status, mapped.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, error: RequestValidationError) -> Response:
        details = "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', ()))}: {item.get('msg')}"
            for item in error.errors()
        )
        mapped = errors.bad_request(request, details or "invalid request")
        return vendor_response(state, errors, request, mapped.body, mapped.status, mapped.headers)
