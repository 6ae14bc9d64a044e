"""The SQL models under sql/models: discovery, settings, dependencies and build order.

A model is one SELECT in one file named for its layer (`stg_`, `int_`, `dim_`, `fct_`). It
names the models and seeds it reads without a schema; the builder puts the build's schemas on
the search path, so the same file builds aside and is published unchanged. Its header comment
says what it holds and its grain (`-- grain: a, b`), which the audit checks.

A staging model that is a row-wise function of one raw table may say so
(`-- incremental: <its key> = raw.<table>.<raw key>`): the build then brings its table
forward by the raw rows written since, instead of rebuilding it (transform/build.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import yaml

from revenue_os.paths import MODEL_SETTINGS, MODELS_DIR, SEEDS_DIR

LAYERS: dict[str, str] = {
    "stg_": "staging",
    "int_": "intermediate",
    "dim_": "marts",
    "fct_": "marts",
}
LAYER_ORDER = ("staging", "intermediate", "marts")
_REFERENCE = re.compile(r"\b((?:stg|int|dim|fct|seed)_[a-z0-9_]+)\b")
_SETTING = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
_SAFE_SETTING = re.compile(r"^[A-Za-z0-9_.\-]+$")
_INCREMENTAL = re.compile(
    r"^--\s*incremental:\s*([a-z_][a-z0-9_]*)\s*=\s*raw\.([a-z0-9_]+)\.([a-z_][a-z0-9_]*)\s*$",
    re.MULTILINE,
)
_RAW_TABLE = re.compile(r"\braw\.([a-z0-9_]+)\b")


class ModelError(ValueError):
    """A model, seed or setting that cannot be built; the message names the file to fix."""


@dataclass(frozen=True)
class Incremental:
    """A staging model's rows keyed by `key`, each from the row of raw.`raw_table` whose
    `raw_key` has the same value."""

    key: str
    raw_table: str
    raw_key: str


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path
    sql: str
    grain: tuple[str, ...]
    depends_on: frozenset[str] = field(default_factory=frozenset)
    incremental: Incremental | None = None

    @property
    def published(self) -> bool:
        return self.layer == "marts"


def _strip_comments(sql: str) -> str:
    return re.sub(r"--[^\n]*", "", sql)


def _layer_of(name: str, path: Path) -> str:
    for prefix, layer in LAYERS.items():
        if name.startswith(prefix):
            return layer
    raise ModelError(f"{path}: a model's file name must start with stg_, int_, dim_ or fct_")


def load_settings(path: Path = MODEL_SETTINGS) -> dict[str, str]:
    """The values models read as {{ name }}: plain numbers and identifiers only, so that a
    setting can never smuggle SQL into a model."""
    raw = yaml.safe_load(path.read_text()) or {}
    settings: dict[str, str] = {}
    for key, value in raw.items():
        text = str(value)
        if isinstance(value, bool) or not _SAFE_SETTING.match(text):
            raise ModelError(f"{path.name}: {key}: {value!r} must be a number or a plain word")
        settings[key] = text
    return settings


def render(sql: str, settings: dict[str, str], path: Path) -> str:
    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in settings:
            raise ModelError(f"{path}: {{{{ {name} }}}} is not set in {MODEL_SETTINGS.name}")
        return settings[name]

    return _SETTING.sub(substitute, sql)


def seed_names(seeds_dir: Path = SEEDS_DIR) -> list[str]:
    return sorted(f"seed_{p.stem}" for p in seeds_dir.glob("*.csv"))


def discover(
    models_dir: Path = MODELS_DIR,
    seeds_dir: Path = SEEDS_DIR,
    settings: dict[str, str] | None = None,
) -> dict[str, Model]:
    """Every model under models_dir, rendered with the settings, keyed by name."""
    settings = load_settings() if settings is None else settings
    paths = sorted(models_dir.rglob("*.sql"))
    names = {p.stem for p in paths}
    if len(names) != len(paths):
        raise ModelError(f"{models_dir}: two model files share a name")
    seeds = set(seed_names(seeds_dir))
    models: dict[str, Model] = {}
    for path in paths:
        name = path.stem
        layer = _layer_of(name, path)
        if path.parent.name != layer:
            raise ModelError(f"{path}: a {layer} model belongs in sql/models/{layer}/")
        text = path.read_text()
        grain_line = re.search(r"^--\s*grain:\s*(.+)$", text, re.MULTILINE)
        if not grain_line:
            raise ModelError(f"{path}: the header must state the grain (-- grain: col, col)")
        grain = tuple(c.strip() for c in grain_line.group(1).split(","))
        body = render(_strip_comments(text), settings, path)
        # Only words naming a model file count as references: a column may share a prefix.
        references = set(_REFERENCE.findall(body)) - {name}
        missing_seeds = sorted(r for r in references if r.startswith("seed_") and r not in seeds)
        if missing_seeds:
            raise ModelError(f"{path}: reads {', '.join(missing_seeds)}, not in sql/seeds/")
        depends = frozenset(r for r in references if r in names)
        incremental = _incremental_of(text, body, layer, grain, path)
        models[name] = Model(
            name, layer, path, body.strip().rstrip(";"), grain, depends, incremental
        )
    for model in models.values():
        layer_rank = LAYER_ORDER.index(model.layer)
        for dependency in model.depends_on:
            if LAYER_ORDER.index(models[dependency].layer) > layer_rank:
                raise ModelError(
                    f"{model.path}: a {model.layer} model cannot read the {models[dependency].layer}"
                    f" model {dependency}"
                )
    build_order(models)
    return models


def _incremental_of(
    text: str, body: str, layer: str, grain: tuple[str, ...], path: Path
) -> Incremental | None:
    """The model's `-- incremental:` line, checked against what the model reads and its grain."""
    lines = _INCREMENTAL.findall(text)
    if not lines:
        if re.search(r"^--\s*incremental\b", text, re.MULTILINE):
            raise ModelError(
                f"{path}: write the incremental line as `-- incremental: <key> = "
                "raw.<table>.<raw key>`"
            )
        return None
    key, raw_table, raw_key = lines[0]
    if layer != "staging":
        raise ModelError(f"{path}: only a staging model can be built incrementally")
    read = set(_RAW_TABLE.findall(body))
    if read != {raw_table}:
        raise ModelError(
            f"{path}: an incremental model reads one raw table, raw.{raw_table}; it reads "
            f"{', '.join(sorted(f'raw.{t}' for t in read)) or 'none'}"
        )
    if grain != (key,):
        raise ModelError(
            f"{path}: the incremental key {key} must be the grain ({', '.join(grain)})"
        )
    return Incremental(key, raw_table, raw_key)


def build_order(models: dict[str, Model], layer: str | None = None) -> list[Model]:
    """Models in an order where each comes after what it reads (ties by name)."""
    sorter = TopologicalSorter({m.name: sorted(m.depends_on) for m in models.values()})
    try:
        sorter.prepare()
    except CycleError as error:
        cycle = " -> ".join(error.args[1])
        raise ModelError(f"sql/models: models read each other in a circle: {cycle}") from None
    ordered: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        ordered.extend(ready)
        sorter.done(*ready)
    return [models[n] for n in ordered if layer is None or models[n].layer == layer]
