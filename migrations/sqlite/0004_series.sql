-- Repeating tasks: every occurrence of a series shares series_id (the first occurrence's id).
ALTER TABLE tasks ADD COLUMN recurrence_mode TEXT NOT NULL DEFAULT 'due';
ALTER TABLE tasks ADD COLUMN exdates TEXT NOT NULL DEFAULT '[]';
ALTER TABLE tasks ADD COLUMN series_id TEXT;
ALTER TABLE tasks ADD COLUMN series_start TEXT;
ALTER TABLE tasks ADD COLUMN occurrence_index INTEGER NOT NULL DEFAULT 1;
ALTER TABLE tasks ADD COLUMN series_ended INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET series_id = id, series_start = CASE WHEN recurrence IS NOT NULL THEN due_at END;
CREATE INDEX tasks_series ON tasks (series_id);

-- Series a user stopped (DELETE …?series=true): no further occurrence is created.
CREATE TABLE stopped_series (
    series_id  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    stopped_at TEXT NOT NULL
);
