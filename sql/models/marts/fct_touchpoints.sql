-- Marketing touches of known people (see int_touchpoints for the rules).

select
    touch_id,
    person_id,
    account_key,
    touched_at,
    touch_date,
    touch_type,
    channel,
    campaign_key,
    utm_source,
    utm_medium,
    utm_campaign,
    is_mapped
from int_touchpoints
