-- Every Salesforce contact id ever seen, mapped to the live contact it now is.

with merges as (
    select * from stg_salesforce__contact_merges
),

contacts as (
    select contact_id from stg_salesforce__contacts
),

followed as (
    select
        m1.merged_contact_id as any_contact_id,
        coalesce(m2.master_contact_id, m1.master_contact_id) as contact_id
    from merges as m1
    left join merges as m2 on m2.merged_contact_id = m1.master_contact_id
)

select contact_id as any_contact_id, contact_id from contacts
union all
select followed.any_contact_id, followed.contact_id
from followed
join contacts using (contact_id)
