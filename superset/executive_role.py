"""Create or update the Executive role and its user, inside Superset's own environment.

Executives browse the Revenue OS dashboards and the charts on them. They get Superset's
Gamma permissions (dashboards, charts, explore; no SQL Lab, no database or dataset editing)
and read access to the datasets, which all sit on the read-only mart connection: the
warehouse role behind it sees only the published mart, so there is no raw dataset to reach.

Run with Superset's Python: `python superset/executive_role.py`; the password comes from
SUPERSET_EXECUTIVE_PASSWORD (never from argv). Safe to run again: it converges.
"""

from __future__ import annotations

import os

ROLE = "Executive"
USER = "executive"
# Permission names that open SQL Lab or the raw query API; Gamma has none of them today, and
# this keeps it that way if a future Superset adds one to Gamma.
FORBIDDEN = ("sql_lab", "sqllab", "SQL Lab", "can_execute_sql_query", "can_csv")


def main() -> None:
    password = os.environ.get("SUPERSET_EXECUTIVE_PASSWORD")
    if not password:
        raise SystemExit("executive_role.py: set SUPERSET_EXECUTIVE_PASSWORD")

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        sm = app.appbuilder.sm
        gamma = sm.find_role("Gamma")
        role = sm.find_role(ROLE) or sm.add_role(ROLE)
        permissions = [
            pv
            for pv in gamma.permissions
            if not any(word in f"{pv.permission.name} {pv.view_menu.name}" for word in FORBIDDEN)
        ]
        all_data = sm.add_permission_view_menu("all_datasource_access", "all_datasource_access")
        role.permissions = [*permissions, all_data]
        user = sm.find_user(username=USER)
        if user is None:
            sm.add_user(
                USER, "Revenue", "Executive", "executive@localhost", role, password=password
            )
        else:
            user.roles = [role]
            sm.reset_password(user.id, password)
        from superset.extensions import db

        db.session.commit()
        print(f"role {ROLE}: {len(role.permissions)} permissions; user {USER} ready")


if __name__ == "__main__":
    main()
