-- The decision log: what a forum decided about a KPI breach, who owns the action and by when.
-- Open and overdue actions head the next reporting pack ("start every meeting with open
-- actions"). Written by `revenue-os decisions`.
CREATE TABLE ops.decision_log (
    decision_id     bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    decided_on      date        NOT NULL,
    forum           text        NOT NULL CHECK (forum <> ''),
    owner           text        NOT NULL CHECK (owner <> ''),
    metric_name     text        NOT NULL,
    trigger         text        NOT NULL CHECK (trigger <> ''),
    action_type     text        NOT NULL
                    CHECK (action_type IN ('investigate', 'mitigate', 'reallocate', 'escalate')),
    action          text        NOT NULL CHECK (action <> ''),
    due_on          date        NOT NULL,
    success_metric  text        NOT NULL CHECK (success_metric <> ''),
    status          text        NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'dropped')),
    closed_on       date,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (due_on >= decided_on),
    CHECK ((status = 'open') = (closed_on IS NULL))
);

CREATE INDEX decision_log_open_idx ON ops.decision_log (due_on) WHERE status = 'open';
