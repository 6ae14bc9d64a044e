#!/usr/bin/env bash
# One-shot bootstrap of the Airflow side of the compose stack (service airflow-init):
#   1. refuse to start with secrets that are still .env.example placeholders,
#   2. migrate the Airflow metadata database,
#   3. write the SimpleAuthManager passwords file {"admin": "<AIRFLOW_ADMIN_PASSWORD>"} onto the
#      volume shared with the other Airflow containers; with the FAB auth manager
#      (docker-compose.fab-auth.yml) create or reset the user admin in its tables instead.
# It runs on every `docker compose up`, so a changed AIRFLOW_ADMIN_PASSWORD takes effect then.
set -euo pipefail

for name in AIRFLOW_ADMIN_PASSWORD AIRFLOW__CORE__FERNET_KEY AIRFLOW__API_AUTH__JWT_SECRET \
            AIRFLOW__API__SECRET_KEY AIRFLOW__DATABASE__SQL_ALCHEMY_CONN \
            AIRFLOW_CONN_WAREHOUSE_OWNER AIRFLOW_CONN_WAREHOUSE_LOADER \
            AIRFLOW_CONN_WAREHOUSE_BUILDER AIRFLOW_CONN_MART_READER; do
    value="${!name:-}"
    if [[ -z "${value}" ]]; then
        echo "airflow-init: ${name} is not set" >&2
        exit 1
    fi
    if [[ "${value}" == *change-me* ]]; then
        echo "airflow-init: ${name} still contains an .env.example placeholder; generate real secrets in .env" >&2
        exit 1
    fi
done

airflow db migrate

# Caps concurrent extract tasks (revenue_os.orchestration.defaults.SOURCE_POOL).
airflow pools set source_apis 3 "Caps concurrent extract tasks, so vendor rate limits are not hit by our own fan-out"

if [[ "${AIRFLOW__CORE__AUTH_MANAGER:-}" == *FabAuthManager ]]; then
    # docker-compose.fab-auth.yml: users and roles in the metadata database. The user admin
    # gets the role Admin and AIRFLOW_ADMIN_PASSWORD, created or reset through FAB's Python API.
    airflow fab-db migrate
    python - <<'PY'
import os

from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

with get_application_builder() as appbuilder:
    security = appbuilder.sm
    admin = security.find_role("Admin")
    user = security.find_user(username="admin")
    password = os.environ["AIRFLOW_ADMIN_PASSWORD"]
    if user is None:
        security.add_user("admin", "Revenue OS", "Admin", "admin@revenue-os.invalid", admin, password)
        print("airflow-init: created the user 'admin' with the role Admin")
    else:
        security.reset_password(user.id, password)
        if admin not in user.roles:
            user.roles.append(admin)
            security.update_user(user)
        print("airflow-init: reset the password of the user 'admin'")
PY
    exit 0
fi

python - <<'PY'
import json
import os
import pathlib
import tempfile

path = pathlib.Path(os.environ["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"])
path.parent.mkdir(parents=True, exist_ok=True)
# Written atomically; group-writable because the auth manager opens the file read-write and the
# image runs as any UID in group 0. Nothing else in the stack mounts this volume.
fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".passwords.")
with os.fdopen(fd, "w") as handle:
    json.dump({"admin": os.environ["AIRFLOW_ADMIN_PASSWORD"]}, handle)
    handle.write("\n")
os.chmod(tmp, 0o660)
os.replace(tmp, path)
print(f"airflow-init: wrote the password of user 'admin' to {path}")
PY
