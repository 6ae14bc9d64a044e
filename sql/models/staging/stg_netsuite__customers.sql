-- NetSuite customers, one row per customer. externalid is the Salesforce Account Id (it may
-- name an account merged away since); web-shop customers have none.

select
    source_id as customer_id,
    trim(record ->> 'companyname') as customer_name,
    nullif(lower(trim(record ->> 'email')), '') as email,
    nullif(trim(record ->> 'externalid'), '') as salesforce_account_id,
    record ->> 'subsidiary' as subsidiary_id,
    upper(record ->> 'currency') as currency_code,
    coalesce(record ->> 'isinactive', 'F') = 'T' as is_inactive,
    to_timestamp(record ->> 'datecreated', 'MM/DD/YYYY HH12:MI am') as created_at
from raw.netsuite__customers
where not is_deleted
