-- Marketing campaigns across Salesforce and the ad platforms, keyed by name slug.

select
    campaign_key,
    campaign_name,
    platform,
    channel,
    salesforce_campaign_id,
    platform_campaign_id,
    start_date,
    end_date
from int_campaigns
