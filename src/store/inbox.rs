//! The consumer inbox: which events a consumer has applied (promise 3).

use anyhow::Context;
use sqlx::{Any, Transaction};

use super::Store;

pub type Tx = Transaction<'static, Any>;

impl Store {
    /// A write transaction for a consumer's effect. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads before it writes fails with
    /// SQLITE_BUSY when another process committed in between, instead of waiting its turn.
    ///
    /// # Errors
    /// A database failure.
    pub async fn begin(&self) -> anyhow::Result<Tx> {
        match self.backend {
            super::Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            super::Backend::Postgres => self.writer.begin().await,
        }
        .context("begin transaction")
    }

    /// Commits `tx`, then wakes the relays: whatever outbox rows it holds are published at
    /// once. Every transaction that may have appended events ends here.
    ///
    /// # Errors
    /// A database failure; nothing was committed.
    pub async fn commit(&self, tx: Tx) -> anyhow::Result<()> {
        tx.commit().await.context("commit")?;
        self.wake.outbox_written();
        Ok(())
    }

    /// Records that `consumer` applies `event_id` in `tx`; false when it already did.
    ///
    /// # Errors
    /// A database failure.
    pub async fn claim_inbox(&self, tx: &mut Tx, consumer: &str, event_id: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO inbox (consumer, event_id, processed_at) VALUES ($1, $2, $3) \
             ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(consumer)
        .bind(event_id)
        .bind(crate::time::format(crate::time::now()))
        .execute(&mut **tx)
        .await
        .context("write inbox")?;
        Ok(done.rows_affected() == 1)
    }
}

impl Store {
    /// Whether `consumer` has applied `event_id` already (a read, outside any transaction).
    ///
    /// # Errors
    /// A database failure.
    pub async fn inbox_contains(&self, consumer: &str, event_id: &str) -> anyhow::Result<bool> {
        let row: Option<(String,)> = sqlx::query_as("SELECT event_id FROM inbox WHERE consumer = $1 AND event_id = $2")
            .bind(consumer)
            .bind(event_id)
            .fetch_optional(&self.reader)
            .await
            .context("read inbox")?;
        Ok(row.is_some())
    }
}
