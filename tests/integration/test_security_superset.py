"""Superset tried as an attacker holding the executive's login would: every page and API call
beyond the dashboards is refused, an adhoc SQL metric cannot run a query of its own, and the
responses carry a Content-Security-Policy. The dashboards themselves keep working (here, and
chart by chart in a real browser in test_dashboards_browser.py)."""

from __future__ import annotations

import importlib.util
import re

import httpx
import psycopg
import pytest

from revenue_os.paths import SUPERSET_DIR
from tests.integration.test_dashboards import api_session

PAGES_REFUSED = [
    "/sqllab/",
    "/chart/list/",
    "/tablemodelview/list/",
    "/dataset/add/",
    "/dashboard/new/",
    "/explore/",
    "/databaseview/list/",
    "/savedqueryview/list/",
    "/users/list/",
]
REFUSED_MARK = "This page is not available to your login"


def _executive_role_module():
    spec = importlib.util.spec_from_file_location(
        "executive_role", SUPERSET_DIR / "executive_role.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def executive_web(stack):
    """A browser-like session: the login form with its CSRF token, then HTML pages."""
    client = httpx.Client(
        base_url=stack.profile.superset_url, headers={"Accept": "text/html"}, timeout=60
    )
    form = client.get("/login/").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', form
    )
    assert token, "no CSRF token in the login form"
    signed_in = client.post(
        "/login/",
        data={
            "username": "executive",
            "password": stack.secrets["SUPERSET_EXECUTIVE_PASSWORD"],
            "csrf_token": token.group(1),
        },
    )
    assert signed_in.status_code in (200, 302) and "/login" not in str(
        signed_in.headers.get("location", "")
    )
    yield client
    client.close()


@pytest.fixture(scope="module")
def executive_api(stack):
    client = api_session(stack, "executive", stack.secrets["SUPERSET_EXECUTIVE_PASSWORD"])
    yield client
    client.close()


@pytest.fixture(scope="module")
def admin_api(stack):
    client = api_session(stack, "admin", stack.secrets["SUPERSET_ADMIN_PASSWORD"])
    yield client
    client.close()


def test_the_executive_role_holds_exactly_the_allow_list(stack):
    allowed = set(_executive_role_module().ALLOWED)
    uri = (
        f"postgresql://superset:{stack.secrets['SUPERSET_DB_PASSWORD']}"
        f"@127.0.0.1:{stack.profile.postgres_port}/superset"
    )
    with psycopg.connect(uri) as conn:
        held = set(
            conn.execute(
                """
                SELECT p.name, v.name
                FROM ab_role AS r
                JOIN ab_permission_view_role AS pvr ON pvr.role_id = r.id
                JOIN ab_permission_view AS pv ON pv.id = pvr.permission_view_id
                JOIN ab_permission AS p ON p.id = pv.permission_id
                JOIN ab_view_menu AS v ON v.id = pv.view_menu_id
                WHERE r.name = 'Executive'
                """
            ).fetchall()
        )
        roles = conn.execute(
            "SELECT r.name FROM ab_user AS u JOIN ab_user_role AS ur ON ur.user_id = u.id"
            " JOIN ab_role AS r ON r.id = ur.role_id WHERE u.username = 'executive'"
        ).fetchall()
    assert held == allowed
    assert roles == [("Executive",)]


@pytest.mark.parametrize("path", PAGES_REFUSED)
def test_every_page_but_the_dashboards_is_a_clear_403_page(executive_web, path):
    response = executive_web.get(path)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert REFUSED_MARK in response.text
    assert 'href="/dashboard/list/"' in response.text


def test_the_home_page_sends_the_executive_to_the_dashboards(executive_web):
    response = executive_web.get("/superset/welcome/")
    assert response.status_code == 302
    assert response.headers["location"].endswith("/dashboard/list/")


def test_the_dashboards_open_with_a_content_security_policy(executive_web):
    listing = executive_web.get("/dashboard/list/")
    page = executive_web.get("/superset/dashboard/executive-performance/")
    assert (listing.status_code, page.status_code) == (200, 200)
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'self'" in policy
    assert "object-src 'none'" in policy and "'nonce-" in policy
    assert page.headers["x-frame-options"] == "SAMEORIGIN"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/chart/", {"slice_name": "x", "viz_type": "table", "datasource_id": 1,
                                     "datasource_type": "table"}),
        ("POST", "/api/v1/dashboard/", {"dashboard_title": "x"}),
        ("POST", "/api/v1/theme/", {"theme_name": "x", "json_data": "{}"}),
        ("POST", "/api/v1/security/user_registrations/", {"username": "x"}),
        ("GET", "/api/v1/dashboard/export/?q=!(1,2,3,4)", None),
        ("GET", "/api/v1/dataset/", None),
        ("GET", "/api/v1/database/", None),
        ("POST", "/api/v1/sqllab/execute/", {"database_id": 1, "sql": "SELECT 1"}),
    ],
    ids=["create chart", "create dashboard", "create theme", "register user",
         "export dashboards", "list datasets", "list databases", "run SQL"],
)  # fmt: skip
def test_the_api_refuses_everything_but_reading_dashboards(executive_api, method, path, body):
    response = executive_api.request(method, path, json=body)
    assert response.status_code in (401, 403), (response.status_code, response.text[:300])
    # A refusal says nothing about the database: no SQL, no host, no login.
    assert "sqlalchemy" not in response.text.lower() and "select" not in response.text.lower()


def test_an_adhoc_metric_cannot_run_a_query_of_its_own(admin_api, executive_api):
    datasets = admin_api.get("/api/v1/dataset/", params={"q": "(page_size:100)"}).json()["result"]
    # A dataset over the KPI values that a dashboard reads (the executive may query it).
    kpi_values = next(d for d in datasets if d["table_name"].startswith("kpi_values__"))
    probe = "max(query_to_xml('select 1 as leaked', true, true, '')::text)"
    response = executive_api.post(
        "/api/v1/chart/data",
        json={
            "datasource": {"id": kpi_values["id"], "type": "table"},
            "queries": [
                {"metrics": [{"expressionType": "SQL", "sqlExpression": probe, "label": "x"}]}
            ],
            "result_format": "json",
            "result_type": "full",
        },
    )
    assert response.status_code >= 400, response.text[:300]
    assert "leaked" not in response.text.replace(probe, "")
    # Refused by Superset itself, before the database's own refusal is needed.
    assert "disallowed function" in response.text and "query_to_xml" in response.text


def test_the_executive_still_reads_every_dashboard_and_its_charts_data(executive_api):
    dashboards = executive_api.get("/api/v1/dashboard/").json()["result"]
    assert {d["slug"] for d in dashboards} >= {
        "data-health",
        "executive-performance",
        "marketing-roi",
        "pipeline-retention",
    }
    for dashboard in dashboards:
        charts = executive_api.get(f"/api/v1/dashboard/{dashboard['id']}/charts").json()["result"]
        assert charts, dashboard["slug"]
        first = executive_api.get(f"/api/v1/chart/{charts[0]['id']}/data/")
        assert first.status_code == 200, (dashboard["slug"], first.text[:300])


def test_a_chart_request_leaves_one_action_log_row_naming_the_user_and_chart(stack, executive_api):
    """The action log keeps who asked for which chart and how long it took, one row a request;
    the timed steps inside it (each written and committed on its own by Superset's default
    logger) are not written (superset_config.py, ActionLogWithoutRequestSteps)."""
    uri = (
        f"postgresql://superset:{stack.secrets['SUPERSET_DB_PASSWORD']}"
        f"@127.0.0.1:{stack.profile.postgres_port}/superset"
    )
    charts = executive_api.get("/api/v1/dashboard/executive-performance/charts")
    charts.raise_for_status()
    chart_id = charts.json()["result"][0]["id"]
    with psycopg.connect(uri, autocommit=True) as conn:
        (since,) = conn.execute("SELECT coalesce(max(id), 0) FROM logs").fetchone()
        for _ in range(2):
            response = executive_api.get(
                f"/api/v1/chart/{chart_id}/data/", params={"force": "true"}
            )
            assert response.status_code == 200, response.text[:300]
        written = conn.execute(
            "SELECT l.action, (l.json::json ->> 'pk')::integer, u.username, l.duration_ms"
            " FROM logs AS l JOIN ab_user AS u ON u.id = l.user_id"
            " WHERE l.id > %s AND u.username = 'executive' ORDER BY l.id",
            (since,),
        ).fetchall()
    assert [(action, chart, user) for action, chart, user, _ in written] == [
        ("ChartDataRestApi.data", chart_id, "executive")
    ] * 2
    assert all(duration is not None and duration >= 0 for *_, duration in written)
