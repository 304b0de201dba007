//! The audit role's history: written a batch of events at a time, read per task.

use anyhow::Context;
use uuid::Uuid;

use super::{Backend, Store, Tx};
use crate::domain::UserId;
use crate::events::Event;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    pub event_id: String,
    pub event_type: String,
    pub task_version: i64,
    pub occurred_at: String,
    pub payload: String,
}

impl Store {
    /// The recorded events of the caller's task, oldest first (also after deletion).
    ///
    /// # Errors
    /// A database failure.
    pub async fn task_history(&self, user: &UserId, task_id: Uuid) -> anyhow::Result<Vec<AuditEntry>> {
        sqlx::query_as(
            "SELECT event_id, event_type, task_version, occurred_at, payload FROM audit_log \
             WHERE user_id = $1 AND task_id = $2 ORDER BY task_version, event_id",
        )
        .bind(user.as_str())
        .bind(task_id.to_string())
        .fetch_all(&self.reader)
        .await
        .context("read task history")
    }
}

/// Most events one history statement takes (8 parameters each, within SQLite's 32,766).
pub const HISTORY_MAX_ROWS: usize = 1_000;

/// Appends one history row per event, each with its encoded payload, in one statement.
/// At most [`HISTORY_MAX_ROWS`] rows.
///
/// # Errors
/// A database failure (an event already recorded included).
pub async fn append_history(tx: &mut Tx, rows: &[(&Event, String)]) -> anyhow::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let values = Backend::of(tx).tuples(1, rows.len(), 8);
    let sql = format!(
        "INSERT INTO audit_log (event_id, user_id, task_id, task_version, event_type, occurred_at, payload, recorded_at) \
         VALUES {values}"
    );
    let recorded_at = crate::time::format(crate::time::now());
    let mut query = sqlx::query(&sql);
    for (event, payload) in rows {
        let h = &event.header;
        query = query
            .bind(h.event_id.to_string())
            .bind(&h.user_id)
            .bind(h.task_id.to_string())
            .bind(h.task_version)
            .bind(&h.event_type)
            .bind(&h.occurred_at)
            .bind(payload)
            .bind(&recorded_at);
    }
    query.execute(&mut **tx).await.context("write history")?;
    Ok(())
}
