-- The raw loader's own records (revenue_os.raw.loader), written in the load's transaction.

-- Where each source object's incremental extraction resumes. Advanced only when the load
-- that read up to it has committed.
CREATE TABLE ops.source_state (
    source_object  text        PRIMARY KEY,
    watermark      timestamptz,
    last_batch_id  uuid        NOT NULL,
    updated_at     timestamptz NOT NULL
);

-- One row per load: what was asked for and what changed.
CREATE TABLE ops.load_batches (
    batch_id          uuid        PRIMARY KEY,
    source_object     text        NOT NULL,
    mode              text        NOT NULL CHECK (mode IN ('incremental', 'full', 'backfill')),
    window_start      date,
    window_end        date,
    started_at        timestamptz NOT NULL,
    finished_at       timestamptz NOT NULL,
    rows_extracted    integer     NOT NULL,
    rows_inserted     integer     NOT NULL,
    rows_updated      integer     NOT NULL,
    rows_deleted      integer     NOT NULL,
    rows_quarantined  integer     NOT NULL,
    watermark         timestamptz
);
CREATE INDEX load_batches_object_idx ON ops.load_batches (source_object, finished_at DESC);

-- Records that could not be keyed or dated: kept with the reason, never dropped silently.
CREATE TABLE ops.quarantine (
    quarantine_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    batch_id        uuid        NOT NULL,
    source_object   text        NOT NULL,
    reason          text        NOT NULL,
    payload         jsonb       NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_object_idx ON ops.quarantine (source_object, quarantined_at DESC);
