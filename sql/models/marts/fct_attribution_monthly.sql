-- Attributed credit and amounts summed by conversion month, attribution model, conversion
-- type, channel, segment and region: the campaign roll-up without the campaign, what the
-- attribution charts by channel group by (about 60 times fewer rows than fct_attribution).
-- Sums only, so attributed revenue is the same on it as on fct_attribution for whole months.

-- A day's build brings it forward by the rows its fact replaced (transform/differences.py),
-- so it reads the fact, not the campaign roll-up: the sums are trimmed of trailing zeros, so
-- they read the same either way.

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
        trim_scale(sum(credit)) as credit,
        trim_scale(sum(attributed_amount_usd)) as attributed_amount_usd
    from attribution
    group by 1, 2, 3, 4, 5, 6
)

select * from monthly
