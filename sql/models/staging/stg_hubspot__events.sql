-- HubSpot web and e-mail events of contacts, one row per event. UTM values are kept as
-- typed; the channel mapping (int_channel_mapping) reads them normalised, and the campaign's
-- slug joins it to the campaigns of the other systems.

with source as (
    select event_id, record
    from raw.hubspot__events
    where not is_deleted
),

renamed as (
    select
        event_id,
        record ->> 'objectId' as contact_id,
        case record ->> 'eventType'
            when 'e_ad_click' then 'ad_click'
            when 'e_email_click' then 'email_click'
            when 'e_form_submission' then 'form_submission'
            when 'e_visited_page' then 'page_view'
            else lower(record ->> 'eventType')
        end as touch_type,
        (record ->> 'occurredAt')::timestamptz as occurred_at,
        record -> 'properties' ->> 'hs_url' as page_url,
        nullif(trim(record -> 'properties' ->> 'hs_utm_source'), '') as utm_source,
        nullif(trim(record -> 'properties' ->> 'hs_utm_medium'), '') as utm_medium,
        nullif(trim(record -> 'properties' ->> 'hs_utm_campaign'), '') as utm_campaign,
        nullif(trim(record -> 'properties' ->> 'hs_utm_content'), '') as utm_content,
        record -> 'properties' ->> 'hs_form_id' as form_id,
        record -> 'properties' ->> 'hs_email_campaign_id' as email_campaign_id
    from source
)

select
    *,
    trim(both '-' from regexp_replace(lower(utm_campaign), '[^a-z0-9]+', '-', 'g')) as utm_campaign_slug
from renamed
