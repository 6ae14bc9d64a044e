"""What readers call the values of a dimension, and the colour each one has everywhere.

The mart keeps stable keys (`paid_search`, `mid_market`, `w_shaped`); people read labels
("Paid search", "Mid-market", "W-shaped"). The labels and colours live in the governed seeds:
the channel taxonomy (`sql/seeds/channel_taxonomy.csv`) for channels, and
`sql/seeds/dimension_labels.csv` for every other dimension. The KPI scorecard, the Superset
datasets (a label column per key column), the dashboards' colours and the packs read them
from here, so a channel is called and coloured the same on every surface.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from psycopg import sql

from revenue_os.paths import SEEDS_DIR

CHANNEL = "channel"


@dataclass(frozen=True)
class ValueLabel:
    value: str
    label: str
    color: str
    sort_order: int


@cache
def dimension_labels() -> Mapping[str, Mapping[str, ValueLabel]]:
    """dimension → value → its label, colour and place in a legend."""
    labels: dict[str, dict[str, ValueLabel]] = {}
    with (SEEDS_DIR / "channel_taxonomy.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            labels.setdefault(CHANNEL, {})[row["channel"]] = ValueLabel(
                row["channel"], row["channel_label"], row["color"], int(row["sort_order"])
            )
    with (SEEDS_DIR / "dimension_labels.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            labels.setdefault(row["dimension"], {})[row["value"]] = ValueLabel(
                row["value"], row["label"], row["color"], int(row["sort_order"])
            )
    return labels


def label_of(dimension: str, value: str) -> str:
    """The reader's name of a value; a value without a label reads as it is, minus snake case."""
    found = dimension_labels().get(dimension, {}).get(value)
    if found:
        return found.label
    return value.replace("_", " ").capitalize() if dimension != "campaign" else value


def label_colors() -> dict[str, str]:
    """Label → colour across every dimension (Superset's `label_colors`)."""
    return {
        item.label: item.color for values in dimension_labels().values() for item in values.values()
    }


def label_case_sql(dimension: str, column: sql.Composable) -> sql.Composed:
    """A CASE expression giving the label of `column`'s value (itself when it has none)."""
    values = dimension_labels().get(dimension, {})
    if not values:
        return sql.SQL("{}::text").format(column)
    return sql.SQL("CASE {} {} ELSE {}::text END").format(
        column,
        sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(sql.Literal(item.value), sql.Literal(item.label))
            for item in values.values()
        ),
        column,
    )


def dimension_value_label_sql(name: sql.Composable, value: sql.Composable) -> sql.Composed:
    """The label of a KPI row's dimension value, whichever dimension the row breaks out."""
    return sql.SQL("CASE {} {} ELSE {}::text END").format(
        name,
        sql.SQL(" ").join(
            sql.SQL("WHEN {} THEN {}").format(
                sql.Literal(dimension), label_case_sql(dimension, value)
            )
            for dimension in dimension_labels()
        ),
        value,
    )
