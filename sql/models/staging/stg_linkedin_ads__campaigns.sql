-- LinkedIn campaigns, one row per campaign, keyed by the URN the analytics rows carry.
-- grain: campaign_urn

select
    'urn:li:sponsoredCampaign:' || campaign_id as campaign_urn,
    campaign_id,
    trim(record ->> 'name') as campaign_name,
    record ->> 'status' as status,
    coalesce(upper(record -> 'dailyBudget' ->> 'currencyCode'), 'USD') as currency_code
from raw.linkedin_ads__campaigns
where not is_deleted
