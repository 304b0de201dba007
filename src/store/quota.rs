//! What one user may hold: open tasks, and reminders across them. Checked inside the write's
//! own transaction after its statements (a read first would make SQLite's transaction a
//! reader that cannot wait for the write lock), counting the written state, so on SQLite (one
//! writer) the bound is exact; on PostgreSQL concurrent writes of the same user may pass it by
//! the number in flight.

use anyhow::Context;

use super::rows::Bind;
use super::sql::{fetch_one, Exec};
use super::{Backend, WriteError};
use crate::domain::{Status, Task, UserId};

/// The most one user may hold; `u32::MAX` means no bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    pub open_tasks: u32,
    /// Reminders across the user's open tasks.
    pub reminders: u32,
}

impl Holdings {
    pub const UNBOUNDED: Self = Self {
        open_tasks: u32::MAX,
        reminders: u32::MAX,
    };

    /// Refuses the write of `next` (over `current`, if any), already made in `tx`, when it
    /// took `user` past a quota: a task that became open, or one that gained reminders.
    pub(super) async fn admit(
        self,
        tx: &mut dyn Exec,
        backend: Backend,
        user: &UserId,
        current: Option<&Task>,
        next: &Task,
    ) -> Result<(), WriteError> {
        if next.status != Status::Open {
            return Ok(());
        }
        let opens = current.is_none_or(|c| c.status != Status::Open);
        if opens
            && self.open_tasks != u32::MAX
            && open_tasks(tx, user, self.open_tasks).await? > i64::from(self.open_tasks)
        {
            return Err(WriteError::QuotaExceeded(format!(
                "one user may have at most {} open tasks; complete or delete some first",
                self.open_tasks
            )));
        }
        let before = current
            .filter(|c| c.status == Status::Open)
            .map_or(0, |c| c.content.reminders.len());
        let gains = next.content.reminders.len() > before;
        if gains
            && self.reminders != u32::MAX
            && reminders(tx, backend, user, self.reminders).await? > i64::from(self.reminders)
        {
            return Err(WriteError::QuotaExceeded(format!(
                "one user may have at most {} reminders across their open tasks; remove some first",
                self.reminders
            )));
        }
        Ok(())
    }
}

/// The user's open tasks, counted no further than one past `cap` (from an index alone).
async fn open_tasks(tx: &mut dyn Exec, user: &UserId, cap: u32) -> anyhow::Result<i64> {
    let sql = "SELECT COUNT(*) FROM (SELECT 1 FROM tasks WHERE user_id = $1 AND status = 'open' LIMIT $2) capped";
    count(tx, sql, user, cap).await.context("count the user's open tasks")
}

/// The reminders across the user's open tasks, summed over no more than one past `cap` tasks
/// (each has at least one, so the sum is past `cap` whenever the tasks are).
async fn reminders(tx: &mut dyn Exec, backend: Backend, user: &UserId, cap: u32) -> anyhow::Result<i64> {
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM (SELECT {} AS n FROM tasks \
         WHERE user_id = $1 AND status = 'open' AND reminders <> '[]' LIMIT $2) capped",
        backend.json_array_length("reminders")
    );
    count(tx, &sql, user, cap).await.context("count the user's reminders")
}

/// Runs a count of `user`'s rows that reads no more than `cap` + 1 of them.
async fn count(tx: &mut dyn Exec, sql: &str, user: &UserId, cap: u32) -> anyhow::Result<i64> {
    let binds = [Bind::Text(user.as_str().to_owned()), Bind::Int(i64::from(cap) + 1)];
    fetch_one(tx, sql, &binds).await?.columns().int()
}
