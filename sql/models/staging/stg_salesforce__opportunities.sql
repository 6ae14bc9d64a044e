-- Salesforce opportunities, one row per live opportunity: deleted (junk) opportunities
-- removed, the type normalised (the stage stays as sent). Amounts stay in the opportunity's
-- currency here; the mart converts them through the FX table.

with source as (
    select record
    from raw.salesforce__opportunities
    where not is_deleted
),

renamed as (
    select
        record ->> 'Id' as opportunity_id,
        record ->> 'AccountId' as account_id,
        record ->> 'ContactId' as contact_id,
        record ->> 'CampaignId' as campaign_id,
        record ->> 'OwnerId' as owner_id,
        trim(record ->> 'Name') as opportunity_name,
        case record ->> 'Type'
            when 'New Business' then 'new_business'
            when 'Renewal' then 'renewal'
            when 'Expansion' then 'expansion'
            else 'other'
        end as opportunity_type,
        record ->> 'StageName' as stage_name,
        (record ->> 'IsClosed')::boolean as is_closed,
        (record ->> 'IsWon')::boolean as is_won,
        nullif(trim(record ->> 'ForecastCategoryName'), '') as forecast_category,
        nullif(trim(record ->> 'NextStep'), '') as next_step,
        nullif(trim(record ->> 'Loss_Reason__c'), '') as loss_reason,
        (record ->> 'Amount')::numeric as amount_local,
        upper(record ->> 'CurrencyIsoCode') as currency_code,
        (record ->> 'CloseDate')::date as close_date,
        (record ->> 'Renewal_Date__c')::date as renewal_date,
        record ->> 'LeadSource' as lead_source,
        (record ->> 'CreatedDate')::timestamptz as created_at
    from source
)

select * from renamed
