//! The numbers operators watch, read cheaply from the database (each query walks an index,
//! not a table): what waits in the outbox, the reminder schedule and the delivery queue.

use anyhow::Context;
use chrono::{DateTime, Utc};

use super::Store;

/// Outbox rows not yet published.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct OutboxWaiting {
    pub rows: i64,
    /// When the oldest of them was written.
    pub oldest: Option<DateTime<Utc>>,
}

impl Store {
    /// # Errors
    /// A database failure.
    pub async fn outbox_waiting(&self) -> anyhow::Result<OutboxWaiting> {
        let rows = self.outbox_backlog().await?;
        // Ids grow with commits (see the relay), so the lowest waiting id is the oldest row.
        let oldest: Option<(String,)> = sqlx::query_as(
            "SELECT created_at FROM outbox WHERE delivered_at IS NULL AND quarantined_at IS NULL ORDER BY id LIMIT 1",
        )
        .fetch_optional(&self.reader)
        .await
        .context("read the oldest outbox row")?;
        Ok(OutboxWaiting {
            rows,
            oldest: oldest.and_then(|(at,)| crate::time::parse(&at)),
        })
    }

    /// Reminders waiting for their moment.
    ///
    /// # Errors
    /// A database failure.
    pub async fn reminders_pending(&self) -> anyhow::Result<i64> {
        self.count("SELECT COUNT(*) FROM reminder_schedule WHERE state = 'pending'")
            .await
            .context("count pending reminders")
    }

    /// Webhook deliveries waiting to be sent or retried.
    ///
    /// # Errors
    /// A database failure.
    pub async fn deliveries_waiting(&self) -> anyhow::Result<i64> {
        self.count("SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'")
            .await
            .context("count waiting deliveries")
    }

    /// When the consumer `name` last applied an event (a scan of its inbox rows: for an
    /// operator's question, not a probe).
    ///
    /// # Errors
    /// A database failure.
    pub async fn last_applied(&self, name: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
        let (at,): (Option<String>,) = sqlx::query_as("SELECT MAX(processed_at) FROM inbox WHERE consumer = $1")
            .bind(name)
            .fetch_one(&self.reader)
            .await
            .context("read the inbox")?;
        Ok(at.as_deref().and_then(crate::time::parse))
    }

    async fn count(&self, sql: &str) -> Result<i64, sqlx::Error> {
        let (count,): (i64,) = sqlx::query_as(sql).fetch_one(&self.reader).await?;
        Ok(count)
    }
}
