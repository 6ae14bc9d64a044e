"""The product apart from its development harness: the mock vendor APIs and the local stack
are packages of their own, the product never imports them (only the CLI's stack commands do,
when they run), and the production image carries the product alone."""

from __future__ import annotations

import ast

from revenue_os.paths import PROJECT_ROOT

PLUGINS = PROJECT_ROOT / "plugins"
HARNESS = ("revenue_os_mock_apis", "revenue_os_stack")


def _imports(path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_product_never_imports_the_harness_outside_the_cli():
    offenders = {}
    for path in sorted((PLUGINS / "revenue_os").rglob("*.py")):
        relative = path.relative_to(PLUGINS)
        if relative.parts[:2] == ("revenue_os", "cli"):
            continue
        harness = _imports(path) & set(HARNESS)
        if harness:
            offenders[str(relative)] = sorted(harness)
    assert offenders == {}
    for dag in sorted((PROJECT_ROOT / "dags").glob("*.py")):
        assert not _imports(dag) & set(HARNESS), dag.name


def test_the_cli_imports_the_harness_only_inside_the_commands_that_need_it():
    """Module-level imports of the harness would make every command (and the production
    image's scheduler watch) need it."""
    for path in sorted((PLUGINS / "revenue_os" / "cli").glob("*.py")):
        tree = ast.parse(path.read_text())
        top_level = set()
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.module:
                top_level.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                top_level |= {alias.name.split(".")[0] for alias in node.names}
        assert not top_level & set(HARNESS), path.name


def _stages(dockerfile) -> dict[str, list[str]]:
    stages: dict[str, list[str]] = {}
    current = None
    for line in dockerfile.read_text().replace("\\\n", " ").splitlines():
        words = line.split()
        if words[:1] == ["FROM"]:
            current = words[3] if len(words) == 4 else words[1]
            stages[current] = []
        elif words[:1] == ["COPY"] and current:
            stages[current] += [w for w in words[1:-1] if not w.startswith("--")]
    return stages


def test_the_production_image_copies_the_product_package_only():
    stages = _stages(PROJECT_ROOT / "docker" / "airflow" / "Dockerfile")
    production = [source for source in stages["airflow"] if source.startswith("plugins")]
    assert production == ["plugins/.airflowignore", "plugins/revenue_os/"]
    assert stages["mock-apis"] == ["plugins/revenue_os_mock_apis/"]
