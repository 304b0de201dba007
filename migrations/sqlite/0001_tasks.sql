-- Instants are TEXT in one fixed-width UTC form (see src/time.rs), so text order is time order.
CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL,
    priority     INTEGER NOT NULL,
    tags         TEXT NOT NULL,          -- JSON array, the order the user gave
    due_at       TEXT,
    time_zone    TEXT NOT NULL,
    recurrence   TEXT,
    reminders    TEXT NOT NULL,          -- JSON array of reminder texts
    status       TEXT NOT NULL,
    completed_at TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    version      INTEGER NOT NULL
);
CREATE INDEX tasks_user_created  ON tasks (user_id, created_at, id);
CREATE INDEX tasks_user_updated  ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_due      ON tasks (user_id, due_at, id);
CREATE INDEX tasks_user_priority ON tasks (user_id, priority, id);
CREATE INDEX tasks_user_title    ON tasks (user_id, title, id);

-- One row per (task, tag) so that tag filters use an index.
CREATE TABLE task_tags (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    tag     TEXT NOT NULL,
    PRIMARY KEY (task_id, tag)
);
CREATE INDEX task_tags_user_tag ON task_tags (user_id, tag);

CREATE VIRTUAL TABLE tasks_fts USING fts5 (title, description, content = 'tasks', content_rowid = 'rowid');
CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO tasks_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;
CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, title, description) VALUES ('delete', old.rowid, old.title, old.description);
END;
CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title, description ON tasks BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, title, description) VALUES ('delete', old.rowid, old.title, old.description);
    INSERT INTO tasks_fts (rowid, title, description) VALUES (new.rowid, new.title, new.description);
END;

-- Idempotency-Key: the first response to a (user, key), replayed for retries.
CREATE TABLE idempotency_keys (
    user_id         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response_status INTEGER,
    response_body   TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
