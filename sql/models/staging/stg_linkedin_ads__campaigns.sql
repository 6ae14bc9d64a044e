-- LinkedIn campaigns, one row per campaign, keyed by the URN the analytics rows carry, with
-- the slug of the name that joins them to Salesforce campaigns and UTM values.

select
    'urn:li:sponsoredCampaign:' || campaign_id as campaign_urn,
    campaign_id,
    trim(record ->> 'name') as campaign_name,
    trim(both '-' from regexp_replace(lower(record ->> 'name'), '[^a-z0-9]+', '-', 'g')) as campaign_slug,
    record ->> 'status' as status,
    coalesce(upper(record -> 'dailyBudget' ->> 'currencyCode'), 'USD') as currency_code
from raw.linkedin_ads__campaigns
where not is_deleted
