-- Identity resolution: every live contact record of HubSpot (MAP) and Salesforce (CRM)
-- mapped to one person. Rules, in order:
--   1. HubSpot records of the same first name, last name and company are one person (people
--      sign up twice with a personal and a work e-mail); the earliest record names it;
--   2. a Salesforce contact is the HubSpot person whose salesforcecontactid points at it
--      (through merges), else the HubSpot person with the same normalised e-mail;
--   3. a Salesforce contact matching no HubSpot record is a person of its own.

with hubspot_contacts as (
    select * from stg_hubspot__contacts
),

salesforce_contacts as (
    select * from stg_salesforce__contacts
),

contact_merges as (
    select * from int_contact_merge_map
),

hubspot_people as (
    select
        hubspot_contacts.contact_id,
        hubspot_contacts.email,
        'hs-' || first_value(hubspot_contacts.contact_id) over (
            partition by coalesce(
                lower(first_name) || '|' || lower(last_name) || '|' || lower(company_name),
                'id|' || hubspot_contacts.contact_id
            )
            order by created_at, hubspot_contacts.contact_id::bigint
        ) as person_id,
        contact_merges.contact_id as salesforce_contact_id
    from hubspot_contacts
    left join contact_merges
        on contact_merges.any_contact_id = hubspot_contacts.salesforce_contact_id
),

linked_by_id as (
    select distinct on (salesforce_contact_id) salesforce_contact_id, person_id
    from hubspot_people
    where salesforce_contact_id is not null
    order by salesforce_contact_id, person_id
),

linked_by_email as (
    select distinct on (email) email, person_id
    from hubspot_people
    where email is not null
    order by email, person_id
),

salesforce_people as (
    select
        salesforce_contacts.contact_id,
        coalesce(
            linked_by_id.person_id, linked_by_email.person_id, 'sf-' || salesforce_contacts.contact_id
        ) as person_id,
        case
            when linked_by_id.person_id is not null then 'salesforce_contact_id'
            when linked_by_email.person_id is not null then 'email'
            else 'none'
        end as matched_by
    from salesforce_contacts
    left join linked_by_id on linked_by_id.salesforce_contact_id = salesforce_contacts.contact_id
    left join linked_by_email on linked_by_email.email = salesforce_contacts.email
)

select
    'hubspot' as source_system,
    contact_id as source_contact_id,
    person_id,
    case when person_id = 'hs-' || contact_id then 'self' else 'name_and_company' end as matched_by
from hubspot_people
union all
select 'salesforce', contact_id, person_id, matched_by
from salesforce_people
