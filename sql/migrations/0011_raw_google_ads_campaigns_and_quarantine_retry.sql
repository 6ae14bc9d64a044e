-- Google Ads campaigns get a raw table of their own, and quarantined records are retried.
--
-- A campaign's name and status are served with every one of its days, as they are now: a
-- campaign paused today changes the record of each day it ever ran, far beyond the days an
-- incremental pull re-reads. The day rows therefore carry only what belongs to the day (ids,
-- date, metrics) and the campaign's attributes come from google_ads.campaigns, read whole on
-- every run. Existing day records lose the two attributes, so they equal what the source now
-- serves for them.
CREATE TABLE raw.google_ads__campaigns (
    customer_id       text        NOT NULL,
    campaign_id       text        NOT NULL,
    source_updated_at timestamptz,
    is_deleted        boolean     NOT NULL DEFAULT false,
    record            jsonb       NOT NULL,
    batch_id          uuid        NOT NULL,
    extracted_at      timestamptz NOT NULL,
    PRIMARY KEY (customer_id, campaign_id)
);

INSERT INTO raw.google_ads__campaigns
    (customer_id, campaign_id, source_updated_at, is_deleted, record, batch_id, extracted_at)
SELECT DISTINCT ON (customer_id, campaign_id)
    customer_id,
    campaign_id,
    NULL,
    false,
    jsonb_build_object(
        'customer', (record -> 'customer') - 'currencyCode',
        'campaign', record -> 'campaign'
    ),
    batch_id,
    extracted_at
FROM raw.google_ads__campaign_days
ORDER BY customer_id, campaign_id, metric_date DESC;

UPDATE raw.google_ads__campaign_days
SET record = jsonb_set(record, '{campaign}', (record -> 'campaign') - 'name' - 'status')
WHERE record -> 'campaign' ?| array['name', 'status'];

-- What a load read, so a later load knows whether it read a quarantined record's range again:
-- change times [read_from, read_to) for objects read by change time, days for windows.
-- read_from is null for a read of everything.
ALTER TABLE ops.load_batches
    ADD COLUMN read_from timestamptz,
    ADD COLUMN read_to   timestamptz;

-- A quarantined record stays open until a later load reads its range again: then it is
-- released, either loaded (the source now serves it well) or quarantined again under the
-- new load. retry_from is where a re-read must start to meet the record again: its own
-- change time or day when that much could be read, else the start of what its load read.
ALTER TABLE ops.quarantine
    ADD COLUMN record_key        text,
    ADD COLUMN retry_from        timestamptz,
    ADD COLUMN released_at       timestamptz,
    ADD COLUMN released_by_batch uuid,
    ADD COLUMN released_as       text CHECK (released_as IN ('loaded', 'quarantined_again'));
CREATE INDEX quarantine_open_idx ON ops.quarantine (source_object, retry_from)
    WHERE released_at IS NULL;
