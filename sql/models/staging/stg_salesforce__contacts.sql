-- Salesforce contacts, one row per live contact: deleted and merged-away contacts removed,
-- e-mail trimmed and lower-cased (sales types them by hand; empty means none).

with source as (
    select record
    from raw.salesforce__contacts
    where not is_deleted
),

renamed as (
    select
        record ->> 'Id' as contact_id,
        record ->> 'AccountId' as account_id,
        nullif(trim(record ->> 'FirstName'), '') as first_name,
        nullif(trim(record ->> 'LastName'), '') as last_name,
        nullif(lower(trim(record ->> 'Email')), '') as email,
        record ->> 'LeadSource' as lead_source,
        (record ->> 'CreatedDate')::timestamptz as created_at
    from source
)

select * from renamed
