-- Accounts merged away in Salesforce: the loser is deleted and points at the surviving
-- record. Other systems (NetSuite's externalid, old opportunities) may still carry the
-- loser's id, so every account id is resolved through this map.

select
    record ->> 'Id' as merged_account_id,
    record ->> 'MasterRecordId' as master_account_id
from raw.salesforce__accounts
where is_deleted and nullif(record ->> 'MasterRecordId', '') is not null
