-- Incremental staging (revenue_os.transform.build): a staging model that is a row-wise
-- function of one raw table is brought forward by the raw rows written since it was built,
-- found by their batch, instead of being rebuilt from all of history.

-- What each incrementally built staging table holds: the load batches applied to it, the
-- digest of the SQL that built it, and its row count. A model whose SQL changed, or whose
-- table is missing or holds another count, is rebuilt whole.
CREATE TABLE ops.staging_state (
    model            text        PRIMARY KEY,
    sql_digest       text        NOT NULL,
    applied_batches  uuid[]      NOT NULL,
    row_count        bigint      NOT NULL,
    updated_at       timestamptz NOT NULL
);
-- Written by the build only (the default privileges also gave the loader its rows).
REVOKE INSERT, UPDATE, DELETE ON ops.staging_state FROM revenue_os_loader;

-- The rows a batch wrote, found without reading the rest of history.
CREATE INDEX hubspot__contacts_batch_idx ON raw.hubspot__contacts (batch_id);
CREATE INDEX hubspot__events_batch_idx ON raw.hubspot__events (batch_id);
CREATE INDEX salesforce__accounts_batch_idx ON raw.salesforce__accounts (batch_id);
CREATE INDEX salesforce__contacts_batch_idx ON raw.salesforce__contacts (batch_id);
CREATE INDEX salesforce__opportunities_batch_idx ON raw.salesforce__opportunities (batch_id);
CREATE INDEX salesforce__opportunity_history_batch_idx
    ON raw.salesforce__opportunity_history (batch_id);
CREATE INDEX netsuite__invoice_lines_batch_idx ON raw.netsuite__invoice_lines (batch_id);
