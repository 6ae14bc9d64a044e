"""The model reference in docs/mart.md, written from the models' properties files.

The section between the markers is generated (`revenue-os mart docs`; `--check` verifies it),
so what a reader is told a table holds is what the build audits; the rest of the page (the
layers, how the sources' mess is resolved) is written by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from revenue_os.metrics.kpi_tables import KPI_TABLES
from revenue_os.paths import MODELS_DIR, PROJECT_ROOT
from revenue_os.transform.properties import Column, ModelProperties, load_properties

MART_DOC = PROJECT_ROOT / "docs" / "mart.md"
BEGIN = (
    "<!-- The model reference below is generated from sql/models/*/_*__models.yml by"
    " `revenue-os mart docs`: edit those files, not this section. -->"
)
END = "<!-- End of the generated model reference. -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _codes(names: tuple[str, ...] | list[str]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def _tests_said(column: Column) -> str:
    """The column's data tests as a reader says them (each blocks the publish)."""
    said = {
        "not_null": lambda test: "present",
        "unique": lambda test: "unique",
        "accepted_values": lambda test: f"one of {', '.join(test.values or ())}",
        "relationships": lambda test: f"found in `{test.referenced_model}`",
        "dbt_utils.accepted_range": lambda test: f"at least {test.min_value:g}",
    }
    return ", ".join(said[test.kind](test) for test in column.data_tests)


def _checked(column: Column) -> str:
    return f" Checked: {_tests_said(column)}." if column.data_tests else ""


def _model_checked(model: ModelProperties) -> str:
    tested = [f"`{c.name}` {_tests_said(c)}" for c in model.columns if c.data_tests]
    return f" Checked: {'; '.join(tested)}." if tested else ""


def _brought_forward(model: ModelProperties) -> str:
    partitions = model.meta.partitions
    assert partitions is not None
    dated = "".join(
        f" A change of `{source}` reaches a partition only when one of its rows'"
        f" `{until}` is on or after the changed rows' earliest `{day}`."
        for source, dating in sorted(partitions.dated_changes.items())
        for day, until in dating.items()
    )
    return (
        f"Brought forward by `{partitions.key}`, following"
        f" {_codes(sorted(partitions.changes_from))}.{dated}"
    )


def _published(name: str, model: ModelProperties) -> list[str]:
    lines = [f"### {name}", "", " ".join(model.description.split()), ""]
    facts = [f"Grain: {_codes(model.grain)}."]
    if model.meta.partitions is not None:
        facts.append(_brought_forward(model))
    if model.meta.indexed_by:
        facts.append(f"Indexed by {_codes(model.meta.indexed_by)} for the dashboards.")
    rollup = model.meta.rollup_of
    if rollup is not None:
        facts.append(
            f"Sums `{rollup.model}` by the month of `{rollup.time_column}` (`month_start`);"
            f" `{rollup.row_count}` counts the rows it sums."
        )
    lines += [" ".join(facts), "", "| column | type | description |", "| --- | --- | --- |"]
    lines += [
        f"| `{column.name}` | {column.data_type} | {_cell(column.description)}{_checked(column)} |"
        for column in model.columns
    ]
    return [*lines, ""]


def _internal(properties: Mapping[str, ModelProperties], prefix: str) -> list[str]:
    lines = ["| model | grain | what it holds |", "| --- | --- | --- |"]
    for name, model in sorted(properties.items()):
        if name.startswith(prefix):
            brought = " Brought forward by new raw rows." if model.meta.incremental else ""
            if model.meta.partitions:
                brought = " " + _brought_forward(model)
            lines.append(
                f"| `{name}` | {_codes(model.grain)} |"
                f" {_cell(model.description)}{brought}{_model_checked(model)} |"
            )
    return [*lines, ""]


def render_reference(
    properties: Mapping[str, ModelProperties],
    kpi_tables: Mapping[str, ModelProperties] = KPI_TABLES,
) -> str:
    """The generated section: every published model with its columns, the KPI tables, then
    the internal models."""
    rollups = sorted(n for n in properties if properties[n].meta.rollup_of is not None)
    published = [
        ("Dimensions", "", {n: properties[n] for n in sorted(properties) if n.startswith("dim_")}),
        (
            "Facts",
            "",
            {
                n: properties[n]
                for n in sorted(properties)
                if n.startswith("fct_") and n not in rollups
            },
        ),
        ("Monthly roll-ups", "", {n: properties[n] for n in rollups}),
        (
            "KPI tables",
            "Compiled from the metric contracts in `metrics/` at every build, after the facts"
            " (`revenue_os.metrics.kpi_layer`; the metrics' rules in"
            " [metrics/README.md](../metrics/README.md)), and created from their declaration in"
            " `metrics/kpi_tables.yml`.",
            dict(kpi_tables),
        ),
    ]
    lines = [
        BEGIN,
        "",
        "A column's *Checked* list is its data tests: each runs in the quality gate as a tier 1"
        " check, so a build that fails one is not published.",
        "",
    ]
    for heading, introduction, tables in published:
        lines += [f"## {heading}", ""] + ([introduction, ""] if introduction else [])
        for name, table in tables.items():
            lines += _published(name, table)
    lines += [
        "## Internal models (schema `staging`)",
        "",
        "Their columns are declared in `sql/models/staging/_staging__models.yml` and"
        " `sql/models/intermediate/_intermediate__models.yml`.",
        "",
        "### Staging",
        "",
        *_internal(properties, "stg_"),
        "### Intermediate",
        "",
        *_internal(properties, "int_"),
        END,
    ]
    return "\n".join(lines)


def with_reference(page: str, reference: str, path: Path = MART_DOC) -> str:
    """The page with its generated section replaced by `reference`."""
    start, end = page.find(BEGIN), page.find(END)
    if start < 0 or end < start:
        raise ValueError(f"{path}: the markers of the generated model reference are missing")
    return page[:start] + reference + page[end + len(END) :]


def write_reference(path: Path = MART_DOC, models_dir: Path = MODELS_DIR) -> bool:
    """Rewrite the page's generated section; True when it changed."""
    page = path.read_text()
    updated = with_reference(page, render_reference(load_properties(models_dir)), path)
    if updated == page:
        return False
    path.write_text(updated)
    return True


def reference_is_current(path: Path = MART_DOC, models_dir: Path = MODELS_DIR) -> bool:
    page = path.read_text()
    return with_reference(page, render_reference(load_properties(models_dir)), path) == page
