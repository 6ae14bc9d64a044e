"""NetSuite SuiteQL over REST (/services/rest/query/v1/suiteql)."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import FastAPI, Request

from revenue_os_mock_apis.business.core import stable_u64
from revenue_os_mock_apis.business.view import NETSUITE_TABLES
from revenue_os_mock_apis.faults import (
    VendorError,
    VendorErrors,
    malformed_kind,
    vendor_app,
    vendor_response,
)
from revenue_os_mock_apis.query import SUITEQL, QueryError, evaluate, fields_in, parse, sort_rows
from revenue_os_mock_apis.render import netsuite_value
from revenue_os_mock_apis.state import MockState

VENDOR = "netsuite"
MAX_LIMIT = 1000
MAX_ROWS = 100_000
RFC = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.{}"
# Drift: an unknown column on every row, or a documented non-key column missing.
DRIFT_FIELD = "custentity_drift"
DRIFT_REMOVED = {
    "customer": "email",
    "item": "displayname",
    "invoiceline": "costestimate",
    "inventorysnapshot": "averagecost",
    "currencyrate": "exchangerate",
    "pricing": "unitprice",
}


class NetSuiteErrors(VendorErrors):
    vendor = VENDOR

    @staticmethod
    def body(status: int, section: str, title: str, detail: str, code: str, **extra: Any) -> dict:
        return {
            "type": RFC.format(section),
            "title": title,
            "status": status,
            "o:errorDetails": [{"detail": detail, **extra, "o:errorCode": code}],
        }

    def unauthorized(self, request) -> VendorError:
        return VendorError(
            401, self.body(401, "5.2", "Unauthorized", "Invalid login attempt.", "INVALID_LOGIN")
        )

    def rate_limited(self, request, options, n) -> VendorError:
        return VendorError(
            429,
            self.body(
                429,
                "5.29",
                "Too Many Requests",
                "Concurrent request limit exceeded.",
                "CONCURRENCY_LIMIT_EXCEEDED",
            ),
            {"Retry-After": str(options.retry_after_s)},
        )

    def server_error(self, request, options, n) -> VendorError:
        error_id = stable_u64(options.fault_seed, VENDOR, n) % 10**12
        return VendorError(
            500,
            self.body(
                500,
                "6.1",
                "Internal Server Error",
                f"An unexpected error occurred. Error ID: mock{error_id:012d}",
                "UNEXPECTED_ERROR",
            ),
        )

    def not_found(self, request) -> VendorError:
        return VendorError(
            404,
            self.body(
                404,
                "5.5",
                "Not Found",
                f"Record type or path {request.url.path} was not found.",
                "NONEXISTENT_ID",
            ),
        )

    def invalid(self, detail: str, code: str = "INVALID_PARAMETER") -> VendorError:
        """A 400 about the request's form (headers, paging), not its query."""
        return VendorError(400, self.body(400, "5.1", "Bad Request", detail, code))

    def bad_request(self, request, message: str) -> VendorError:
        return VendorError(
            400,
            self.body(
                400,
                "5.1",
                "Bad Request",
                f"Invalid search query. Detailed unprocessed description follows. {message}",
                "INVALID_PARAMETER",
                **{"o:errorQueryParam": "q"},
            ),
        )


def build_app(state: MockState) -> FastAPI:
    errors = NetSuiteErrors()
    app = vendor_app("NetSuite SuiteTalk REST (mock)", state, errors)

    @app.post("/services/rest/query/v1/suiteql")
    async def suiteql(request: Request, limit: int = MAX_LIMIT, offset: int = 0):
        if "transient" not in request.headers.get("prefer", "").lower():
            raise errors.invalid(
                "The request could not be processed because the Prefer header is missing or has an "
                "invalid value. Provide the Prefer header with the value 'transient'.",
                "INVALID_HEADER",
            )
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise errors.invalid(
                "Invalid value for the 'limit' or 'offset' parameter: limit must be between 1 "
                f"and {MAX_LIMIT}, offset not negative."
            )
        if offset + limit > MAX_ROWS:
            raise errors.invalid(
                f"Invalid query: a SuiteQL query can page through at most {MAX_ROWS} results. "
                "Narrow the query (for example by lastmodifieddate)."
            )
        try:
            body = await request.json()
        except ValueError:
            raise errors.bad_request(request, "The request body is not valid JSON.") from None
        text = body.get("q") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise errors.bad_request(request, "The request body must contain the query in 'q'.")
        return run(request, text, limit, offset)

    def run(request: Request, text: str, limit: int, offset: int):
        view = state.view()
        try:
            query = parse(text, SUITEQL, today=view.now_day)
        except QueryError as error:
            raise errors.bad_request(request, f"Search error occurred: {error.message}") from None
        table = query.source.lower()
        if table not in NETSUITE_TABLES:
            raise errors.bad_request(
                request, f"Search error occurred: Record '{query.source}' was not found."
            )
        frame = view.frame(NETSUITE_TABLES[table])
        names = {name.lower(): name for name in frame.names()}

        def resolve(name: str) -> str:
            short = name.split(".")[-1].lower()  # alias.column
            if short not in names:
                raise errors.bad_request(
                    request,
                    f"Search error occurred: Field '{short}' for record '{table}' was not found. "
                    "Reason: NOT_EXPOSED - Not available for channel SEARCH",
                )
            return names[short]

        selected = list(frame.names()) if query.star else [resolve(n) for n in query.fields]
        for name in fields_in(query.where) + [t.field for t in query.order]:
            resolve(name)

        def get(name: str):
            return frame.column(resolve(name))

        def matching_rows():
            try:
                mask = evaluate(query.where, get, frame.visible.size, SUITEQL) & frame.visible
            except QueryError as error:
                raise errors.bad_request(
                    request, f"Search error occurred: {error.message}"
                ) from None
            rows = frame.order[mask[frame.order]]
            rank = np.empty(frame.order.size, dtype=np.int64)
            rank[frame.order] = np.arange(frame.order.size)
            return sort_rows(get, rows, query.order, "id", rank)

        rows = state.cached((VENDOR, text, view.now_ms), matching_rows)
        total = int(rows.size)
        page = rows[offset : offset + limit]
        options = request.state.faults
        removed = DRIFT_REMOVED[table] if options.schema_drift == "remove_field" else None
        items = []
        for r in page.tolist():
            item: dict[str, Any] = {"links": []}
            for name in selected:
                if name == removed:
                    continue
                column = frame.column(name)
                value = netsuite_value(column, column.values[r])
                if value is not None:  # SuiteQL leaves null columns out of the row
                    item[name] = value
            broken = malformed_kind(options, frame.name, frame.column("id").values[r])
            if broken == "key" and "id" in item:
                item["id"] = None
            elif broken == "timestamp" and "lastmodifieddate" in item:
                item["lastmodifieddate"] = "not-a-date"
            if options.schema_drift == "add_field":
                item[DRIFT_FIELD] = "T"
            items.append(item)
        links = [
            {
                "rel": "self",
                "href": str(request.url.include_query_params(limit=limit, offset=offset)),
            }
        ]
        has_more = offset + limit < total
        if has_more:
            following = request.url.include_query_params(limit=limit, offset=offset + limit)
            links.append({"rel": "next", "href": str(following)})
        out = {
            "links": links,
            "count": len(items),
            "hasMore": has_more,
            "items": items,
            "offset": offset,
            "totalResults": total,
        }
        return vendor_response(state, errors, request, out)

    return app
