-- Attributed credit and amounts summed by conversion month, attribution model, conversion
-- type, channel, segment and region: fct_attribution rolled up to what the attribution charts
-- group by (about 60 times fewer rows). Sums only, so attributed revenue is the same on it as
-- on fct_attribution for whole months. By campaign: fct_campaign_attribution_monthly.
-- grain: month_start, attribution_model, conversion_type, channel, segment, region

with attribution as (
    select * from fct_attribution
),

monthly as (
    select
        date_trunc('month', conversion_date)::date as month_start,
        attribution_model,
        conversion_type,
        channel,
        segment,
        region,
        count(*)::integer as credited_touches,
        sum(credit) as credit,
        sum(attributed_amount_usd) as attributed_amount_usd
    from attribution
    group by 1, 2, 3, 4, 5, 6
)

select * from monthly
