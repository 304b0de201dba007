//! Reading the audit role's history.

use anyhow::Context;
use uuid::Uuid;

use super::Store;
use crate::domain::UserId;

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
