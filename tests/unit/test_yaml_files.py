"""The project's YAML read by libyaml's parser gives what PyYAML's own safe loader gives."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from revenue_os.paths import PROJECT_ROOT
from revenue_os.yaml_files import load_yaml, read_yaml

# Every YAML file the code reads: contracts, properties, settings, specs, Soda contracts.
PROJECT_YAML = sorted(
    path
    for folder in ("metrics", "sql", "superset", "soda", "plugins")
    for pattern in ("*.yml", "*.yaml")
    for path in (PROJECT_ROOT / folder).rglob(pattern)
)


def test_the_project_has_yaml_to_read():
    folders = {path.relative_to(PROJECT_ROOT).parts[0] for path in PROJECT_YAML}
    assert {"metrics", "sql", "soda", "superset"} <= folders
    assert len(PROJECT_YAML) > 80


@pytest.mark.parametrize("path", PROJECT_YAML, ids=lambda path: str(path.relative_to(PROJECT_ROOT)))
def test_a_project_file_reads_as_the_safe_loader_reads_it(path):
    assert read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_fast_reader_is_safe_and_keeps_yaml_types():
    assert yaml.__with_libyaml__  # the requirements' PyYAML wheel carries libyaml
    assert load_yaml("a: 1\nb: [x, 2.5, null, true]\nc: 2026-12-08\n") == {
        "a": 1,
        "b": ["x", 2.5, None, True],
        "c": date(2026, 12, 8),
    }
    with pytest.raises(yaml.constructor.ConstructorError):
        load_yaml("!!python/object/apply:os.system ['true']")
