-- The calendar: one row per day from the earliest source day to a year after the latest.

with bounds as (
    select
        least(
            (select min(invoice_date) from stg_netsuite__invoice_lines),
            (select min(date_day) from stg_google_ads__campaign_days),
            (select min(created_at)::date from stg_hubspot__contacts),
            (select min(created_at)::date from stg_salesforce__opportunities)
        ) as first_day,
        greatest(
            (select max(invoice_date) from stg_netsuite__invoice_lines),
            (select max(date_day) from stg_google_ads__campaign_days),
            (select max(close_date) from stg_salesforce__opportunities)
        ) + 365 as last_day
),

days as (
    select generate_series(first_day, last_day, interval '1 day')::date as date_day from bounds
)

select
    date_day,
    date_trunc('week', date_day)::date as week_start,
    date_trunc('month', date_day)::date as month_start,
    date_trunc('quarter', date_day)::date as quarter_start,
    extract(year from date_day)::integer as year,
    extract(isodow from date_day) in (6, 7) as is_weekend
from days
