"""HubSpot CRM v3 contacts (list and search) and the Events API, as on api.hubapi.com."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlencode

import numpy as np
from fastapi import FastAPI, Request

from revenue_os_mock_apis.business.core import Frame, Kind
from revenue_os_mock_apis.business.marketing import CONTENT_STRINGS, MEDIUM_STRINGS, SOURCE_STRINGS
from revenue_os_mock_apis.business.touches import (
    AD_CLICK,
    EMAIL_CLICK,
    EVENT_TYPES,
    FORM,
    PAGES,
    SITE,
    event_id,
    form_guid,
)
from revenue_os_mock_apis.business.view import HUBSPOT_DATE_PROPERTIES
from revenue_os_mock_apis.faults import (
    VendorError,
    VendorErrors,
    correlation_id,
    malformed_kind,
    vendor_app,
    vendor_response,
)
from revenue_os_mock_apis.query import parse_datetime_literal
from revenue_os_mock_apis.render import hubspot_value, iso_z
from revenue_os_mock_apis.state import MockState

VENDOR = "hubspot"
CONTACT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "company",
    "jobtitle",
    "lifecyclestage",
    *HUBSPOT_DATE_PROPERTIES,
    "hs_analytics_source",
    "hs_analytics_source_data_1",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "country",
    "createdate",
    "lastmodifieddate",
    "salesforcecontactid",
    "hs_object_id",
)
DEFAULT_PROPERTIES = ("firstname", "lastname", "email")
ALWAYS_RETURNED = ("createdate", "hs_object_id", "lastmodifieddate")
LIST_MAX = 100
SEARCH_MAX = 200
SEARCH_CAP = 10_000
EVENTS_MAX = 1000
DAILY_LIMIT = 500_000
# Drift: an extra top-level field when adding; jobtitle missing when removing.
DRIFT_FIELD = "objectWriteTraceId"
DRIFT_REMOVED_PROPERTY = "jobtitle"


class HubSpotErrors(VendorErrors):
    vendor = VENDOR

    def _body(self, request: Request, message: str, category: str, **extra: Any) -> dict:
        options = request.app.state.mock.faults
        n = getattr(request.state, "request_number", 0)
        return {
            "status": "error",
            "message": message,
            "correlationId": correlation_id(options, VENDOR, n),
            "category": category,
            **extra,
        }

    def unauthorized(self, request: Request) -> VendorError:
        return VendorError(
            401,
            self._body(
                request,
                "Authentication credentials not found. This API supports OAuth 2.0 authentication "
                "and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                "INVALID_AUTHENTICATION",
            ),
        )

    def rate_limited(self, request, options, n) -> VendorError:
        body = {
            "status": "error",
            "message": "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(options, VENDOR, n),
            "policyName": "TEN_SECONDLY_ROLLING",
            "requestId": correlation_id(options, VENDOR + "-request", n),
        }
        return VendorError(429, body, {"Retry-After": str(options.retry_after_s)})

    def server_error(self, request, options, n) -> VendorError:
        return VendorError(
            500, self._body(request, "internal error", "INTERNAL_ERROR", subCategory="UNKNOWN")
        )

    def not_found(self, request) -> VendorError:
        return VendorError(
            404, self._body(request, f"Unable to find {request.url.path}", "OBJECT_NOT_FOUND")
        )

    def bad_request(self, request, message: str) -> VendorError:
        return VendorError(
            400,
            self._body(
                request,
                "There was a problem with the request.",
                "VALIDATION_ERROR",
                errors=[{"message": message, "code": "INVALID_REQUEST"}],
            ),
        )

    def headers(self, state: MockState, n: int) -> dict[str, str]:
        return {
            "X-HubSpot-RateLimit-Daily": str(DAILY_LIMIT),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(DAILY_LIMIT - n, 0)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Max": "190",
            "X-HubSpot-RateLimit-Remaining": str(189 - (n % 190)),
            "X-HubSpot-RateLimit-Secondly": "19",
            "X-HubSpot-RateLimit-Secondly-Remaining": str(18 - (n % 19)),
        }


def _requested_properties(values: list[str]) -> list[str]:
    names: list[str] = []
    for value in values:
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return names


def _encode_cursor(*parts: int) -> str:
    text = ":".join(str(int(p)) for p in parts)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> list[int]:
    padded = cursor + "=" * (-len(cursor) % 4)
    return [int(part) for part in base64.urlsafe_b64decode(padded.encode()).decode().split(":")]


def build_app(state: MockState) -> FastAPI:
    errors = HubSpotErrors()
    app = vendor_app("HubSpot (mock)", state, errors)

    def contact_record(frame: Frame, row: int, properties: list[str], options) -> dict:
        hs_id = int(frame.column("id").values[row])
        wanted = [p for p in dict.fromkeys([*properties, *ALWAYS_RETURNED]) if frame.has(p)]
        if options.schema_drift == "remove_field" and DRIFT_REMOVED_PROPERTY in wanted:
            wanted.remove(DRIFT_REMOVED_PROPERTY)
        props = {}
        for name in sorted(wanted):
            column = frame.column(name)
            props[name] = hubspot_value(column, column.values[row])
        archived = bool(frame.column("archived").values[row])
        record: dict[str, Any] = {
            "id": str(hs_id),
            "properties": props,
            "createdAt": iso_z(int(frame.column("createdate").values[row])),
            "updatedAt": iso_z(int(frame.modified[row])),
            "archived": archived,
        }
        if archived:
            record["archivedAt"] = iso_z(int(frame.column("archivedAt").values[row]))
        broken = malformed_kind(options, "hubspot.contacts", hs_id)
        if broken == "key":
            record["id"] = None
        elif broken == "timestamp":
            record["updatedAt"] = "not-a-date"
            if "lastmodifieddate" in props:
                props["lastmodifieddate"] = "not-a-date"
        if options.schema_drift == "add_field":
            record[DRIFT_FIELD] = f"trace-{hs_id}"
        return record

    @app.get("/crm/v3/objects/contacts")
    def list_contacts(
        request: Request, limit: int = 10, after: str | None = None, archived: bool = False
    ):
        if not 1 <= limit <= LIST_MAX:
            raise errors.bad_request(request, f"limit must be between 1 and {LIST_MAX}")
        properties = _requested_properties(request.query_params.getlist("properties")) or list(
            DEFAULT_PROPERTIES
        )
        view = state.view()
        frame = view.frame("hubspot.contacts")
        rows = frame.visible_rows()
        rows = rows[frame.deleted[rows] == archived]
        ids = frame.column("id").values[rows]
        start = 0
        if after:
            try:
                start = int(np.searchsorted(ids, int(after), side="left"))
            except ValueError:
                raise errors.bad_request(request, f"invalid after cursor: {after}") from None
        page = rows[start : start + limit]
        options = request.state.faults
        body: dict[str, Any] = {
            "results": [contact_record(frame, int(r), properties, options) for r in page]
        }
        if start + limit < rows.size:
            next_after = str(int(ids[start + limit - 1]) + 1)
            link = str(request.url.include_query_params(after=next_after))
            body["paging"] = {"next": {"after": next_after, "link": link}}
        return vendor_response(state, errors, request, body)

    @app.post("/crm/v3/objects/contacts/search")
    async def search_contacts(request: Request):
        try:
            spec = await request.json()
        except ValueError:
            raise errors.bad_request(request, "Invalid input JSON") from None
        if not isinstance(spec, dict):
            raise errors.bad_request(request, "Invalid input JSON: expected an object")
        return _search(request, spec)

    def _search(request: Request, spec: dict):
        try:
            limit = int(spec.get("limit", 10) or 10)
            offset = int(spec.get("after", 0) or 0)
        except (TypeError, ValueError):
            raise errors.bad_request(request, "limit and after must be whole numbers") from None
        if not 1 <= limit <= SEARCH_MAX:
            raise errors.bad_request(request, f"limit must be between 1 and {SEARCH_MAX}")
        if offset + limit > SEARCH_CAP:
            raise errors.bad_request(
                request,
                f"Search results are limited to {SEARCH_CAP} records: page a narrower window",
            )
        properties = [str(p) for p in spec.get("properties") or DEFAULT_PROPERTIES]
        view = state.view()
        frame = view.frame("hubspot.contacts")

        def matching_rows() -> np.ndarray:
            live = frame.visible & ~frame.deleted
            groups = spec.get("filterGroups") or []
            if not isinstance(groups, list) or not all(
                isinstance(g, dict) and isinstance(g.get("filters") or [], list) for g in groups
            ):
                raise errors.bad_request(request, "filterGroups must be a list of {filters: [...]}")
            if groups:
                mask = np.zeros(live.size, dtype=bool)
                for group in groups:
                    mask |= _group_mask(request, frame, group.get("filters") or [])
                live &= mask
            sorts = spec.get("sorts") or []
            if not isinstance(sorts, list):
                raise errors.bad_request(request, "sorts must be a list")
            first = sorts[0] if sorts else None
            if isinstance(first, str):  # the short form: "createdate" or "-createdate"
                first = {
                    "propertyName": first.lstrip("-"),
                    "direction": "DESCENDING" if first.startswith("-") else "ASCENDING",
                }
            if first is not None and not isinstance(first, dict):
                raise errors.bad_request(request, "each sort must be an object")
            order = _sorted_rows(request, view, frame, first)
            return order[live[order]]

        key = json.dumps([spec.get("filterGroups"), spec.get("sorts")], sort_keys=True, default=str)
        matches = state.cached((VENDOR, key, view.now_ms), matching_rows)
        page = matches[offset : offset + limit]
        options = request.state.faults
        body: dict[str, Any] = {
            "total": int(matches.size),
            "results": [contact_record(frame, int(r), properties, options) for r in page],
        }
        if offset + limit < matches.size:
            body["paging"] = {"next": {"after": str(offset + limit)}}
        return vendor_response(state, errors, request, body)

    def _group_mask(request: Request, frame: Frame, filters: list[dict]) -> np.ndarray:
        mask = frame.visible.copy()
        for item in filters:
            if not isinstance(item, dict):
                raise errors.bad_request(request, "each filter must be an object")
            name = str(item.get("propertyName", ""))
            if name in ("hs_lastmodifieddate",):
                name = "lastmodifieddate"
            if not frame.has(name) or name in ("archived", "archivedAt", "id"):
                raise errors.bad_request(request, f"Unknown property for contacts: {name}")
            column = frame.column(name)
            operator = str(item.get("operator", "EQ")).upper()
            mask &= _filter(request, column, operator, item)
        return mask

    def _filter(request: Request, column, operator: str, item: dict) -> np.ndarray:
        values = column.values
        null = column.is_null()
        if operator == "HAS_PROPERTY":
            return ~null
        if operator == "NOT_HAS_PROPERTY":
            return null

        def convert(raw: Any) -> Any:
            if column.kind == Kind.DATETIME:
                text = str(raw)
                if text.lstrip("-").isdigit():
                    return int(text)
                try:
                    return parse_datetime_literal(text if "T" in text else f"{text}T00:00:00Z")
                except ValueError:
                    raise errors.bad_request(request, f"invalid date value: {raw}") from None
            if column.kind == Kind.INT:
                try:
                    return int(str(raw))
                except ValueError:
                    raise errors.bad_request(request, f"invalid number: {raw}") from None
            return str(raw)

        data = (
            values
            if column.kind in (Kind.DATETIME, Kind.INT)
            else np.where(null, "", values).astype(str)
        )
        if operator in ("IN", "NOT_IN"):
            wanted = [convert(v) for v in item.get("values") or []]
            if column.kind not in (Kind.DATETIME, Kind.INT):
                data = np.char.lower(data)
                wanted = [str(w).lower() for w in wanted]
            hit = np.isin(data, wanted) & ~null
            return hit if operator == "IN" else ~hit
        if operator == "BETWEEN":
            low, high = convert(item.get("value")), convert(item.get("highValue"))
            return (data >= low) & (data <= high) & ~null
        target = convert(item.get("value"))
        if column.kind not in (Kind.DATETIME, Kind.INT) and operator in ("EQ", "NEQ"):
            data = np.char.lower(data)  # HubSpot string filters are case-insensitive
            target = str(target).lower()
        comparisons = {
            "EQ": lambda: data == target,
            "NEQ": lambda: data != target,
            "LT": lambda: data < target,
            "LTE": lambda: data <= target,
            "GT": lambda: data > target,
            "GTE": lambda: data >= target,
        }
        if operator not in comparisons:
            raise errors.bad_request(request, f"Unsupported operator: {operator}")
        result = np.asarray(comparisons[operator](), dtype=bool)
        return result if operator == "NEQ" else result & ~null

    def _sorted_rows(request: Request, view, frame: Frame, sort: dict | None) -> np.ndarray:
        if sort is None:
            return frame.order
        name = str(sort.get("propertyName", ""))
        if name == "hs_lastmodifieddate":
            name = "lastmodifieddate"
        if not frame.has(name):
            raise errors.bad_request(request, f"Unknown property for sorting: {name}")
        descending = str(sort.get("direction", "ASCENDING")).upper().startswith("DESC")
        cache = view.__dict__.setdefault("_hubspot_sorts", {})
        key = (name, descending)
        if key not in cache:
            column = frame.column(name)
            ids = frame.column("id").values
            if column.kind in (Kind.DATETIME, Kind.INT):
                primary = column.values.astype(np.int64)
                primary = -primary if descending else primary
                cache[key] = np.lexsort((ids, primary))
            else:
                text = np.where(column.is_null(), "", column.values).astype(str)
                _, rank = np.unique(text, return_inverse=True)
                cache[key] = np.lexsort((ids, -rank if descending else rank))
        return cache[key]

    @app.get("/events/v3/events")
    @app.get("/events/v3/events/")
    def list_events(
        request: Request,
        objectType: str | None = None,
        occurredAfter: str | None = None,
        occurredBefore: str | None = None,
        limit: int = 100,
        after: str | None = None,
        eventType: str | None = None,
        objectId: str | None = None,
    ):
        if (objectType or "").lower() not in ("contact", "contacts", "0-1"):
            raise errors.bad_request(request, "objectType is required and must be 'contact'")
        if not 1 <= limit <= EVENTS_MAX:
            raise errors.bad_request(request, f"limit must be between 1 and {EVENTS_MAX}")
        view = state.view()
        touches = state.business.touches
        times = touches.occurred_ms
        upper = view.events_upper()
        lo = 0
        if occurredAfter:
            lo = int(np.searchsorted(times, _instant(request, occurredAfter), side="left"))
        if occurredBefore:
            upper = min(
                upper, int(np.searchsorted(times, _instant(request, occurredBefore), side="left"))
            )
        start = lo
        if after:
            try:
                last_ms, last_hi, last_lo = _decode_cursor(after)
            except (ValueError, UnicodeDecodeError):
                raise errors.bad_request(request, f"invalid after cursor: {after}") from None
            start = int(np.searchsorted(times, last_ms, side="left"))
            while (
                start < times.size
                and times[start] == last_ms
                and (
                    int(touches.id_hi[start]),
                    int(touches.id_lo[start]),
                )
                <= (last_hi, last_lo)
            ):
                start += 1
            start = max(start, lo)
        if eventType and eventType not in EVENT_TYPES:
            raise errors.bad_request(request, f"unknown eventType: {eventType}")
        if objectId and not objectId.isdigit():
            raise errors.bad_request(request, f"objectId must be a number: {objectId}")
        rows = _matching_events(start, upper, limit + 1, eventType, objectId)
        page = rows[:limit]
        options = request.state.faults
        body: dict[str, Any] = {"results": [_event(int(i), options) for i in page]}
        if rows.size > limit:
            last = int(page[-1])
            body["paging"] = {
                "next": {
                    "after": _encode_cursor(
                        int(times[last]), int(touches.id_hi[last]), int(touches.id_lo[last])
                    ),
                }
            }
        return vendor_response(state, errors, request, body)

    def _matching_events(
        start: int, upper: int, wanted: int, event_type: str | None, object_id: str | None
    ) -> np.ndarray:
        """Up to `wanted` event rows from `start`, scanning in chunks so a page stays cheap."""
        touches = state.business.touches
        if not event_type and not object_id:
            return np.arange(start, min(start + wanted, max(start, upper)))
        found: list[np.ndarray] = []
        count, chunk = 0, max(wanted * 20, 50_000)
        position = start
        while position < upper and count < wanted:
            rows = np.arange(position, min(position + chunk, upper))
            keep = np.ones(rows.size, dtype=bool)
            if event_type:
                keep &= touches.type[rows] == EVENT_TYPES.index(event_type)
            if object_id:
                keep &= state.business.hs_id[touches.contact[rows]] == int(object_id)
            found.append(rows[keep])
            count += int(keep.sum())
            position += chunk
        rows = np.concatenate(found) if found else np.arange(0)
        return rows[:wanted]

    def _instant(request: Request, text: str) -> int:
        value = text.strip().replace(" ", "+")
        if value.isdigit():
            return int(value)
        try:
            return parse_datetime_literal(value)
        except ValueError:
            raise errors.bad_request(request, f"invalid ISO-8601 timestamp: {text}") from None

    def _event(i: int, options) -> dict:
        b = state.business
        t = b.touches
        kind = int(t.type[i])
        identifier = event_id(t.id_hi[i], t.id_lo[i])
        properties: dict[str, str] = {}
        page_url = SITE + PAGES[int(t.url[i])]
        utm: dict[str, str] = {}
        if t.utm_source[i] >= 0:
            program = int(t.program[i])
            utm = {
                "utm_source": SOURCE_STRINGS[int(t.utm_source[i])],
                "utm_medium": MEDIUM_STRINGS[int(t.utm_medium[i])],
                "utm_campaign": b.programs.campaign_variants[program, int(t.utm_variant[i])],
            }
            if t.utm_content[i] >= 0:
                utm["utm_content"] = CONTENT_STRINGS[int(t.utm_content[i])]
        if utm and kind in (AD_CLICK, EMAIL_CLICK):
            page_url = f"{page_url}?{urlencode(utm, quote_via=quote)}"
        properties["hs_url"] = page_url
        for key, value in utm.items():
            properties[f"hs_{key}"] = value
        if kind == FORM and t.form[i] >= 0:
            properties["hs_form_id"] = form_guid(b.seed, int(t.form[i]))
        if kind == EMAIL_CLICK and t.program[i] >= 0:
            properties["hs_email_campaign_id"] = str(int(b.programs.external_id[int(t.program[i])]))
        record: dict[str, Any] = {
            "objectType": "CONTACT",
            "objectId": str(int(b.hs_id[int(t.contact[i])])),
            "eventType": EVENT_TYPES[kind],
            "occurredAt": iso_z(int(t.occurred_ms[i])),
            "id": identifier,
            "properties": properties,
        }
        broken = malformed_kind(options, "hubspot.events", identifier)
        if broken == "key":
            record["id"] = None
        elif broken == "timestamp":
            record["occurredAt"] = "not-a-date"
        if options.schema_drift == "add_field":
            record["eventSource"] = "mock"
        elif options.schema_drift == "remove_field":
            properties.pop("hs_url", None)
        return record

    return app
