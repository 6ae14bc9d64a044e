-- The funnel per person: the day each stage was first reached. Lead, MQL and SQL come from
-- HubSpot's lifecycle dates (marketing automation is their source of truth); opportunity
-- and won from the earlier of HubSpot's date and the CRM (an opportunity or a won
-- new-business deal with the person as primary contact). Acquisition channel: the first
-- touch's channel, else HubSpot's original source.

with persons as (
    select * from int_persons
),

touches as (
    select * from int_touchpoints
),

accounts as (
    select * from int_accounts
),

opportunities as (
    select * from fct_opportunities
),

first_touch as (
    select distinct on (person_id) person_id, channel, campaign_key
    from touches
    order by person_id, touched_at, touch_id
),

crm_milestones as (
    select
        primary_person_id as person_id,
        min(created_date) as first_opportunity_date,
        min(close_date) filter (where is_won and opportunity_type = 'new_business')
            as first_won_date
    from opportunities
    where primary_person_id is not null
    group by primary_person_id
)

select
    persons.person_id,
    persons.account_key,
    coalesce(first_touch.channel, persons.original_source_channel, 'other') as acquisition_channel,
    first_touch.campaign_key as acquisition_campaign_key,
    coalesce(accounts.segment, 'smb') as segment,
    coalesce(accounts.region, persons.contact_region, 'other') as region,
    (coalesce(persons.became_lead_at, persons.created_at) at time zone 'UTC')::date as lead_date,
    (persons.became_mql_at at time zone 'UTC')::date as mql_date,
    (persons.became_sql_at at time zone 'UTC')::date as sql_date,
    least(
        (persons.became_opportunity_at at time zone 'UTC')::date,
        crm_milestones.first_opportunity_date
    ) as opportunity_date,
    least(
        (persons.became_customer_at at time zone 'UTC')::date, crm_milestones.first_won_date
    ) as won_date
from persons
left join first_touch using (person_id)
left join crm_milestones using (person_id)
left join accounts using (account_key)
