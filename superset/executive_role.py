"""Create or update the Executive role and its user, inside Superset's own environment.

Executives browse the Revenue OS dashboards: they open a dashboard, its charts' data and its
native filters, and nothing else. The role is an allow-list, not Gamma minus a word list: a
permission a future Superset adds to Gamma never reaches it. Data access is every datasource,
all on the read-only mart connection: the warehouse login behind it sees only the published
mart. The pages the allow-list cannot keep out (the Charts list rides on the chart-data
permission) are closed by superset/access.py.

Run with Superset's Python: `python superset/executive_role.py`; the password comes from
SUPERSET_EXECUTIVE_PASSWORD (never from argv). Safe to run again: it converges, removing
whatever is not in the list.
"""

from __future__ import annotations

import os

ROLE = "Executive"
USER = "executive"
ALLOWED = (
    # the dashboards list and a dashboard's page, charts and datasets (as the page reads them)
    ("can_read", "Dashboard"),
    ("can_dashboard", "Superset"),
    ("menu_access", "Dashboards"),
    # the data of the charts on them (Superset grants chart data with `can_read` on Chart)
    ("can_read", "Chart"),
    ("all_datasource_access", "all_datasource_access"),
    # native filters: their state per dashboard, and the time range filter's labels
    ("can_read", "DashboardFilterStateRestApi"),
    ("can_write", "DashboardFilterStateRestApi"),
    ("can_time_range", "Api"),
    # the CSRF token every write needs, the filter state's included
    ("can_read", "SecurityRestApi"),
)


def main() -> None:
    password = os.environ.get("SUPERSET_EXECUTIVE_PASSWORD")
    if not password:
        raise SystemExit("executive_role.py: set SUPERSET_EXECUTIVE_PASSWORD")

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role(ROLE) or sm.add_role(ROLE)
        missing = [pair for pair in ALLOWED if sm.find_permission_view_menu(*pair) is None]
        if missing:
            # `superset init` creates them; a name Superset dropped needs this list updated.
            raise SystemExit(f"executive_role.py: Superset has no permission {missing}")
        role.permissions = [sm.find_permission_view_menu(*pair) for pair in ALLOWED]
        # admin_user.py sits beside this file, here and in the image: Python finds it first.
        from admin_user import ensure_user

        ensure_user(sm, USER, "Executive", "executive@localhost", role, password, only_role=True)
        from superset.extensions import db

        db.session.commit()
        print(f"role {ROLE}: {len(role.permissions)} permissions; user {USER} ready")


if __name__ == "__main__":
    main()
