"""Salesforce REST query API (SOQL) v60.0: query, queryAll and their continuation locators."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from fastapi import FastAPI, Request

from revenue_os_mock_apis.business.core import Frame, salesforce_id, stable_u64
from revenue_os_mock_apis.business.view import SALESFORCE_OBJECTS
from revenue_os_mock_apis.faults import (
    VendorError,
    VendorErrors,
    malformed_kind,
    vendor_app,
    vendor_response,
)
from revenue_os_mock_apis.query import SOQL, QueryError, evaluate, fields_in, parse, sort_rows
from revenue_os_mock_apis.render import salesforce_value
from revenue_os_mock_apis.state import MockState

VENDOR = "salesforce"
DEFAULT_BATCH = 2000
MIN_BATCH, MAX_BATCH = 200, 2000
SUPPORTED_VERSIONS = {f"v{major}.0" for major in range(50, 63)}
# Drift: a new custom field on every record, or a documented non-key field gone.
DRIFT_FIELD = "Drift_Note__c"
DRIFT_REMOVED = {
    "Account": "Industry",
    "Contact": "LeadSource",
    "Opportunity": "LeadSource",
    "OpportunityHistory": "Amount",
    "Campaign": "Type",
}


class SalesforceErrors(VendorErrors):
    vendor = VENDOR

    @staticmethod
    def body(message: str, code: str) -> list[dict]:
        return [{"message": message, "errorCode": code}]

    def unauthorized(self, request) -> VendorError:
        return VendorError(401, self.body("Session expired or invalid", "INVALID_SESSION_ID"))

    def rate_limited(self, request, options, n) -> VendorError:
        return VendorError(
            429,
            self.body("TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED"),
            {"Retry-After": str(options.retry_after_s)},
        )

    def server_error(self, request, options, n) -> VendorError:
        error_id = stable_u64(options.fault_seed, VENDOR, n) % 10**10
        return VendorError(
            500,
            self.body(
                "An unexpected error occurred. Please include this ErrorId if you contact support: "
                f"{error_id}-{n} (-{error_id % 99991})",
                "UNKNOWN_EXCEPTION",
            ),
        )

    def not_found(self, request) -> VendorError:
        return VendorError(404, self.body("The requested resource does not exist", "NOT_FOUND"))

    def bad_request(self, request, message: str) -> VendorError:
        return VendorError(400, self.body(message, "MALFORMED_QUERY"))

    def headers(self, state: MockState, n: int) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={n}/{state.config.salesforce_daily_limit}"}


def _batch_size(request: Request) -> int:
    options = request.headers.get("sforce-query-options", "")
    match = re.search(r"batchSize\s*=\s*(\d+)", options, re.IGNORECASE)
    if not match:
        return DEFAULT_BATCH
    return min(max(int(match.group(1)), MIN_BATCH), MAX_BATCH)


def _pointer(soql: str, position: int) -> str:
    """Salesforce quotes the query with a caret under the problem."""
    return f"\n{soql}\n{' ' * position}^\nERROR at Row:1:Column:{position + 1}\n"


def build_app(state: MockState) -> FastAPI:
    errors = SalesforceErrors()

    def daily_limit(request: Request) -> None:
        if state.request_count(VENDOR) >= state.config.salesforce_daily_limit:
            raise VendorError(
                403, errors.body("TotalRequests Limit exceeded.", "REQUEST_LIMIT_EXCEEDED")
            )

    app = vendor_app("Salesforce (mock)", state, errors, daily_limit)

    def check_version(version: str) -> None:
        if version not in SUPPORTED_VERSIONS:
            raise errors.not_found(None)

    @app.get("/services/data/{version}/query")
    def query(request: Request, version: str, q: str | None = None):
        check_version(version)
        return run_query(request, version, q, include_deleted=False)

    @app.get("/services/data/{version}/queryAll")
    def query_all(request: Request, version: str, q: str | None = None):
        check_version(version)
        return run_query(request, version, q, include_deleted=True)

    @app.get("/services/data/{version}/query/{locator}")
    @app.get("/services/data/{version}/queryAll/{locator}")
    def query_more(request: Request, version: str, locator: str):
        check_version(version)
        cursor_id, _, offset_text = locator.rpartition("-")
        cursor = state.cursor(cursor_id)
        if cursor is None or not offset_text.isdigit():
            raise VendorError(400, errors.body("invalid query locator", "INVALID_QUERY_LOCATOR"))
        return respond(request, version, cursor, int(offset_text), cursor_id)

    def run_query(request: Request, version: str, soql: str | None, include_deleted: bool):
        if not soql:
            raise VendorError(
                400, errors.body("A query string has to be specified", "MALFORMED_QUERY")
            )
        view = state.view()
        try:
            parsed = parse(soql, SOQL, today=view.now_day)
        except QueryError as error:
            raise VendorError(
                400, errors.body(_pointer(soql, error.position) + error.message, "MALFORMED_QUERY")
            ) from None
        canonical = {name.lower(): name for name in SALESFORCE_OBJECTS}
        sobject = canonical.get(parsed.source.lower())
        if sobject is None:
            position = soql.find(parsed.source)
            raise VendorError(
                400,
                errors.body(
                    _pointer(soql, max(position, 0))
                    + f"sObject type '{parsed.source}' is not supported. If you are attempting to use a "
                    "custom object, be sure to append the '__c' after the entity name. Please reference "
                    "your WSDL or the describe call for the appropriate names.",
                    "INVALID_TYPE",
                ),
            )
        frame = view.frame(SALESFORCE_OBJECTS[sobject])
        names = {name.lower(): name for name in frame.names()}
        if parsed.star:
            raise VendorError(
                400, errors.body(_pointer(soql, 7) + "unexpected token: '*'", "MALFORMED_QUERY")
            )

        def resolve(name: str) -> str:
            found = names.get(name.lower())
            if found is None:
                position = max(soql.find(name), 0)
                raise VendorError(
                    400,
                    errors.body(
                        _pointer(soql, position)
                        + f"No such column '{name}' on entity '{sobject}'. If you are attempting to use "
                        "a custom field, be sure to append the '__c' after the custom field name. Please "
                        "reference your WSDL or the describe call for the appropriate names.",
                        "INVALID_FIELD",
                    ),
                )
            return found

        selected = list(dict.fromkeys(resolve(name) for name in parsed.fields))
        for name in fields_in(parsed.where) + [term.field for term in parsed.order]:
            resolve(name)

        def get(name: str):
            return frame.column(resolve(name))

        try:
            mask = evaluate(parsed.where, get, frame.visible.size, SOQL)
        except QueryError as error:
            raise VendorError(
                400, errors.body(_pointer(soql, 0) + error.message, "INVALID_FIELD")
            ) from None
        mask &= frame.visible
        if not include_deleted:
            mask &= ~frame.deleted
        rows = frame.order[mask[frame.order]]
        rank = np.empty(frame.order.size, dtype=np.int64)
        rank[frame.order] = np.arange(frame.order.size)
        rows = sort_rows(get, rows, parsed.order, "Id", rank)
        rows = rows[parsed.offset :]
        if parsed.limit is not None:
            rows = rows[: parsed.limit]
        if parsed.count_only:
            return vendor_response(
                state, errors, request, {"totalSize": int(rows.size), "done": True, "records": []}
            )
        batch = _batch_size(request)
        cursor = {
            "object": sobject,
            "frame": SALESFORCE_OBJECTS[sobject],
            "fields": selected,
            "rows": rows,
            "now_ms": view.now_ms,
            "batch": batch,
        }
        digest = stable_u64(state.business.seed, soql, include_deleted, view.now_ms, batch)
        cursor_id = salesforce_id("01g", digest % 62**9)[:15] + "IAW"
        if rows.size > batch:
            state.remember_cursor(cursor_id, cursor)
        return respond(request, version, cursor, 0, cursor_id)

    def respond(request: Request, version: str, cursor: dict, offset: int, cursor_id: str):
        rows: np.ndarray = cursor["rows"]
        batch = cursor["batch"]
        frame: Frame = state.view(cursor["now_ms"]).frame(cursor["frame"])
        page = rows[offset : offset + batch]
        options = request.state.faults
        records = [
            record(frame, cursor["object"], cursor["fields"], int(r), version, options)
            for r in page
        ]
        done = offset + batch >= rows.size
        body: dict[str, Any] = {"totalSize": int(rows.size), "done": done}
        if not done:
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{cursor_id}-{offset + batch}"
        body["records"] = records
        return vendor_response(state, errors, request, body)

    def record(
        frame: Frame, sobject: str, fields: list[str], row: int, version: str, options
    ) -> dict:
        record_id = frame.column("Id").values[row]
        out: dict[str, Any] = {
            "attributes": {
                "type": sobject,
                "url": f"/services/data/{version}/sobjects/{sobject}/{record_id}",
            }
        }
        removed = DRIFT_REMOVED[sobject] if options.schema_drift == "remove_field" else None
        for name in fields:
            if name == removed:
                continue
            column = frame.column(name)
            out[name] = salesforce_value(column, column.values[row])
        broken = malformed_kind(options, frame.name, record_id)
        if broken == "key" and "Id" in out:
            out["Id"] = None
        elif broken == "timestamp":
            for name in ("SystemModstamp", "LastModifiedDate", "CreatedDate"):
                if name in out:
                    out[name] = "not-a-date"
                    break
        if options.schema_drift == "add_field":
            out[DRIFT_FIELD] = "added by a schema change"
        return out

    return app
