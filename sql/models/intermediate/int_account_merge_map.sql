-- Every Salesforce account id ever seen, mapped to the live account it now belongs to:
-- itself, or the survivor of a merge (followed through up to three merges in a row).

with merges as (
    select * from stg_salesforce__account_merges
),

accounts as (
    select account_id from stg_salesforce__accounts
),

followed as (
    select
        m1.merged_account_id as any_account_id,
        coalesce(m3.master_account_id, m2.master_account_id, m1.master_account_id) as account_id
    from merges as m1
    left join merges as m2 on m2.merged_account_id = m1.master_account_id
    left join merges as m3 on m3.merged_account_id = m2.master_account_id
)

select account_id as any_account_id, account_id from accounts
union all
select followed.any_account_id, followed.account_id
from followed
join accounts using (account_id)
