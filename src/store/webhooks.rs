//! Users' reminder webhooks. Their signing secrets are sealed at rest (see `sealing`).

use anyhow::Context;

use super::Store;
use crate::config::Secret;
use crate::domain::UserId;
use crate::sealing::Sealer;

#[derive(Debug, Clone)]
pub struct Webhook {
    pub url: String,
    pub secret: Secret,
    pub created_at: String,
}

impl Store {
    fn sealer(&self) -> anyhow::Result<&Sealer> {
        self.sealer
            .as_deref()
            .context("this store has no secrets key, so it cannot read or write webhook secrets")
    }

    /// Sets (or replaces) the user's webhook.
    ///
    /// # Errors
    /// A database failure, or no secrets key.
    pub async fn put_webhook(&self, user: &UserId, url: &str, secret: &Secret) -> anyhow::Result<Webhook> {
        let sealed = self.sealer()?.seal(secret, user.as_str());
        let created_at = crate::time::format(crate::time::now());
        sqlx::query(
            "INSERT INTO webhooks (user_id, url, secret, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET url = excluded.url, secret = excluded.secret, created_at = excluded.created_at",
        )
        .bind(user.as_str())
        .bind(url)
        .bind(sealed)
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
    /// A database failure, or a secret that does not open with this store's key.
    pub async fn webhook(&self, user: &str) -> anyhow::Result<Option<Webhook>> {
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT url, secret, created_at FROM webhooks WHERE user_id = $1")
                .bind(user)
                .fetch_optional(&self.reader)
                .await
                .context("read webhook")?;
        row.map(|(url, stored, created_at)| {
            Ok(Webhook {
                url,
                secret: self.sealer()?.open(&stored, user)?,
                created_at,
            })
        })
        .transpose()
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

    /// Seals the secrets stored before sealing existed; returns how many.
    ///
    /// # Errors
    /// A database failure, or no secrets key.
    pub async fn seal_stored_webhook_secrets(&self) -> anyhow::Result<u64> {
        let sealer = self.sealer()?;
        let rows: Vec<(String, String)> = sqlx::query_as("SELECT user_id, secret FROM webhooks")
            .fetch_all(&self.writer)
            .await
            .context("read webhook secrets")?;
        let mut sealed = 0;
        for (user, stored) in rows.iter().filter(|(_, stored)| !Sealer::is_sealed(stored)) {
            // Only a row still holding that plain value is changed (a PUT may have come between).
            let done = sqlx::query("UPDATE webhooks SET secret = $1 WHERE user_id = $2 AND secret = $3")
                .bind(sealer.seal(&Secret::new(stored.as_str()), user))
                .bind(user)
                .bind(stored)
                .execute(&self.writer)
                .await
                .context("seal a webhook secret")?;
            sealed += done.rows_affected();
        }
        Ok(sealed)
    }
}
