-- Marketing touches of known people: ad clicks, e-mail clicks, form submissions and tagged
-- page views (an untagged page view is browsing, not a touch). The channel comes from the
-- governed mapping of the UTM source and medium (exact pair, else the source alone, else the
-- medium alone); an untagged form takes the person's original source; values no rule knows
-- become 'other' and are flagged, never dropped. The campaign is the UTM campaign's slug
-- when a known campaign has it.

with events as (
    select * from stg_hubspot__events
),

identity as (
    select source_contact_id, person_id from int_person_identity where source_system = 'hubspot'
),

persons as (
    select * from int_persons
),

mapping as (
    select * from int_channel_mapping where source_system = 'utm'
),

campaigns as (
    select campaign_key from int_campaigns
),

touches as (
    select
        events.event_id as touch_id,
        identity.person_id,
        events.occurred_at as touched_at,
        events.touch_type,
        events.utm_source,
        events.utm_medium,
        events.utm_campaign,
        lower(events.utm_source) as source_value,
        lower(events.utm_medium) as medium_value,
        events.utm_campaign_slug as campaign_slug
    from events
    join identity on identity.source_contact_id = events.contact_id
    where events.utm_source is not null
        or events.utm_medium is not null
        or events.touch_type <> 'page_view'
),

mapped as (
    select
        touches.*,
        coalesce(by_pair.channel, by_source.channel, by_medium.channel) as utm_channel
    from touches
    left join mapping as by_pair
        on by_pair.source_value = touches.source_value
        and by_pair.medium_value = touches.medium_value
    left join mapping as by_source
        on by_source.source_value = touches.source_value
        and by_source.medium_value = '*'
    left join mapping as by_medium
        on by_medium.source_value = '*'
        and by_medium.medium_value = touches.medium_value
)

select
    mapped.touch_id,
    mapped.person_id,
    persons.account_key,
    mapped.touched_at,
    (mapped.touched_at at time zone 'UTC')::date as touch_date,
    mapped.touch_type,
    case
        when mapped.source_value is null and mapped.medium_value is null
            then coalesce(persons.original_source_channel, 'direct')
        else coalesce(mapped.utm_channel, 'other')
    end as channel,
    campaigns.campaign_key,
    mapped.utm_source,
    mapped.utm_medium,
    mapped.utm_campaign,
    mapped.utm_channel is not null
        or (mapped.source_value is null and mapped.medium_value is null) as is_mapped
from mapped
join persons using (person_id)
left join campaigns on campaigns.campaign_key = mapped.campaign_slug
