//! Users' reminder webhooks.

use anyhow::Context;

use super::Store;
use crate::config::Secret;
use crate::domain::UserId;

#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: Secret,
    pub created_at: String,
}

impl Store {
    /// Sets (or replaces) the user's webhook.
    ///
    /// # Errors
    /// A database failure.
    pub async fn put_webhook(&self, user: &UserId, url: &str, secret: &Secret) -> anyhow::Result<Webhook> {
        let created_at = crate::time::format(crate::time::now());
        sqlx::query(
            "INSERT INTO webhooks (user_id, url, secret, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, created_at = excluded.created_at",
        )
        .bind(user.as_str())
        .bind(url)
        .bind(secret.expose())
        .bind(&created_at)
        .execute(&self.writer)
        .await
        .context("store webhook")?;
        Ok(Webhook {
            url: url.to_owned(),
            secret: secret.clone(),
            created_at,
        })
    }

    /// # Errors
    /// A database failure.
    pub async fn webhook(&self, user: &str) -> anyhow::Result<Option<Webhook>> {
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT url, secret, created_at FROM webhooks WHERE user_id = $1")
                .bind(user)
                .fetch_optional(&self.reader)
                .await
                .context("read webhook")?;
        Ok(row.map(|(url, secret, created_at)| Webhook {
            url,
            secret: Secret::new(secret),
            created_at,
        }))
    }

    /// True when there was one to delete.
    ///
    /// # Errors
    /// A database failure.
    pub async fn delete_webhook(&self, user: &UserId) -> anyhow::Result<bool> {
        let done = sqlx::query("DELETE FROM webhooks WHERE user_id = $1")
            .bind(user.as_str())
            .execute(&self.writer)
            .await
            .context("delete webhook")?;
        Ok(done.rows_affected() == 1)
    }
}
