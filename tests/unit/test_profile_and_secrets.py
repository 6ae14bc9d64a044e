"""Profiles keep demo and test apart; secrets are generated once, private, and match compose."""

from __future__ import annotations

import stat

import pytest

from revenue_os.paths import PROJECT_ROOT
from revenue_os_stack.profile import DEFAULT_PORTS, ProfileError, load_profile
from revenue_os_stack.secret_store import (
    SECRET_GENERATORS,
    SecretsFileError,
    load_or_create_secrets,
    read_env_file,
)


def test_profiles_use_distinct_ports():
    ports = [port for triple in DEFAULT_PORTS.values() for port in triple]
    assert len(ports) == len(set(ports))
    assert all(port != 5432 for port in ports)


def test_port_override_and_bad_values(monkeypatch):
    monkeypatch.setenv("REVENUE_OS_AIRFLOW_PORT", "19999")
    assert load_profile("test").airflow_port == 19999
    monkeypatch.setenv("REVENUE_OS_AIRFLOW_PORT", "eighty")
    with pytest.raises(ProfileError, match="REVENUE_OS_AIRFLOW_PORT='eighty' is not a port"):
        load_profile("test")
    monkeypatch.setenv("REVENUE_OS_AIRFLOW_PORT", "80")
    with pytest.raises(ProfileError, match="outside 1024-65535"):
        load_profile("test")


def test_unknown_profile_names_the_choices(monkeypatch):
    monkeypatch.delenv("REVENUE_OS_PROFILE", raising=False)
    with pytest.raises(ProfileError, match=r"unknown profile 'prod'.*demo, test"):
        load_profile("prod")


def test_state_lives_under_the_ignored_local_folder():
    profile = load_profile("test")
    assert profile.state_dir == PROJECT_ROOT / ".local" / "test"
    ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert ".local/" in ignored


def test_secrets_generated_once_and_private(tmp_path):
    path = tmp_path / "secrets.env"
    first = load_or_create_secrets(path)
    assert set(first) == set(SECRET_GENERATORS)
    assert len(set(first.values())) == len(first)  # no two secrets alike
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secrets(path) == first  # reused, not regenerated


def test_missing_secret_is_added_existing_kept(tmp_path):
    path = tmp_path / "secrets.env"
    path.write_text("WAREHOUSE_PASSWORD=kept-value\n")
    secrets = load_or_create_secrets(path)
    assert secrets["WAREHOUSE_PASSWORD"] == "kept-value"
    assert read_env_file(path) == secrets


def test_malformed_secrets_file_names_the_line(tmp_path):
    path = tmp_path / "secrets.env"
    path.write_text("# comment\nWAREHOUSE_PASSWORD\n")
    with pytest.raises(SecretsFileError, match=r"secrets.env:2: expected KEY=VALUE"):
        load_or_create_secrets(path)


def test_local_secrets_are_the_compose_secrets():
    """One list of secrets for both runtimes: .env.example names exactly what we generate."""
    example = read_env_file(PROJECT_ROOT / ".env.example")
    assert set(example) == set(SECRET_GENERATORS)
