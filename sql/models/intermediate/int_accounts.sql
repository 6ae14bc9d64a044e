-- One row per company: every live Salesforce account plus the ERP customers no account
-- matches (web-shop orders), with segment and region.

with salesforce_accounts as (
    select * from stg_salesforce__accounts
),

erp_customers as (
    select * from stg_netsuite__customers
),

erp_links as (
    select * from int_erp_customer_accounts
),

countries as (
    select lower(alias) as alias, country_code, region from seed_country_aliases
),

first_erp_customer as (
    select account_key, (array_agg(customer_id order by length(customer_id), customer_id))[1] as customer_id
    from erp_links
    group by account_key
),

crm_accounts as (
    select
        salesforce_accounts.account_id as account_key,
        salesforce_accounts.account_id as salesforce_account_id,
        first_erp_customer.customer_id as erp_customer_id,
        salesforce_accounts.account_name,
        salesforce_accounts.domain,
        salesforce_accounts.industry,
        salesforce_accounts.employee_count,
        countries.country_code as billing_country,
        coalesce(countries.region, 'other') as region
    from salesforce_accounts
    left join first_erp_customer on first_erp_customer.account_key = salesforce_accounts.account_id
    left join countries on countries.alias = lower(salesforce_accounts.billing_country)
),

erp_only_accounts as (
    select
        erp_links.account_key,
        null::text as salesforce_account_id,
        erp_customers.customer_id as erp_customer_id,
        erp_customers.customer_name as account_name,
        nullif(split_part(erp_customers.email, '@', 2), '') as domain,
        null::text as industry,
        null::integer as employee_count,
        case erp_customers.subsidiary_id when '1' then 'US' when '2' then 'GB' end as billing_country,
        case erp_customers.subsidiary_id when '1' then 'north_america' else 'emea' end as region
    from erp_links
    join erp_customers using (customer_id)
    where erp_links.matched_by = 'erp_only'
),

all_accounts as (
    select * from crm_accounts
    union all
    select * from erp_only_accounts
)

select
    *,
    case
        when employee_count >= {{ segment_enterprise_min_employees }} then 'enterprise'
        when employee_count >= {{ segment_mid_market_min_employees }} then 'mid_market'
        else 'smb'
    end as segment
from all_accounts
