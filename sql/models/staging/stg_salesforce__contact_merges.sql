-- Contacts merged away in Salesforce (deleted, pointing at the survivor). HubSpot's
-- salesforcecontactid may still name the loser.

select
    record ->> 'Id' as merged_contact_id,
    record ->> 'MasterRecordId' as master_contact_id
from raw.salesforce__contacts
where is_deleted and nullif(record ->> 'MasterRecordId', '') is not null
