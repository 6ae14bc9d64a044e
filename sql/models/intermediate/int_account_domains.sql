-- Website domains that name exactly one live Salesforce account: the only domains safe to
-- link an e-mail address to an account by (a domain two accounts share links neither).

select domain, min(account_id) as account_id
from stg_salesforce__accounts
where domain is not null
group by domain
having count(*) = 1
