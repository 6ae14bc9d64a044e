-- NetSuite's item prices per currency (SuiteQL pricing, the base price level): the list price an
-- invoice line's rate is compared with, for the discount rate. List prices are set per market,
-- so each currency has its own.

CREATE TABLE raw.netsuite__item_prices (
    source_id         text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (source_id)
);
