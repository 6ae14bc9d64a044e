"""LinkedIn Marketing API (versioned REST, Rest.li 2.0): ad accounts, campaigns, adAnalytics."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import unquote

import numpy as np
from fastapi import FastAPI, Request

from revenue_os_mock_apis.business.core import DAY_MS
from revenue_os_mock_apis.business.marketing import (
    KIND_LINKEDIN,
    LINKEDIN_ACCOUNT_CURRENCY,
    LINKEDIN_AUDIENCES,
)
from revenue_os_mock_apis.faults import (
    VendorError,
    VendorErrors,
    malformed_kind,
    vendor_app,
    vendor_response,
)
from revenue_os_mock_apis.state import MockState

VENDOR = "linkedin"
MAX_ELEMENTS = 15_000
ANALYTICS_FIELDS = (
    "dateRange",
    "pivotValues",
    "impressions",
    "clicks",
    "landingPageClicks",
    "costInLocalCurrency",
    "costInUsd",
    "externalWebsiteConversions",
    "oneClickLeads",
)
DEFAULT_FIELDS = ("impressions", "clicks")
DRIFT_FIELD = "videoViews"
DRIFT_REMOVED = "externalWebsiteConversions"
ACCOUNT_URN = "urn:li:sponsoredAccount:"
CAMPAIGN_URN = "urn:li:sponsoredCampaign:"


class RestliError(ValueError):
    pass


def parse_restli(text: str) -> Any:
    """Rest.li 2.0 URL syntax: (key:value,...), List(a,b), or a plain (percent-encoded) value."""
    value, position = _restli_value(text, 0)
    if position != len(text):
        raise RestliError(
            f"unexpected characters at {position}: {text[position : position + 10]!r}"
        )
    return value


def _restli_value(text: str, i: int) -> tuple[Any, int]:
    if text.startswith("List(", i):
        items: list[Any] = []
        i += 5
        if text.startswith(")", i):
            return items, i + 1
        while True:
            item, i = _restli_value(text, i)
            items.append(item)
            if text.startswith(",", i):
                i += 1
                continue
            if text.startswith(")", i):
                return items, i + 1
            raise RestliError(f"expected ',' or ')' at {i}")
    if text.startswith("(", i):
        record: dict[str, Any] = {}
        i += 1
        if text.startswith(")", i):
            return record, i + 1
        while True:
            colon = text.find(":", i)
            if colon < 0:
                raise RestliError(f"expected 'key:' at {i}")
            key = unquote(text[i:colon])
            value, i = _restli_value(text, colon + 1)
            record[key] = value
            if text.startswith(",", i):
                i += 1
                continue
            if text.startswith(")", i):
                return record, i + 1
            raise RestliError(f"expected ',' or ')' at {i}")
    end = i
    while end < len(text) and text[end] not in ",()":
        end += 1
    return unquote(text[i:end]), end


def _raw_params(request: Request) -> dict[str, str]:
    """Query parameters before percent-decoding: Rest.li structure must be parsed first."""
    params: dict[str, str] = {}
    for part in request.scope.get("query_string", b"").decode("latin-1").split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        params[unquote(key)] = value
    return params


def _structural(value: str) -> str:
    """Clients that percent-encode the Rest.li punctuation too: decode only that punctuation."""
    return (
        re.sub(r"%(28|29|2C|2c|3A|3a)", lambda m: unquote(m.group(0)), value)
        if "%28" in value.upper()
        else value
    )


class LinkedInErrors(VendorErrors):
    vendor = VENDOR

    @staticmethod
    def body(status: int, code: str, message: str, service_code: int | None = None) -> dict:
        out: dict[str, Any] = {"status": status}
        if service_code is not None:
            out["serviceErrorCode"] = service_code
        out["code"] = code
        out["message"] = message
        return out

    def unauthorized(self, request) -> VendorError:
        return VendorError(
            401, self.body(401, "INVALID_ACCESS_TOKEN", "Invalid access token", 65600)
        )

    def rate_limited(self, request, options, n) -> VendorError:
        return VendorError(
            429,
            self.body(
                429,
                "TOO_MANY_REQUESTS",
                "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.",
            ),
            {"Retry-After": str(options.retry_after_s)},
        )

    def server_error(self, request, options, n) -> VendorError:
        return VendorError(500, self.body(500, "INTERNAL_SERVER_ERROR", "Internal Server Error"))

    def not_found(self, request) -> VendorError:
        return VendorError(
            404, self.body(404, "RESOURCE_NOT_FOUND", f"No resource found for {request.url.path}")
        )

    def bad_request(self, request, message: str) -> VendorError:
        return VendorError(400, self.body(400, "ILLEGAL_ARGUMENT", message, 100))


def build_app(state: MockState) -> FastAPI:
    errors = LinkedInErrors()

    def versioned(request: Request) -> None:
        version = request.headers.get("linkedin-version")
        if not version:
            raise VendorError(
                400,
                errors.body(
                    400,
                    "VERSION_MISSING",
                    "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
                ),
            )
        if not re.fullmatch(r"20\d{4}", version.strip()) or not "01" <= version.strip()[4:] <= "12":
            raise VendorError(
                426,
                errors.body(
                    426, "NONEXISTENT_VERSION", f"Requested version {version} is not active"
                ),
            )
        if request.headers.get("x-restli-protocol-version") != "2.0.0":
            raise VendorError(
                400,
                errors.body(
                    400,
                    "ILLEGAL_ARGUMENT",
                    "This API requires the header X-Restli-Protocol-Version: 2.0.0",
                    100,
                ),
            )

    app = vendor_app("LinkedIn Marketing API (mock)", state, errors, versioned)
    programs = state.business.programs
    account_id = int(programs.linkedin_account_id)

    def account_element() -> dict:
        return {
            "id": account_id,
            "name": "Northwind Telemetry",
            "currency": LINKEDIN_ACCOUNT_CURRENCY,
            "status": "ACTIVE",
            "type": "BUSINESS",
            "reference": f"urn:li:organization:{account_id % 10**8 + 1000}",
            "test": False,
        }

    def require_q(request: Request, expected: str) -> None:
        q = request.query_params.get("q")
        if q != expected:
            raise errors.bad_request(request, f"Query parameter 'q' must be '{expected}'")

    @app.get("/rest/adAccounts")
    def ad_accounts(request: Request):
        require_q(request, "search")
        return vendor_response(
            state,
            errors,
            request,
            {"elements": [account_element()], "paging": {"start": 0, "count": 10, "total": 1}},
        )

    @app.get("/rest/adAccounts/{account}")
    def ad_account(request: Request, account: int):
        if account != account_id:
            raise errors.not_found(request)
        return vendor_response(state, errors, request, account_element())

    @app.get("/rest/adCampaigns")
    def ad_campaigns(request: Request):
        require_q(request, "search")
        return campaigns(request, None)

    @app.get("/rest/adAccounts/{account}/adCampaigns")
    def account_campaigns(request: Request, account: int):
        require_q(request, "search")
        if account != account_id:
            raise errors.not_found(request)
        return campaigns(request, account)

    def campaigns(request: Request, account: int | None):
        params = _raw_params(request)
        search: dict[str, Any] = {}
        if params.get("search"):
            # Any search value is accepted; the account and status facets are honoured.
            try:
                parsed = parse_restli(_structural(params["search"]))
            except RestliError:
                parsed = {}
            search = parsed if isinstance(parsed, dict) else {}
        start = _int_param(request, params, "start", 0)
        count = _int_param(request, params, "count", 10)
        if count < 1 or count > 1000:
            raise errors.bad_request(request, "count must be between 1 and 1000")
        view = state.view()
        rows = view.programs_visible((KIND_LINKEDIN,))
        rows = rows[np.argsort(programs.external_id[rows], kind="stable")]
        accounts = _facet_values(search.get("account"))
        if accounts and f"{ACCOUNT_URN}{account_id}" not in accounts:
            rows = rows[:0]
        statuses = _facet_values(search.get("status"))
        status = campaign_status(view, rows)
        if statuses:
            rows = rows[np.isin(status, statuses)]
            status = campaign_status(view, rows)
        page = rows[start : start + count]
        options = request.state.faults
        elements = [
            campaign_element(view, int(r), str(s), options)
            for r, s in zip(page, status[start : start + count], strict=True)
        ]
        body = {
            "elements": elements,
            "paging": {"start": start, "count": count, "total": int(rows.size)},
        }
        return vendor_response(state, errors, request, body)

    def campaign_status(view, rows: np.ndarray) -> np.ndarray:
        start_ms, end_ms = view.campaign_times()
        now = view.now_ms
        return np.where(
            now < start_ms[rows],
            "DRAFT",
            np.where(
                now < end_ms[rows],
                "ACTIVE",
                np.where(now - end_ms[rows] > 180 * DAY_MS, "ARCHIVED", "COMPLETED"),
            ),
        )

    def campaign_element(view, row: int, status: str, options) -> dict:
        start_ms, end_ms = view.campaign_times()
        audience = next(
            (k for k, a in enumerate(LINKEDIN_AUDIENCES) if f"| {a} |" in programs.name[row]), 0
        )
        schedule: dict[str, int] = {"start": int(start_ms[row])}
        if end_ms[row] < 2**61:
            schedule["end"] = int(end_ms[row])
        changes = [int(programs.created_ms[row])]
        changes += [int(t) for t in (start_ms[row], end_ms[row]) if t < view.now_ms]
        modified = max(changes)
        element: dict[str, Any] = {
            "id": int(programs.external_id[row]),
            "name": str(programs.name[row]),
            "account": f"{ACCOUNT_URN}{account_id}",
            "campaignGroup": f"urn:li:sponsoredCampaignGroup:{int(programs.linkedin_group_ids[audience])}",
            "status": status,
            "type": "SPONSORED_UPDATES",
            "costType": str(programs.cost_type[row]),
            "dailyBudget": {
                "amount": f"{programs.daily_budget[row]:.2f}",
                "currencyCode": LINKEDIN_ACCOUNT_CURRENCY,
            },
            "runSchedule": schedule,
            "objectiveType": "LEAD_GENERATION"
            if "Lead Gen" in programs.name[row]
            else "WEBSITE_VISIT",
            "changeAuditStamps": {
                "created": {"time": int(programs.created_ms[row])},
                "lastModified": {"time": modified},
            },
        }
        broken = malformed_kind(options, "linkedin_ads.campaigns", element["id"])
        if broken == "key":
            element["id"] = None
        if options.schema_drift == "add_field":
            element["storyDeliveryEnabled"] = False
        elif options.schema_drift == "remove_field":
            element.pop("dailyBudget")
        return element

    @app.get("/rest/adAnalytics")
    def ad_analytics(request: Request):
        require_q(request, "analytics")
        params = _raw_params(request)
        pivot = unquote(params.get("pivot", ""))
        if pivot != "CAMPAIGN":
            raise errors.bad_request(
                request, f"Unsupported pivot '{pivot}': this API serves pivot=CAMPAIGN"
            )
        granularity = unquote(params.get("timeGranularity", ""))
        if granularity not in ("DAILY", "MONTHLY", "ALL"):
            raise errors.bad_request(request, "timeGranularity must be DAILY, MONTHLY or ALL")
        if "dateRange" not in params:
            raise errors.bad_request(request, "dateRange is required")
        try:
            date_range = parse_restli(_structural(params["dateRange"]))
            first_day, last_day = _date_range(date_range, state.view().now_day)
        except (RestliError, KeyError, TypeError, ValueError) as error:
            raise errors.bad_request(request, f"Invalid dateRange: {error}") from None
        try:
            accounts = parse_restli(_structural(params["accounts"])) if "accounts" in params else []
            campaigns_filter = (
                parse_restli(_structural(params["campaigns"])) if "campaigns" in params else []
            )
        except RestliError as error:
            raise errors.bad_request(request, f"Invalid facet: {error}") from None
        if not accounts and not campaigns_filter:
            raise errors.bad_request(request, "One of the facets accounts or campaigns is required")
        fields = [f for f in unquote(params.get("fields", "")).split(",") if f] or list(
            DEFAULT_FIELDS
        )
        unknown = [f for f in fields if f not in ANALYTICS_FIELDS]
        if unknown:
            raise errors.bad_request(request, f"Invalid field(s) requested: {', '.join(unknown)}")
        view = state.view()
        ads = view.ad_rows("linkedin_ads")
        mask = (ads.day >= first_day) & (ads.day <= last_day)
        if accounts and f"{ACCOUNT_URN}{account_id}" not in accounts:
            mask &= False
        if campaigns_filter:
            wanted = {
                int(str(c).rsplit(":", 1)[-1])
                for c in campaigns_filter
                if str(c).rsplit(":", 1)[-1].isdigit()
            }
            mask &= np.isin(programs.external_id[ads.program], list(wanted))
        rows = np.flatnonzero(mask)
        elements = analytics_elements(
            request, view, ads, rows, granularity, fields, first_day, last_day
        )
        if len(elements) > MAX_ELEMENTS:
            raise errors.bad_request(
                request,
                f"Request would return {len(elements)} elements, over the {MAX_ELEMENTS} limit: "
                "narrow the dateRange or the facets",
            )
        body = {"elements": elements, "paging": {"start": 0, "count": 10000, "links": []}}
        return vendor_response(state, errors, request, body)

    def analytics_elements(
        request, view, ads, rows, granularity, fields, first_day, last_day
    ) -> list[dict]:
        campaign_ids = programs.external_id[ads.program[rows]]
        days = ads.day[rows]
        if granularity == "DAILY":
            bucket_start = days
            bucket_end = days
        elif granularity == "MONTHLY":
            month = days.astype("datetime64[D]").astype("datetime64[M]")
            bucket_start = np.maximum(month.astype("datetime64[D]").astype(np.int64), first_day)
            bucket_end = np.minimum(
                (month + 1).astype("datetime64[D]").astype(np.int64) - 1, last_day
            )
        else:
            bucket_start = np.full(rows.size, first_day, dtype=np.int64)
            bucket_end = np.full(rows.size, min(last_day, view.now_day - 1), dtype=np.int64)
        keys = np.stack([bucket_start, campaign_ids])
        unique, inverse = np.unique(keys, axis=1, return_inverse=True)
        inverse = inverse.reshape(-1)
        groups = unique.shape[1]

        def total(values: np.ndarray) -> np.ndarray:
            out = np.zeros(groups, dtype=np.float64)
            np.add.at(out, inverse, values.astype(np.float64))
            return out

        impressions = total(ads.impressions[rows])
        clicks = total(ads.clicks[rows])
        cost = total(ads.cost[rows])
        conversions = total(ads.conversions[rows])
        lead_gen = np.array(["Lead Gen" in n for n in programs.name[ads.program[rows]]])
        leads = total(np.where(lead_gen, np.floor(ads.clicks[rows] * 0.08), 0))
        end_of = np.zeros(groups, dtype=np.int64)
        np.maximum.at(end_of, inverse, bucket_end)
        options = request.state.faults
        out = []
        for g in range(groups):
            start_day = int(unique[0, g])
            urn = f"{CAMPAIGN_URN}{int(unique[1, g])}"
            values = {
                "dateRange": {"start": _ymd(start_day), "end": _ymd(int(end_of[g]))},
                "pivotValues": [urn],
                "impressions": int(impressions[g]),
                "clicks": int(clicks[g]),
                "landingPageClicks": int(clicks[g] * 0.91 + 0.5),
                "costInLocalCurrency": f"{cost[g]:.2f}",
                "costInUsd": f"{cost[g]:.2f}",
                "externalWebsiteConversions": int(conversions[g]),
                "oneClickLeads": int(leads[g]),
            }
            element = {name: values[name] for name in fields}
            broken = malformed_kind(options, "linkedin_ads.campaign_days", f"{urn}:{start_day}")
            if broken == "key" and "pivotValues" in element:
                element["pivotValues"] = []
            elif broken == "timestamp" and "dateRange" in element:
                element["dateRange"] = {"start": {"year": "not-a-date"}}
            if options.schema_drift == "add_field":
                element[DRIFT_FIELD] = 0
            elif options.schema_drift == "remove_field":
                element.pop(DRIFT_REMOVED, None)
            out.append(element)
        return out

    return app


def _int_param(request: Request, params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(unquote(raw))
    except ValueError:
        raise LinkedInErrors().bad_request(request, f"{name} must be a whole number") from None


def _facet_values(facet: Any) -> list[str]:
    """`(values:List(a,b))` -> [a, b]."""
    if isinstance(facet, dict):
        values = facet.get("values")
        return [str(v) for v in values] if isinstance(values, list) else []
    return []


def _ymd(day: int) -> dict[str, int]:
    value = date.fromordinal(date(1970, 1, 1).toordinal() + day)
    return {"year": value.year, "month": value.month, "day": value.day}


def _date_range(spec: Any, today: int) -> tuple[int, int]:
    """(start:(year:Y,month:M,day:D)[,end:(...)]) -> first and last day, days since 1970."""
    if not isinstance(spec, dict) or "start" not in spec:
        raise ValueError("expected (start:(year:..,month:..,day:..),end:(...))")

    def day_of(part: dict) -> int:
        value = date(int(part["year"]), int(part["month"]), int(part["day"]))
        return value.toordinal() - date(1970, 1, 1).toordinal()

    first = day_of(spec["start"])
    last = day_of(spec["end"]) if "end" in spec else today
    if last < first:
        raise ValueError("end is before start")
    return first, last
