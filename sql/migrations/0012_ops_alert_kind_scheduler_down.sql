-- A stopped Airflow scheduler is an alert spell too. The scheduler watch (`revenue-os
-- watch-scheduler`, a process outside Airflow) opens a `scheduler_down` spell when it alerts
-- on-call and clears it with the recovery notice, so a watch restarted during an outage
-- neither repeats the alert nor forgets the recovery.
ALTER TABLE ops.alert_spells DROP CONSTRAINT alert_spells_alert_kind_check;
ALTER TABLE ops.alert_spells ADD CONSTRAINT alert_spells_alert_kind_check
    CHECK (alert_kind IN ('kpi_red', 'stale_source', 'stale_mart', 'refresh_failed', 'scheduler_down'));
