-- Quotas count a user's open tasks and pending reminders from an index alone.
CREATE INDEX tasks_user_status ON tasks (user_id, status);
CREATE INDEX reminder_schedule_user_state ON reminder_schedule (user_id, state);

-- Search is scoped to its user inside the full-text index: each indexed word is the owner's
-- key followed by the word (src/store/search.rs), so a query reads its own user's terms only.
-- Rows from before this migration get their words when the migration runs (Store::migrate).
ALTER TABLE tasks ADD COLUMN words TEXT NOT NULL DEFAULT '';
DROP TRIGGER tasks_fts_insert;
DROP TRIGGER tasks_fts_delete;
DROP TRIGGER tasks_fts_update;
DROP TABLE tasks_fts;
CREATE VIRTUAL TABLE tasks_fts USING fts5 (
    words, content = 'tasks', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO tasks_fts (rowid, words) VALUES (new.rowid, new.words);
END;
CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, words) VALUES ('delete', old.rowid, old.words);
END;
CREATE TRIGGER tasks_fts_update AFTER UPDATE OF words ON tasks BEGIN
    INSERT INTO tasks_fts (tasks_fts, rowid, words) VALUES ('delete', old.rowid, old.words);
    INSERT INTO tasks_fts (rowid, words) VALUES (new.rowid, new.words);
END;
