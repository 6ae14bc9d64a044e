"""The running stack seen from the operating system: who its processes run as, and which
sockets they listen on.

Read from /proc, as an attacker with a shell on the box would: every listening TCP socket of
every process the stack started (each service and all its children: gunicorn and LocalExecutor
workers, the log and health servers) and of its Postgres.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from revenue_os_stack.airflow_services import run_airflow
from revenue_os_stack.service_user import (
    SERVICE_USER,
    hand_over,
    service_user,
    writable_dirs,
)
from tests.integration.conftest import run_make_demo

LISTEN = "0A"  # the TCP state LISTEN in /proc/net/tcp


def _children(pid: int) -> set[int]:
    """`pid` and every process below it."""
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.add(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except (FileNotFoundError, PermissionError):
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except (FileNotFoundError, OSError):
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _address(hex_address: str) -> tuple[str, int]:
    host, port = hex_address.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        ip = ipaddress.IPv4Address(raw[::-1])
    else:  # four little-endian 32-bit words
        ip = ipaddress.IPv6Address(b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4)))
    return str(ip), int(port, 16)


def _listening() -> dict[str, tuple[str, int]]:
    """inode -> (address, port) of every listening TCP socket on the machine."""
    sockets = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == LISTEN:
                sockets[fields[9]] = _address(fields[1])
    return sockets


@pytest.fixture(scope="module")
def stack_listeners(stack) -> dict[str, set[tuple[str, int]]]:
    """service name -> the (address, port) pairs its process tree listens on."""
    listening = _listening()
    roots = {service.name: service.pid() for service in stack.services()}
    postmaster = stack.postgres().data_dir / "postmaster.pid"
    roots["postgres"] = int(postmaster.read_text().split()[0])
    found = {}
    for name, pid in roots.items():
        assert pid, f"{name} is not running"
        inodes = set().union(*(_socket_inodes(p) for p in _children(pid)))
        found[name] = {listening[i] for i in inodes if i in listening}
    return found


def test_every_socket_of_the_stack_listens_on_loopback_only(stack_listeners):
    exposed = {
        name: sorted(
            address for address in addresses if not ipaddress.ip_address(address[0]).is_loopback
        )
        for name, addresses in stack_listeners.items()
    }
    assert {name: a for name, a in exposed.items() if a} == {}


def test_the_listeners_are_the_ones_the_profile_names(stack, stack_listeners):
    """Nothing listens that the profile does not know of: each port is a documented one."""
    profile = stack.profile
    ports = {name: {port for _, port in addresses} for name, addresses in stack_listeners.items()}
    assert ports["postgres"] == {profile.postgres_port}
    assert ports["airflow-api-server"] == {profile.airflow_port}
    assert ports["airflow-scheduler"] == {profile.scheduler_health_port}
    assert ports["airflow-dag-processor"] == set()
    assert ports["superset"] == {profile.superset_port}
    assert ports["mock-apis"] == {profile.mock_apis_port}
    assert ports["mail-server"] == {profile.mail_port}
    assert ports["scheduler-watch"] == set()


def test_the_secrets_file_is_private_to_its_owner(stack):
    mode = stack.profile.secrets_file.stat().st_mode & 0o777
    assert mode == 0o600, oct(mode)


# -- who the processes run as ------------------------------------------------------------

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="services run as the caller unless root")


def _uids(pid: int) -> set[int]:
    """The real, effective, saved and file-system uids of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return {int(uid) for uid in line.split()[1:]}
    raise AssertionError(f"no Uid line for {pid}")


@pytest.fixture(scope="module")
def the_service_user():
    user = service_user(create=False)
    assert user is not None, f"the OS user {SERVICE_USER!r} was not created"
    return user


@as_root
def test_no_process_of_the_stack_runs_as_root(stack, the_service_user):
    """Every service and every process below it (gunicorn workers, LocalExecutor workers and
    the tasks they run) runs as the unprivileged service user, as Postgres runs as its own."""
    owners = {}
    for service in stack.services():
        pid = service.pid()
        assert pid, f"{service.name} is not running"
        owners[service.name] = set().union(
            *(_uids(p) for p in _children(pid) if Path(f"/proc/{p}").exists())
        )
    assert owners == {name: {the_service_user.uid} for name in owners}


@as_root
def test_what_the_refresh_tasks_wrote_belongs_to_the_service_user(stack, the_service_user):
    """DAG code ran as the service user: the dashboards bundle its last task exported."""
    written = [path for path in (stack.profile.state_dir / "exports").rglob("*") if path.is_file()]
    assert written, "the refresh exported nothing"
    assert {path.stat().st_uid for path in written} == {the_service_user.uid}


@as_root
def test_the_service_user_cannot_read_the_secrets_or_forge_a_pid_file(stack, the_service_user):
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"

    def as_service_user(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [runuser, "-u", the_service_user.name, "--", *argv],
            capture_output=True, text=True, check=False, cwd="/",
        )  # fmt: skip

    secrets = stack.profile.secrets_file
    assert secrets.stat().st_uid == 0
    assert "Permission denied" in as_service_user("cat", str(secrets)).stderr
    pid_file = stack.profile.run_dir / "superset.pid"
    assert "Permission denied" in as_service_user("touch", str(pid_file)).stderr
    # Its own folders it does write: the homes, mail, exports, the watch's status.
    for folder in writable_dirs(stack.profile):
        assert as_service_user("test", "-w", str(folder)).returncode == 0, folder


@as_root
def test_code_the_service_user_plants_in_airflows_home_never_runs_as_root(stack, the_service_user):
    """Airflow imports config/airflow_local_settings.py from AIRFLOW_HOME, a folder the service
    user writes. The set-up's own Airflow commands (`db migrate`, `pools set`) go through
    run_airflow with the user, as `demo` passes it: what they run, the user could run anyway."""
    home = stack.profile.service_home / "planted-airflow-home"
    shutil.rmtree(home, ignore_errors=True)
    (home / "config").mkdir(parents=True)
    witness = home / "imported-as-uid"
    (home / "config" / "airflow_local_settings.py").write_text(
        f"import os\nopen({str(witness)!r}, 'w').write(str(os.getuid()))\n"
    )
    hand_over(the_service_user, [home])
    env = the_service_user.env(
        {**stack.airflow_env(), "AIRFLOW_HOME": str(home)}, stack.profile.service_home
    )
    try:
        run_airflow(env, "version", user=the_service_user)
        assert witness.read_text() == str(the_service_user.uid)
    finally:
        shutil.rmtree(home, ignore_errors=True)


@as_root
def test_make_demo_run_again_never_runs_the_service_users_code_as_root(stack, the_service_user):
    """The same plant in the stack's own AIRFLOW_HOME, then `make demo` again, as an operator
    would after the service user was compromised: every import of it is the service user's."""
    config = stack.profile.airflow_home / "config"
    witness = stack.profile.airflow_home / "imported-as-uid"
    config.mkdir(exist_ok=True)
    planted = config / "airflow_local_settings.py"
    planted.write_text(f"import os\nopen({str(witness)!r}, 'a').write(f'{{os.getuid()}}\\n')\n")
    hand_over(the_service_user, [stack.profile.airflow_home])
    try:
        again = run_make_demo("demo-planted.log")
        assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
        uids = set(witness.read_text().split())
    finally:
        planted.unlink(missing_ok=True)
        witness.unlink(missing_ok=True)
    assert uids == {str(the_service_user.uid)}
