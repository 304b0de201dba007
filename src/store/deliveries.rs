//! The webhook delivery queue: the job the notifier records with each fired reminder of a user
//! with a webhook, and what the delivery worker needs to claim, send and settle it.
//!
//! A job is claimed by pushing its `next_attempt_at` to the end of a claim and writing a
//! `lease` token, in one conditional UPDATE: whoever moves the row first holds it, on both
//! backends (PostgreSQL also skips rows another worker is claiming, `FOR UPDATE SKIP LOCKED`).
//! Only the holder of the lease may settle the job; a claim that runs out (a crashed worker)
//! makes the job due again, so a job is sent at least once, by one worker at a time.

use std::fmt;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{outbox, Backend, Store};
use crate::domain::ReminderState;
use crate::events::Event;
use crate::telemetry::trace::TraceContext;

/// The channel name of webhook deliveries (in reminder_deliveries and the events).
pub const WEBHOOK: &str = "webhook";

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt, or being sent.
    Pending,
    Delivered,
    /// Given up: refused, the webhook gone, or out of attempts.
    Failed,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

impl std::str::FromStr for DeliveryState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| "must be pending, delivered or failed".to_owned())
    }
}

/// What the notifier records for a fired reminder.
pub struct NewDelivery<'a> {
    pub reminder_id: &'a str,
    pub user_id: &'a str,
    pub task_id: Uuid,
    pub task_version: i64,
    /// The user's webhook URL as read when the reminder fired: the one it is sent to.
    pub url: &'a str,
    /// `scheme://host[:port]` of `url`.
    pub host: &'a str,
    pub payload: &'a str,
}

/// A job as stored. Its `Debug` leaves out the URL (it may hold the receiver's token) and the
/// payload.
#[derive(Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub reminder_id: String,
    pub user_id: String,
    pub task_id: String,
    pub task_version: i64,
    pub url: String,
    pub host: String,
    pub payload: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The `traceparent` of the reminder.fired it delivers (none on rows from before).
    pub traceparent: Option<String>,
}

impl fmt::Debug for DeliveryRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryRow")
            .field("reminder_id", &self.reminder_id)
            .field("user_id", &self.user_id)
            .field("host", &self.host)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .field("next_attempt_at", &self.next_attempt_at)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "reminder_id, user_id, task_id, task_version, url, host, payload, state, attempts, \
                       next_attempt_at, last_error, created_at, updated_at, traceparent";

/// A job a worker holds until `lease` is settled or runs out.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub row: DeliveryRow,
    pub lease: String,
}

/// Which due jobs a worker asks for.
pub struct ClaimRequest<'a> {
    pub now: DateTime<Utc>,
    /// How long the claim holds: longer than one send may take.
    pub hold: TimeDelta,
    /// Names the claiming worker; the lease is `<holder>:<random>`.
    pub holder: &'a str,
    /// How many due jobs to look at, oldest due first.
    pub scan: i64,
    /// Users and hosts (`scheme://host[:port]`) not to look at now: at their caps, or behind
    /// an open circuit breaker.
    pub skip_users: &'a [String],
    pub skip_hosts: &'a [String],
}

/// Which jobs an operator means.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub state: Option<DeliveryState>,
    pub user: Option<String>,
    pub reminder: Option<String>,
}

impl DeliveryFilter {
    /// ` AND …` conditions from `$first` on, and their values in order.
    fn conditions(&self, first: usize) -> (String, Vec<String>) {
        let mut sql = String::new();
        let mut values = Vec::new();
        for (column, value) in [
            ("state", self.state.map(|s| s.as_str().to_owned())),
            ("user_id", self.user.clone()),
            ("reminder_id", self.reminder.clone()),
        ] {
            if let Some(value) = value {
                sql.push_str(&format!(" AND {column} = ${}", first + values.len()));
                values.push(value);
            }
        }
        (sql, values)
    }
}

/// `$first, $first+1, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Records a job for `new` in the notifier's transaction, pending and due at once, or
    /// already `failed` with `error`; false when the reminder has one already.
    ///
    /// # Errors
    /// A database failure.
    pub async fn record_webhook_delivery(
        &self,
        tx: &mut super::Tx,
        new: &NewDelivery<'_>,
        error: Option<&str>,
    ) -> anyhow::Result<bool> {
        let now = crate::time::format(crate::time::now());
        let state = if error.is_some() {
            DeliveryState::Failed
        } else {
            DeliveryState::Pending
        };
        let done = sqlx::query(&format!(
            "INSERT INTO webhook_deliveries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $9, $9, $11) \
             ON CONFLICT (reminder_id) DO NOTHING"
        ))
        .bind(new.reminder_id)
        .bind(new.user_id)
        .bind(new.task_id.to_string())
        .bind(new.task_version)
        .bind(new.url)
        .bind(new.host)
        .bind(new.payload)
        .bind(state.as_str())
        .bind(&now)
        .bind(error)
        // The fired reminder's trace: its delivery, however late, goes on in it.
        .bind(TraceContext::current().map(|context| context.header()))
        .execute(&mut **tx)
        .await
        .context("record webhook delivery")?;
        Ok(done.rows_affected() == 1)
    }

    /// Claims due pending jobs for one worker: of the first `request.scan` due ones, those
    /// `pick` accepts (it keeps the worker's caps) and no other worker claims first. Each claim
    /// counts as an attempt.
    ///
    /// # Errors
    /// A database failure.
    pub async fn claim_deliveries(
        &self,
        request: &ClaimRequest<'_>,
        mut pick: impl FnMut(&DeliveryRow) -> bool + Send,
    ) -> anyhow::Result<Vec<Claimed>> {
        let now = crate::time::format(request.now);
        let mut sql =
            format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= $1");
        let mut next = 2;
        for (column, values) in [("user_id", request.skip_users), ("host", request.skip_hosts)] {
            if !values.is_empty() {
                sql.push_str(&format!(" AND {column} NOT IN ({})", placeholders(next, values.len())));
                next += values.len();
            }
        }
        sql.push_str(&format!(
            " ORDER BY next_attempt_at LIMIT {}{}",
            request.scan.max(1),
            self.backend.skip_locked()
        ));
        let mut query = sqlx::query_as::<_, DeliveryRow>(&sql).bind(now.clone());
        for value in request.skip_users.iter().chain(request.skip_hosts) {
            query = query.bind(value.clone());
        }
        // SQLite: read first, so the transaction starts with its write (a read-then-write
        // transaction fails when another process wrote in between); the conditional UPDATE
        // below is what makes a claim exclusive. PostgreSQL: lock the rows read, skipping
        // those another worker holds, so two workers do not wait on each other.
        let (mut tx, candidates) = match self.backend {
            Backend::Sqlite => {
                let candidates = query.fetch_all(&self.reader).await.context("read due deliveries")?;
                (self.begin().await?, candidates)
            }
            Backend::Postgres => {
                let mut tx = self.begin().await?;
                let candidates = query.fetch_all(&mut *tx).await.context("read due deliveries")?;
                (tx, candidates)
            }
        };
        let until = crate::time::format(request.now + request.hold);
        let mut claimed = Vec::new();
        for mut row in candidates {
            if !pick(&row) {
                continue;
            }
            let lease = format!("{}:{}", request.holder, Uuid::new_v4().simple());
            let done = sqlx::query(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, lease = $1, next_attempt_at = $2, updated_at = $3 \
                 WHERE reminder_id = $4 AND state = 'pending' AND next_attempt_at <= $3",
            )
            .bind(&lease)
            .bind(&until)
            .bind(&now)
            .bind(&row.reminder_id)
            .execute(&mut *tx)
            .await
            .context("claim delivery")?;
            if done.rows_affected() == 1 {
                row.attempts += 1;
                row.next_attempt_at.clone_from(&until);
                claimed.push(Claimed { row, lease });
            }
        }
        tx.commit().await.context("commit delivery claims")?;
        Ok(claimed)
    }

    /// Settles a sent job: delivered, with the webhook delivery record, the reminder's state
    /// and `event` (reminder.delivered), in one transaction. False (and nothing written) when
    /// the claim ran out and another worker holds the job now.
    ///
    /// # Errors
    /// A database failure.
    pub async fn delivery_succeeded(&self, job: &Claimed, event: &Event) -> anyhow::Result<bool> {
        self.settle(job, DeliveryState::Delivered, None, None, Some(event))
            .await
    }

    /// Settles a job for good as failed with `error` (redacted), the reminder's state and
    /// `event` (reminder.failed), in one transaction; false when the claim was lost.
    ///
    /// # Errors
    /// A database failure.
    pub async fn delivery_failed(&self, job: &Claimed, error: &str, event: &Event) -> anyhow::Result<bool> {
        self.settle(job, DeliveryState::Failed, Some(error), None, Some(event))
            .await
    }

    /// Puts a job back, due at `at`, remembering `error`; false when the claim was lost.
    ///
    /// # Errors
    /// A database failure.
    pub async fn delivery_retry_at(&self, job: &Claimed, error: &str, at: DateTime<Utc>) -> anyhow::Result<bool> {
        self.settle(job, DeliveryState::Pending, Some(error), Some(at), None)
            .await
    }

    async fn settle(
        &self,
        job: &Claimed,
        state: DeliveryState,
        error: Option<&str>,
        due: Option<DateTime<Utc>>,
        event: Option<&Event>,
    ) -> anyhow::Result<bool> {
        let now = crate::time::now();
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, lease = NULL, last_error = COALESCE($2, last_error), \
             next_attempt_at = $3, updated_at = $4 WHERE reminder_id = $5 AND lease = $6",
        )
        .bind(state.as_str())
        .bind(error)
        .bind(crate::time::format(due.unwrap_or(now)))
        .bind(crate::time::format(now))
        .bind(&job.row.reminder_id)
        .bind(&job.lease)
        .execute(&mut *tx)
        .await
        .context("settle delivery")?;
        if done.rows_affected() != 1 {
            return Ok(false); // dropping the transaction rolls it back
        }
        match state {
            DeliveryState::Delivered => {
                self.record_delivery(&mut tx, &job.row.reminder_id, WEBHOOK).await?;
                self.set_reminder_state(&mut tx, &job.row.reminder_id, ReminderState::Delivered)
                    .await?;
            }
            DeliveryState::Failed => {
                self.set_reminder_state(&mut tx, &job.row.reminder_id, ReminderState::Failed)
                    .await?;
            }
            DeliveryState::Pending => {}
        }
        if let Some(event) = event {
            outbox::append(&mut tx, std::slice::from_ref(event)).await?;
        }
        self.commit(tx).await.context("commit delivery outcome")?;
        Ok(true)
    }

    /// Makes the jobs claimed by `holder` (`<holder>:…` leases) due at once: a worker that
    /// stops with sends unfinished, or restarts under the same instance id, hands them on
    /// without waiting for the claims to run out. Returns how many.
    ///
    /// # Errors
    /// A database failure.
    pub async fn release_deliveries(&self, holder: &str) -> anyhow::Result<u64> {
        let now = crate::time::format(crate::time::now());
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET lease = NULL, next_attempt_at = $1, updated_at = $1 \
             WHERE state = 'pending' AND substr(lease, 1, CAST($3 AS INTEGER)) = $2",
        )
        .bind(&now)
        .bind(format!("{holder}:"))
        .bind(i64::try_from(holder.chars().count() + 1).unwrap_or(i64::MAX))
        .execute(&self.writer)
        .await
        .context("release deliveries")?;
        Ok(done.rows_affected())
    }

    /// When the next pending job not yet due falls due (a claim running out included).
    ///
    /// # Errors
    /// A database failure.
    pub async fn next_delivery_after(&self, now: DateTime<Utc>) -> anyhow::Result<Option<DateTime<Utc>>> {
        let (next,): (Option<String>,) = sqlx::query_as(
            "SELECT MIN(next_attempt_at) FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at > $1",
        )
        .bind(crate::time::format(now))
        .fetch_one(&self.reader)
        .await
        .context("read next delivery time")?;
        Ok(next.as_deref().and_then(crate::time::parse))
    }

    /// Jobs matching `filter`, newest first, at most `limit`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn deliveries(&self, filter: &DeliveryFilter, limit: i64) -> anyhow::Result<Vec<DeliveryRow>> {
        let (conditions, values) = filter.conditions(1);
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_deliveries WHERE 1 = 1{conditions} ORDER BY created_at DESC, reminder_id LIMIT {}",
            limit.max(1)
        );
        let mut query = sqlx::query_as::<_, DeliveryRow>(&sql);
        for value in values {
            query = query.bind(value);
        }
        query.fetch_all(&self.reader).await.context("read deliveries")
    }

    /// Gives failed jobs matching `filter` a new round of attempts, due at once (the operator's
    /// retry). They go to the URL they were recorded with, and only while it is still the
    /// user's webhook. Returns how many.
    ///
    /// # Errors
    /// A database failure.
    pub async fn retry_failed_deliveries(&self, filter: &DeliveryFilter) -> anyhow::Result<u64> {
        let filter = DeliveryFilter {
            state: Some(DeliveryState::Failed),
            ..filter.clone()
        };
        let (conditions, values) = filter.conditions(2);
        let sql = format!(
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, lease = NULL, next_attempt_at = $1, \
             updated_at = $1 WHERE 1 = 1{conditions}"
        );
        let mut query = sqlx::query(&sql).bind(crate::time::format(crate::time::now()));
        for value in values {
            query = query.bind(value);
        }
        let done = query.execute(&self.writer).await.context("retry deliveries")?;
        Ok(done.rows_affected())
    }

    /// Deletes delivered jobs settled more than `delivered` ago and failed ones more than
    /// `failed` ago (the delivery records in reminder_deliveries stay). Returns how many.
    ///
    /// # Errors
    /// A database failure.
    pub async fn prune_deliveries(&self, delivered: TimeDelta, failed: TimeDelta) -> anyhow::Result<u64> {
        let now = crate::time::now();
        let done = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE (state = 'delivered' AND updated_at < $1) \
             OR (state = 'failed' AND updated_at < $2)",
        )
        .bind(crate::time::format(now - delivered))
        .bind(crate::time::format(now - failed))
        .execute(&self.writer)
        .await
        .context("prune deliveries")?;
        Ok(done.rows_affected())
    }
}
