"""The mart's models and columns, as docs/mart.md specifies them.

Metric contracts are checked against this catalogue when they load, so a contract naming a
column the mart does not publish fails in review rather than in the refresh. Keep it in step
with docs/mart.md: a column added there is added here in the same change. The types are the
Postgres types the models publish (dates are UTC days, money is numeric in US dollars).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from psycopg import sql

_DATE = "date"
_TEXT = "text"
_NUMERIC = "numeric"
_INTEGER = "integer"
_BOOLEAN = "boolean"
_BIGINT = "bigint"
_TIMESTAMP = "timestamptz"

_CAMPAIGN_ATTRIBUTION_MONTHLY = {
    "month_start": _DATE,
    "attribution_model": _TEXT,
    "conversion_type": _TEXT,
    "campaign_key": _TEXT,
    "channel": _TEXT,
    "segment": _TEXT,
    "region": _TEXT,
    "credited_touches": _INTEGER,
    "credit": _NUMERIC,
    "attributed_amount_usd": _NUMERIC,
}

_MODELS: dict[str, dict[str, str]] = {
    "dim_date": {
        "date_day": _DATE,
        "week_start": _DATE,
        "month_start": _DATE,
        "quarter_start": _DATE,
        "year": _INTEGER,
        "is_weekend": _BOOLEAN,
    },
    "dim_channel": {
        "channel": _TEXT,
        "channel_label": _TEXT,
        "channel_group": _TEXT,
        "is_paid": _BOOLEAN,
        "is_marketing": _BOOLEAN,
        "sort_order": _INTEGER,
    },
    "dim_campaign": {
        "campaign_key": _TEXT,
        "campaign_name": _TEXT,
        "platform": _TEXT,
        "channel": _TEXT,
        "salesforce_campaign_id": _TEXT,
        "platform_campaign_id": _TEXT,
        "start_date": _DATE,
        "end_date": _DATE,
    },
    "dim_product": {
        "product_id": _TEXT,
        "sku": _TEXT,
        "product_name": _TEXT,
        "product_family": _TEXT,
        "unit_cost_usd": _NUMERIC,
        "list_price_usd": _NUMERIC,
        "is_stocked": _BOOLEAN,
    },
    "dim_account": {
        "account_key": _TEXT,
        "salesforce_account_id": _TEXT,
        "erp_customer_id": _TEXT,
        "account_name": _TEXT,
        "domain": _TEXT,
        "industry": _TEXT,
        "segment": _TEXT,
        "region": _TEXT,
        "billing_country": _TEXT,
        "acquisition_channel": _TEXT,
        "first_won_date": _DATE,
        "is_customer": _BOOLEAN,
    },
    "fct_ad_spend_daily": {
        "date_day": _DATE,
        "platform": _TEXT,
        "platform_campaign_id": _TEXT,
        "campaign_key": _TEXT,
        "channel": _TEXT,
        "currency_code": _TEXT,
        "impressions": _INTEGER,
        "clicks": _INTEGER,
        "spend_local": _NUMERIC,
        "spend_usd": _NUMERIC,
        "platform_conversions": _NUMERIC,
    },
    "fct_touchpoints": {
        "touch_id": _TEXT,
        "person_id": _TEXT,
        "account_key": _TEXT,
        "touched_at": _TIMESTAMP,
        "touch_date": _DATE,
        "touch_type": _TEXT,
        "channel": _TEXT,
        "campaign_key": _TEXT,
        "utm_source": _TEXT,
        "utm_medium": _TEXT,
        "utm_campaign": _TEXT,
        "is_mapped": _BOOLEAN,
    },
    "fct_funnel": {
        "person_id": _TEXT,
        "account_key": _TEXT,
        "acquisition_channel": _TEXT,
        "acquisition_campaign_key": _TEXT,
        "segment": _TEXT,
        "region": _TEXT,
        "lead_date": _DATE,
        "mql_date": _DATE,
        "sql_date": _DATE,
        "opportunity_date": _DATE,
        "won_date": _DATE,
    },
    "fct_opportunities": {
        "opportunity_id": _TEXT,
        "account_key": _TEXT,
        "primary_person_id": _TEXT,
        "opportunity_type": _TEXT,
        "stage_name": _TEXT,
        "is_open": _BOOLEAN,
        "is_closed": _BOOLEAN,
        "is_won": _BOOLEAN,
        "created_at": _TIMESTAMP,
        "created_date": _DATE,
        "close_date": _DATE,
        "currency_code": _TEXT,
        "amount_local": _NUMERIC,
        "amount_usd": _NUMERIC,
        "sales_cycle_days": _INTEGER,
        "is_marketing_sourced": _BOOLEAN,
        "sourced_channel": _TEXT,
        "is_marketing_influenced": _BOOLEAN,
        "segment": _TEXT,
        "region": _TEXT,
        "owner_id": _TEXT,
    },
    "fct_opportunity_stages": {
        "opportunity_id": _TEXT,
        "stage_name": _TEXT,
        "entered_at": _TIMESTAMP,
        "exited_at": _TIMESTAMP,
        "days_in_stage": _NUMERIC,
    },
    "fct_attribution": {
        "conversion_id": _TEXT,
        "conversion_type": _TEXT,
        "opportunity_id": _TEXT,
        "conversion_date": _DATE,
        "attribution_model": _TEXT,
        "touch_id": _TEXT,
        "touch_date": _DATE,
        "channel": _TEXT,
        "campaign_key": _TEXT,
        "credit": _NUMERIC,
        "attributed_amount_usd": _NUMERIC,
        "segment": _TEXT,
        "region": _TEXT,
    },
    "fct_revenue_lines": {
        "invoice_line_id": _TEXT,
        "invoice_id": _TEXT,
        "invoice_date": _DATE,
        "erp_customer_id": _TEXT,
        "account_key": _TEXT,
        "product_id": _TEXT,
        "product_family": _TEXT,
        "channel": _TEXT,
        "segment": _TEXT,
        "region": _TEXT,
        "currency_code": _TEXT,
        "quantity": _NUMERIC,
        "revenue_local": _NUMERIC,
        "revenue_usd": _NUMERIC,
        "cogs_usd": _NUMERIC,
        "gross_margin_usd": _NUMERIC,
    },
    "fct_inventory_snapshots": {
        "snapshot_date": _DATE,
        "product_id": _TEXT,
        "product_family": _TEXT,
        "quantity_on_hand": _NUMERIC,
        "average_cost_usd": _NUMERIC,
        "inventory_value_usd": _NUMERIC,
    },
    "fct_customer_arr_monthly": {
        "month_start": _DATE,
        "account_key": _TEXT,
        "segment": _TEXT,
        "region": _TEXT,
        "arr_usd": _NUMERIC,
        "arr_12m_ago_usd": _NUMERIC,
        "net_retained_arr_usd": _NUMERIC,
        "gross_retained_arr_usd": _NUMERIC,
    },
    "fct_revenue_monthly": {
        "month_start": _DATE,
        "product_family": _TEXT,
        "channel": _TEXT,
        "segment": _TEXT,
        "region": _TEXT,
        "invoice_lines": _INTEGER,
        "quantity": _NUMERIC,
        "revenue_usd": _NUMERIC,
        "cogs_usd": _NUMERIC,
        "gross_margin_usd": _NUMERIC,
    },
    "fct_ad_spend_monthly": {
        "month_start": _DATE,
        "platform": _TEXT,
        "platform_campaign_id": _TEXT,
        "campaign_key": _TEXT,
        "channel": _TEXT,
        "campaign_days": _INTEGER,
        "impressions": _BIGINT,
        "clicks": _BIGINT,
        "spend_usd": _NUMERIC,
        "platform_conversions": _NUMERIC,
    },
    "fct_campaign_attribution_monthly": _CAMPAIGN_ATTRIBUTION_MONTHLY,
    # The same without the campaign: the channel charts' roll-up, ten times smaller.
    "fct_attribution_monthly": {
        column: kind
        for column, kind in _CAMPAIGN_ATTRIBUTION_MONTHLY.items()
        if column != "campaign_key"
    },
    "fct_opportunities_created_monthly": {
        "month_start": _DATE,
        "opportunity_type": _TEXT,
        "sourced_channel": _TEXT,
        "is_marketing_sourced": _BOOLEAN,
        "is_marketing_influenced": _BOOLEAN,
        "segment": _TEXT,
        "region": _TEXT,
        "opportunities": _INTEGER,
        "amount_usd": _NUMERIC,
    },
    "fct_bookings_targets": {
        "quarter_start": _DATE,
        "segment": _TEXT,
        "target_usd": _NUMERIC,
    },
}

MART_MODELS: Final = MappingProxyType(
    {model: MappingProxyType(columns) for model, columns in _MODELS.items()}
)
"""model name → (column name → Postgres type), in the order docs/mart.md lists them."""

DATE_TYPES: Final = frozenset({_DATE, _TIMESTAMP})

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
        "fct_revenue_monthly": ("fct_revenue_lines", "invoice_date", "invoice_lines"),
        "fct_ad_spend_monthly": ("fct_ad_spend_daily", "date_day", "campaign_days"),
        "fct_attribution_monthly": ("fct_attribution", "conversion_date", "credited_touches"),
        "fct_campaign_attribution_monthly": (
            "fct_attribution",
            "conversion_date",
            "credited_touches",
        ),
        "fct_opportunities_created_monthly": ("fct_opportunities", "created_date", "opportunities"),
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
