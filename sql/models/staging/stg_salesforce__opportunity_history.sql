-- Stage changes of opportunities, one row per history record (live records only), with the
-- forecast category each stage had: the inputs of the weekly forecast snapshots.

select
    record ->> 'Id' as history_id,
    record ->> 'OpportunityId' as opportunity_id,
    record ->> 'StageName' as stage_name,
    (record ->> 'Amount')::numeric as amount_local,
    (record ->> 'CloseDate')::date as close_date,
    nullif(trim(record ->> 'ForecastCategory'), '') as forecast_category,
    (record ->> 'CreatedDate')::timestamptz as changed_at
from raw.salesforce__opportunity_history
where not is_deleted
