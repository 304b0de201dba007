-- Quotas count a user's open tasks and pending reminders from an index alone.
CREATE INDEX tasks_user_status ON tasks (user_id, status);
CREATE INDEX reminder_schedule_user_state ON reminder_schedule (user_id, state);

-- Search is scoped to its user inside the full-text index: each indexed word is the owner's
-- key followed by the word (src/store/search.rs), so a query reads its own user's terms only.
-- Rows from before this migration get their words when the migration runs (Store::migrate).
ALTER TABLE tasks ADD COLUMN words TEXT NOT NULL DEFAULT '';
DROP INDEX tasks_search;
ALTER TABLE tasks DROP COLUMN search;
ALTER TABLE tasks ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', words)) STORED;
CREATE INDEX tasks_search ON tasks USING GIN (search);
