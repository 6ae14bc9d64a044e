-- What a monthly pack shows beside the month's frozen KPI values, frozen with them so a past
-- pack reproduces: the reporting calendar of the mart it was frozen from (how far the data
-- ran, the latest complete and closed months, when that mart was published), each KPI's
-- trend over the months up to the pack's month, and the forward-looking KPIs (pipeline
-- coverage) as they stood for the quarter in progress.
CREATE TABLE ops.kpi_snapshot_context (
    snapshot_month         date        PRIMARY KEY
                           CHECK (snapshot_month = date_trunc('month', snapshot_month)),
    data_through           date,
    latest_complete_month  date,
    closed_month           date,
    published_at           timestamptz,
    -- metric_name -> [[period_start, value], ...], oldest first, overall values by month
    trends                 jsonb       NOT NULL DEFAULT '{}'::jsonb,
    -- [{metric_name, label, period_label, dimension_label, display_value, status, ...}]
    forward                jsonb       NOT NULL DEFAULT '[]'::jsonb,
    frozen_at              timestamptz NOT NULL DEFAULT now()
);
