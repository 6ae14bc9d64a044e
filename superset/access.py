"""What a dashboard-only login may open in Superset's web UI, and the page it gets otherwise.

Superset's permissions decide what its API answers; the Executive role is an allow-list
(executive_role.py). Some pages, though, ride on a permission the dashboards need: the Charts
list shows with the same `can_read` on Chart that chart data requires. So the web UI gets an
allow-list of its own: a login whose roles are all dashboard-only opens the dashboards, their
list and its own session, and any other page is a clear 403 page naming where to go instead,
not a screen of JSON.
"""

from __future__ import annotations

import re
from html import escape

DASHBOARD_ONLY_ROLES = frozenset({"Executive"})
DASHBOARDS_LIST = "/dashboard/list/"
# Pages (anything outside /api/ and /static/) such a login may open.
ALLOWED_PAGES = re.compile(
    r"^/(superset/dashboard/[^/]+/?|dashboard/list/?|login/?|logout/?|lang/[^/]+/?"
    r"|superset/log/?|health|healthcheck|ping)$"
)
# Where Superset sends a login after signing in: the home page of recents and charts.
HOME_PAGES = re.compile(r"^/(superset/welcome/?)?$")
NOT_PAGES = ("/api/", "/static/")

FORBIDDEN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not available | Revenue OS</title>
<style>
body {{ font-family: Inter, system-ui, sans-serif; color: #1f2933; margin: 0;
        display: flex; min-height: 100vh; align-items: center; justify-content: center;
        background: #f5f7fa; }}
main {{ max-width: 34rem; background: #fff; border-radius: 8px; padding: 2rem 2.5rem;
        box-shadow: 0 1px 3px rgba(0,0,0,.12); }}
h1 {{ font-size: 1.3rem; margin: 0 0 .75rem; }}
p {{ line-height: 1.5; margin: 0 0 1rem; }}
a.button {{ display: inline-block; background: #1a73e8; color: #fff; padding: .55rem 1rem;
            border-radius: 4px; text-decoration: none; }}
code {{ background: #eef1f4; padding: 0 .25rem; border-radius: 3px; }}
</style></head>
<body><main>
<h1>This page is not available to your login</h1>
<p><code>{path}</code> is not part of what the <strong>{roles}</strong> role opens: it
browses the Revenue OS dashboards and nothing else (no SQL Lab, chart or dataset editing).</p>
<p><a class="button" href="{dashboards}">Go to the dashboards</a></p>
<p>Need more? Ask the Revenue OS administrators for a role that includes it.</p>
</main></body></html>
"""


def is_dashboard_only(role_names: set[str]) -> bool:
    """True for a login whose every role is dashboard-only (an admin with one is not)."""
    return bool(role_names) and role_names <= DASHBOARD_ONLY_ROLES


def page_decision(path: str, role_names: set[str]) -> str:
    """'allow', 'home' (send to the dashboards list) or 'forbid' for a request to `path`."""
    if not is_dashboard_only(role_names) or path.startswith(NOT_PAGES):
        return "allow"
    if HOME_PAGES.match(path):
        return "home"
    return "allow" if ALLOWED_PAGES.match(path) else "forbid"


def forbidden_page(path: str, role_names: set[str]) -> str:
    return FORBIDDEN_PAGE.format(
        path=escape(path), roles=escape(", ".join(sorted(role_names))), dashboards=DASHBOARDS_LIST
    )


def restrict_dashboard_only_logins(app) -> None:
    """Install the page allow-list on Superset's Flask app."""
    from flask import redirect, request
    from flask_login import current_user

    @app.before_request
    def _dashboard_only_pages():
        if not getattr(current_user, "is_authenticated", False):
            return None  # the login page, or an API call that authenticates itself
        roles = {role.name for role in getattr(current_user, "roles", [])}
        decision = page_decision(request.path, roles)
        if decision == "home":
            return redirect(DASHBOARDS_LIST)
        if decision == "forbid":
            return forbidden_page(request.path, roles), 403, {"Content-Type": "text/html"}
        return None
