"""The `bench` profile's Postgres on its own (no Airflow, no Superset), and scratch databases."""

from __future__ import annotations

from revenue_os_stack.postgres_cluster import LocalPostgres, ensure_server_installed
from revenue_os_stack.profile import load_profile
from revenue_os_stack.secret_store import load_or_create_secrets


def bench_postgres() -> tuple[LocalPostgres, dict[str, str]]:
    """Start (or reuse) the bench profile's cluster with the project's roles; return it."""
    profile = load_profile("bench")
    secrets = load_or_create_secrets(profile.secrets_file)
    pg = LocalPostgres(profile, ensure_server_installed(print))
    pg.init()
    pg.start()
    pg.bootstrap_roles(secrets)
    return pg, secrets


def recreate_database(pg: LocalPostgres, secrets: dict[str, str], name: str) -> str:
    """An empty database owned by revenue_os (dropped first if it exists); its URI."""
    pg.psql(command=f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    pg.psql(command=f"CREATE DATABASE {name} OWNER revenue_os")
    return pg.url("revenue_os", secrets["WAREHOUSE_PASSWORD"], name)
