//! The consumer inbox: which events a consumer has applied (promise 3).

use std::collections::HashSet;

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

    /// Records that `consumer` applies each of `event_ids` in `tx` (one statement); returns
    /// those it had not applied before. At most [`MAX_IDS`] ids.
    ///
    /// # Errors
    /// A database failure.
    pub async fn claim_inbox_all(
        &self,
        tx: &mut Tx,
        consumer: &str,
        event_ids: &[String],
    ) -> anyhow::Result<HashSet<String>> {
        if event_ids.is_empty() {
            return Ok(HashSet::new());
        }
        let rows = self.backend.tuples(1, event_ids.len(), 3);
        let sql = format!(
            "INSERT INTO inbox (consumer, processed_at, event_id) VALUES {rows} \
             ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id"
        );
        let processed_at = crate::time::format(crate::time::now());
        let mut query = sqlx::query_as::<_, (String,)>(&sql);
        for id in event_ids {
            query = query.bind(consumer).bind(&processed_at).bind(id);
        }
        let claimed = query.fetch_all(&mut **tx).await.context("write inbox")?;
        Ok(claimed.into_iter().map(|(id,)| id).collect())
    }
}

/// Most event ids one inbox statement takes (a statement's parameters are bounded: SQLite
/// allows 32,766).
pub const MAX_IDS: usize = 1_000;

impl Store {
    /// Whether `consumer` has applied `event_id` already (one read, outside any transaction:
    /// an equality on the inbox key, which every plan answers from the key's index).
    ///
    /// # Errors
    /// A database failure.
    pub async fn inbox_holds(&self, consumer: &str, event_id: &str) -> anyhow::Result<bool> {
        let held: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM inbox WHERE consumer = $1 AND event_id = $2")
            .bind(consumer)
            .bind(event_id)
            .fetch_optional(&self.reader)
            .await
            .context("read inbox")?;
        Ok(held.is_some())
    }
}
