#!/usr/bin/env bash
# The official image's entrypoint in the part the project uses: an Airflow subcommand runs as
# `airflow <subcommand>`, a shell or Python command runs as given.
set -euo pipefail
case "${1:-}" in
    bash | sh | python | python3 | revenue-os) exec "$@" ;;
    *) exec airflow "$@" ;;
esac
