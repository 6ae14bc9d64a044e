-- Recognised revenue per NetSuite invoice line, in USD at the rate the ERP booked, with
-- cost of goods, margin and the line's value at list price. COGS is the ERP's cost estimate
-- (already USD), else quantity × the item's unit cost. Channel: the account's acquisition
-- channel.

with lines as (
    select * from stg_netsuite__invoice_lines
),

products as (
    select * from dim_product
),

list_prices as (
    select * from stg_netsuite__item_prices
),

erp_links as (
    select * from int_erp_customer_accounts
),

accounts as (
    select * from dim_account
),

priced as (
    select
        lines.invoice_line_id,
        lines.invoice_id,
        lines.invoice_date,
        lines.customer_id as erp_customer_id,
        erp_links.account_key,
        lines.item_id as product_id,
        coalesce(products.product_family, 'services') as product_family,
        coalesce(products.product_name, 'Unknown item') as product_name,
        coalesce(accounts.acquisition_channel, 'other') as channel,
        coalesce(accounts.segment, 'smb') as segment,
        coalesce(accounts.region, 'other') as region,
        lines.currency_code,
        lines.quantity,
        lines.revenue_local,
        round(lines.revenue_local * lines.booked_usd_per_unit, 2) as revenue_usd,
        -- At the item's list price in the line's currency and the line's own rate; a line
        -- without one counts at what it was billed (no discount seen).
        coalesce(
            round(lines.quantity * list_prices.list_price_local * lines.booked_usd_per_unit, 2),
            round(lines.revenue_local * lines.booked_usd_per_unit, 2)
        ) as list_amount_usd,
        round(coalesce(lines.cost_estimate_usd, lines.quantity * products.unit_cost_usd), 2)
            as cogs_usd
    from lines
    left join products on products.product_id = lines.item_id
    left join list_prices
        on list_prices.item_id = lines.item_id
        and list_prices.currency_code = lines.currency_code
    left join erp_links on erp_links.customer_id = lines.customer_id
    left join accounts on accounts.account_key = erp_links.account_key
)

-- Margin from the rounded revenue and COGS, so the three columns always add up.
select *, revenue_usd - cogs_usd as gross_margin_usd
from priced
