-- Google Ads campaigns per customer account, with their current name, status and the slug of
-- the name that joins them to Salesforce campaigns and UTM values. The day rows carry ids
-- only: a campaign's name lives here, once.

select
    customer_id,
    campaign_id,
    customer_id || ':' || campaign_id as platform_campaign_id,
    trim(record -> 'campaign' ->> 'name') as campaign_name,
    trim(both '-' from regexp_replace(lower(record -> 'campaign' ->> 'name'), '[^a-z0-9]+', '-', 'g'))
        as campaign_slug,
    record -> 'campaign' ->> 'status' as status
from raw.google_ads__campaigns
where not is_deleted
