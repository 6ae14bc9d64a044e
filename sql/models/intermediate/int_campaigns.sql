-- One row per marketing campaign across Salesforce, Google Ads and LinkedIn, keyed by the
-- slug of its name (how the three systems and UTM tags meet). The channel comes from the
-- Salesforce campaign type, else from the ad platform and the campaign's naming convention
-- ("US | Search | ...", "US | Display | ...").

with salesforce_campaigns as (
    select * from stg_salesforce__campaigns
),

google_campaigns as (
    select
        campaign_id,
        campaign_name,
        campaign_slug,
        lower(trim(split_part(campaign_name, '|', 2))) as campaign_style
    from stg_google_ads__campaigns
),

linkedin_campaigns as (
    select campaign_urn, campaign_name, campaign_slug
    from stg_linkedin_ads__campaigns
),

mapping as (
    select * from int_channel_mapping
),

platform_campaigns as (
    select
        campaign_slug,
        min(campaign_name) as campaign_name,
        'google_ads' as platform,
        min(campaign_id) as platform_campaign_id,
        min(campaign_style) as campaign_style
    from google_campaigns
    group by campaign_slug
    union all
    select campaign_slug, min(campaign_name), 'linkedin_ads', min(campaign_urn), null
    from linkedin_campaigns
    where campaign_slug not in (select campaign_slug from google_campaigns)
    group by campaign_slug
),

all_keys as (
    select campaign_slug from salesforce_campaigns
    union
    select campaign_slug from platform_campaigns
),

joined as (
    select
        all_keys.campaign_slug as campaign_key,
        coalesce(salesforce.campaign_name, platform.campaign_name) as campaign_name,
        coalesce(
            platform.platform,
            case salesforce.campaign_type
                when 'Email' then 'email'
                when 'Trade Show' then 'events'
                when 'Webinar' then 'events'
                else 'other'
            end
        ) as platform,
        coalesce(
            sf_channel.channel, platform_channel.channel, platform_default.channel, 'other'
        ) as channel,
        salesforce.campaign_id as salesforce_campaign_id,
        platform.platform_campaign_id,
        salesforce.start_date,
        salesforce.end_date
    from all_keys
    left join (
        select distinct on (campaign_slug) *
        from salesforce_campaigns
        order by campaign_slug, campaign_id
    ) as salesforce on salesforce.campaign_slug = all_keys.campaign_slug
    left join platform_campaigns as platform on platform.campaign_slug = all_keys.campaign_slug
    left join mapping as sf_channel
        on sf_channel.source_system = 'salesforce_campaign_type'
        and sf_channel.source_value = lower(salesforce.campaign_type)
    left join mapping as platform_channel
        on platform_channel.source_system = 'ad_platform'
        and platform_channel.source_value = platform.platform
        and platform_channel.medium_value = platform.campaign_style
    left join mapping as platform_default
        on platform_default.source_system = 'ad_platform'
        and platform_default.source_value = platform.platform
        and platform_default.medium_value = '*'
)

select * from joined
