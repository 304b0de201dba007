//! Deleting what no longer serves a purpose, so no table grows without end: inbox rows older
//! than any record that could still be redelivered, idempotency keys past their promise, and
//! reminders long finished.

use anyhow::Context;
use chrono::TimeDelta;

use super::Store;

/// How long each kind of row is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Longer than any topic (DLQs included) keeps a record that could be delivered again,
    /// so the inbox still recognises every possible duplicate.
    pub inbox: TimeDelta,
    /// `Idempotency-Key` promises a safe retry for 24 h.
    pub idempotency: TimeDelta,
    /// Reminders delivered, failed, missed or cancelled, with their delivery records and
    /// finished webhook deliveries.
    pub finished_reminders: TimeDelta,
}

impl Retention {
    /// The inbox kept for the longest topic retention plus a day; finished reminders at least
    /// as long, and at least 30 days.
    pub fn for_topics(longest_topic_retention: TimeDelta) -> Self {
        let inbox = longest_topic_retention + TimeDelta::days(1);
        Self {
            inbox,
            idempotency: TimeDelta::hours(24),
            finished_reminders: inbox.max(TimeDelta::days(30)),
        }
    }
}

/// Rows deleted by one pass.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub inbox: u64,
    pub idempotency_keys: u64,
    pub reminders: u64,
}

impl Pruned {
    pub fn total(&self) -> u64 {
        self.inbox + self.idempotency_keys + self.reminders
    }
}

impl Store {
    /// One pass of deletions by `keep`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn prune(&self, keep: &Retention) -> anyhow::Result<Pruned> {
        let now = crate::time::now();
        let before = |age: TimeDelta| crate::time::format(now - age);
        let inbox = self
            .delete("DELETE FROM inbox WHERE processed_at < $1", &before(keep.inbox))
            .await
            .context("prune the inbox")?;
        let idempotency_keys = self
            .delete(
                "DELETE FROM idempotency_keys WHERE created_at < $1",
                &before(keep.idempotency),
            )
            .await
            .context("prune idempotency keys")?;
        let cutoff = before(keep.finished_reminders);
        self.delete(
            "DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'failed') AND updated_at < $1",
            &cutoff,
        )
        .await
        .context("prune webhook deliveries")?;
        self.delete(
            "DELETE FROM reminder_deliveries WHERE reminder_id IN (SELECT id FROM reminder_schedule \
             WHERE state IN ('delivered', 'failed', 'missed', 'cancelled') AND updated_at < $1)",
            &cutoff,
        )
        .await
        .context("prune reminder deliveries")?;
        let reminders = self
            .delete(
                "DELETE FROM reminder_schedule \
                 WHERE state IN ('delivered', 'failed', 'missed', 'cancelled') AND updated_at < $1",
                &cutoff,
            )
            .await
            .context("prune finished reminders")?;
        Ok(Pruned {
            inbox,
            idempotency_keys,
            reminders,
        })
    }

    async fn delete(&self, sql: &str, cutoff: &str) -> Result<u64, sqlx::Error> {
        Ok(sqlx::query(sql)
            .bind(cutoff)
            .execute(&self.writer)
            .await?
            .rows_affected())
    }
}
