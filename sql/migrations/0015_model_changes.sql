-- Models brought forward by partitions (revenue_os.transform.changes): a model whose rows a
-- day's changes reach only in a few partitions (a person's touches) replaces those
-- partitions instead of being rebuilt from all of history.

-- The change log: what each model read by a partitioned model changed, as the values of the
-- columns its readers key on (a person id, an event id). `column_name` '*' means the model
-- was rebuilt whole and anything may have changed. Kept until every reader has applied it.
CREATE TABLE ops.model_changes (
    change_id    bigserial   PRIMARY KEY,
    model        text        NOT NULL,
    column_name  text        NOT NULL,
    value        text,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_changes_model_idx ON ops.model_changes (model, change_id);
-- Written by the build only (the default privileges also gave the loader its rows).
REVOKE INSERT, UPDATE, DELETE ON ops.model_changes FROM revenue_os_loader;

-- A partitioned model's state beside the incremental staging models': the last change it
-- applied, and the digests of the inputs whose changes it does not follow (a change there
-- rebuilds it whole).
ALTER TABLE ops.staging_state
    ADD COLUMN applied_change_id bigint,
    ADD COLUMN input_digests jsonb;
