-- One raw table per source object (catalogue: revenue_os/raw/objects.py): typed natural-key
-- columns, the whole vendor record as JSONB, and load metadata. Written only by the loader.

CREATE TABLE raw.hubspot__contacts (
    source_id         text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (source_id)
);

CREATE TABLE raw.hubspot__events (
    event_id          text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (event_id)
);

CREATE TABLE raw.salesforce__accounts (
    source_id         text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (source_id)
);

CREATE TABLE raw.salesforce__contacts (
    source_id         text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (source_id)
);

CREATE TABLE raw.salesforce__opportunities (
    source_id         text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (source_id)
);

CREATE TABLE raw.salesforce__opportunity_history (
    source_id         text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (source_id)
);

CREATE TABLE raw.salesforce__campaigns (
    source_id         text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (source_id)
);

CREATE TABLE raw.google_ads__campaign_days (
    customer_id       text        NOT NULL,
    campaign_id       text        NOT NULL,
    metric_date       date        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (customer_id, campaign_id, metric_date)
);
CREATE INDEX google_ads__campaign_days_metric_date_idx ON raw.google_ads__campaign_days (metric_date);

CREATE TABLE raw.linkedin_ads__campaigns (
    campaign_id       text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (campaign_id)
);

CREATE TABLE raw.linkedin_ads__campaign_days (
    campaign_urn      text        NOT NULL,
    metric_date       date        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (campaign_urn, metric_date)
);
CREATE INDEX linkedin_ads__campaign_days_metric_date_idx ON raw.linkedin_ads__campaign_days (metric_date);

CREATE TABLE raw.netsuite__customers (
    source_id         text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (source_id)
);

CREATE TABLE raw.netsuite__items (
    source_id         text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (source_id)
);

CREATE TABLE raw.netsuite__invoice_lines (
    source_id         text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (source_id)
);

CREATE TABLE raw.netsuite__inventory_snapshots (
    source_id         text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (source_id)
);
