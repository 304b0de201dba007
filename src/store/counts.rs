//! How many of a user's tasks each filter of a client would show: open (by priority),
//! overdue, completed. Read from one index (user_id, status, priority, due_at) and no further
//! than [`COUNT_CAP`] rows per status, so an answer costs the same whatever a user holds.

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::Store;
use crate::domain::{Priority, UserId};

/// The most rows counted per status (the default open-task quota): past it a count says
/// "at least" ([`TaskCounts::capped`]).
pub const COUNT_CAP: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskCounts {
    pub open: u32,
    /// Open tasks whose due time has passed.
    pub overdue: u32,
    pub completed: u32,
    /// Open tasks of each priority, lowest first.
    pub open_by_priority: [(Priority, u32); 4],
    /// Whether a status had more than [`COUNT_CAP`] tasks: its counts are lower bounds.
    pub capped: bool,
}

impl Store {
    /// The caller's counts at `now`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn task_counts(&self, user: &UserId, now: DateTime<Utc>) -> anyhow::Result<TaskCounts> {
        let cap = i64::from(COUNT_CAP);
        let open: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT priority, CAST(COUNT(*) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN due_at < $2 THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM (SELECT priority, due_at FROM tasks WHERE user_id = $1 AND status = 'open' LIMIT $3) capped \
             GROUP BY priority",
        )
        .bind(user.as_str())
        .bind(crate::time::format(now))
        .bind(cap + 1)
        .fetch_all(&self.reader)
        .await
        .context("count the user's open tasks")?;
        let (completed,): (i64,) = sqlx::query_as(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM \
             (SELECT 1 FROM tasks WHERE user_id = $1 AND status = 'completed' LIMIT $2) capped",
        )
        .bind(user.as_str())
        .bind(cap + 1)
        .fetch_one(&self.reader)
        .await
        .context("count the user's completed tasks")?;
        Ok(tally(&open, completed))
    }
}

/// The counts from the rows (priority rank, open, overdue) and the completed count, each
/// total held to the cap.
fn tally(open: &[(i64, i64, i64)], completed: i64) -> TaskCounts {
    let capped = |n: i64| u32::try_from(n.clamp(0, i64::from(COUNT_CAP))).unwrap_or(COUNT_CAP);
    let total: i64 = open.iter().map(|(_, n, _)| n).sum();
    let mut counts = TaskCounts {
        open: capped(total),
        overdue: capped(open.iter().map(|(_, _, late)| late).sum()),
        completed: capped(completed),
        open_by_priority: Priority::ALL.map(|p| (p, 0)),
        capped: total > i64::from(COUNT_CAP) || completed > i64::from(COUNT_CAP),
    };
    for (rank, n, _) in open {
        if let Some(slot) = counts.open_by_priority.iter_mut().find(|(p, _)| p.rank() == *rank) {
            slot.1 = capped(*n);
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_the_priorities_and_holds_totals_to_the_cap() {
        let counts = tally(&[(0, 2, 1), (3, 3, 0)], 7);
        assert_eq!(
            (counts.open, counts.overdue, counts.completed, counts.capped),
            (5, 1, 7, false)
        );
        let by: Vec<u32> = counts.open_by_priority.iter().map(|(_, n)| *n).collect();
        assert_eq!(by, vec![2, 0, 0, 3]);
        let full = tally(&[(2, 10_001, 0)], 0);
        assert_eq!((full.open, full.capped), (COUNT_CAP, true));
    }
}
