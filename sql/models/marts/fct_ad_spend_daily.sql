-- Ad spend per platform campaign and day, in USD at the day's ERP rate (Google's EU account
-- bills in EUR), with the campaign and channel it belongs to.

with google_days as (
    select * from stg_google_ads__campaign_days
),

linkedin_days as (
    select * from stg_linkedin_ads__campaign_days
),

platform_campaigns as (
    select * from int_ad_platform_campaigns
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
        date_day,
        'google_ads' as platform,
        platform_campaign_id,
        currency_code,
        impressions,
        clicks,
        spend_local,
        platform_conversions
    from google_days
    union all
    select
        date_day,
        'linkedin_ads',
        campaign_urn,
        null,
        impressions,
        clicks,
        spend_local,
        platform_conversions
    from linkedin_days
),

named_days as (
    select
        platform_days.date_day,
        platform_days.platform,
        platform_days.platform_campaign_id,
        platform_campaigns.campaign_slug,
        -- Google's from the day row (the customer account's), LinkedIn's from the campaign.
        case
            when platform_days.platform = 'google_ads' then platform_days.currency_code
            else coalesce(platform_campaigns.currency_code, 'USD')
        end as currency_code,
        platform_days.impressions,
        platform_days.clicks,
        platform_days.spend_local,
        platform_days.platform_conversions
    from platform_days
    left join platform_campaigns using (platform, platform_campaign_id)
)

select
    named_days.date_day,
    named_days.platform,
    named_days.platform_campaign_id,
    campaigns.campaign_key,
    coalesce(campaigns.channel, mapping.channel, 'other') as channel,
    named_days.currency_code,
    named_days.impressions,
    named_days.clicks,
    named_days.spend_local,
    round(named_days.spend_local * fx.usd_per_unit, 2) as spend_usd,
    named_days.platform_conversions
from named_days
left join campaigns on campaigns.campaign_key = named_days.campaign_slug
left join mapping on mapping.source_value = named_days.platform
left join fx
    on fx.currency_code = named_days.currency_code
    and fx.date_day = named_days.date_day
