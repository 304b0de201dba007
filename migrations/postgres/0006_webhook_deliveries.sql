-- Webhook deliveries of fired reminders: the notifier writes one in the transaction of the
-- reminder.fired event and moves on; the delivery worker sends it, retries it and records the
-- outcome, so a slow or failing receiver never holds the task-reminders partition.
CREATE TABLE webhook_deliveries (
    reminder_id     TEXT COLLATE "C" PRIMARY KEY, -- also the X-Taskstream-Delivery id: one per reminder
    user_id         TEXT NOT NULL,
    task_id         TEXT NOT NULL,
    task_version    BIGINT NOT NULL,    -- that of the reminder.fired (for delivered/failed)
    url             TEXT NOT NULL,      -- the user's webhook URL when the reminder fired
    host            TEXT NOT NULL,      -- scheme://host[:port]: key of the per-host cap and breaker
    payload         TEXT NOT NULL,      -- the JSON body, signed at each send
    state           TEXT NOT NULL,      -- pending | delivered | failed
    attempts        BIGINT NOT NULL,    -- sends started (a claim counts one)
    next_attempt_at TEXT COLLATE "C" NOT NULL,     -- when it is due; while claimed, when the claim runs out
    lease           TEXT,               -- the claim of the worker sending it, if any
    last_error      TEXT,               -- redacted: a URL appears as scheme://host[:port]
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
