"""Load `metrics/*.yaml` into validated contracts, or fail once with every problem listed.

A contract author should see all that is wrong with all files in one run, each line naming
the file and the field: `metrics/roas.yaml: calculation.numerator: unknown metric 'x'`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from pydantic import ValidationError

from revenue_os.metrics.contract import (
    FormulaCalculation,
    GrowthCalculation,
    MetricContract,
    RatioCalculation,
    SimpleCalculation,
)
from revenue_os.metrics.mart_catalogue import DATE_TYPES, MART_MODELS
from revenue_os.metrics.sql_text import (
    SqlTextError,
    check_aggregate,
    check_formula,
    check_predicate,
)
from revenue_os.paths import METRICS_DIR
from revenue_os.yaml_files import read_yaml

# Files of metrics/ that are not contracts: owners.yaml maps owner roles to addresses,
# kpi_tables.yml declares the tables the contracts are computed into, and
# campaign_recommendations.yml sets how the campaign recommendations judge a campaign.
NOT_CONTRACTS = {"owners.yaml", "kpi_tables.yml", "campaign_recommendations.yml", "decisions.yml"}
_CALCULATION_KINDS = {"simple", "ratio", "growth", "formula"}


class MetricContractError(ValueError):
    """Every problem found in the contracts, one `<file>: <field>: <message>` per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(f"{count} in the metric contracts:\n" + "\n".join(problems))


def inputs_of(contract: MetricContract) -> list[str]:
    """The metrics a derived metric is computed from (none for a simple one)."""
    calculation = contract.calculation
    if isinstance(calculation, RatioCalculation):
        return list(dict.fromkeys([calculation.numerator, calculation.denominator]))
    if isinstance(calculation, GrowthCalculation):
        return [calculation.of]
    if isinstance(calculation, FormulaCalculation):
        try:
            return check_formula(calculation.expression)
        except SqlTextError:
            return []
    return []


def models_behind(contract: MetricContract, contracts: Mapping[str, MetricContract]) -> set[str]:
    """The mart models a metric is computed from, through the metrics it derives from."""
    if isinstance(contract.calculation, SimpleCalculation):
        return {contract.calculation.model}
    return set().union(*(models_behind(contracts[name], contracts) for name in inputs_of(contract)))


def load_contracts(directory: Path = METRICS_DIR) -> dict[str, MetricContract]:
    """Every contract in `directory`, by name, inputs before the metrics computed from them."""
    problems: list[str] = []
    contracts: dict[str, MetricContract] = {}
    shown_paths: dict[str, str] = {}
    unreadable: set[str] = set()  # names whose file failed: not reported again as unknown
    for path in sorted(directory.glob("*.y*ml")):
        if path.name in NOT_CONTRACTS:
            continue
        shown = f"{directory.name}/{path.name}"
        if path.suffix != ".yaml":
            problems.append(f"{shown}: contracts are named <metric>.yaml")
            continue
        try:
            data = read_yaml(path)
        except yaml.YAMLError as error:
            problems.append(f"{shown}: not valid YAML: {' '.join(str(error).split())}")
            unreadable.add(path.stem)
            continue
        if not isinstance(data, dict):
            problems.append(f"{shown}: the file must hold a mapping of contract fields")
            unreadable.add(path.stem)
            continue
        try:
            contract = MetricContract.model_validate(data)
        except ValidationError as error:
            problems.extend(f"{shown}: {problem}" for problem in _describe(error))
            unreadable.add(path.stem)
            continue
        if contract.name != path.stem:
            problems.append(
                f"{shown}: name: {contract.name!r} differs from the file name; "
                f"name the file {contract.name}.yaml"
            )
        if contract.name in contracts:
            problems.append(
                f"{shown}: name: {contract.name!r} is already defined in "
                f"{shown_paths[contract.name]}"
            )
            continue
        contracts[contract.name] = contract
        shown_paths[contract.name] = shown
    known = set(contracts) | unreadable
    for name, contract in contracts.items():
        problems.extend(
            f"{shown_paths[name]}: {problem}"
            for problem in [
                *_cross_problems(contract, contracts, known),
                *_rule_minimum_problems(contract, contracts, known),
            ]
        )
    cycles = _cycles(contracts)
    for cycle in cycles:
        problems.append(f"{shown_paths[cycle[0]]}: calculation: cycle {' -> '.join(cycle)}")
    if problems:
        raise MetricContractError(problems)
    return {name: contracts[name] for name in dependency_order(contracts)}


def dependency_order(contracts: Mapping[str, MetricContract]) -> list[str]:
    """Names sorted so that every metric comes after its inputs (then by name)."""
    ordered: list[str] = []
    placed: set[str] = set()

    def place(name: str, trail: tuple[str, ...]) -> None:
        if name in placed or name in trail or name not in contracts:
            return
        for upstream in inputs_of(contracts[name]):
            place(upstream, (*trail, name))
        placed.add(name)
        ordered.append(name)

    for name in sorted(contracts):
        place(name, ())
    return ordered


def _describe(error: ValidationError) -> Iterable[str]:
    for detail in error.errors():
        location = [str(part) for part in detail["loc"] if part != "[key]"]
        if location[:1] == ["calculation"] and location[1:2] and location[1] in _CALCULATION_KINDS:
            del location[1]
        # A rule's kind is the union's tag in the location (rules.0.change.baseline).
        if location[:1] == ["rules"] and location[2:3] and location[2] in ("change", "level"):
            del location[2]
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "extra_forbidden":
            message = "unknown field (not part of a metric contract)"
        if not location:
            # Whole-contract checks carry their field in the message, several joined by ';'.
            yield from message.split("; ")
        else:
            yield f"{'.'.join(location)}: {message}"


def _cross_problems(
    contract: MetricContract, contracts: Mapping[str, MetricContract], known: set[str]
) -> list[str]:
    calculation = contract.calculation
    if isinstance(calculation, SimpleCalculation):
        return _simple_problems(contract, calculation)
    problems: list[str] = []
    if isinstance(calculation, RatioCalculation):
        references = {
            "calculation.numerator": calculation.numerator,
            "calculation.denominator": calculation.denominator,
        }
    elif isinstance(calculation, GrowthCalculation):
        references = {"calculation.of": calculation.of}
    else:
        assert isinstance(calculation, FormulaCalculation)
        try:
            names = check_formula(calculation.expression)
        except SqlTextError as error:
            return [f"calculation.expression: {error}"]
        references = {f"calculation.expression.{{{name}}}": name for name in names}
    for field, name in references.items():
        if name not in known:
            problems.append(f"{field}: unknown metric {name!r}")
    inputs = [contracts[name] for name in references.values() if name in contracts]
    if len(inputs) != len(set(references.values())):
        return problems  # the rest needs every input
    for dimension in contract.dimension_names:
        carriers = [upstream for upstream in inputs if dimension in upstream.dimensions]
        if isinstance(calculation, GrowthCalculation) and not carriers:
            problems.append(
                f"dimensions.{dimension}: not a dimension of {calculation.of!r}, "
                "the metric it is the growth of"
            )
        elif not carriers:
            names = " nor ".join(repr(upstream.name) for upstream in inputs)
            problems.append(f"dimensions.{dimension}: a dimension of neither {names}")
    for grain in contract.grain:
        for upstream in inputs:
            if grain not in upstream.grain:
                problems.append(
                    f"grain: {grain!r} is not a grain of {upstream.name!r}, an input of this metric"
                )
            # An input without a dimension gives every slice its total (spend has no
            # attribution model); one that has the dimension but not at this grain would give
            # each campaign all campaigns' spend.
            for dimension in contract.dimensions_at(grain):
                if dimension in upstream.dimensions and dimension not in upstream.dimensions_at(
                    grain
                ):
                    problems.append(
                        f"dimension_grains.{dimension}: broken out by {grain} here, but "
                        f"{upstream.name!r} (an input) breaks it out only by "
                        f"{', '.join(upstream.dimension_grains[dimension])}"
                    )
    return problems


def _rule_minimum_problems(
    contract: MetricContract, contracts: Mapping[str, MetricContract], known: set[str]
) -> list[str]:
    """A rule's minimum reads another metric over the same window and slices: it must have
    the rule's grain and every dimension the rule judges."""
    problems = []
    for index, rule in enumerate(contract.rules):
        minimum = getattr(rule, "minimum", None)
        if minimum is None:
            continue
        where = f"rules.{index} ({rule.name}).minimum.metric"
        counted = contracts.get(minimum.metric)
        if counted is None:
            if minimum.metric not in known:
                problems.append(f"{where}: unknown metric {minimum.metric!r}")
            continue
        if rule.grain not in counted.grain:
            problems.append(f"{where}: {minimum.metric!r} is not kept by {rule.grain}")
        missing = [d for d in rule.dimensions if d not in counted.dimensions_at(rule.grain)]
        if missing:
            problems.append(
                f"{where}: {minimum.metric!r} is not broken out by {', '.join(missing)} "
                f"at {rule.grain}"
            )
    return problems


def _simple_problems(contract: MetricContract, calculation: SimpleCalculation) -> list[str]:
    if calculation.model not in MART_MODELS:
        return [
            f"calculation.model: unknown mart model {calculation.model!r} "
            f"(docs/mart.md lists {', '.join(MART_MODELS)})"
        ]
    columns = MART_MODELS[calculation.model]
    column_names = frozenset(columns)
    problems = []
    if calculation.time_column not in columns:
        problems.append(
            f"calculation.time_column: unknown column {calculation.time_column!r} "
            f"of {calculation.model}"
        )
    elif columns[calculation.time_column] not in DATE_TYPES:
        problems.append(
            f"calculation.time_column: {calculation.time_column!r} is not a date column"
        )
    try:
        check_aggregate(calculation.expression, column_names)
    except SqlTextError as error:
        problems.append(f"calculation.expression: {error} (model {calculation.model})")
    if calculation.filter is not None:
        try:
            check_predicate(calculation.filter, column_names)
        except SqlTextError as error:
            problems.append(f"calculation.filter: {error} (model {calculation.model})")
    seen_columns: dict[str, str] = {}
    for dimension, column in contract.dimension_columns.items():
        if column not in columns:
            problems.append(
                f"dimensions.{dimension}: unknown column {column!r} of {calculation.model}"
            )
        elif column in seen_columns:
            problems.append(
                f"dimensions.{dimension}: column {column!r} already serves "
                f"dimension {seen_columns[column]!r}"
            )
        seen_columns.setdefault(column, dimension)
    for dimension in calculation.default_filters:
        if dimension not in contract.dimensions:
            problems.append(
                f"calculation.default_filters.{dimension}: not a dimension of this metric"
            )
        elif dimension in contract.dimension_grains:
            # The default value is what every other slice is computed at, at every grain.
            problems.append(
                f"dimension_grains.{dimension}: a dimension with a default filter is broken "
                "out at every grain of the metric"
            )
    return problems


def _cycles(contracts: Mapping[str, MetricContract]) -> list[list[str]]:
    """Each cycle once, as the path that closes it, starting from its first name in order."""
    cycles: list[list[str]] = []
    seen_members: set[frozenset[str]] = set()
    finished: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            cycle = [*trail[trail.index(name) :], name]
            members = frozenset(cycle)
            if members not in seen_members:
                seen_members.add(members)
                cycles.append(cycle)
            return
        if name in finished or name not in contracts:
            return
        for upstream in inputs_of(contracts[name]):
            visit(upstream, [*trail, name])
        finished.add(name)

    for name in sorted(contracts):
        visit(name, [])
    return cycles
