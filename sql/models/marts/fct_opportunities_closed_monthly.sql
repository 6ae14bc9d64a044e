-- Opportunities and their amounts summed by close month, type, sourced channel, state, segment
-- and region: fct_opportunities rolled up to what the win-rate and bookings charts group by.
-- Sums and a count only, so won and closed deals, win rates by count and closed amounts are the
-- same on it as on fct_opportunities for whole months; average deal sizes, cycle times and
-- distinct counts of accounts stay on the fact.

-- A day's build brings it forward by the rows its fact replaced (transform/differences.py):
-- the sums are trimmed of trailing zeros, so they read the same either way.

with opportunities as (
    select * from fct_opportunities
),

monthly as (
    select
        date_trunc('month', close_date)::date as month_start,
        opportunity_type,
        sourced_channel,
        is_open,
        is_closed,
        is_won,
        segment,
        region,
        count(*)::integer as opportunities,
        trim_scale(sum(amount_usd)) as amount_usd
    from opportunities
    group by 1, 2, 3, 4, 5, 6, 7, 8
)

select * from monthly
