-- Salesforce campaigns, one row per live campaign, with the slug that joins them to the
-- ad platforms' campaign names and to UTM campaign values.

select
    record ->> 'Id' as campaign_id,
    trim(record ->> 'Name') as campaign_name,
    trim(both '-' from regexp_replace(lower(record ->> 'Name'), '[^a-z0-9]+', '-', 'g')) as campaign_slug,
    record ->> 'Type' as campaign_type,
    record ->> 'Status' as status,
    (record ->> 'StartDate')::date as start_date,
    (record ->> 'EndDate')::date as end_date
from raw.salesforce__campaigns
where not is_deleted
