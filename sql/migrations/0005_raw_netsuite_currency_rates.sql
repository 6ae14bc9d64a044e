-- NetSuite's daily exchange rates (currencyrate): the FX table staging converts amounts with,
-- taken from the ERP because the ERP is the source of truth for money.

CREATE TABLE raw.netsuite__currency_rates (
    source_id         text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (source_id)
);
