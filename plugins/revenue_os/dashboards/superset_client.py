"""A small client for the few Superset REST calls dashboards-as-code needs.

Import goes through `POST /api/v1/assets/import/` because it is the only endpoint that
overwrites charts, datasets and the database (password included) together; the dashboard
import endpoint leaves existing charts alone, so code and Superset would drift apart.
"""

from __future__ import annotations

import json
from typing import Any

import httpx


class SupersetError(RuntimeError):
    """Superset refused a call; the message carries its answer."""


class SupersetClient:
    """Logged-in access to one Superset (JWT bearer, plus a CSRF token for writes)."""

    def __init__(self, base_url: str, username: str, password: str, timeout: float = 120.0):
        self._username = username
        self._password = password
        # Accept JSON everywhere: without it Superset answers errors with an HTML page.
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, headers={"Accept": "application/json"}
        )

    def __enter__(self) -> SupersetClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def login(self) -> None:
        """Log in with the database provider and fetch a CSRF token for later POSTs.

        Superset enables CSRF protection for the API; the token is bound to the session
        cookie the csrf_token call sets, which the shared httpx client keeps.
        """
        response = self._http.post(
            "/api/v1/security/login",
            json={
                "username": self._username,
                "password": self._password,
                "provider": "db",
                "refresh": False,
            },
        )
        _raise_for(response, "log in")
        token = response.json()["access_token"]
        self._http.headers["Authorization"] = f"Bearer {token}"
        response = self._http.get("/api/v1/security/csrf_token/")
        _raise_for(response, "fetch a CSRF token")
        self._http.headers["X-CSRFToken"] = response.json()["result"]
        self._http.headers["Referer"] = str(self._http.base_url)

    def import_bundle(self, zip_bytes: bytes, passwords: dict[str, str]) -> dict[str, Any]:
        """Import an assets bundle; `passwords` maps `databases/<file>.yaml` to its password.

        A wrong password is accepted silently by Superset and only fails when a chart is
        queried, so callers should check a chart's data after importing.
        """
        response = self._http.post(
            "/api/v1/assets/import/",
            files={"bundle": ("bundle.zip", zip_bytes, "application/zip")},
            # Always overwrite: a re-import must update the objects a previous one created.
            data={"passwords": json.dumps(passwords), "overwrite": "true"},
        )
        _raise_for(response, "import the bundle")
        return response.json()

    def _list(self, resource: str, columns: list[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        page = 0
        while True:
            query = {"columns": columns, "page": page, "page_size": 100}
            response = self._http.get(f"/api/v1/{resource}/", params={"q": _rison(query)})
            _raise_for(response, f"list {resource}s")
            body = response.json()
            rows.extend(body["result"])
            if len(rows) >= body.get("count", 0) or not body["result"]:
                return rows
            page += 1

    def dashboards(self) -> list[dict[str, Any]]:
        """Every dashboard: id, dashboard_title, slug, uuid (when the API lists it)."""
        return self._list("dashboard", ["id", "dashboard_title", "slug", "uuid", "published"])

    def databases(self) -> list[dict[str, Any]]:
        """Every database connection: id, database_name."""
        return self._list("database", ["id", "database_name"])

    def charts(self) -> list[dict[str, Any]]:
        """Every chart: id, slice_name, viz_type, uuid (when the API lists it)."""
        return self._list("chart", ["id", "slice_name", "viz_type", "uuid"])

    def datasets(self) -> list[dict[str, Any]]:
        """Every dataset: id, table_name, uuid."""
        return self._list("dataset", ["id", "table_name", "uuid"])

    def dashboard_charts(self, dashboard_id: int) -> list[dict[str, Any]]:
        """The charts on one dashboard: id, slice_name, form_data."""
        response = self._http.get(f"/api/v1/dashboard/{dashboard_id}/charts")
        _raise_for(response, f"list the charts of dashboard {dashboard_id}")
        return response.json()["result"]

    def stamp_dataset(self, dataset_id: int, published_at: str) -> None:
        """Record in a dataset's `extra` when its table was last published. The write moves
        the dataset's change time, which is part of the key of every cached result of it, so
        no result cached before the publish is served after it. (Superset's own
        /cachekey/invalidate finds nothing: it relies on keys recorded by requests that
        never commit them.)"""
        response = self._http.get(f"/api/v1/dataset/{dataset_id}")
        _raise_for(response, f"read dataset {dataset_id}")
        extra = json.loads(response.json()["result"].get("extra") or "{}")
        extra["published_at"] = published_at
        response = self._http.put(
            f"/api/v1/dataset/{dataset_id}", json={"extra": json.dumps(extra)}
        )
        _raise_for(response, f"stamp dataset {dataset_id}")

    def warm_up_cache(self, chart_id: int, dashboard_id: int) -> str | None:
        """Run a chart's query as its dashboard shows it, past the cache, and cache the
        result; return the error Superset met, or None."""
        response = self._http.put(
            "/api/v1/chart/warm_up_cache",
            json={"chart_id": chart_id, "dashboard_id": dashboard_id},
        )
        _raise_for(response, f"warm up the cache of chart {chart_id}")
        (result,) = response.json()["result"]
        return result.get("viz_error")

    def dashboard_filters(self, dashboard_id: int) -> list[dict[str, Any]]:
        """A dashboard's native filters (its json_metadata's native_filter_configuration)."""
        response = self._http.get(f"/api/v1/dashboard/{dashboard_id}")
        _raise_for(response, f"read dashboard {dashboard_id}")
        metadata = json.loads(response.json()["result"].get("json_metadata") or "{}")
        return metadata.get("native_filter_configuration", [])

    def warm_filter_options(self, dataset_id: int, column: str) -> None:
        """Run a select filter's options query past the cache, as Superset's front end asks
        for it (key for key: the cache key is a digest of the query), and cache the result."""
        query = {
            "annotation_layers": [],
            "applied_time_extras": {},
            "columns": [column],
            "custom_form_data": {},
            "custom_params": {},
            "extras": {"having": "", "where": ""},
            "filters": [],
            "group_others_when_limit_reached": False,
            "metrics": [],
            "order_desc": True,
            "orderby": [[column, True]],
            "row_limit": 1000,
            "series_limit": 0,
            "url_params": {},
        }
        response = self._http.post(
            "/api/v1/chart/data",
            json={
                "datasource": {"id": dataset_id, "type": "table"},
                "force": True,
                "queries": [query],
                "form_data": {
                    "datasource": f"{dataset_id}__table",
                    "viz_type": "filter_select",
                    "groupby": [column],
                },
                "result_format": "json",
                "result_type": "full",
            },
        )
        _raise_for(response, f"warm up the options of filter column {column}")

    def chart_data(self, chart_id: int) -> dict[str, Any]:
        """The data of a chart from its saved query context, as the dashboard would see it."""
        response = self._http.get(f"/api/v1/chart/{chart_id}/data/")
        _raise_for(response, f"get the data of chart {chart_id}")
        return response.json()


def _rison(value: Any) -> str:
    """Rison for the flat lists and scalars the list endpoints take (`q=(...)`)."""
    if isinstance(value, dict):
        return "(" + ",".join(f"{key}:{_rison(item)}" for key, item in value.items()) + ")"
    if isinstance(value, list | tuple):
        return "!(" + ",".join(_rison(item) for item in value) + ")"
    if isinstance(value, bool):
        return "!t" if value else "!f"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text and all(ch.isalnum() or ch in "_-./~" for ch in text) and not text[0].isdigit():
        return text
    return "'" + text.replace("!", "!!").replace("'", "!'") + "'"


def _raise_for(response: httpx.Response, action: str) -> None:
    if response.is_success:
        return
    try:
        body = response.json()
        message = body.get("message") or body.get("errors") or body
    except ValueError:
        message = response.text[:500]
    raise SupersetError(
        f"Superset could not {action}: HTTP {response.status_code}: "
        f"{json.dumps(message) if not isinstance(message, str) else message}"
    )
