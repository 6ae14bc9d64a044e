-- One row per live opportunity, amounts in USD at the close date's rate, with the sales
-- cycle, a renewal's date and risk, and marketing's part in it:
--   sourced    a new-business opportunity whose first touch (by anyone at the account, before
--              it was created) is in a marketing channel; sourced_channel is that channel;
--   influenced any marketing touch at the account from the look-back before creation up to
--              the close (or now, while open).

with opportunities as (
    select * from int_opportunities
),

accounts as (
    select * from int_accounts
),

touchpoints as (
    select * from int_touchpoints
),

channels as (
    select * from dim_channel
),

-- Only what the sourcing and influence rules read: the path of a touch through three CTEs
-- below is millions of rows wide otherwise.
touches as (
    select
        touchpoints.account_key,
        touchpoints.touched_at,
        touchpoints.touch_id,
        touchpoints.channel,
        channels.is_marketing
    from touchpoints
    join channels using (channel)
),

resolved as (
    select
        opportunities.*,
        opportunities.created_at - interval '{{ attribution_lookback_days }} days' as window_start,
        case
            when opportunities.is_closed
                then (opportunities.close_date + 1)::timestamp at time zone 'UTC'
            else 'infinity'::timestamptz
        end as window_end
    from opportunities
),

-- The first touch before an opportunity's creation is its account's first touch, when that
-- came before the creation (the earliest of all is the earliest of any earlier subset): one
-- pass over the touches instead of every opportunity joined to all its account's touches.
account_first_touch_at as (
    select account_key, min(touched_at) as touched_at
    from touches
    group by account_key
),

account_first_touch as (
    select distinct on (touches.account_key)
        touches.account_key,
        touches.touched_at,
        touches.channel,
        touches.is_marketing
    from touches
    join account_first_touch_at using (account_key, touched_at)
    order by touches.account_key, touches.touch_id
),

first_touch as (
    select
        resolved.opportunity_id,
        account_first_touch.channel,
        account_first_touch.is_marketing
    from resolved
    join account_first_touch
        on account_first_touch.account_key = resolved.account_key
        and account_first_touch.touched_at <= resolved.created_at
),

influence as (
    select distinct resolved.opportunity_id
    from resolved
    join touches
        on touches.account_key = resolved.account_key
        and touches.touched_at >= resolved.window_start
        and touches.touched_at < resolved.window_end
    where touches.is_marketing
)

select
    resolved.opportunity_id,
    resolved.account_key,
    resolved.primary_person_id,
    resolved.salesforce_contact_id,
    resolved.opportunity_type,
    resolved.stage_name,
    not resolved.is_closed as is_open,
    resolved.is_closed,
    resolved.is_won,
    resolved.created_at,
    (resolved.created_at at time zone 'UTC')::date as created_date,
    resolved.close_date,
    resolved.forecast_category,
    resolved.next_step,
    resolved.renewal_date,
    -- The seed's risk flags on an open renewal: not committed by its rep, or no agreed next step.
    resolved.opportunity_type = 'renewal'
    and not resolved.is_closed
    and (resolved.forecast_category is distinct from 'Commit' or resolved.next_step is null)
        as is_renewal_at_risk,
    resolved.opportunity_type = 'renewal'
    and resolved.is_won
    and resolved.close_date <= resolved.renewal_date as is_renewed_on_time,
    resolved.currency_code,
    resolved.amount_local,
    resolved.amount_usd,
    case
        when resolved.is_closed
            then resolved.close_date - (resolved.created_at at time zone 'UTC')::date
    end as sales_cycle_days,
    resolved.opportunity_type = 'new_business' and coalesce(first_touch.is_marketing, false)
        as is_marketing_sourced,
    coalesce(first_touch.channel, 'other') as sourced_channel,
    influence.opportunity_id is not null as is_marketing_influenced,
    coalesce(accounts.segment, 'smb') as segment,
    coalesce(accounts.region, 'other') as region,
    resolved.owner_id
from resolved
left join first_touch using (opportunity_id)
left join influence using (opportunity_id)
left join accounts using (account_key)
