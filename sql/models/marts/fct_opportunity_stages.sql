-- How long each opportunity spent in each stage: one row per stage entered (from the stage
-- history), left when the next stage was entered; the current stage is still open.

with history as (
    select * from stg_salesforce__opportunity_history
),

opportunities as (
    select opportunity_id from stg_salesforce__opportunities
),

stage_entries as (
    select
        history.opportunity_id,
        history.stage_name,
        history.changed_at as entered_at,
        lag(history.stage_name) over (
            partition by history.opportunity_id order by history.changed_at, history.history_id
        ) as previous_stage,
        history.history_id
    from history
    join opportunities using (opportunity_id)
),

changes as (
    select *
    from stage_entries
    where previous_stage is distinct from stage_name
)

select
    opportunity_id,
    stage_name,
    entered_at,
    lead(entered_at) over next_entry as exited_at,
    round(extract(epoch from (lead(entered_at) over next_entry - entered_at)) / 86400, 2)
        as days_in_stage
from changes
window next_entry as (partition by opportunity_id order by entered_at, history_id)
