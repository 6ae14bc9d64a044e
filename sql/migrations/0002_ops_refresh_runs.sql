-- One row per refresh run, written by the DAG's last task (revenue_os.warehouse.refresh_runs).
CREATE TABLE ops.refresh_runs (
    run_id              text        PRIMARY KEY,
    dag_id              text        NOT NULL,
    run_type            text        NOT NULL,
    logical_date        timestamptz,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL,
    state               text        NOT NULL CHECK (state IN ('success', 'failed')),
    migrations_applied  integer     NOT NULL CHECK (migrations_applied >= 0),
    schema_version      integer     NOT NULL
);

CREATE INDEX refresh_runs_finished_at_idx ON ops.refresh_runs (finished_at DESC);
