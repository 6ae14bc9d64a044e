-- HubSpot contacts, one row per live contact: archived contacts removed, e-mail normalised,
-- lifecycle dates typed. HubSpot sends every property as a string (or null when unset).

with source as (
    select source_id, record -> 'properties' as p
    from raw.hubspot__contacts
    where not is_deleted
),

renamed as (
    select
        source_id as contact_id,
        nullif(lower(trim(p ->> 'email')), '') as email,
        nullif(trim(p ->> 'firstname'), '') as first_name,
        nullif(trim(p ->> 'lastname'), '') as last_name,
        nullif(trim(p ->> 'company'), '') as company_name,
        nullif(trim(p ->> 'jobtitle'), '') as job_title,
        p ->> 'lifecyclestage' as lifecycle_stage,
        (p ->> 'hs_lifecyclestage_lead_date')::timestamptz as became_lead_at,
        (p ->> 'hs_lifecyclestage_marketingqualifiedlead_date')::timestamptz as became_mql_at,
        (p ->> 'hs_lifecyclestage_salesqualifiedlead_date')::timestamptz as became_sql_at,
        (p ->> 'hs_lifecyclestage_opportunity_date')::timestamptz as became_opportunity_at,
        (p ->> 'hs_lifecyclestage_customer_date')::timestamptz as became_customer_at,
        p ->> 'hs_analytics_source' as original_source,
        p ->> 'hs_analytics_source_data_1' as original_source_detail,
        nullif(trim(p ->> 'utm_source'), '') as utm_source,
        nullif(trim(p ->> 'utm_medium'), '') as utm_medium,
        nullif(trim(p ->> 'utm_campaign'), '') as utm_campaign,
        nullif(trim(p ->> 'country'), '') as country_raw,
        nullif(p ->> 'salesforcecontactid', '') as salesforce_contact_id,
        (p ->> 'createdate')::timestamptz as created_at,
        (p ->> 'lastmodifieddate')::timestamptz as updated_at
    from source
)

select * from renamed
