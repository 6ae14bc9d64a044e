-- Ad spend, impressions and clicks summed by month, platform, campaign and channel: the
-- campaign days rolled up to what the spend charts group by. Sums only, so paid spend is the
-- same on it as on fct_ad_spend_daily for whole months.

with campaign_days as (
    select * from fct_ad_spend_daily
),

monthly as (
    select
        date_trunc('month', date_day)::date as month_start,
        platform,
        platform_campaign_id,
        -- Both follow from the platform campaign, so grouping by them adds no rows.
        campaign_key,
        channel,
        count(*)::integer as campaign_days,
        sum(impressions)::bigint as impressions,
        sum(clicks)::bigint as clicks,
        -- Trimmed: a sum's scale is its largest summand's, so brought forward by the days
        -- that moved it would otherwise depend on which came and went.
        trim_scale(sum(spend_usd)) as spend_usd,
        trim_scale(sum(platform_conversions)) as platform_conversions
    from campaign_days
    group by 1, 2, 3, 4, 5
)

select * from monthly
