-- Multi-touch attribution of new-business opportunities, six models side by side. Two
-- conversions per opportunity: its creation (credit × amount = attributed pipeline) and, when
-- won, the win (credit × amount = attributed revenue). A conversion's path is every touch of
-- the account's people from {{ attribution_lookback_days }} days before the opportunity was
-- created up to the conversion, in time order. Every model gives each conversion exactly 1:
--   first_touch / last_touch  1 to the first / last touch;
--   linear                    1/n each;
--   u_shaped                  0.4 first, 0.4 last, 0.2 / (n - 2) each between
--                             (one touch: 1; two: 0.5 each);
--   w_shaped                  0.3 each to the first touch, the lead-creation touch (the first
--                             form submission, else the first touch) and the opportunity-
--                             creation touch (the last before creation, else the last); 0.1
--                             shared by the others, or by the milestone touches if none other;
--   time_decay                2^(-days before conversion / {{ attribution_half_life_days }}),
--                             normalised per conversion.
-- A conversion with no touch in its window gets one row with no touch, channel 'other'.

with opportunities as (
    select * from fct_opportunities where opportunity_type = 'new_business'
),

touches as (
    select * from int_touchpoints
),

attribution_models as (
    select attribution_model
    from (
        values ('first_touch'), ('last_touch'), ('linear'), ('u_shaped'), ('w_shaped'), ('time_decay')
    ) as model (attribution_model)
),

conversions as (
    select
        opportunity_id || ':created' as conversion_id,
        'opportunity_created' as conversion_type,
        opportunity_id,
        account_key,
        created_at,
        created_date as conversion_date,
        created_at as conversion_at,
        amount_usd,
        segment,
        region
    from opportunities
    union all
    select
        opportunity_id || ':won',
        'won_opportunity',
        opportunity_id,
        account_key,
        created_at,
        close_date,
        (close_date + 1)::timestamp at time zone 'UTC',
        amount_usd,
        segment,
        region
    from opportunities
    where is_won
),

paths as (
    select
        conversions.*,
        touches.touch_id,
        touches.touched_at,
        touches.touch_date,
        touches.touch_type,
        touches.channel,
        touches.campaign_key,
        row_number() over path_order as position,
        count(*) over (partition by conversions.conversion_id) as path_length,
        -- The decay weight in double precision, then exact from there on: Postgres' numeric
        -- power() costs about 9 microseconds a call, which at millions of path rows made it
        -- the largest part of the mart build.
        power(
            2.0::float8,
            -extract(epoch from conversions.conversion_at - touches.touched_at)::float8
            / 86400.0 / {{ attribution_half_life_days }}
        )::numeric as decay_weight
    from conversions
    join touches
        on touches.account_key = conversions.account_key
        and touches.touched_at >= conversions.created_at - interval '{{ attribution_lookback_days }} days'
        and touches.touched_at <= conversions.conversion_at
    window path_order as (
        partition by conversions.conversion_id order by touches.touched_at, touches.touch_id
    )
),

milestones as (
    select
        conversion_id,
        1 as first_position,
        coalesce(
            min(position) filter (where touch_type = 'form_submission'), 1
        ) as lead_position,
        coalesce(max(position) filter (where touched_at <= created_at), max(position))
            as opportunity_position,
        max(path_length) as path_length
    from paths
    group by conversion_id
),

w_shape as (
    select
        paths.conversion_id,
        paths.position,
        0.3 * (
            (paths.position = milestones.first_position)::int
            + (paths.position = milestones.lead_position)::int
            + (paths.position = milestones.opportunity_position)::int
        ) as milestone_credit,
        paths.position in (
            milestones.first_position, milestones.lead_position, milestones.opportunity_position
        ) as is_milestone,
        -- How many distinct touches the three milestones fall on (the first is position 1).
        1 + (milestones.lead_position <> milestones.first_position)::int
        + (
            milestones.opportunity_position
            not in (milestones.first_position, milestones.lead_position)
        )::int as milestone_touches,
        milestones.path_length
    from paths
    join milestones using (conversion_id)
),

credited as (
    select
        paths.*,
        w_shape.milestone_credit,
        w_shape.is_milestone,
        w_shape.milestone_touches,
        -- Normalised once per path row, not once per model row; an exact sum, so the credit
        -- does not depend on the order the rows are added in.
        paths.decay_weight / sum(paths.decay_weight) over (partition by paths.conversion_id)
            as decay_credit
    from paths
    join w_shape using (conversion_id, position)
),

per_model as (
    select
        credited.*,
        model.attribution_model,
        case model.attribution_model
            when 'first_touch' then (position = 1)::int::numeric
            when 'last_touch' then (position = path_length)::int::numeric
            when 'linear' then 1.0 / path_length
            when 'u_shaped' then case
                when path_length = 1 then 1.0
                when path_length = 2 then 0.5
                when position in (1, path_length) then 0.4
                else 0.2 / (path_length - 2)
            end
            when 'w_shaped' then milestone_credit + case
                when path_length > milestone_touches and not is_milestone
                    then 0.1 / (path_length - milestone_touches)
                when path_length = milestone_touches then 0.1 / milestone_touches
                else 0
            end
            when 'time_decay' then decay_credit
        end as credit
    from credited
    cross join attribution_models as model
),

unattributed as (
    select conversions.*, model.attribution_model
    from conversions
    cross join attribution_models as model
    where not exists (select 1 from paths where paths.conversion_id = conversions.conversion_id)
)

select
    conversion_id,
    conversion_type,
    opportunity_id,
    account_key,
    conversion_date,
    attribution_model,
    touch_id,
    touch_date,
    channel,
    campaign_key,
    credit,
    credit * amount_usd as attributed_amount_usd,
    segment,
    region
from per_model
where credit > 0
union all
select
    conversion_id,
    conversion_type,
    opportunity_id,
    account_key,
    conversion_date,
    attribution_model,
    null,
    null,
    'other',
    null,
    1.0,
    amount_usd,
    segment,
    region
from unattributed
