"""Create the Superset user `admin`, or reset its password, from SUPERSET_ADMIN_PASSWORD.

Run with Superset's Python, by `revenue-os demo` and by compose's superset-init.sh. `superset fab create-admin --password ...` and
`fab reset-password --password ...` would put the password on argv, where any process of the
host can read it (`ps`, /proc/<pid>/cmdline); here it only ever sits in this process's
environment. Safe to run again: it converges.
"""

from __future__ import annotations

import os

USER = "admin"


def ensure_user(
    sm, username: str, last_name: str, email: str, role, password: str, *, only_role: bool
) -> None:
    """Create `username` with `role`, or give an existing one the role (or only that role) and
    this password. Shared with executive_role.py, which runs beside this file."""
    user = sm.find_user(username=username)
    if user is None:
        if not sm.add_user(username, "Revenue", last_name, email, role, password=password):
            raise SystemExit(f"Superset did not create the user {username}")
        return
    if only_role:
        user.roles = [role]
    elif role not in user.roles:
        user.roles = [*user.roles, role]
    sm.reset_password(user.id, password)


def main() -> None:
    password = os.environ.get("SUPERSET_ADMIN_PASSWORD")
    if not password:
        raise SystemExit("admin_user.py: set SUPERSET_ADMIN_PASSWORD")

    from superset.app import create_app

    app = create_app()
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role(sm.auth_role_admin) or sm.add_role(sm.auth_role_admin)
        ensure_user(sm, USER, "Admin", "admin@example.com", role, password, only_role=False)
        from superset.extensions import db

        db.session.commit()
        print(f"admin_user.py: user {USER} ready")


if __name__ == "__main__":
    main()
