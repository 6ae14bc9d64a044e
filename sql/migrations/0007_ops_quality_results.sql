-- Data-quality results: one row per check per verification, kept as history. Soda reports
-- counts, not rows, so `examples` keeps a few failing keys where a check names them.
CREATE TABLE ops.quality_results (
    result_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    build_id    uuid        REFERENCES ops.mart_builds (build_id) ON DELETE CASCADE,
    dataset     text        NOT NULL,
    check_name  text        NOT NULL,
    tier        smallint    NOT NULL CHECK (tier IN (1, 2)),
    outcome     text        NOT NULL CHECK (outcome IN ('passed', 'failed', 'warned', 'not_evaluated')),
    measured    text,
    threshold   text,
    examples    jsonb,
    checked_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX quality_results_checked_at_idx ON ops.quality_results (checked_at DESC);
CREATE INDEX quality_results_build_idx ON ops.quality_results (build_id);
