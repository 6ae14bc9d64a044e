#!/usr/bin/env bash
# Creates the Revenue OS roles and databases in the compose Postgres cluster.
#
# Runs from /docker-entrypoint-initdb.d/ the first time the data volume is initialised, as the
# superuser over the local socket. It runs the project's own bootstrap SQL
# (sql/bootstrap/roles_and_databases.sql, mounted read-only at /opt/revenue-os/sql/bootstrap):
# the SQL lives in one place for every runtime. The SQL reads the six passwords from this
# container's environment (psql's \getenv), so they never appear on a command line.
#
# The SQL is idempotent and re-sets every password, so the same script rotates passwords on
# an existing volume:
#   docker compose exec postgres /docker-entrypoint-initdb.d/init-databases.sh
set -eo pipefail

bootstrap_sql="${REVENUE_OS_BOOTSTRAP_SQL:-/opt/revenue-os/sql/bootstrap/roles_and_databases.sql}"

for name in WAREHOUSE_PASSWORD WAREHOUSE_LOADER_PASSWORD WAREHOUSE_BUILDER_PASSWORD \
    MART_READER_PASSWORD AIRFLOW_DB_PASSWORD SUPERSET_DB_PASSWORD; do
    value="${!name:-}"
    if [[ -z "${value}" ]]; then
        echo "init-databases: ${name} is not set (set it in .env)" >&2
        exit 1
    fi
    if [[ "${value}" == change-me* ]]; then
        echo "init-databases: ${name} still has the .env.example placeholder; generate a real value" >&2
        exit 1
    fi
done

if [[ ! -r "${bootstrap_sql}" ]]; then
    echo "init-databases: ${bootstrap_sql} is missing (is sql/bootstrap mounted?)" >&2
    exit 1
fi

export WAREHOUSE_PASSWORD WAREHOUSE_LOADER_PASSWORD WAREHOUSE_BUILDER_PASSWORD \
    MART_READER_PASSWORD AIRFLOW_DB_PASSWORD SUPERSET_DB_PASSWORD
psql --no-psqlrc -v ON_ERROR_STOP=1 \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    -f "${bootstrap_sql}"

echo "init-databases: roles revenue_os, revenue_os_loader, revenue_os_builder, mart_reader, airflow, superset and databases warehouse, airflow, superset are in place"
