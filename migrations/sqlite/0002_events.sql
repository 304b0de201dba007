-- Transactional outbox: events written in the same transaction as the change they describe.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    topic        TEXT NOT NULL,      -- logical topic name; the relay adds the configured prefix
    record_key   TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    event_type   TEXT NOT NULL,
    payload      TEXT NOT NULL,
    headers      TEXT NOT NULL,      -- JSON array of [name, value]
    created_at   TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE delivered_at IS NOT NULL;

-- Inbox: the events each consumer has applied, written with the effect.
CREATE TABLE inbox (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);

-- The audit role's append-only history of task events.
CREATE TABLE audit_log (
    event_id     TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    task_id      TEXT NOT NULL,
    task_version INTEGER NOT NULL,
    event_type   TEXT NOT NULL,
    occurred_at  TEXT NOT NULL,
    payload      TEXT NOT NULL,
    recorded_at  TEXT NOT NULL
);
CREATE INDEX audit_log_task ON audit_log (user_id, task_id, task_version);

-- Time-limited leadership, e.g. of the outbox relay.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
