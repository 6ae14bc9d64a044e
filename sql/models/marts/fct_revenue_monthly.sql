-- Revenue, cost and margin summed by invoice month, product (with its name and family),
-- acquisition channel, segment and region: the revenue lines rolled up to what the revenue
-- charts group by, so a chart reads thousands of rows instead of every invoice line. Sums
-- only, so every additive revenue contract gives the same number on it as on
-- fct_revenue_lines for whole months.

-- A day's build brings it forward by the rows its fact replaced (transform/differences.py):
-- the sums are trimmed of trailing zeros, so they read the same either way.

with revenue_lines as (
    select * from fct_revenue_lines
),

monthly as (
    select
        date_trunc('month', invoice_date)::date as month_start,
        product_id,
        product_name,
        product_family,
        channel,
        segment,
        region,
        count(*)::integer as invoice_lines,
        trim_scale(sum(quantity)) as quantity,
        trim_scale(sum(revenue_usd)) as revenue_usd,
        trim_scale(sum(list_amount_usd)) as list_amount_usd,
        trim_scale(sum(cogs_usd)) as cogs_usd,
        trim_scale(sum(gross_margin_usd)) as gross_margin_usd
    from revenue_lines
    group by 1, 2, 3, 4, 5, 6, 7
)

select * from monthly
