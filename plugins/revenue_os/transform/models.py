"""The SQL models under sql/models: discovery, settings, dependencies and build order.

A model is one SELECT in one file named for its layer (`stg_`, `int_`, `dim_`, `fct_`). It
names the models and seeds it reads without a schema; the builder puts the build's schemas on
the search path, so the same file builds aside and is published unchanged. What a model reads
is parsed from its SQL (every table it selects from that is not one of its own CTEs), so the
build order follows the SQL and nothing else. Its properties (description, grain, columns, and
whether it is brought forward incrementally or rolls up a fact) are declared beside it in the
layer's `_<layer>__models.yml` (transform/properties.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import sqlglot
from sqlglot import exp

from revenue_os.paths import MODEL_SETTINGS, MODELS_DIR, SEEDS_DIR
from revenue_os.transform.properties import (
    Incremental,
    ModelProperties,
    Partitions,
    PropertiesError,
    load_properties,
    properties_path,
    via_parts,
)
from revenue_os.yaml_files import read_yaml

LAYERS: dict[str, str] = {
    "stg_": "staging",
    "int_": "intermediate",
    "dim_": "marts",
    "fct_": "marts",
}
LAYER_ORDER = ("staging", "intermediate", "marts")
_SETTING = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")
_SAFE_SETTING = re.compile(r"^[A-Za-z0-9_.\-]+$")
# Kept in the properties file, one home: a header line would be a second.
_HEADER_PROPERTY = re.compile(r"^--\s*(grain|incremental)\s*:", re.MULTILINE)
RAW_SCHEMA = "raw"


class ModelError(ValueError):
    """A model, seed or setting that cannot be built; the message names the file to fix."""


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path
    sql: str
    grain: tuple[str, ...]
    depends_on: frozenset[str] = field(default_factory=frozenset)
    incremental: Incremental | None = None
    properties: ModelProperties | None = None
    partitions: Partitions | None = None
    seeds: frozenset[str] = field(default_factory=frozenset)

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
    raw = read_yaml(path) or {}
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


def read_tables(body: str, path: Path) -> tuple[set[str], set[str]]:
    """(the models and seeds, the raw tables) a model's SQL selects from, parsed from it."""
    try:
        tree = sqlglot.parse_one(body, read="postgres")
    except sqlglot.errors.ParseError as error:
        raise ModelError(f"{path}: the SQL does not parse: {error}") from None
    own = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    unqualified: set[str] = set()
    raw: set[str] = set()
    for table in tree.find_all(exp.Table):
        if table.db == RAW_SCHEMA:
            raw.add(table.name)
        elif table.db:
            raise ModelError(
                f"{path}: reads {table.db}.{table.name}; a model reads raw.<table>, other "
                "models and seeds, never a schema of the build"
            )
        elif table.name not in own:
            unqualified.add(table.name)
    return unqualified, raw


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
    try:
        properties = load_properties(models_dir)
    except PropertiesError as error:
        raise ModelError(str(error)) from None
    seeds = set(seed_names(seeds_dir))
    models: dict[str, Model] = {}
    for path in paths:
        name = path.stem
        layer = _layer_of(name, path)
        if path.parent.name != layer:
            raise ModelError(f"{path}: a {layer} model belongs in sql/models/{layer}/")
        declared = properties.get(name)
        if declared is None:
            raise ModelError(
                f"{path}: declare the model in {properties_path(models_dir, layer).name} "
                "(description, grain, columns)"
            )
        text = path.read_text()
        if _HEADER_PROPERTY.search(text):
            raise ModelError(
                f"{path}: the grain and the incremental key are declared in "
                f"{properties_path(models_dir, layer).name}; remove the header line"
            )
        body = render(_strip_comments(text), settings, path)
        tables, raw_tables = read_tables(body, path)
        tables.discard(name)
        unknown = sorted(t for t in tables if t not in names and t not in seeds)
        missing_seeds = [t for t in unknown if t.startswith("seed_")]
        if missing_seeds:
            raise ModelError(f"{path}: reads {', '.join(missing_seeds)}, not in sql/seeds/")
        if unknown:
            raise ModelError(
                f"{path}: reads {', '.join(unknown)}, which is no model in sql/models/ and no "
                "seed; a raw table is named raw.<table>"
            )
        depends = frozenset(t for t in tables if t in names)
        incremental = declared.meta.incremental
        if incremental is not None and raw_tables != {incremental.raw_table}:
            raise ModelError(
                f"{path}: an incremental model reads one raw table, raw.{incremental.raw_table};"
                f" it reads {', '.join(sorted(f'raw.{t}' for t in raw_tables)) or 'none'}"
            )
        partitions = declared.meta.partitions
        not_read = sorted(set(partitions.changes_from) - depends) if partitions else []
        if not_read:
            raise ModelError(
                f"{path}: the partitions' changes_from names {', '.join(not_read)}, which the"
                " model does not read"
            )
        if partitions:
            _check_filtered_inputs(path, partitions)
        models[name] = Model(
            name,
            layer,
            path,
            body.strip().rstrip(";"),
            declared.grain,
            depends,
            incremental,
            declared,
            partitions,
            frozenset(t for t in tables if t in seeds),
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


def _check_filtered_inputs(path: Path, partitions: Partitions) -> None:
    """An input read filtered on the partition key must carry the key under its own name, and
    its changes must be followed: the filter is the key itself, and an unfollowed input would
    rebuild the model whole on any change anyway."""
    for name in partitions.filtered_inputs:
        if partitions.changes_from.get(name, {}).get(partitions.key) != partitions.key:
            raise ModelError(
                f"{path}: the partitions' filtered_inputs names {name}; list it under"
                f" changes_from as {name}: {{{partitions.key}: {partitions.key}}} (its rows carry"
                " the partition key under the same name)"
            )
    for source, mapping in partitions.changes_from.items():
        for carrier in mapping.values():
            via = via_parts(carrier)
            if via is None or via[0] == path.stem:
                continue
            if partitions.changes_from.get(via[0], {}).get(partitions.key) != partitions.key:
                raise ModelError(
                    f"{path}: changes_from {source} goes through {carrier}; list {via[0]} under"
                    f" changes_from as {via[0]}: {{{partitions.key}: {partitions.key}}}, so a"
                    " value it maps to another partition reaches both"
                )


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
