-- What each user holds against their quotas: open tasks, and reminders across them. Kept by a
-- trigger in the transaction of every write to tasks, whoever makes it (API, recurrence,
-- deletes), so a quota check reads one row instead of counting the user's tasks. The trigger
-- is deferred to the commit, so the row is locked only while the transaction commits: a
-- consumer's batch that touches many users' tasks does not hold their rows (and their API
-- writes) for the whole batch.
CREATE TABLE user_holdings (
    user_id    TEXT COLLATE "C" PRIMARY KEY,
    open_tasks BIGINT NOT NULL,
    reminders  BIGINT NOT NULL
);

INSERT INTO user_holdings (user_id, open_tasks, reminders)
SELECT user_id, COUNT(*), SUM(json_array_length(reminders::json)) FROM tasks WHERE status = 'open' GROUP BY user_id;

CREATE FUNCTION tasks_holdings() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    open_delta BIGINT := 0;
    reminder_delta BIGINT := 0;
    owner TEXT;
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.status = 'open' THEN
        open_delta := open_delta - 1;
        reminder_delta := reminder_delta - json_array_length(OLD.reminders::json);
        owner := OLD.user_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.status = 'open' THEN
        open_delta := open_delta + 1;
        reminder_delta := reminder_delta + json_array_length(NEW.reminders::json);
        owner := NEW.user_id;
    END IF;
    IF open_delta <> 0 OR reminder_delta <> 0 THEN
        INSERT INTO user_holdings (user_id, open_tasks, reminders) VALUES (owner, open_delta, reminder_delta)
        ON CONFLICT (user_id) DO UPDATE SET
            open_tasks = user_holdings.open_tasks + excluded.open_tasks,
            reminders = user_holdings.reminders + excluded.reminders;
    END IF;
    RETURN NULL;
END
$$;

-- A task's owner never changes; only its status and reminders move its holdings.
CREATE CONSTRAINT TRIGGER tasks_holdings AFTER INSERT OR DELETE OR UPDATE OF status, reminders ON tasks
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION tasks_holdings();
