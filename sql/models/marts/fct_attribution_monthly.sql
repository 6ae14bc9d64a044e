-- Attributed credit and amounts summed by conversion month, attribution model, conversion
-- type, channel, segment and region: the campaign roll-up without the campaign, what the
-- attribution charts by channel group by (about 60 times fewer rows than fct_attribution).
-- Sums only, so attributed revenue is the same on it as on fct_attribution for whole months.

with campaign_months as (
    select * from fct_campaign_attribution_monthly
),

monthly as (
    select
        month_start,
        attribution_model,
        conversion_type,
        channel,
        segment,
        region,
        sum(credited_touches)::integer as credited_touches,
        sum(credit) as credit,
        sum(attributed_amount_usd) as attributed_amount_usd
    from campaign_months
    group by 1, 2, 3, 4, 5, 6
)

select * from monthly
