-- The decision log closes the loop: what the forum expects the action to change and by when,
-- who carries it out (the assignee) beside who decided (the owner), a link to the analysis
-- behind it, and a success check the refresh evaluates at the due date: a metric contract and
-- a condition on its value (`roas`, `>= 3`). The check writes back what it read (the period,
-- the value, met or not met); a met check closes the action, an unmet one keeps it open and
-- marked, so an action is closed when its success metric says so, not when someone says it
-- is done. Rows recorded before have none of these: readers show the owner as the assignee.
ALTER TABLE ops.decision_log
    ADD COLUMN assignee text CHECK (assignee <> ''),
    ADD COLUMN expected_impact text CHECK (expected_impact <> ''),
    ADD COLUMN evidence_url text CHECK (evidence_url ~ '^https?://[^\s]+$'),
    ADD COLUMN success_metric_name text,
    ADD COLUMN success_condition text CHECK (success_condition <> ''),
    ADD COLUMN success_checked_on date,
    ADD COLUMN success_period_grain text,
    ADD COLUMN success_period_start date,
    ADD COLUMN success_value numeric,
    ADD COLUMN success_result text CHECK (success_result IN ('met', 'not_met', 'not_measured')),
    ADD CONSTRAINT decision_log_success_check_named
        CHECK ((success_metric_name IS NULL) = (success_condition IS NULL)),
    ADD CONSTRAINT decision_log_success_checked
        CHECK ((success_result IS NULL) = (success_checked_on IS NULL));
