"""How far the mart's data reaches: each model's as-of day, and the business day of a build.

A period is complete when every model behind a metric has data through its end; the KPI
compiler judges completeness and finality from these days.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date

import psycopg
from psycopg import sql

from revenue_os.metrics.contract import MetricContract, SimpleCalculation
from revenue_os.metrics.loader import models_behind
from revenue_os.metrics.mart_catalogue import AS_OF_COLUMNS


def as_of_by_model(
    cursor: psycopg.Cursor,
    schema: str,
    contracts: Mapping[str, MetricContract],
    days_seen: Collection[tuple[str, str]] = (),
) -> dict[str, date | None]:
    """Each dated model behind a contract → the day after its newest row (its as-of day).

    `days_seen`: the (model, column) pairs whose days the temporary table `fact_days_now`
    holds (the KPI build's fingerprints), read there instead of scanning the model again."""
    models = sorted(
        {
            contract.calculation.model
            for contract in contracts.values()
            if isinstance(contract.calculation, SimpleCalculation)
            and contract.calculation.model in AS_OF_COLUMNS
        }
    )
    as_of: dict[str, date | None] = {}
    for model in models:
        column, days = AS_OF_COLUMNS[model]
        if (model, column) in days_seen:
            cursor.execute(
                "SELECT max(day) + %s FROM fact_days_now WHERE model = %s AND time_column = %s",
                (days, model, column),
            )
        else:
            cursor.execute(
                sql.SQL("SELECT (max({})::date + {}) FROM {}").format(
                    sql.Identifier(column), sql.Literal(days), sql.Identifier(schema, model)
                )
            )
        row = cursor.fetchone()
        as_of[model] = row[0] if row else None
    return as_of


def business_day_of(as_of: Mapping[str, date | None]) -> date | None:
    """The business day the data runs up to (exclusive): the newest as-of day of the models.

    Every source is loaded by the same refresh, and the quality gate refuses to publish a
    mart whose source missed its freshness SLA, so the newest day any model reaches is the
    day the sources were read; a model whose events are sparse (invoices, month-end
    snapshots) is no less complete for having no row on the last days.
    """
    days = [day for day in as_of.values() if day is not None]
    return max(days) if days else None


def contract_models_as_of(
    contract: MetricContract,
    contracts: Mapping[str, MetricContract],
    as_of: Mapping[str, date | None],
) -> date | None:
    """The earliest as-of day of the models behind a metric: how far all of it reaches."""
    days = [
        as_of.get(model) for model in models_behind(contract, contracts) if model in AS_OF_COLUMNS
    ]
    if not days or any(day is None for day in days):
        return None
    return min(day for day in days if day is not None)
