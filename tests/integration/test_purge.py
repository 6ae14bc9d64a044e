"""`revenue-os purge` deletes exactly one profile's state, its Postgres cluster included."""

from __future__ import annotations

from revenue_os_stack.postgres_cluster import LocalPostgres, ensure_server_installed
from revenue_os_stack.profile import load_profile
from revenue_os_stack.stack import Stack


def test_purge_stops_and_deletes_one_profile(stack):
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
