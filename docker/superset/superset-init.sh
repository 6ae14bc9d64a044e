#!/usr/bin/env bash
# One-shot bootstrap of Superset in the compose stack (service superset-init): migrate the
# metadata database, make sure the user `admin` exists with SUPERSET_ADMIN_PASSWORD (reset on
# every run, so a changed password in .env takes effect on the next `docker compose up`), and
# sync roles and permissions, then the Executive role and user (dashboards only, no SQL Lab).
set -euo pipefail

for name in SUPERSET_SECRET_KEY SUPERSET_METADATA_DB_URI SUPERSET_ADMIN_PASSWORD SUPERSET_EXECUTIVE_PASSWORD; do
    value="${!name:-}"
    if [[ -z "${value}" ]]; then
        echo "superset-init: ${name} is not set" >&2
        exit 1
    fi
    if [[ "${value}" == *change-me* ]]; then
        echo "superset-init: ${name} still contains an .env.example placeholder; generate real secrets in .env" >&2
        exit 1
    fi
done

superset db upgrade
# Through Superset's Python API rather than `superset fab create-admin --password`: a password
# on argv is readable by every process of the host.
python /app/revenue_os/admin_user.py
superset init
python /app/revenue_os/executive_role.py
echo "superset-init: done"
