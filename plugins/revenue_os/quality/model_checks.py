"""The Soda contracts the gate runs: each model's `data_tests` from its properties, joined
with the checks written in soda/contracts.

A column's simple checks (present, unique, in a list, at least a minimum, found in another
model) are declared once, beside the column, in dbt's words; this module turns them into Soda
checks of tier 1, each with a query that finds a few failing keys, since Soda reports counts,
not rows. What a test cannot say (a reconciliation with the source, a share under a threshold,
a row count) stays in the model's file under soda/contracts/<layer>/, and both go to Soda as
one contract. A check declared in both places is refused, naming the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from revenue_os.paths import MODELS_DIR, SODA_CONTRACTS_DIR
from revenue_os.transform.models import LAYERS
from revenue_os.transform.properties import (
    DataTest,
    ModelProperties,
    load_properties,
    properties_path,
)
from revenue_os.yaml_files import read_yaml

# The models' layers by the contracts' folders: staging and intermediate models are built in
# the `staging` schema, the marts aside in the build schema.
MODEL_LAYERS = {"staging": ("staging", "intermediate"), "mart": ("marts",)}
_SODA_CHECK = {
    "not_null": "missing",
    "unique": "duplicate",
    "accepted_values": "invalid",
    "relationships": "invalid",
    "dbt_utils.accepted_range": "invalid",
}
EXAMPLES_LIMIT = 5


class ContractError(ValueError):
    """A contract that cannot be composed; the message names the file to fix."""


@dataclass(frozen=True)
class ComposedContract:
    dataset: str
    text: str
    # The file Soda's messages should name: the hand-written contract, else the properties.
    source: str


def _key(model: ModelProperties) -> str:
    grain = model.grain
    return grain[0] if len(grain) == 1 else f"concat_ws(' / ', {', '.join(grain)})"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _examples(model: ModelProperties, column: str, test: DataTest) -> str | None:
    """A query for a few of the rows failing `test`: the failing values where they identify
    the problem (a duplicate, an unknown reference), else the rows' keys."""
    table = f"${{var.schema}}.{model.name}"
    limit = f"ORDER BY 1 LIMIT {EXAMPLES_LIMIT}"
    key = _key(model)
    if test.kind == "not_null":
        if model.grain == (column,):
            return None  # a missing key has no key to show
        return f"SELECT {key} FROM {table} WHERE {column} IS NULL {limit}"
    if test.kind == "unique":
        return f"SELECT {column} FROM {table} GROUP BY 1 HAVING count(*) > 1 {limit}"
    if test.kind == "relationships":
        target = f"${{var.schema}}.{test.referenced_model}"
        return (
            f"SELECT DISTINCT {column} FROM {table} AS checked WHERE {column} IS NOT NULL"
            f" AND NOT EXISTS (SELECT FROM {target} AS referred"
            f" WHERE referred.{test.field} = checked.{column}) {limit}"
        )
    if test.kind == "accepted_values":
        values = ", ".join(_literal(value) for value in test.values or ())
        return f"SELECT DISTINCT {column} FROM {table} WHERE {column} NOT IN ({values}) {limit}"
    return f"SELECT {key} FROM {table} WHERE {column} < {test.min_value:g} {limit}"


def _soda_check(model: ModelProperties, column: str, test: DataTest) -> dict:
    body: dict = {}
    if test.kind == "accepted_values":
        body["valid_values"] = list(test.values or ())
    elif test.kind == "relationships":
        body["valid_reference_data"] = {
            "dataset": f"warehouse/${{var.database}}/${{var.schema}}/{test.referenced_model}",
            "column": test.field,
        }
    elif test.kind == "dbt_utils.accepted_range":
        body["valid_min"] = test.min_value
    attributes: dict = {"tier": 1}
    examples = _examples(model, column, test)
    if examples:
        attributes["examples"] = examples
    body["attributes"] = attributes
    return {_SODA_CHECK[test.kind]: body}


def _base(dataset: str, schema: str) -> dict:
    return {
        "variables": {"database": {"default": "warehouse"}, "schema": {"default": schema}},
        "dataset": f"warehouse/${{var.database}}/${{var.schema}}/{dataset}",
    }


def compose(model: ModelProperties, written: dict | None, schema: str, source: str) -> dict | None:
    """The model's Soda contract: its declared tests, then what `written` (the hand-written
    contract from `source`) adds. None when neither has a check."""
    contract = dict(written) if written else _base(model.name, schema)
    columns = {entry["name"]: dict(entry) for entry in contract.get("columns") or []}
    for column in model.columns:
        if not column.data_tests:
            continue
        entry = columns.setdefault(column.name, {"name": column.name, "checks": []})
        written_kinds = {next(iter(check)) for check in entry.get("checks") or []}
        derived = [_soda_check(model, column.name, test) for test in column.data_tests]
        clashes = sorted(written_kinds & {next(iter(check)) for check in derived})
        if clashes:
            raise ContractError(
                f"{source}: {model.name}.{column.name} has a `{clashes[0]}` check here and a"
                " data test in the model's properties: keep the data test, delete this check"
            )
        entry["checks"] = derived + list(entry.get("checks") or [])
    if columns:
        contract["columns"] = list(columns.values())
    if not contract.get("columns") and not contract.get("checks"):
        return None
    return contract


def contracts(
    layer: str,
    contracts_dir: Path = SODA_CONTRACTS_DIR,
    properties: Mapping[str, ModelProperties] | None = None,
    models_dir: Path = MODELS_DIR,
) -> list[ComposedContract]:
    """Every contract of a contracts folder (`raw`, `staging`, `mart`), by dataset name: the
    written files, each joined with its model's tests, and the models with tests alone."""
    model_layers = MODEL_LAYERS.get(layer, ())
    if properties is None:
        every = load_properties(models_dir)
        properties = {n: m for n, m in every.items() if _model_layer(n) in model_layers}
    written = {path.stem: path for path in sorted((contracts_dir / layer).glob("*.yml"))}
    composed: list[ComposedContract] = []
    for dataset in sorted(set(written) | set(properties)):
        path = written.get(dataset)
        document = read_yaml(path) if path else None
        model = properties.get(dataset)
        source = str(path) if path else str(properties_path(models_dir, _model_layer(dataset)))
        # The contracts folder's name is the schema its models are read from by default.
        contract = document if model is None else compose(model, document, layer, source)
        if contract is not None:
            composed.append(
                ComposedContract(dataset, yaml.safe_dump(contract, sort_keys=False), source)
            )
    return composed


def _model_layer(name: str) -> str:
    return next(layer for prefix, layer in LAYERS.items() if name.startswith(prefix))
