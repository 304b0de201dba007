-- Instants are TEXT in one fixed-width UTC form (see src/time.rs), the same on both
-- backends, so one repository layer serves SQLite and PostgreSQL. Sort keys use the "C"
-- collation so that order is byte order, as in SQLite.
CREATE TABLE tasks (
    id           TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL,
    title        TEXT COLLATE "C" NOT NULL,
    description  TEXT NOT NULL,
    priority     BIGINT NOT NULL,
    tags         TEXT NOT NULL,
    due_at       TEXT COLLATE "C",
    time_zone    TEXT NOT NULL,
    recurrence   TEXT,
    reminders    TEXT NOT NULL,
    status       TEXT NOT NULL,
    completed_at TEXT,
    created_at   TEXT COLLATE "C" NOT NULL,
    updated_at   TEXT COLLATE "C" NOT NULL,
    version      BIGINT NOT NULL,
    search       tsvector GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || description)) STORED
);
CREATE INDEX tasks_user_created  ON tasks (user_id, created_at, id);
CREATE INDEX tasks_user_updated  ON tasks (user_id, updated_at, id);
CREATE INDEX tasks_user_due      ON tasks (user_id, due_at, id);
CREATE INDEX tasks_user_priority ON tasks (user_id, priority, id);
CREATE INDEX tasks_user_title    ON tasks (user_id, title, id);
CREATE INDEX tasks_search        ON tasks USING GIN (search);

CREATE TABLE task_tags (
    task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    tag     TEXT NOT NULL,
    PRIMARY KEY (task_id, tag)
);
CREATE INDEX task_tags_user_tag ON task_tags (user_id, tag);

CREATE TABLE idempotency_keys (
    user_id         TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    response_status BIGINT,
    response_body   TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
