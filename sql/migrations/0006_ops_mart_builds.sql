-- The mart's build history: one row per build (built aside, audited, published or not) and
-- one per model built, so an operator can see what a refresh built, how big and how long.
CREATE TABLE ops.mart_builds (
    build_id      uuid        PRIMARY KEY,
    run_id        text,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    status        text        NOT NULL
                  CHECK (status IN ('building', 'built', 'audit_failed', 'failed', 'published', 'rolled_back')),
    error         text
);

CREATE INDEX mart_builds_started_at_idx ON ops.mart_builds (started_at DESC);

CREATE TABLE ops.mart_build_models (
    build_id    uuid        NOT NULL REFERENCES ops.mart_builds (build_id) ON DELETE CASCADE,
    model       text        NOT NULL,
    layer       text        NOT NULL,
    row_count   bigint      NOT NULL,
    seconds     numeric     NOT NULL,
    PRIMARY KEY (build_id, model)
);

CREATE TABLE ops.mart_audits (
    build_id    uuid        NOT NULL REFERENCES ops.mart_builds (build_id) ON DELETE CASCADE,
    audit       text        NOT NULL,
    subject     text        NOT NULL,
    passed      boolean     NOT NULL,
    measured    text,
    expected    text,
    PRIMARY KEY (build_id, audit, subject)
);
