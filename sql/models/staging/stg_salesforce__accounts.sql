-- Salesforce accounts, one row per live account: deleted and merged-away accounts removed
-- (their ids live on in stg_salesforce__account_merges), website reduced to a domain.

with source as (
    select record
    from raw.salesforce__accounts
    where not is_deleted
),

renamed as (
    select
        record ->> 'Id' as account_id,
        trim(record ->> 'Name') as account_name,
        nullif(
            regexp_replace(lower(trim(record ->> 'Website')), '^([a-z]+://)?(www\.)?([^/:?#]+).*$', '\3'),
            ''
        ) as domain,
        record ->> 'Industry' as industry,
        (record ->> 'NumberOfEmployees')::integer as employee_count,
        nullif(trim(record ->> 'BillingCountry'), '') as billing_country,
        (record ->> 'AnnualRevenue')::numeric as annual_revenue,
        upper(record ->> 'CurrencyIsoCode') as currency_code,
        record ->> 'OwnerId' as owner_id,
        nullif(trim(record ->> 'External_Id__c'), '') as erp_external_id,
        (record ->> 'CreatedDate')::timestamptz as created_at
    from source
)

select * from renamed
