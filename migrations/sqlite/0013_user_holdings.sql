-- What each user holds against their quotas: open tasks, and reminders across them. Kept by
-- triggers in the transaction of every write to tasks, whoever makes it (API, recurrence,
-- deletes), so a quota check reads one row instead of counting the user's tasks.
CREATE TABLE user_holdings (
    user_id    TEXT PRIMARY KEY,
    open_tasks INTEGER NOT NULL,
    reminders  INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO user_holdings (user_id, open_tasks, reminders)
SELECT user_id, COUNT(*), SUM(json_array_length(reminders)) FROM tasks WHERE status = 'open' GROUP BY user_id;

CREATE TRIGGER tasks_holdings_insert AFTER INSERT ON tasks WHEN new.status = 'open' BEGIN
    INSERT INTO user_holdings (user_id, open_tasks, reminders)
    VALUES (new.user_id, 1, json_array_length(new.reminders))
    ON CONFLICT (user_id) DO UPDATE SET open_tasks = open_tasks + 1, reminders = reminders + excluded.reminders;
END;

CREATE TRIGGER tasks_holdings_delete AFTER DELETE ON tasks WHEN old.status = 'open' BEGIN
    UPDATE user_holdings SET open_tasks = open_tasks - 1, reminders = reminders - json_array_length(old.reminders)
    WHERE user_id = old.user_id;
END;

-- A task's owner never changes; only its status and reminders move its holdings.
CREATE TRIGGER tasks_holdings_update AFTER UPDATE OF status, reminders ON tasks
WHEN old.status = 'open' OR new.status = 'open' BEGIN
    INSERT INTO user_holdings (user_id, open_tasks, reminders)
    VALUES (
        new.user_id,
        (new.status = 'open') - (old.status = 'open'),
        (CASE WHEN new.status = 'open' THEN json_array_length(new.reminders) ELSE 0 END)
            - (CASE WHEN old.status = 'open' THEN json_array_length(old.reminders) ELSE 0 END)
    )
    ON CONFLICT (user_id) DO UPDATE SET
        open_tasks = open_tasks + excluded.open_tasks,
        reminders = reminders + excluded.reminders;
END;
