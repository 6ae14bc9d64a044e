"""The mart's models and columns, read from their properties (sql/models/marts/_marts__models.yml).

Metric contracts are checked against this catalogue when they load, so a contract naming a
column the mart does not publish fails in review rather than in the refresh; every build
checks that each table has exactly the declared columns and types. The types are the Postgres
types the models publish (dates are UTC days, money is numeric in US dollars).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from psycopg import sql

from revenue_os.transform.properties import load_properties

# Read once: the catalogue and the roll-ups come from the same file.
_MARTS = load_properties(layers=("marts",))

MART_MODELS: Final = MappingProxyType(
    {name: MappingProxyType(model.column_types) for name, model in _MARTS.items()}
)
"""model name → (column name → Postgres type), as sql/models/marts/_marts__models.yml declares."""

DATE_TYPES: Final = frozenset({"date", "timestamptz"})

AS_OF_COLUMNS: Final = MappingProxyType(
    {
        "fct_ad_spend_daily": ("date_day", 0),
        "fct_touchpoints": ("touch_date", 0),
        "fct_funnel": ("lead_date", 0),
        "fct_opportunities": ("created_date", 0),
        "fct_opportunity_stages": ("entered_at", 0),
        "fct_attribution": ("conversion_date", 0),
        "fct_revenue_lines": ("invoice_date", 0),
        "fct_inventory_snapshots": ("snapshot_date", 1),
        "fct_customer_arr_monthly": ("month_start", 0),
        "fct_forecast_snapshots": ("week_start", 0),
    }
)
"""model → (column, days): how far a model's data reaches, for judging complete periods.

The newest value of the column is the model's as-of day, plus `days`. The column records
something that happened (never a future date such as an expected close date or a planned
target). A month-end snapshot covers its whole day, hence the extra day. Models not listed
(targets, dimensions) hold plans or reference data, which are never incomplete.
"""


ROLLUPS: Final = MappingProxyType(
    {
        name: (
            model.meta.rollup_of.model,
            model.meta.rollup_of.time_column,
            model.meta.rollup_of.row_count,
        )
        for name, model in _MARTS.items()
        if model.meta.rollup_of is not None
    }
)
"""roll-up → (fact, the fact's date column it buckets into `month_start`, the roll-up's column
counting the fact rows it sums).

A roll-up keeps the fact's measures under the same names, summed, so a contract on the fact
whose aggregates are sums over kept columns is also a metric of the roll-up (the dashboards'
datasets and the KPI layer derive it), and the audits check that both give the same totals
and that the roll-up counts every fact row.
"""
ROLLUP_TIME_COLUMN: Final = "month_start"


def create_table_sql(schema: str, model: str) -> sql.Composed:
    """`CREATE TABLE` for a model with the catalogue's columns and types, for test marts.

    Hand-made marts in tests are built from this catalogue alone, so they cannot drift from
    what the contracts are checked against.
    """
    return sql.SQL("CREATE TABLE {} ({})").format(
        sql.Identifier(schema, model),
        sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(kind))
            for column, kind in MART_MODELS[model].items()
        ),
    )
