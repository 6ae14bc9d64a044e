-- The KPI snapshots by period grain: the weekly pre-read freezes the week just ended as the
-- monthly pack freezes the month just closed, so a past week's pre-read also says what it
-- said when it was sent. Existing rows are months. A week starts on Monday, as the KPI
-- layer's weeks do (Postgres' date_trunc('week')); a week keeps its 8- and 13-week windows.
ALTER TABLE ops.kpi_snapshots RENAME COLUMN snapshot_month TO period_start;
ALTER TABLE ops.kpi_snapshots DROP CONSTRAINT kpi_snapshots_snapshot_month_check;
ALTER TABLE ops.kpi_snapshots DROP CONSTRAINT kpi_snapshots_pkey;
ALTER TABLE ops.kpi_snapshots
    ADD COLUMN period_grain text NOT NULL DEFAULT 'month'
        CHECK (period_grain IN ('week', 'month')),
    ADD COLUMN trailing_8_week_value numeric,
    ADD COLUMN trailing_13_week_value numeric,
    ADD CONSTRAINT kpi_snapshots_period_start_check
        CHECK (period_start = date_trunc(period_grain, period_start)::date),
    ADD PRIMARY KEY (period_grain, period_start, metric_name, dimension_name, dimension_value);
ALTER TABLE ops.kpi_snapshots ALTER COLUMN period_grain DROP DEFAULT;

ALTER TABLE ops.kpi_snapshot_context RENAME COLUMN snapshot_month TO period_start;
ALTER TABLE ops.kpi_snapshot_context DROP CONSTRAINT kpi_snapshot_context_snapshot_month_check;
ALTER TABLE ops.kpi_snapshot_context DROP CONSTRAINT kpi_snapshot_context_pkey;
ALTER TABLE ops.kpi_snapshot_context
    ADD COLUMN period_grain text NOT NULL DEFAULT 'month'
        CHECK (period_grain IN ('week', 'month')),
    -- Each KPI's status as its contract judges it (a week is not judged on monthly
    -- thresholds): the scorecard's row at the thresholds' grain, as it stood at the freeze.
    -- [{metric_name, period_label, display_value, status, status_label, ...}]
    ADD COLUMN judged jsonb NOT NULL DEFAULT '[]'::jsonb,
    -- The contracts' rules that fired on the period (`kpi_signals`), as they stood at the
    -- freeze: [{metric_name, rule_label, dimension_value, value, change_pct, ...}]
    ADD COLUMN signals jsonb NOT NULL DEFAULT '[]'::jsonb,
    ADD CONSTRAINT kpi_snapshot_context_period_start_check
        CHECK (period_start = date_trunc(period_grain, period_start)::date),
    ADD PRIMARY KEY (period_grain, period_start);
ALTER TABLE ops.kpi_snapshot_context ALTER COLUMN period_grain DROP DEFAULT;
ALTER TABLE ops.kpi_snapshot_context RENAME COLUMN latest_complete_month TO latest_complete_period;
ALTER TABLE ops.kpi_snapshot_context RENAME COLUMN closed_month TO closed_period;
