"""Create the Superset user `admin`, or reset its password, from SUPERSET_ADMIN_PASSWORD.

Run with Superset's Python, by `revenue-os demo` and by compose's superset-init.sh. `superset fab create-admin --password ...` and
`fab reset-password --password ...` would put the password on argv, where any process of the
host can read it (`ps`, /proc/<pid>/cmdline); here it only ever sits in this process's
environment. Safe to run again: it converges.
"""

from __future__ import annotations

import os

USER = "admin"


def main() -> None:
    password = os.environ.get("SUPERSET_ADMIN_PASSWORD")
    if not password:
        raise SystemExit("admin_user.py: set SUPERSET_ADMIN_PASSWORD")

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role(sm.auth_role_admin) or sm.add_role(sm.auth_role_admin)
        user = sm.find_user(username=USER)
        if user is None:
            created = sm.add_user(
                USER, "Revenue", "Admin", "admin@example.com", role, password=password
            )
            if not created:
                raise SystemExit(f"admin_user.py: Superset did not create the user {USER}")
        else:
            if role not in user.roles:
                user.roles = [*user.roles, role]
            sm.reset_password(user.id, password)
        from superset.extensions import db

        db.session.commit()
        print(f"admin_user.py: user {USER} ready")


if __name__ == "__main__":
    main()
