-- One row per person (see int_person_identity): the earliest HubSpot record's details,
-- lifecycle dates as the earliest of the person's records, the account through the linked
-- Salesforce contact, else through the e-mail domain, and the original source as a channel.

with identity as (
    select * from int_person_identity
),

hubspot_contacts as (
    select * from stg_hubspot__contacts
),

salesforce_contacts as (
    select * from stg_salesforce__contacts
),

account_merges as (
    select * from int_account_merge_map
),

mapping as (
    select * from int_channel_mapping where source_system = 'hubspot_original_source'
),

countries as (
    select lower(alias) as alias, country_code, region from seed_country_aliases
),

hubspot_by_person as (
    select
        identity.person_id,
        min(hubspot_contacts.created_at) as created_at,
        min(hubspot_contacts.became_lead_at) as became_lead_at,
        min(hubspot_contacts.became_mql_at) as became_mql_at,
        min(hubspot_contacts.became_sql_at) as became_sql_at,
        min(hubspot_contacts.became_opportunity_at) as became_opportunity_at,
        min(hubspot_contacts.became_customer_at) as became_customer_at
    from identity
    join hubspot_contacts on hubspot_contacts.contact_id = identity.source_contact_id
    where identity.source_system = 'hubspot'
    group by identity.person_id
),

hubspot_survivor as (
    select distinct on (identity.person_id) identity.person_id, hubspot_contacts.*
    from identity
    join hubspot_contacts on hubspot_contacts.contact_id = identity.source_contact_id
    where identity.source_system = 'hubspot'
    order by identity.person_id, hubspot_contacts.created_at, hubspot_contacts.contact_id
),

salesforce_first as (
    select distinct on (identity.person_id)
        identity.person_id,
        salesforce_contacts.contact_id,
        salesforce_contacts.email,
        salesforce_contacts.first_name,
        salesforce_contacts.last_name,
        salesforce_contacts.created_at,
        salesforce_contacts.account_id as crm_account_id,
        account_merges.account_id
    from identity
    join salesforce_contacts on salesforce_contacts.contact_id = identity.source_contact_id
    left join account_merges on account_merges.any_account_id = salesforce_contacts.account_id
    where identity.source_system = 'salesforce'
    order by identity.person_id, salesforce_contacts.created_at, salesforce_contacts.contact_id
),

domain_accounts as (
    select domain, account_id as account_key from int_account_domains
),

people as (
    select distinct person_id from identity
)

select
    people.person_id,
    coalesce(hubspot_survivor.email, salesforce_first.email) as email,
    coalesce(hubspot_survivor.first_name, salesforce_first.first_name) as first_name,
    coalesce(hubspot_survivor.last_name, salesforce_first.last_name) as last_name,
    hubspot_survivor.company_name,
    coalesce(salesforce_first.account_id, domain_accounts.account_key) as account_key,
    salesforce_first.contact_id as salesforce_contact_id,
    salesforce_first.crm_account_id as salesforce_account_id,
    split_part(coalesce(hubspot_survivor.email, salesforce_first.email), '@', 2) as email_domain,
    coalesce(hubspot_by_person.created_at, salesforce_first.created_at) as created_at,
    hubspot_by_person.became_lead_at,
    hubspot_by_person.became_mql_at,
    hubspot_by_person.became_sql_at,
    hubspot_by_person.became_opportunity_at,
    hubspot_by_person.became_customer_at,
    hubspot_survivor.original_source,
    mapping.channel as original_source_channel,
    countries.region as contact_region
from people
left join hubspot_by_person using (person_id)
left join hubspot_survivor using (person_id)
left join salesforce_first using (person_id)
left join domain_accounts
    on domain_accounts.domain = split_part(coalesce(hubspot_survivor.email, salesforce_first.email), '@', 2)
left join mapping on mapping.source_value = lower(hubspot_survivor.original_source)
left join countries on countries.alias = lower(hubspot_survivor.country_raw)
