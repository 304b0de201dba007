-- The console's counts per filter (open by priority, overdue, completed) come from this index
-- alone; it also serves the quota's count of open tasks, which used (user_id, status).
DROP INDEX tasks_user_status;
CREATE INDEX tasks_user_status_priority_due ON tasks (user_id, status, priority, due_at);
