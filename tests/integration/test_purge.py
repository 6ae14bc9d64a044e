"""`revenue-os purge` deletes exactly one profile's state, its Postgres cluster included."""

from __future__ import annotations

import socket

from revenue_os_stack.postgres_cluster import LocalPostgres, ensure_server_installed
from revenue_os_stack.profile import load_profile
from revenue_os_stack.stack import Stack


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_purge_stops_and_deletes_one_profile(stack, monkeypatch):
    # The bench profile's fixed port lies in the kernel's ephemeral range, where a client
    # connection of the suite may hold it for a moment: a port free now keeps this test about
    # purge.
    monkeypatch.setenv("REVENUE_OS_POSTGRES_PORT", str(_free_port()))
    bench = Stack(load_profile("bench"))
    pg = LocalPostgres(bench.profile, ensure_server_installed(print))
    pg.init()
    pg.start()
    assert pg.is_running() and bench.profile.secrets_file.exists()

    removed = bench.purge(echo=lambda *_: None)

    assert not pg.is_running()
    assert set(removed) == {bench.profile.postgres_dir, bench.profile.state_dir}
    assert not bench.profile.state_dir.exists() and not pg.data_dir.exists()
    # The test profile's stack is untouched.
    assert stack.profile.secrets_file.exists()
    assert all(service.pid() for service in stack.services())
