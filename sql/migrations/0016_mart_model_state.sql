-- Mart models brought forward by partitions (revenue_os.transform.changes). A build reuses
-- the schema one copy behind the published mart (`mart_previous`) and brings its
-- partitioned tables forward by what changed since; each table's state belongs to the build
-- whose schema holds it, named in the schema's comment, so a rollback or a retried build
-- keeps table and state together.
CREATE TABLE ops.mart_model_state (
    build_id           uuid        NOT NULL,
    model              text        NOT NULL,
    sql_digest         text        NOT NULL,
    applied_change_id  bigint      NOT NULL,
    input_digests      jsonb       NOT NULL,
    row_count          bigint      NOT NULL,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (build_id, model)
);
-- Written by the build only (the default privileges also gave the loader its rows).
REVOKE INSERT, UPDATE, DELETE ON ops.mart_model_state FROM revenue_os_loader;
