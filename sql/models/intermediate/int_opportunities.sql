-- One row per live opportunity, resolved to what it belongs to: its account followed through
-- merges, its contact's person followed through merges, and its amount in USD at the close
-- date's rate. Everything here is known from the opportunity itself, so the fact built on it
-- (fct_opportunities, which adds the account's touches) can be brought forward by account.

with opportunities as (
    select * from stg_salesforce__opportunities
),

account_merges as (
    select * from int_account_merge_map
),

contact_merges as (
    select * from int_contact_merge_map
),

contact_people as (
    select source_contact_id, person_id from int_person_identity where source_system = 'salesforce'
),

fx as (
    select * from int_fx_rates_daily
)

select
    opportunities.opportunity_id,
    coalesce(account_merges.account_id, opportunities.account_id) as account_key,
    contact_people.person_id as primary_person_id,
    opportunities.contact_id as salesforce_contact_id,
    opportunities.opportunity_type,
    opportunities.stage_name,
    opportunities.is_closed,
    opportunities.is_won,
    opportunities.created_at,
    opportunities.close_date,
    opportunities.forecast_category,
    opportunities.next_step,
    opportunities.renewal_date,
    opportunities.currency_code,
    opportunities.amount_local,
    round(opportunities.amount_local * fx.usd_per_unit, 2) as amount_usd,
    opportunities.owner_id
from opportunities
left join account_merges on account_merges.any_account_id = opportunities.account_id
left join contact_merges on contact_merges.any_contact_id = opportunities.contact_id
left join contact_people on contact_people.source_contact_id = contact_merges.contact_id
left join fx
    on fx.currency_code = opportunities.currency_code
    and fx.date_day = opportunities.close_date
