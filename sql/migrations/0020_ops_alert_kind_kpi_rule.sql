-- A contract's rule that fired (win rate down 15 % against its 8 weeks before, next quarter's
-- coverage under 3.0x in a segment) is an alert spell of its own, keyed by metric, rule and
-- slice: the KPI owner hears of it once per spell, like a KPI in red.
ALTER TABLE ops.alert_spells DROP CONSTRAINT alert_spells_alert_kind_check;
ALTER TABLE ops.alert_spells ADD CONSTRAINT alert_spells_alert_kind_check
    CHECK (alert_kind IN ('kpi_red', 'kpi_rule', 'stale_source', 'stale_mart', 'refresh_failed',
                          'scheduler_down'));
