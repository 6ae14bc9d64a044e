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
# create-admin only reports (exit 0) when the user already exists; reset-password then applies
# the current password either way.
superset fab create-admin \
    --username admin --firstname Revenue --lastname Admin --email admin@example.com \
    --password "${SUPERSET_ADMIN_PASSWORD}"
superset fab reset-password --username admin --password "${SUPERSET_ADMIN_PASSWORD}"
superset init
python /app/revenue_os/executive_role.py
echo "superset-init: done"
