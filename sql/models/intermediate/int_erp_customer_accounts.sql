-- Each NetSuite customer linked to its account: through externalid (the Salesforce Account
-- Id, resolved through merges), else through its e-mail domain matching exactly one
-- account's website domain; web-shop customers matching neither are accounts of their own
-- ('ns-' keys).

with customers as (
    select * from stg_netsuite__customers
),

account_merges as (
    select * from int_account_merge_map
),

unique_domains as (
    select * from int_account_domains
)

select
    customers.customer_id,
    coalesce(account_merges.account_id, unique_domains.account_id, 'ns-' || customers.customer_id)
        as account_key,
    case
        when account_merges.account_id is not null then 'external_id'
        when unique_domains.account_id is not null then 'email_domain'
        else 'erp_only'
    end as matched_by
from customers
left join account_merges on account_merges.any_account_id = customers.salesforce_account_id
left join unique_domains on unique_domains.domain = split_part(customers.email, '@', 2)
