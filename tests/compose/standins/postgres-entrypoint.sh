#!/usr/bin/env bash
set -euo pipefail
if [[ ! -s "${PGDATA}/PG_VERSION" ]]; then
    password_file="$(mktemp)"
    printf '%s' "${POSTGRES_PASSWORD:?}" > "${password_file}"
    initdb --pgdata "${PGDATA}" --username "${POSTGRES_USER:-postgres}" --pwfile "${password_file}"
    rm -f "${password_file}"
    echo "host all all all scram-sha-256" >> "${PGDATA}/pg_hba.conf"
    echo "listen_addresses = '*'" >> "${PGDATA}/postgresql.conf"
    pg_ctl --pgdata "${PGDATA}" --options "-c listen_addresses=''" --wait start
    for script in /docker-entrypoint-initdb.d/*; do
        case "${script}" in
            *.sh) if [[ -x "${script}" ]]; then "${script}"; else . "${script}"; fi ;;
            *.sql) psql --username "${POSTGRES_USER:-postgres}" -v ON_ERROR_STOP=1 -f "${script}" ;;
        esac
    done
    pg_ctl --pgdata "${PGDATA}" --mode fast --wait stop
fi
if [[ "${1:-}" == postgres ]]; then
    shift
    exec postgres -D "${PGDATA}" "$@"
fi
exec "$@"
