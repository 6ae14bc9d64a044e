"""Google Ads API v18 (REST): listAccessibleCustomers and GAQL searchStream / search on campaigns."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from fastapi import FastAPI, Request

from revenue_os_mock_apis.business.core import (
    DAY_MS,
    NULL_INT,
    Column,
    Kind,
    stable_u64,
    unit_noise,
)
from revenue_os_mock_apis.business.marketing import (
    GOOGLE_ACCOUNTS,
    GOOGLE_KINDS,
    KIND_DISPLAY,
)
from revenue_os_mock_apis.business.view import RESTATEMENT_DAYS
from revenue_os_mock_apis.faults import (
    VendorError,
    VendorErrors,
    malformed_kind,
    vendor_app,
    vendor_response,
)
from revenue_os_mock_apis.query import (
    GAQL,
    Between,
    BoolOp,
    Compare,
    Not,
    QueryError,
    evaluate,
    fields_in,
    parse,
    sort_rows,
)
from revenue_os_mock_apis.render import iso_date
from revenue_os_mock_apis.state import MockState

VENDOR = "google_ads"
SUPPORTED_VERSIONS = {"v16", "v17", "v18", "v19", "v20"}
BATCH_ROWS = 10_000
FAILURE_TYPE = "type.googleapis.com/google.ads.googleads.{version}.errors.GoogleAdsFailure"
TIME_ZONES = ("America/New_York", "Europe/Berlin")
# GAQL field -> (kind, how the REST response spells it). int64 values travel as strings.
FIELDS: dict[str, str] = {
    "customer.id": Kind.INT,
    "customer.descriptive_name": Kind.STR,
    "customer.currency_code": Kind.STR,
    "customer.time_zone": Kind.STR,
    "customer.resource_name": Kind.STR,
    "campaign.id": Kind.INT,
    "campaign.name": Kind.STR,
    "campaign.status": Kind.STR,
    "campaign.advertising_channel_type": Kind.STR,
    "campaign.start_date": Kind.DATE,
    "campaign.end_date": Kind.DATE,
    "campaign.resource_name": Kind.STR,
    "segments.date": Kind.DATE,
    "metrics.impressions": Kind.INT,
    "metrics.clicks": Kind.INT,
    "metrics.cost_micros": Kind.INT,
    "metrics.conversions": Kind.FLOAT,
    "metrics.conversions_value": Kind.FLOAT,
    "metrics.ctr": Kind.FLOAT,
    "metrics.average_cpc": Kind.FLOAT,
}
INT64_AS_STRING = {
    "customer.id",
    "campaign.id",
    "metrics.impressions",
    "metrics.clicks",
    "metrics.cost_micros",
}
# Drift: a field the query did not ask for, or conversionsValue missing.
DRIFT_FIELD = ("adGroup", {"resourceName": "customers/0/adGroups/0"})
DRIFT_REMOVED = "metrics.conversions_value"


def camel(path: str) -> str:
    head, _, leaf = path.partition(".")
    parts = leaf.split("_")
    return f"{head}.{parts[0]}{''.join(p.capitalize() for p in parts[1:])}"


class GoogleAdsErrors(VendorErrors):
    vendor = VENDOR

    @staticmethod
    def failure(
        request: Request, code: int, status: str, message: str, error_code: dict, **extra: Any
    ) -> dict:
        version = request.path_params.get("version", "v18") if request is not None else "v18"
        error: dict[str, Any] = {"errorCode": error_code, "message": message, **extra}
        return {
            "error": {
                "code": code,
                "message": message if code != 400 else "Request contains an invalid argument.",
                "status": status,
                "details": [
                    {
                        "@type": FAILURE_TYPE.format(version=version),
                        "errors": [error],
                        "requestId": _request_id(request),
                    }
                ],
            }
        }

    def unauthorized(self, request) -> VendorError:
        return VendorError(
            401,
            {
                "error": {
                    "code": 401,
                    "message": "Request is missing required authentication credential. Expected OAuth 2 "
                    "access token, login cookie or other valid authentication credential. See "
                    "https://developers.google.com/identity/sign-in/web/devconsole-project.",
                    "status": "UNAUTHENTICATED",
                }
            },
        )

    def rate_limited(self, request, options, n) -> VendorError:
        body = self.failure(
            request,
            429,
            "RESOURCE_EXHAUSTED",
            "Resource has been exhausted (e.g. check quota).",
            {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
            details={"quotaErrorDetails": {"retryDelay": f"{options.retry_after_s}s"}},
        )
        body["error"]["message"] = "Resource has been exhausted (e.g. check quota)."
        return VendorError(429, body, {"Retry-After": str(options.retry_after_s)})

    def server_error(self, request, options, n) -> VendorError:
        return VendorError(
            500,
            {
                "error": {
                    "code": 500,
                    "message": "Internal error encountered.",
                    "status": "INTERNAL",
                }
            },
        )

    def not_found(self, request) -> VendorError:
        path = request.url.path if request is not None else ""
        return VendorError(
            404,
            {"error": {"code": 404, "message": f"Method not found: {path}", "status": "NOT_FOUND"}},
        )

    def bad_request(self, request, message: str) -> VendorError:
        return VendorError(
            400,
            self.failure(
                request, 400, "INVALID_ARGUMENT", message, {"requestError": "INVALID_INPUT"}
            ),
        )

    def query_error(self, request, reason: str, message: str) -> VendorError:
        return VendorError(
            400, self.failure(request, 400, "INVALID_ARGUMENT", message, {"queryError": reason})
        )

    def headers(self, state: MockState, n: int) -> dict[str, str]:
        return {"request-id": f"mock-{state.business.seed}-{n}"}


def _request_id(request: Request | None) -> str:
    if request is None:
        return ""
    n = getattr(request.state, "request_number", 0)
    raw = stable_u64(request.url.path, n).to_bytes(8, "big") + stable_u64(n, "rid").to_bytes(
        8, "big"
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")[:22]


@dataclass
class _Rows:
    """The rows a GAQL query runs over, as columns named by GAQL field."""

    columns: dict[str, Column]
    size: int


def build_app(state: MockState) -> FastAPI:
    errors = GoogleAdsErrors()

    def require_developer_token(request: Request) -> None:
        if not request.headers.get("developer-token", "").strip():
            raise VendorError(
                401,
                {
                    "error": {
                        "code": 401,
                        "message": "The developer-token header is missing: every request needs the "
                        "developer token of the API project.",
                        "status": "UNAUTHENTICATED",
                        "details": [
                            {
                                "@type": FAILURE_TYPE.format(
                                    version=request.path_params.get("version", "v18")
                                ),
                                "errors": [
                                    {
                                        "errorCode": {
                                            "requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"
                                        },
                                        "message": "The developer-token parameter is required for all requests.",
                                    }
                                ],
                            }
                        ],
                    }
                },
            )

    app = vendor_app("Google Ads (mock)", state, errors, require_developer_token)
    programs = state.business.programs
    customer_ids = [str(c) for c in programs.google_customer_ids]

    def check_version(request: Request, version: str) -> None:
        if version not in SUPPORTED_VERSIONS:
            raise errors.not_found(request)

    @app.get("/{version}/customers:listAccessibleCustomers")
    def list_accessible(request: Request, version: str):
        check_version(request, version)
        return vendor_response(
            state, errors, request, {"resourceNames": [f"customers/{c}" for c in customer_ids]}
        )

    def check_customer(request: Request, customer_id: str) -> int:
        login = re.sub(r"\D", "", request.headers.get("login-customer-id", ""))
        denied = customer_id not in customer_ids or not login
        if denied:
            raise VendorError(
                403,
                errors.failure(
                    request,
                    403,
                    "PERMISSION_DENIED",
                    "User doesn't have permission to access customer. Note: If you're accessing a "
                    "client customer, the manager's customer id must be set in the "
                    "'login-customer-id' header. See https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid",
                    {"authorizationError": "USER_PERMISSION_DENIED"},
                ),
            )
        return customer_ids.index(customer_id)

    async def read_query(request: Request) -> str:
        try:
            body = await request.json()
        except ValueError:
            raise errors.bad_request(request, "Invalid JSON payload received.") from None
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, str) or not query.strip():
            raise errors.bad_request(request, "The 'query' field is required.")
        return query

    @app.post("/{version}/customers/{customer_id}/googleAds:searchStream")
    async def search_stream(request: Request, version: str, customer_id: str):
        check_version(request, version)
        account = check_customer(request, customer_id)
        query = await read_query(request)
        rows, mask, fields = run(request, account, query)
        results = [rendered for rendered in render_rows(request, rows, mask, fields, account)]
        field_mask = ",".join(camel(f) for f in fields)
        request_id = _stream_request_id(customer_id, query, state)
        if not results:
            return vendor_response(
                state, errors, request, [{"fieldMask": field_mask, "requestId": request_id}]
            )
        batches = [
            {
                "results": results[i : i + BATCH_ROWS],
                "fieldMask": field_mask,
                "requestId": request_id,
            }
            for i in range(0, len(results), BATCH_ROWS)
        ]
        return vendor_response(state, errors, request, batches)

    @app.post("/{version}/customers/{customer_id}/googleAds:search")
    async def search(request: Request, version: str, customer_id: str):
        check_version(request, version)
        account = check_customer(request, customer_id)
        query = await read_query(request)
        body = await request.json()
        token = str(body.get("pageToken") or "")
        try:
            padded = token + "=" * (-len(token) % 4)
            start = int(base64.urlsafe_b64decode(padded).decode()) if token else 0
        except ValueError:
            raise errors.bad_request(request, "Invalid page token.") from None
        rows, mask, fields = run(request, account, query)
        results = list(render_rows(request, rows, mask, fields, account))
        page = results[start : start + BATCH_ROWS]
        out: dict[str, Any] = {"results": page, "fieldMask": ",".join(camel(f) for f in fields)}
        if start + BATCH_ROWS < len(results):
            out["nextPageToken"] = base64.urlsafe_b64encode(
                str(start + BATCH_ROWS).encode()
            ).decode()
        if body.get("returnTotalResultsCount"):
            out["totalResultsCount"] = str(len(results))
        out["requestId"] = _stream_request_id(customer_id, query, state)
        return vendor_response(state, errors, request, out)

    def run(request: Request, account: int, text: str):
        view = state.view()
        today = view.now_day
        try:
            query = parse(text, GAQL, today=today)
        except QueryError as error:
            code = {"bad_value": "BAD_VALUE"}.get(error.code, "BAD_SYMBOL")
            if "expecting FROM" in error.message:
                code = "EXPECTED_FROM"
            if "expecting SELECT" in error.message:
                code = "EXPECTED_SELECT"
            raise errors.query_error(request, code, f"Error in query: {error.message}") from None
        if query.source.lower() != "campaign":
            raise errors.query_error(
                request,
                "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                f"Error in query: unsupported resource '{query.source}'",
            )
        fields = [f.lower() for f in query.fields]
        for name in (
            fields
            + [f.lower() for f in fields_in(query.where)]
            + [t.field.lower() for t in query.order]
        ):
            if name not in FIELDS:
                raise errors.query_error(
                    request, "UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{name}'."
                )
        if not fields:
            raise errors.query_error(
                request, "EXPECTED_SELECT", "Error in query: expected a SELECT list"
            )
        filtered = [f.lower() for f in fields_in(query.where)]
        if "segments.date" in fields and not _bounded_date(query.where):
            raise errors.query_error(
                request,
                "EXPECTED_FILTERS_ON_DATE_RANGE",
                "Filters on date/week/month/quarter/year date segments are required when selecting "
                "segments.date: add a finite range (BETWEEN, DURING, or both >= and <=).",
            )
        conditions = _conjuncts(_lower_fields(query.where))
        if conditions is None:
            raise errors.query_error(
                request, "BAD_SYMBOL", "Error in query: GAQL conditions can only be joined with AND"
            )
        uses_metrics = any(f.startswith(("metrics.", "segments.")) for f in fields + filtered)
        rows = (
            campaign_day_rows(view, account, request.state.faults.late_restatement_days)
            if uses_metrics
            else campaign_rows(view, account)
        )
        # Segment and attribute conditions pick days; metric conditions apply to what is
        # reported, i.e. after summing over the range when segments.date is not selected.
        aggregated = uses_metrics and "segments.date" not in fields
        before = [c for c in conditions if not (aggregated and c.field.startswith("metrics."))]
        after = [c for c in conditions if aggregated and c.field.startswith("metrics.")]
        mask = self_evaluate(request, before, rows)
        if uses_metrics:
            mask &= rows.columns["metrics.impressions"].values > 0
        if aggregated:
            rows = aggregate(
                _Rows(
                    {k: Column(c.kind, c.values[mask]) for k, c in rows.columns.items()},
                    int(mask.sum()),
                )
            )
            mask = self_evaluate(request, after, rows)

        def get(name: str) -> Column:
            return rows.columns[name.lower()]

        order_terms = [type(t)(t.field.lower(), t.descending, t.nulls_first) for t in query.order]
        indices = sort_rows(get, np.flatnonzero(mask), order_terms, None)
        if query.limit is not None:
            indices = indices[: query.limit]
        return rows, indices, fields

    def self_evaluate(request: Request, conditions: list, rows: _Rows) -> np.ndarray:
        node = BoolOp("AND", tuple(conditions)) if conditions else None
        try:
            return evaluate(node, lambda name: rows.columns[name], rows.size, GAQL)
        except QueryError as error:
            raise errors.query_error(
                request, "BAD_VALUE", f"Error in query: {error.message}"
            ) from None

    def campaign_rows(view, account: int) -> _Rows:
        mine = view.programs_visible(GOOGLE_KINDS)
        mine = mine[programs.account[mine] == account]
        mine = mine[np.argsort(programs.external_id[mine], kind="stable")]
        return _Rows(campaign_columns(view, account, mine), mine.size)

    def campaign_columns(view, account: int, program_rows: np.ndarray) -> dict[str, Column]:
        cal = state.business.calendar
        start_day = cal.start_ms // DAY_MS + programs.start_day[program_rows]
        end_raw = programs.end_day[program_rows]
        end_day = np.where(end_raw >= 10**6, NULL_INT, cal.start_ms // DAY_MS + end_raw - 1)
        ended_days_ago = view.now_day - np.where(end_day == NULL_INT, view.now_day + 1, end_day)
        status = np.where(
            ended_days_ago <= 0, "ENABLED", np.where(ended_days_ago < 90, "PAUSED", "REMOVED")
        )
        customer = customer_ids[account]
        ids = programs.external_id[program_rows]
        n = program_rows.size
        return {
            "customer.id": Column(Kind.INT, np.full(n, int(customer), dtype=np.int64)),
            "customer.descriptive_name": Column(
                Kind.STR, np.full(n, GOOGLE_ACCOUNTS[account][2], dtype=object)
            ),
            "customer.currency_code": Column(
                Kind.STR, np.full(n, GOOGLE_ACCOUNTS[account][1], dtype=object)
            ),
            "customer.time_zone": Column(Kind.STR, np.full(n, TIME_ZONES[account], dtype=object)),
            "customer.resource_name": Column(
                Kind.STR, np.full(n, f"customers/{customer}", dtype=object)
            ),
            "campaign.id": Column(Kind.INT, ids),
            "campaign.name": Column(Kind.STR, programs.name[program_rows]),
            "campaign.status": Column(Kind.STR, status.astype(object)),
            "campaign.advertising_channel_type": Column(
                Kind.STR,
                np.where(programs.kind[program_rows] == KIND_DISPLAY, "DISPLAY", "SEARCH").astype(
                    object
                ),
            ),
            "campaign.start_date": Column(Kind.DATE, start_day),
            "campaign.end_date": Column(Kind.DATE, end_day),
            "campaign.resource_name": Column(
                Kind.STR,
                np.array([f"customers/{customer}/campaigns/{i}" for i in ids], dtype=object),
            ),
        }

    def campaign_day_rows(view, account: int, late_restatement_days: int = 0) -> _Rows:
        ads = view.ad_rows("google_ads")
        mine = np.flatnonzero(programs.account[ads.program] == account)
        cost = ads.cost[mine]
        if late_restatement_days:
            # Days past the usual settling days but within the late window change cost a
            # little every day, so only a re-read that reaches them sees today's figure.
            age = view.now_day - ads.day[mine]
            late = (age > RESTATEMENT_DAYS["google_ads"]) & (age <= late_restatement_days)
            noise = unit_noise(ads.row[mine].astype(np.int64) * 1024 + age, 4099)
            cost = np.where(late, cost * (1.0 + 0.02 * noise), cost)
        columns = campaign_columns(view, account, ads.program[mine])
        columns.update(
            {
                "segments.date": Column(Kind.DATE, ads.day[mine]),
                "metrics.impressions": Column(Kind.INT, ads.impressions[mine]),
                "metrics.clicks": Column(Kind.INT, ads.clicks[mine]),
                "metrics.cost_micros": Column(
                    Kind.INT, np.round(cost * 1_000_000).astype(np.int64)
                ),
                "metrics.conversions": Column(Kind.FLOAT, ads.conversions[mine]),
                "metrics.conversions_value": Column(Kind.FLOAT, ads.conversion_value[mine]),
            }
        )
        add_ratios(columns)
        columns["_row"] = Column(Kind.INT, ads.row[mine])
        order = np.lexsort((columns["campaign.id"].values, columns["segments.date"].values))
        return _Rows({k: Column(c.kind, c.values[order]) for k, c in columns.items()}, mine.size)

    def aggregate(rows: _Rows) -> _Rows:
        """Without segments.date in SELECT, metrics are summed over the date range per campaign."""
        ids = rows.columns["campaign.id"].values
        unique, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
        out: dict[str, Column] = {}
        for name, column in rows.columns.items():
            if name.startswith("metrics.") and name not in ("metrics.ctr", "metrics.average_cpc"):
                sums = np.zeros(unique.size, dtype=column.values.dtype)
                np.add.at(sums, inverse, column.values)
                out[name] = Column(
                    column.kind, np.round(sums, 2) if column.kind == Kind.FLOAT else sums
                )
            elif name != "segments.date":
                out[name] = Column(column.kind, column.values[first])
        add_ratios(out)
        return _Rows(out, unique.size)

    def add_ratios(columns: dict[str, Column]) -> None:
        impressions = columns["metrics.impressions"].values.astype(float)
        clicks = columns["metrics.clicks"].values.astype(float)
        cost = columns["metrics.cost_micros"].values.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            columns["metrics.ctr"] = Column(
                Kind.FLOAT, np.where(impressions > 0, clicks / impressions, 0.0)
            )
            columns["metrics.average_cpc"] = Column(
                Kind.FLOAT, np.where(clicks > 0, np.round(cost / clicks), 0.0)
            )

    def render_rows(
        request: Request, rows: _Rows, indices: np.ndarray, fields: list[str], account: int
    ):
        options = request.state.faults
        cols = rows.columns
        for i in indices.tolist():
            row: dict[str, dict[str, Any]] = {}
            for name in fields:
                if options.schema_drift == "remove_field" and name == DRIFT_REMOVED:
                    continue
                resource, _, leaf = camel(name).partition(".")
                target = row.setdefault(resource, {})
                if resource in ("customer", "campaign") and "resourceName" not in target:
                    target["resourceName"] = str(cols[f"{resource}.resource_name"].values[i])
                target[leaf] = _value(name, cols[name], i)
            # A day row is broken per day, a campaign row (no metrics asked) per campaign.
            if "_row" in cols:
                broken = malformed_kind(
                    options, "google_ads.campaign_days", int(cols["_row"].values[i])
                )
            else:
                broken = malformed_kind(
                    options, "google_ads.campaigns", int(cols["campaign.id"].values[i])
                )
            if broken == "timestamp" and "segments" in row:
                row["segments"]["date"] = "not-a-date"
            elif broken == "key" and "campaign" in row and "id" in row["campaign"]:
                row["campaign"]["id"] = None
            if options.schema_drift == "add_field":
                row[DRIFT_FIELD[0]] = dict(DRIFT_FIELD[1])
            yield {k: row[k] for k in sorted(row, key=_resource_order)}

    return app


def _resource_order(name: str) -> int:
    order = ("customer", "campaign", "adGroup", "metrics", "segments")
    return order.index(name) if name in order else len(order)


def _value(name: str, column: Column, i: int) -> Any:
    value = column.values[i]
    if column.kind == Kind.DATE:
        return None if int(value) == int(NULL_INT) else iso_date(int(value))
    if name in INT64_AS_STRING:
        return str(int(value))
    if column.kind == Kind.FLOAT:
        return float(value)
    return str(value)


def _stream_request_id(customer_id: str, query: str, state: MockState) -> str:
    raw = stable_u64(state.business.seed, customer_id, query, state.now_ms).to_bytes(8, "big")
    raw += stable_u64(query, customer_id).to_bytes(8, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")[:22]


def _bounded_date(node) -> bool:
    """Whether the WHERE clause bounds segments.date on both sides."""
    low = high = False

    def visit(n) -> None:
        nonlocal low, high
        if isinstance(n, BoolOp) and n.op == "AND":
            for part in n.parts:
                visit(part)
        elif isinstance(n, Between) and n.field.lower() == "segments.date":
            low = high = True
        elif isinstance(n, Compare) and n.field.lower() == "segments.date":
            if n.op in (">", ">=", "="):
                low = True
            if n.op in ("<", "<=", "="):
                high = True

    visit(node)
    return low and high


def _conjuncts(node) -> list | None:
    """The conditions of an AND-only WHERE clause (GAQL has no OR or NOT); None otherwise."""
    if node is None:
        return []
    if isinstance(node, BoolOp):
        if node.op != "AND":
            return None
        parts: list = []
        for part in node.parts:
            inner = _conjuncts(part)
            if inner is None:
                return None
            parts += inner
        return parts
    if isinstance(node, Not):
        return None
    return [node]


def _lower_fields(node):
    """GAQL field names are case-insensitive; the engine looks columns up in lower case."""
    if node is None:
        return None
    if isinstance(node, BoolOp):
        return BoolOp(node.op, tuple(_lower_fields(p) for p in node.parts))
    if isinstance(node, Not):
        return Not(_lower_fields(node.part))
    return replace(node, field=node.field.lower())
