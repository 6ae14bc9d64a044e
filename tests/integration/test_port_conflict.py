"""A port another process holds stops `revenue-os demo` at once, naming the variable to change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from revenue_os.paths import PROJECT_ROOT
from revenue_os_stack.profile import load_profile
from revenue_os_stack.stack import Stack


def test_demo_refuses_a_taken_postgres_port(stack):
    # The test profile's running Postgres holds its port; ask the bench profile to use it.
    env = {**os.environ, "REVENUE_OS_POSTGRES_PORT": str(stack.profile.postgres_port)}
    cli = str(Path(sys.executable).parent / "revenue-os")
    Stack(load_profile("bench")).down(echo=lambda *_: None)  # a bench run may have left it up
    try:
        result = subprocess.run(
            [cli, "--profile", "bench", "demo", "--no-refresh"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 1
        assert f"127.0.0.1:{stack.profile.postgres_port} is already in use" in result.stderr
        assert "REVENUE_OS_POSTGRES_PORT=<port>" in result.stderr
        # Nothing of the bench profile was started.
        assert all(service.pid() is None for service in Stack(load_profile("bench")).services())
    finally:
        Stack(load_profile("bench")).purge(echo=lambda *_: None)
