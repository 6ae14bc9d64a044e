"""Services start detached, are found by PID file, and `stop` signals only their own group."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest

from revenue_os_stack.processes import Service, ServiceDied, port_in_use, wait_until

# A parent that starts a child in its own process group, then both sleep.
PARENT_WITH_CHILD = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(300)\n"
)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def service(tmp_path):
    svc = Service(
        "sleeper", [sys.executable, "-c", PARENT_WITH_CHILD], tmp_path / "run", tmp_path / "logs"
    )
    yield svc
    svc.stop(timeout=5)


def test_start_records_pid_and_is_idempotent(service, tmp_path):
    pid = service.start(os.environ, tmp_path)
    assert service.pid() == pid
    assert service.pid_file.read_text().split()[0] == str(pid)
    assert service.start(os.environ, tmp_path) == pid  # a second start reuses the running one


def test_stop_takes_the_whole_group_and_nothing_else(service, tmp_path):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        pid = service.start(os.environ, tmp_path)
        wait_until(
            lambda: service.log_file.read_text().strip().splitlines()[-1].isdigit(),
            timeout=10,
            what="child pid in the log",
        )
        child = int(service.log_file.read_text().strip().splitlines()[-1])
        assert _alive(child)
        assert service.stop(timeout=5) is True
        deadline = time.monotonic() + 5
        while (_alive(pid) or _alive(child)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid) and not _alive(child)
        assert bystander.poll() is None, "a process we did not start was signalled"
        assert not service.pid_file.exists()
        assert service.stop() is False
    finally:
        bystander.kill()
        bystander.wait()


def test_reused_pid_is_never_signalled(service, tmp_path):
    """A PID file whose process start time does not match belongs to someone else now."""
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True
    )
    try:
        service.run_dir.mkdir(parents=True)
        service.pid_file.write_text(f"{bystander.pid} 1\n")  # right PID, wrong start time
        assert service.pid() is None
        assert service.stop(timeout=1) is False
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_wait_until_names_what_it_waited_for():
    with pytest.raises(TimeoutError, match=r"the moon not ready after 0 s \(last error: boom\)"):
        wait_until(
            lambda: (_ for _ in ()).throw(ValueError("boom")),
            timeout=0.3,
            interval=0.1,
            what="the moon",
        )


def test_wait_until_propagates_fatal_errors_at_once():
    began = time.monotonic()
    with pytest.raises(KeyError):
        wait_until(lambda: {}["x"], timeout=30, what="x", fatal=(KeyError,))
    assert time.monotonic() - began < 5


def test_port_in_use_sees_a_listener():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_in_use(port) is True
    assert port_in_use(port) is False


def test_a_dead_service_reports_the_end_of_its_log(tmp_path):
    quitter = Service(
        "quitter",
        [
            sys.executable,
            "-c",
            "import time; time.sleep(0.3); print('cannot bind: boom'); raise SystemExit(3)",
        ],
        tmp_path / "run",
        tmp_path / "logs",
    )
    quitter.start(os.environ, tmp_path)
    quitter.ensure_alive()  # still running
    with pytest.raises(ServiceDied, match=r"(?s)quitter exited; the end of .*cannot bind: boom"):
        wait_until(
            lambda: quitter.ensure_alive() and False, timeout=10, what="x", fatal=(ServiceDied,)
        )


def test_a_running_service_restarts_when_its_configuration_changed(service, tmp_path):
    env = {**os.environ, "AIRFLOW_CONN_MART_READER": "postgresql://a@h/w"}
    first = service.start(env, tmp_path)
    assert service.start({**env, "UNRELATED_SHELL_VARIABLE": "x"}, tmp_path) == first
    changed = {**env, "AIRFLOW_CONN_MART_READER": "postgresql://b@h/w"}
    second = service.start(changed, tmp_path)
    assert second != first
    assert service.pid() == second
    assert not _alive(first)
    assert service.start(changed, tmp_path) == second


def test_a_running_service_restarts_when_a_file_it_reads_at_start_up_changed(tmp_path):
    config = tmp_path / "service_config.py"
    config.write_text("HTML_SANITIZATION = True\n")
    service = Service(
        "sleeper",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        tmp_path,
        tmp_path,
        config_files=(config,),
    )
    try:
        first = service.start(os.environ, tmp_path)
        assert service.start(os.environ, tmp_path) == first  # unchanged: left running
        config.write_text("HTML_SANITIZATION = True\nEXTRA = 1\n")
        second = service.start(os.environ, tmp_path)
        assert second != first and service.pid() == second
        assert not _alive(first)
    finally:
        service.stop()
