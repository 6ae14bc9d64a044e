"""The web UI allow-list of dashboard-only logins (superset/access.py), without Superset."""

from __future__ import annotations

import importlib.util

import pytest

from revenue_os.paths import SUPERSET_DIR

spec = importlib.util.spec_from_file_location("access", SUPERSET_DIR / "access.py")
access = importlib.util.module_from_spec(spec)
spec.loader.exec_module(access)

EXECUTIVE = {"Executive"}


@pytest.mark.parametrize(
    "path",
    ["/superset/dashboard/executive-performance/", "/dashboard/list/", "/logout/", "/login/",
     "/api/v1/chart/data", "/api/v1/dashboard/3/charts", "/static/assets/app.js"],
)  # fmt: skip
def test_the_executive_opens_dashboards_its_session_and_the_api(path):
    assert access.page_decision(path, EXECUTIVE) == "allow"


@pytest.mark.parametrize(
    "path",
    ["/sqllab/", "/chart/list/", "/tablemodelview/list/", "/explore/", "/dashboard/new/",
     "/superset/dashboard/1/../../sqllab/", "/users/list/", "/superset/explore_json/"],
)  # fmt: skip
def test_every_other_page_is_forbidden_to_the_executive(path):
    assert access.page_decision(path, EXECUTIVE) == "forbid"


@pytest.mark.parametrize("path", ["/", "/superset/welcome/"])
def test_the_home_page_becomes_the_dashboards_list(path):
    assert access.page_decision(path, EXECUTIVE) == "home"


@pytest.mark.parametrize("roles", [{"Admin"}, {"Admin", "Executive"}, set()])
def test_other_logins_are_left_to_supersets_permissions(roles):
    assert access.page_decision("/sqllab/", roles) == "allow"


def test_the_forbidden_page_names_the_page_and_the_way_back_and_escapes_the_path():
    html = access.forbidden_page("/sqllab/<script>", EXECUTIVE)
    assert "This page is not available to your login" in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert 'href="/dashboard/list/"' in html and "<strong>Executive</strong>" in html
