"""One FastAPI app serving every vendor mock under its own path prefix, plus health and admin.

A connector's base URL is the prefix (e.g. http://127.0.0.1:8900/hubspot); it then requests the
vendor's real paths below it, exactly as it would on the vendor's host.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from revenue_os_mock_apis import google_ads, hubspot, linkedin_ads, netsuite, salesforce
from revenue_os_mock_apis.business import generate_business
from revenue_os_mock_apis.business.core import DAY_MS, date_to_ms
from revenue_os_mock_apis.config import ADMIN_TOKEN_ENV, MockConfig
from revenue_os_mock_apis.faults import bearer_token
from revenue_os_mock_apis.query import parse_datetime_literal
from revenue_os_mock_apis.state import MockState

MOUNTS = {
    "/hubspot": hubspot.build_app,
    "/salesforce": salesforce.build_app,
    "/google-ads": google_ads.build_app,
    "/linkedin": linkedin_ads.build_app,
    "/netsuite": netsuite.build_app,
}


class AdminError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(config: MockConfig, *, state: MockState | None = None) -> FastAPI:
    """Generate the business (unless a state is given) and build the server's app."""
    config = config.validated()
    if state is None:
        business = generate_business(
            config.seed, config.scale, config.as_of, config.horizon_days, progress=config.progress
        )
        state = MockState(config, business)
    app = FastAPI(
        title="Revenue OS mock vendor APIs",
        description="HubSpot, Salesforce, Google Ads, LinkedIn Ads and NetSuite over one fake business.",
        # Served below behind the admin token: the schema maps every admin endpoint.
        docs_url=None,
        openapi_url=None,
        redoc_url=None,
    )
    app.state.mock = state

    @app.exception_handler(AdminError)
    async def _admin_error(request: Request, error: AdminError) -> JSONResponse:
        return JSONResponse({"error": error.message}, status_code=error.status)

    def admin(request: Request) -> None:
        expected = state.config.admin_token
        if not expected:
            # Fail closed: a vendor token is handed to every connector, so it must not also
            # reset the business, move its clock or inject faults.
            raise AdminError(
                403, f"the admin API is off: start the server with {ADMIN_TOKEN_ENV} set"
            )
        given = bearer_token(request) or ""
        if not secrets.compare_digest(given.encode(), expected.encode()):
            raise AdminError(401, "admin endpoints need Authorization: Bearer <admin token>")

    @app.get("/_admin/openapi.json", dependencies=[Depends(admin)], include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @app.get("/_admin/docs", dependencies=[Depends(admin)], include_in_schema=False)
    def docs() -> HTMLResponse:
        # The schema is embedded rather than fetched: the page's own request for it would
        # carry no bearer token, so one authenticated request has to bring everything.
        return get_swagger_ui_html(
            openapi_url="/_admin/openapi.json",
            title=f"{app.title} (admin)",
            swagger_ui_parameters={"spec": app.openapi()},
        )

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "as_of": state.as_of.isoformat(), "scale": state.config.scale}

    @app.get("/_admin/counts", dependencies=[Depends(admin)])
    def counts(modified_since: str | None = None) -> dict[str, Any]:
        """Exact record counts of a full pull now; with modified_since, of an incremental pull."""
        view = state.view()
        body: dict[str, Any] = {"as_of": state.as_of.isoformat(), "objects": view.counts()}
        if modified_since:
            try:
                since = (
                    parse_datetime_literal(modified_since)
                    if "T" in modified_since
                    else date_to_ms(__import__("datetime").date.fromisoformat(modified_since))
                )
            except ValueError:
                raise AdminError(
                    400, f"modified_since is not an ISO date or datetime: {modified_since}"
                ) from None
            body["modified_since"] = modified_since
            body["modified"] = view.modified_since(since)
        return body

    @app.post("/_admin/advance", dependencies=[Depends(admin)])
    async def advance(request: Request) -> dict[str, Any]:
        try:
            payload = await request.json()
            days = int(payload.get("days", 1))
        except (ValueError, AttributeError, TypeError):
            raise AdminError(400, 'body must be {"days": N}') from None
        try:
            return state.advance(days)
        except ValueError as error:
            raise AdminError(400, str(error)) from None

    @app.get("/_admin/faults", dependencies=[Depends(admin)])
    def get_faults() -> dict[str, Any]:
        return {"faults": asdict(state.faults), "requests": dict(state.counters)}

    @app.post("/_admin/faults", dependencies=[Depends(admin)])
    async def set_faults(request: Request) -> dict[str, Any]:
        """Change fault options (partial update); {"reset_counters": true} restarts the sequence."""
        try:
            payload = await request.json()
        except ValueError:
            raise AdminError(400, "body must be a JSON object of fault options") from None
        if not isinstance(payload, dict):
            raise AdminError(400, "body must be a JSON object of fault options")
        reset_counters = bool(payload.pop("reset_counters", False))
        try:
            with state.lock:
                state.faults = state.faults.updated(payload)
                if reset_counters:
                    state.counters = dict.fromkeys(state.counters, 0)
        except (ValueError, TypeError) as error:
            raise AdminError(400, str(error)) from None
        return {"faults": asdict(state.faults), "requests": dict(state.counters)}

    @app.post("/_admin/reset", dependencies=[Depends(admin)])
    def reset() -> dict[str, Any]:
        state.reset()
        return {"as_of": state.as_of.isoformat(), "faults": asdict(state.faults)}

    @app.get("/_admin/state", dependencies=[Depends(admin)])
    def describe() -> dict[str, Any]:
        business = state.business
        calendar = business.calendar
        return {
            "seed": business.seed,
            "scale": business.scale,
            "as_of": state.as_of.isoformat(),
            "started_as_of": calendar.as_of.isoformat(),
            "history_start": calendar.start.isoformat(),
            "advance_days_left": int((calendar.end_ms - state.now_ms) // DAY_MS),
            "generation_seconds": round(business.generation_seconds, 2),
            "google_ads": {
                "customer_ids": [str(c) for c in business.programs.google_customer_ids],
                "manager_id": str(business.programs.google_manager_id),
            },
            "linkedin": {"ad_account_id": int(business.programs.linkedin_account_id)},
        }

    for prefix, build in MOUNTS.items():
        app.mount(prefix, build(state))
    return app
