-- Ad spend per platform campaign and day, in USD at the day's ERP rate (Google's EU account
-- bills in EUR), with the campaign and channel it belongs to.

with google_days as (
    select * from stg_google_ads__campaign_days
),

google_campaigns as (
    select * from stg_google_ads__campaigns
),

linkedin_days as (
    select * from stg_linkedin_ads__campaign_days
),

linkedin_campaigns as (
    select * from stg_linkedin_ads__campaigns
),

campaigns as (
    select * from int_campaigns
),

mapping as (
    select * from int_channel_mapping where source_system = 'ad_platform' and medium_value = '*'
),

fx as (
    select * from int_fx_rates_daily
),

platform_days as (
    select
        google_days.date_day,
        'google_ads' as platform,
        google_days.customer_id || ':' || google_days.campaign_id as platform_campaign_id,
        google_campaigns.campaign_slug,
        google_days.currency_code,
        google_days.impressions,
        google_days.clicks,
        google_days.spend_local,
        google_days.platform_conversions
    from google_days
    left join google_campaigns using (customer_id, campaign_id)
    union all
    select
        linkedin_days.date_day,
        'linkedin_ads',
        linkedin_days.campaign_urn,
        linkedin_campaigns.campaign_slug,
        coalesce(linkedin_campaigns.currency_code, 'USD'),
        linkedin_days.impressions,
        linkedin_days.clicks,
        linkedin_days.spend_local,
        linkedin_days.platform_conversions
    from linkedin_days
    left join linkedin_campaigns using (campaign_urn)
)

select
    platform_days.date_day,
    platform_days.platform,
    platform_days.platform_campaign_id,
    campaigns.campaign_key,
    coalesce(campaigns.channel, mapping.channel, 'other') as channel,
    platform_days.currency_code,
    platform_days.impressions,
    platform_days.clicks,
    platform_days.spend_local,
    round(platform_days.spend_local * fx.usd_per_unit, 2) as spend_usd,
    platform_days.platform_conversions
from platform_days
left join campaigns on campaigns.campaign_key = platform_days.campaign_slug
left join mapping on mapping.source_value = platform_days.platform
left join fx
    on fx.currency_code = platform_days.currency_code
    and fx.date_day = platform_days.date_day
