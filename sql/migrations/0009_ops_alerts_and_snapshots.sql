-- Operations: what was alerted, so an alert is sent once per spell, and the month-end KPI
-- snapshots the reporting pack is drawn from, so a past month's pack can be reproduced after
-- the mart has moved on.

-- One row per open spell of a condition (a KPI in red, a stale source or mart, a failing
-- refresh). `cleared_at` is set when the condition ends; a new spell opens a new row. The
-- partial unique index is what makes "no repeat while it stays red" hold under concurrency.
CREATE TABLE ops.alert_spells (
    spell_id        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_kind      text        NOT NULL
                    CHECK (alert_kind IN ('kpi_red', 'stale_source', 'stale_mart', 'refresh_failed')),
    subject_key     text        NOT NULL CHECK (subject_key <> ''),
    opened_at       timestamptz NOT NULL DEFAULT now(),
    cleared_at      timestamptz,
    details         jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recipients      text[]      NOT NULL DEFAULT '{}',
    CHECK (cleared_at IS NULL OR cleared_at >= opened_at)
);

CREATE UNIQUE INDEX alert_spells_open_idx ON ops.alert_spells (alert_kind, subject_key)
    WHERE cleared_at IS NULL;

-- The KPI values of a closed month as the pack showed them: overall and per dimension, with
-- prior, trailing, status and thresholds. Written once per month (a rerun keeps the frozen
-- rows unless asked to refreeze). `is_final` is the mart's flag at freeze time: a month frozen
-- before its contract's final_after_days had passed is shown as provisional until refrozen.
CREATE TABLE ops.kpi_snapshots (
    snapshot_month  date        NOT NULL CHECK (snapshot_month = date_trunc('month', snapshot_month)),
    metric_name     text        NOT NULL,
    label           text        NOT NULL,
    tier            text        NOT NULL,
    area            text        NOT NULL,
    dimension_name  text        NOT NULL,
    dimension_value text        NOT NULL,
    is_final        boolean     NOT NULL,
    value           numeric,
    prior_value     numeric,
    delta_pct       numeric,
    trailing_value  numeric,
    format          text        NOT NULL,
    direction       text        NOT NULL,
    status          text,
    threshold_green text,
    threshold_yellow text,
    threshold_red   text,
    kpi_owner       text        NOT NULL,
    confidence      text        NOT NULL,
    action_type     text,
    action          text,
    build_id        uuid,
    frozen_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (snapshot_month, metric_name, dimension_name, dimension_value)
);
