"""Airflow and Superset answer on loopback, with generated logins only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from revenue_os.paths import PROJECT_ROOT
from revenue_os_stack.service_user import ServiceUser, service_user
from revenue_os_stack.stack import REFRESH_DAG_ID
from revenue_os_stack.superset_services import VENV_DIR, superset_env


def test_airflow_health_reports_every_component_healthy(airflow_client):
    health = airflow_client.health()
    for component in ("metadatabase", "scheduler", "dag_processor"):
        assert health[component]["status"] == "healthy", health


def test_airflow_refuses_default_and_wrong_passwords(stack):
    for password in ("admin", "airflow", stack.secrets["AIRFLOW_ADMIN_PASSWORD"] + "x"):
        response = httpx.post(
            f"{stack.profile.airflow_url}/auth/token",
            json={"username": "admin", "password": password},
            timeout=10,
        )
        assert response.status_code == 401, password


def test_airflow_api_needs_a_token(stack):
    response = httpx.get(f"{stack.profile.airflow_url}/api/v2/dags", timeout=10)
    assert response.status_code == 401


def test_refresh_dag_is_parsed_without_errors(airflow_client):
    assert airflow_client.import_errors() == []
    dag = airflow_client.dag(REFRESH_DAG_ID)
    assert dag["is_paused"] is False
    assert dag["owners"] == ["data-platform"]


def test_superset_health(stack):
    response = httpx.get(f"{stack.profile.superset_url}/health", timeout=10)
    assert (response.status_code, response.text.strip()) == (200, "OK")


@pytest.mark.parametrize("which", ["generated", "default"])
def test_superset_login_only_with_the_generated_password(stack, which):
    password = stack.secrets["SUPERSET_ADMIN_PASSWORD"] if which == "generated" else "admin"
    response = httpx.post(
        f"{stack.profile.superset_url}/api/v1/security/login",
        json={"username": "admin", "password": password, "provider": "db"},
        headers={"Accept": "application/json"},
        timeout=30,
    )
    if which == "generated":
        assert response.status_code == 200 and response.json()["access_token"]
    else:
        assert response.status_code == 401


def test_services_listen_on_loopback_only(stack):
    """Nothing of the stack answers on another interface of this machine."""
    listening = _listening_sockets()
    for port in (
        stack.profile.postgres_port,
        stack.profile.airflow_port,
        stack.profile.superset_port,
    ):
        addresses = {address for address, p in listening if p == port}
        assert addresses == {"127.0.0.1"}, (port, addresses)


def _listening_sockets() -> set[tuple[str, int]]:
    """(address, port) of TCP sockets in LISTEN state, from /proc/net/tcp and tcp6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state != "0A":  # LISTEN
                continue
            address_hex, port_hex = local.split(":")
            found.add((_decode_address(address_hex), int(port_hex, 16)))
    return found


def _decode_address(hex_address: str) -> str:
    if len(hex_address) == 8:
        return ".".join(str(int(hex_address[i : i + 2], 16)) for i in (6, 4, 2, 0))
    return "ipv6:" + hex_address


def test_a_superset_worker_keeps_what_it_made_to_start_out_of_full_collections(stack):
    """A worker makes some 400,000 objects to start, and every full garbage collection walked
    them all (about 180 ms, the slow request in a chart's seven). Its first request freezes
    them (superset_config.py): a full collection then walks only what requests made since."""
    script = (
        "import gc\n"
        "from superset.app import create_app\n"
        "app = create_app()\n"
        "before = gc.get_freeze_count()\n"
        "app.test_client().get('/health')\n"
        "frozen = gc.get_freeze_count()\n"
        "app.test_client().get('/health')\n"
        "print(before, frozen, gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    result = subprocess.run(
        [str(VENV_DIR / "bin" / "python"), "-c", script],
        env=superset_env(stack.profile, stack.secrets),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=PROJECT_ROOT,
        **ServiceUser.options_for(service_user(create=False)),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    before, frozen, after_second, walked = map(int, result.stdout.split()[-4:])
    assert before == 0  # nothing frozen while the app starts
    assert frozen > 100_000  # the app, its models and libraries
    assert after_second == frozen  # frozen once, not at every request
    assert walked < frozen / 10  # what a full collection walks now
