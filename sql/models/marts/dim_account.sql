-- One row per company across CRM and ERP, with how it was acquired (the sourced channel of
-- its first new-business opportunity; web-shop customers came direct).

with accounts as (
    select * from int_accounts
),

opportunities as (
    select * from fct_opportunities
),

first_new_business as (
    select distinct on (account_key) account_key, sourced_channel
    from opportunities
    where opportunity_type = 'new_business'
    order by account_key, created_date, opportunity_id
),

first_win as (
    select account_key, min(close_date) as first_won_date
    from opportunities
    where is_won
    group by account_key
)

select
    accounts.account_key,
    accounts.salesforce_account_id,
    accounts.erp_customer_id,
    accounts.account_name,
    accounts.domain,
    accounts.industry,
    accounts.segment,
    accounts.region,
    accounts.billing_country,
    coalesce(
        first_new_business.sourced_channel,
        case when accounts.salesforce_account_id is null then 'direct' else 'other' end
    ) as acquisition_channel,
    first_win.first_won_date,
    first_win.first_won_date is not null or accounts.erp_customer_id is not null as is_customer
from accounts
left join first_new_business using (account_key)
left join first_win using (account_key)
