-- The scheduler's durable schedule: one row per task, reminder and occurrence (the id is
-- "<task id>:<index>:<fire_at>"). Timers come from the earliest pending row, not from memory.
CREATE TABLE reminder_schedule (
    id             TEXT PRIMARY KEY,
    task_id        TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    reminder_index INTEGER NOT NULL,
    spec           TEXT NOT NULL,
    occurrence_due TEXT,
    fire_at        TEXT NOT NULL,
    task_version   INTEGER NOT NULL,
    state          TEXT NOT NULL,      -- pending | fired | missed | cancelled | delivered | failed
    fired_at       TEXT,
    late_ms        INTEGER,
    updated_at     TEXT NOT NULL
);
CREATE INDEX reminder_schedule_due ON reminder_schedule (state, fire_at);
CREATE INDEX reminder_schedule_task ON reminder_schedule (task_id);

-- The newest task version whose reminder event the scheduler applied: older ones are ignored.
CREATE TABLE reminder_versions (
    task_id TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);

-- Users' webhooks for reminders (the secret signs each delivery).
CREATE TABLE webhooks (
    user_id    TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- One delivery per reminder and channel.
CREATE TABLE reminder_deliveries (
    reminder_id  TEXT NOT NULL,
    channel      TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (reminder_id, channel)
);
