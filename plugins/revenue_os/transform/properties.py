"""Each SQL model's properties, declared once beside it: `sql/models/<layer>/_<layer>__models.yml`.

The files are in dbt's properties format (`version: 2`, `models:` with a description and
columns, each column with its `data_type` and description); what dbt has no key for sits under
`meta`:

- `grain`: the columns that identify a row (the build's audit checks they are unique);
- `incremental` (staging only): the model is a row-wise function of one raw table, keyed like
  it, and is brought forward by the raw rows loaded since its last build instead of rebuilt;
- `partitions` (intermediate and marts): the model is brought forward partition by
  partition, the partitions a change of its inputs reaches (transform/changes.py);
- `rollup_of` (marts only): the model sums its fact by month, so a contract on the fact is a
  metric of the roll-up too and the audit checks that both give the same totals; with
  `follows_replaced_rows`, a day's build brings it forward by the rows its partitioned fact
  replaced (transform/differences.py);
- `indexed_by` (marts only): the columns the dashboards' queries pick a table's rows by
  first; the build indexes them, so a chart reads its slice instead of the whole table;
- `work_mem`: Postgres' memory for the model's hashes and sorts while it is built or its
  partitions are computed again, where a measurement found the default slower (a roll-up
  whose hash spills to disk).

A column's `data_tests` are dbt's generic tests (`not_null`, `unique`, `accepted_values`,
`relationships`) and dbt_utils' `accepted_range`; the quality gate runs them as Soda checks
that block the publish (quality/model_checks.py), beside the checks written in soda/.

From these come the mart catalogue the metric contracts are checked against, the column audit
of every build (each table has exactly the declared columns and types), the grain audits, the
simple data-quality checks and the model reference in docs/mart.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from revenue_os.paths import MODELS_DIR
from revenue_os.yaml_files import read_yaml

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*$")]
# The Postgres types the models publish: dates are UTC days, money is numeric in US dollars.
DATA_TYPES = ("text", "numeric", "integer", "bigint", "boolean", "date", "timestamptz")
DataType = Literal["text", "numeric", "integer", "bigint", "boolean", "date", "timestamptz"]
LAYER_FOLDERS = ("staging", "intermediate", "marts")


class PropertiesError(ValueError):
    """A properties file that does not describe its models; the message names the file."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Constraint(_Strict):
    type: Literal["not_null"]


_REF = re.compile(r"^ref\('([a-z_][a-z0-9_]*)'\)$")
# Each test kind and the arguments it takes (dbt's names).
_TEST_ARGUMENTS = {
    "not_null": set(),
    "unique": set(),
    "accepted_values": {"values"},
    "relationships": {"to", "field"},
    "dbt_utils.accepted_range": {"min_value"},
}


class DataTest(_Strict):
    """One of dbt's generic tests on a column, as written in dbt: `not_null`, `unique`,
    `accepted_values: {values: [...]}`, `relationships: {to: ref('model'), field: column}`,
    `dbt_utils.accepted_range: {min_value: 0}`."""

    kind: Literal[
        "not_null", "unique", "accepted_values", "relationships", "dbt_utils.accepted_range"
    ]
    values: tuple[str, ...] | None = None
    to: str | None = None
    field: Identifier | None = None
    min_value: int | float | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_dbt(cls, written):
        if isinstance(written, str):
            return {"kind": written}
        if isinstance(written, dict) and len(written) == 1 and "kind" not in written:
            ((kind, arguments),) = written.items()
            return {"kind": kind, **(arguments or {})}
        return written

    @model_validator(mode="after")
    def _arguments(self):
        given = {
            name
            for name in ("values", "to", "field", "min_value")
            if getattr(self, name) is not None
        }
        wanted = _TEST_ARGUMENTS[self.kind]
        if given != wanted:
            raise ValueError(
                f"{self.kind} takes {', '.join(sorted(wanted)) or 'no arguments'}"
                f" (given: {', '.join(sorted(given)) or 'none'})"
            )
        if self.to is not None and not _REF.match(self.to):
            raise ValueError(f"relationships `to` is written ref('model'), not {self.to!r}")
        return self

    @property
    def referenced_model(self) -> str | None:
        match = _REF.match(self.to or "")
        return match.group(1) if match else None


class Column(_Strict):
    name: Identifier
    data_type: DataType
    constraints: tuple[Constraint, ...] = ()
    data_tests: tuple[DataTest, ...] = ()
    description: str = Field(min_length=1)

    @field_validator("data_tests")
    @classmethod
    def _one_of_each(cls, tests: tuple[DataTest, ...]) -> tuple[DataTest, ...]:
        kinds = [test.kind for test in tests]
        twice = sorted({kind for kind in kinds if kinds.count(kind) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} declared twice")
        return tests

    @property
    def not_null(self) -> bool:
        return any(constraint.type == "not_null" for constraint in self.constraints)


class Incremental(_Strict):
    """The model's rows keyed by `key`, each from the row of raw.`raw_table` whose `raw_key`
    has the same value; a key of several columns (a campaign's day: customer, campaign and
    date) is a list, matched with `raw_key`'s columns in order."""

    key: Identifier | tuple[Identifier, ...]
    raw_table: Identifier
    raw_key: Identifier | tuple[Identifier, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return (self.key,) if isinstance(self.key, str) else self.key

    @property
    def raw_keys(self) -> tuple[str, ...]:
        return (self.raw_key,) if isinstance(self.raw_key, str) else self.raw_key


# `<model>.<column>`: a column of another model (or of the model's own table) that holds
# an input's changed values beside the partition key.
Via = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")]


def via_parts(carrier: str) -> tuple[str, str] | None:
    """(model, column) of a `<model>.<column>` carrier; None for a column of the model."""
    if "." not in carrier:
        return None
    model, column = carrier.split(".")
    return model, column


class Partitions(_Strict):
    """The model's rows replaced partition by partition: those whose `key` a change of an
    input reaches. `changes_from` maps each input's changed column to the model's column that
    carries it (`{event_id: touch_id}`: a changed event reaches the touch of that id); a change
    to an input not listed there, or a rebuilt input, rebuilds the model whole.

    A changed value the model's rows do not carry reaches the partitions through another
    model's column (`{contact_id: int_person_identity.source_contact_id}`: a changed contact
    reaches the person that model maps it to, as it stands in this build). That model must be
    followed on the key, so a value moving between partitions reaches both. Through the
    model's own column (`{domain: int_persons.email_domain}`) it reaches the partitions whose
    rows held the value when last built: right only for a column the input does not decide
    (a person's e-mail domain comes from the contacts, whose changes reach the person anyway),
    so a row now holding the value is one another change reached."""

    key: Identifier
    changes_from: dict[Identifier, dict[Identifier, Identifier | Via]] = Field(min_length=1)
    # Inputs whose rows feed only the model's rows of the same key (an account's touches feed
    # only that account's attribution): when partitions are replaced, the model's SQL reads
    # these inputs already filtered on the key, so a model whose CTEs Postgres cannot push a
    # filter into (windows, CTEs read twice) still reads only the partitions' rows.
    filtered_inputs: tuple[Identifier, ...] = ()
    # Inputs whose rows a partition's rows read only up to a day of their own (a conversion
    # reads its account's touches up to it): `{int_touchpoints: {touch_date: conversion_date}}`.
    # A change of the input reaching a partition on the key, dated by the earliest of its
    # changed rows, reaches it only if the partition's rows hold that day or a later one.
    dated_changes: dict[Identifier, dict[Identifier, Identifier]] = {}


class Rollup(_Strict):
    """The fact a monthly roll-up sums, the fact's date it buckets into `month_start`, and the
    roll-up's column counting the fact rows it sums."""

    model: Identifier
    time_column: Identifier
    row_count: Identifier
    # Brought forward by the rows its partitioned fact replaced, instead of summed again
    # (transform/differences.py): worth it when a day's moved rows fall in few of its groups.
    follows_replaced_rows: bool = False


class Meta(_Strict):
    grain: tuple[Identifier, ...] = Field(min_length=1)
    incremental: Incremental | None = None
    partitions: Partitions | None = None
    rollup_of: Rollup | None = None
    indexed_by: tuple[Identifier, ...] = ()
    # The memory the model's hashes and sorts may take before they spill to disk, as Postgres
    # reads it ('64MB'), where measured faster than the build's default (4 MB): a larger
    # setting slowed the models that sort.
    work_mem: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*(kB|MB|GB)$")] | None = None


class ModelProperties(_Strict):
    name: Identifier
    description: str = Field(min_length=1)
    meta: Meta
    columns: tuple[Column, ...] = Field(min_length=1)

    @property
    def grain(self) -> tuple[str, ...]:
        return self.meta.grain

    @property
    def column_types(self) -> dict[str, str]:
        return {column.name: column.data_type for column in self.columns}


def _via_problem(carrier: str, properties: dict[str, ModelProperties], key: str) -> str | None:
    """What is wrong with a `<model>.<column>` carrier of a model's changes, if anything."""
    parts = via_parts(carrier)
    if parts is None:
        return None
    via, column = parts
    if via not in properties:
        return f"{carrier} names {via}, which is no model"
    declared = properties[via].column_types
    missing = [c for c in (column, key) if c not in declared]
    if missing:
        return (
            f"{carrier}: {via} declares no column {missing[0]} (the values and the partition"
            f" key {key} must both be its columns)"
        )
    return None


def properties_path(models_dir: Path, layer: str) -> Path:
    return models_dir / layer / f"_{layer}__models.yml"


def _problems(model: ModelProperties, layer: str) -> list[str]:
    names = [column.name for column in model.columns]
    problems = [
        f"column {name} is declared twice" for name in sorted(set(names)) if names.count(name) > 1
    ]
    declared = set(names)
    problems += [
        f"grain column {c} is not a declared column" for c in model.grain if c not in declared
    ]
    if model.meta.incremental is not None:
        if layer != "staging":
            problems.append("only a staging model can be built incrementally")
        elif model.grain != model.meta.incremental.keys:
            problems.append(
                f"the incremental key {', '.join(model.meta.incremental.keys)} must be the grain "
                f"({', '.join(model.grain)})"
            )
        elif len(model.meta.incremental.raw_keys) != len(model.meta.incremental.keys):
            problems.append(
                f"the incremental raw_key ({', '.join(model.meta.incremental.raw_keys)}) must"
                f" name a raw column for each key column ({', '.join(model.meta.incremental.keys)})"
            )
    partitions = model.meta.partitions
    if partitions is not None:
        if layer not in ("intermediate", "marts"):
            problems.append("a staging model is brought forward by its raw rows, not partitions")
        problems += [
            f"the partition key {column} is not a declared column"
            for column in [partitions.key]
            if column not in declared
        ]
        problems += [
            f"changes_from {source}: {column} is not a declared column"
            for source, mapping in partitions.changes_from.items()
            for column in mapping.values()
            if via_parts(column) is None and column not in declared
        ]
        for source, dating in partitions.dated_changes.items():
            if partitions.key not in partitions.changes_from.get(source, {}).values():
                problems.append(
                    f"dated_changes {source}: it must be in changes_from, carrying the"
                    f" partition key {partitions.key}"
                )
            if len(dating) != 1:
                problems.append(
                    f"dated_changes {source}: name one column of {source} and one of the model"
                    " ({input column: model column})"
                )
            problems += [
                f"dated_changes {source}: {column} is not a declared column"
                for column in dating.values()
                if column not in declared
            ]
    if model.meta.indexed_by:
        if layer != "marts":
            problems.append("only a mart model is indexed for the dashboards")
        problems += [
            f"indexed_by {column} is not a declared column"
            for column in model.meta.indexed_by
            if column not in declared
        ]
    if model.meta.rollup_of is not None:
        if layer != "marts":
            problems.append("only a mart model can be a roll-up")
        for column in ("month_start", model.meta.rollup_of.row_count):
            if column not in declared:
                problems.append(f"a roll-up needs the column {column}")
    return problems


def _errors(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in item['loc']) or 'the file'}: {item['msg']}"
        for item in error.errors()
    )


def _load_file(path: Path, layer: str) -> dict[str, ModelProperties]:
    try:
        document = read_yaml(path) or {}
    except yaml.YAMLError as error:
        raise PropertiesError(f"{path}: not YAML: {error}") from None
    if not isinstance(document, dict) or document.get("version") != 2:
        raise PropertiesError(f"{path}: start with `version: 2` (dbt's properties format)")
    if set(document) != {"version", "models"} or not isinstance(document["models"], list):
        raise PropertiesError(f"{path}: holds `version: 2` and a list of `models:`, nothing else")
    found: dict[str, ModelProperties] = {}
    for index, entry in enumerate(document["models"]):
        name = entry.get("name", f"models.{index}") if isinstance(entry, dict) else index
        try:
            model = ModelProperties.model_validate(entry)
        except ValidationError as error:
            raise PropertiesError(f"{path}: {name}: {_errors(error)}") from None
        if model.name in found:
            raise PropertiesError(f"{path}: {model.name} is declared twice")
        problems = _problems(model, layer)
        if problems:
            raise PropertiesError(f"{path}: {model.name}: {'; '.join(problems)}")
        found[model.name] = model
    return found


def load_properties(
    models_dir: Path = MODELS_DIR, layers: tuple[str, ...] = LAYER_FOLDERS
) -> dict[str, ModelProperties]:
    """Every model's properties, from the properties file of each layer folder, by name."""
    properties: dict[str, ModelProperties] = {}
    layer_of: dict[str, str] = {}
    for layer in layers:
        path = properties_path(models_dir, layer)
        if not path.exists():
            if any((models_dir / layer).glob("*.sql")):
                raise PropertiesError(f"{path} is missing: declare the {layer} models there")
            continue
        for name, model in _load_file(path, layer).items():
            sql_file = models_dir / layer / f"{name}.sql"
            if not sql_file.exists():
                raise PropertiesError(f"{path}: {name} has no model file {layer}/{name}.sql")
            properties[name] = model
            layer_of[name] = layer
    for name, model in properties.items():
        partitions = model.meta.partitions
        for source, mapping in (partitions.changes_from if partitions else {}).items():
            if source not in properties and set(layers) != set(LAYER_FOLDERS):
                continue  # in a layer not read here; the whole project's read checks it
            columns = properties[source].column_types if source in properties else {}
            unknown = [c for c in mapping if c not in columns]
            if source not in properties or unknown:
                raise PropertiesError(
                    f"{properties_path(models_dir, layer_of[name])}: {name}: changes_from names "
                    f"{source}.{unknown[0] if unknown else next(iter(mapping))}, which is not a"
                    " declared column of a model"
                )
            for carrier in mapping.values():
                problem = _via_problem(carrier, properties, partitions.key)
                if problem:
                    raise PropertiesError(
                        f"{properties_path(models_dir, layer_of[name])}: {name}: changes_from"
                        f" {source}: {problem}"
                    )
        for column in model.columns:
            for test in column.data_tests:
                problem = _relationship_problem(test, layer_of[name], properties, layer_of)
                if problem:
                    raise PropertiesError(
                        f"{properties_path(models_dir, layer_of[name])}: {name}.{column.name}:"
                        f" {problem}"
                    )
    for name, model in properties.items():
        rollup = model.meta.rollup_of
        if rollup is None:
            continue
        fact = properties.get(rollup.model)
        if fact is None or rollup.time_column not in fact.column_types:
            raise PropertiesError(
                f"{properties_path(models_dir, 'marts')}: {name}: rollup_of names "
                f"{rollup.model}.{rollup.time_column}, which is not a declared mart column"
            )
    return properties


def _relationship_problem(
    test: DataTest,
    layer: str,
    properties: dict[str, ModelProperties],
    layer_of: dict[str, str],
) -> str | None:
    """Why a `relationships` test cannot run, if it cannot: the gate checks a model in the
    schema it is built in, so the model referred to must be built there too."""
    target = test.referenced_model
    if target is None:
        return None
    if target not in properties:
        return f"relationships refers to {target}, which is not a declared model"
    if test.field not in properties[target].column_types:
        return f"relationships refers to {target}.{test.field}, which is not a declared column"
    if (layer == "marts") != (layer_of[target] == "marts"):
        return (
            f"relationships refers to {target}, built in another schema than this model;"
            " refer to a model of the same schema"
        )
    return None


def load_table_properties(path: Path) -> dict[str, ModelProperties]:
    """Tables built by code rather than a SQL model (the KPI tables), in the same format."""
    if not path.exists():
        raise PropertiesError(f"{path} is missing")
    return _load_file(path, "kpis")
