//! What one user may hold: open tasks, and reminders across them. Checked inside the write's
//! own transaction before its statements: the user's `user_holdings` row (kept by triggers on
//! `tasks`, migration 0013) plus what the write adds. One row read, whatever the user holds.
//! On SQLite (one writer) the bound is exact; on PostgreSQL the row is brought up to date at
//! commit (a deferred trigger, so no write holds it longer), and concurrent writes of the same
//! user may pass the bound by the number in flight.

use super::rows::Bind;
use super::sql::Exec;
use super::WriteError;
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

    /// Refuses the write of `next` (over `current`, if any), about to be made in `tx`, when it
    /// would take `user` past a quota: a task that becomes open, or one that gains reminders.
    pub(super) async fn admit(
        self,
        tx: &mut dyn Exec,
        user: &UserId,
        current: Option<&Task>,
        next: &Task,
    ) -> Result<(), WriteError> {
        if next.status != Status::Open || self == Self::UNBOUNDED {
            return Ok(());
        }
        let opens = current.is_none_or(|c| c.status != Status::Open);
        let before = current
            .filter(|c| c.status == Status::Open)
            .map_or(0, |c| c.content.reminders.len());
        let gained = next.content.reminders.len().saturating_sub(before);
        if !opens && gained == 0 {
            return Ok(());
        }
        let (open_tasks, reminders) = held(tx, user).await?;
        if opens && open_tasks + 1 > i64::from(self.open_tasks) {
            return Err(WriteError::QuotaExceeded(format!(
                "one user may have at most {} open tasks; complete or delete some first",
                self.open_tasks
            )));
        }
        if gained > 0 && reminders + i64::try_from(gained).unwrap_or(i64::MAX) > i64::from(self.reminders) {
            return Err(WriteError::QuotaExceeded(format!(
                "one user may have at most {} reminders across their open tasks; remove some first",
                self.reminders
            )));
        }
        Ok(())
    }
}

/// What `user` holds before the write in `tx`: (open tasks, their reminders).
async fn held(tx: &mut dyn Exec, user: &UserId) -> anyhow::Result<(i64, i64)> {
    let sql = "SELECT open_tasks, reminders FROM user_holdings WHERE user_id = $1";
    let binds = [Bind::Text(user.as_str().to_owned())];
    let Some(record) = tx.fetch_optional(sql, &binds).await? else {
        return Ok((0, 0));
    };
    let mut columns = record.columns();
    Ok((columns.int()?, columns.int()?))
}
