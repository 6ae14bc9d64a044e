-- Bookings targets per quarter and segment, for pipeline coverage: the same quarter's won
-- new-business and expansion bookings a year before, grown by the plan
-- ({{ planned_bookings_growth_pct }} %). A stand-in until a sales plan is loaded: its
-- confidence is low and the pipeline_coverage contract says so.

with bookings as (
    select
        date_trunc('quarter', close_date)::date as quarter_start,
        segment,
        sum(amount_usd) as bookings_usd
    from fct_opportunities
    where is_won and opportunity_type in ('new_business', 'expansion')
    group by 1, 2
)

select
    (quarter_start + interval '1 year')::date as quarter_start,
    segment,
    round(bookings_usd * (1 + {{ planned_bookings_growth_pct }} / 100.0), 2) as target_usd
from bookings
