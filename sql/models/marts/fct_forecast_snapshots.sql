-- The quarter's bookings forecast as the CRM stood at the start of each week (Monday 00:00
-- UTC), rebuilt from the opportunity history: for each week and segment, what was already
-- won in the week's quarter, and the open new-business and expansion amounts expected to
-- close in it by forecast category. Forecast = won + Commit, the number a CRO calls; the
-- quarter's seventh Monday holds the mid-quarter call its bookings are judged against.

with history as (
    select * from stg_salesforce__opportunity_history
),

opportunities as (
    select
        opportunity_id,
        segment,
        -- The history's local amounts at the rate the deal's amount was converted at.
        amount_usd / nullif(amount_local, 0) as usd_per_local
    from fct_opportunities
    where opportunity_type in ('new_business', 'expansion')
),

-- The CRM's data runs to its newest record, a change or a new deal.
data_end as (
    select greatest(
        (select max(changed_at) from history),
        (select max(created_at) from stg_salesforce__opportunities)
    ) as changed_at
),

-- Each history record holds from its change until the next one (the last, until the data
-- ends); a close date of an earlier quarter is of no week after that quarter.
states as (
    select
        history.opportunity_id,
        history.stage_name,
        history.forecast_category,
        history.amount_local,
        history.close_date,
        history.changed_at as valid_from,
        least(
            coalesce(
                lead(history.changed_at) over (
                    partition by history.opportunity_id order by history.changed_at, history.history_id
                ),
                'infinity'::timestamptz
            ),
            (select changed_at from data_end) + interval '1 microsecond',
            (date_trunc('quarter', history.close_date::timestamp) + interval '3 months') at time zone 'UTC'
        ) as valid_to
    from history
),

-- The Mondays each state was the CRM's view at 00:00 UTC: from the first Monday at or after
-- the change to the last before the next change.
state_weeks as (
    select
        states.*,
        weeks.week_start::date as week_start
    from states
    cross join lateral generate_series(
        date_trunc('week', states.valid_from at time zone 'UTC')
        + case
            when states.valid_from at time zone 'UTC' = date_trunc('week', states.valid_from at time zone 'UTC')
                then interval '0 days'
            else interval '7 days'
        end,
        (states.valid_to at time zone 'UTC') - interval '1 microsecond',
        interval '7 days'
    ) as weeks (week_start)
    where states.valid_to > states.valid_from
),

in_the_weeks_quarter as (
    select
        state_weeks.week_start,
        date_trunc('quarter', state_weeks.week_start::timestamp)::date as quarter_start,
        opportunities.segment,
        state_weeks.stage_name,
        state_weeks.forecast_category,
        round(state_weeks.amount_local * opportunities.usd_per_local, 2) as amount_usd
    from state_weeks
    join opportunities using (opportunity_id)
    -- Quarters of dates taken without a time zone: a date's cast to timestamptz reads the
    -- session's zone for every one of a million week rows at scale 10.
    where date_trunc('quarter', state_weeks.close_date::timestamp)
        = date_trunc('quarter', state_weeks.week_start::timestamp)
),

by_week as (
    select
        week_start,
        quarter_start,
        segment,
        coalesce(sum(amount_usd) filter (where stage_name = 'Closed Won'), 0) as won_usd,
        coalesce(sum(amount_usd) filter (
            where stage_name not in ('Closed Won', 'Closed Lost') and forecast_category = 'Commit'
        ), 0) as commit_usd,
        coalesce(sum(amount_usd) filter (
            where stage_name not in ('Closed Won', 'Closed Lost') and forecast_category = 'Best Case'
        ), 0) as best_case_usd,
        coalesce(sum(amount_usd) filter (
            where stage_name not in ('Closed Won', 'Closed Lost') and forecast_category = 'Pipeline'
        ), 0) as pipeline_usd
    from in_the_weeks_quarter
    group by week_start, quarter_start, segment
)

select
    week_start,
    quarter_start,
    segment,
    won_usd,
    commit_usd,
    best_case_usd,
    pipeline_usd,
    won_usd + commit_usd as forecast_usd,
    -- 1 on the quarter's first Monday, 7 at mid-quarter.
    (week_start - (quarter_start + (8 - extract(isodow from quarter_start)::integer) % 7)) / 7 + 1
        as week_of_quarter
from by_week
