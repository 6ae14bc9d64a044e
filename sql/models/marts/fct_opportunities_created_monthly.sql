-- Opportunities and their amounts summed by creation month, type, sourced channel, marketing
-- flags, segment and region: fct_opportunities rolled up to what the pipeline-created charts
-- group by. Sums and a count only, so pipeline created (all, marketing-sourced,
-- marketing-influenced) and the opportunities created are the same on it as on
-- fct_opportunities for whole months; cycle times stay on the fact.

-- A day's build brings it forward by the rows its fact replaced (transform/differences.py):
-- the sums are trimmed of trailing zeros, so they read the same either way.

with opportunities as (
    select * from fct_opportunities
),

monthly as (
    select
        date_trunc('month', created_date)::date as month_start,
        opportunity_type,
        sourced_channel,
        is_marketing_sourced,
        is_marketing_influenced,
        segment,
        region,
        count(*)::integer as opportunities,
        trim_scale(sum(amount_usd)) as amount_usd
    from opportunities
    group by 1, 2, 3, 4, 5, 6, 7
)

select * from monthly
