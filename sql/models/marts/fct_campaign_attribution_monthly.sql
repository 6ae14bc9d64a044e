-- Attributed credit and amounts summed by conversion month, attribution model, conversion
-- type, campaign, channel, segment and region: what the campaign attribution charts group by.
-- Touches without a campaign stay in, under a null campaign, so every sum over this table is
-- the fact's (fct_attribution_monthly is the same without the campaign, 10 times smaller).

with campaign_attribution as (
    select * from fct_attribution
),

monthly as (
    select
        date_trunc('month', conversion_date)::date as month_start,
        attribution_model,
        conversion_type,
        campaign_key,
        channel,
        segment,
        region,
        count(*)::integer as credited_touches,
        -- Trimmed: a sum's scale is its largest summand's, so brought forward by the rows
        -- that moved it would otherwise depend on which came and went.
        trim_scale(sum(credit)) as credit,
        trim_scale(sum(attributed_amount_usd)) as attributed_amount_usd
    from campaign_attribution
    group by 1, 2, 3, 4, 5, 6, 7
)

select * from monthly
