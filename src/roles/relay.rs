//! The outbox relay: publishes committed outbox rows to Kafka, in order, at least once.
//!
//! Ordering argument. A task's writes hold its row lock (PostgreSQL) or the single writer
//! (SQLite) from read to commit, so a task's outbox rows get increasing ids in commit
//! order. Only the holder of the `outbox-relay` lease publishes; it sends pending rows in
//! id order as one batch to the idempotent producer (acks=all, which keeps per-partition
//! order across retries) and marks delivered only the rows before the first failure. A
//! failed row and everything after it are sent again, so a consumer may see a duplicate
//! (absorbed by its inbox) but never a later version first. A relay that loses its lease
//! mid-batch can at worst repeat records the new holder also sends: duplicates, not loss.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::bus::{record_headers, Kafka, Outgoing, Publisher};
use crate::events::Topic;
use crate::store::{Backend, OutboxRow, Store, OUTBOX_CHANNEL};

const LEASE: &str = "outbox-relay";
const LEASE_TTL: TimeDelta = TimeDelta::seconds(15);
const PRUNE_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct RelaySettings {
    pub batch_size: i64,
    /// Delivered rows are kept this long for inspection, then deleted.
    pub keep_delivered: TimeDelta,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            batch_size: 1_000,
            keep_delivered: TimeDelta::hours(1),
        }
    }
}

pub struct Relay {
    store: Store,
    kafka: Kafka,
    publisher: Publisher,
    settings: RelaySettings,
    holder: String,
}

impl Relay {
    pub fn new(store: Store, kafka: Kafka, publisher: Publisher, settings: RelaySettings) -> Self {
        // A restarted relay with a stable instance id takes its own lease back at once.
        let holder = kafka
            .settings()
            .instance_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        Self {
            store,
            kafka,
            publisher,
            settings,
            holder,
        }
    }

    /// Publishes until `shutdown`; `database_url` lets a PostgreSQL relay hear other
    /// processes' commits.
    ///
    /// # Errors
    /// Never in normal operation: failures are logged and retried.
    pub async fn run(mut self, database_url: &str, shutdown: CancellationToken) -> anyhow::Result<()> {
        let wake = self.store.outbox_signal();
        if self.store.backend() == Backend::Postgres {
            tokio::spawn(listen(database_url.to_owned(), wake.clone(), shutdown.clone()));
        }
        let mut backoff = Duration::from_millis(100);
        let mut renewed: Option<Instant> = None;
        let mut pruned = Instant::now();
        tracing::info!(holder = %self.holder, "relay started");
        while !shutdown.is_cancelled() {
            match self.step(&mut renewed).await {
                Ok(Step::Published) => backoff = Duration::from_millis(100),
                Ok(Step::Idle) => wait(&wake, Duration::from_secs(1), &shutdown).await,
                Ok(Step::NotLeader) => wait(&Notify::new(), Duration::from_secs(2), &shutdown).await,
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), retry_in = ?backoff, "relay could not publish; events wait in the outbox");
                    // An idempotent producer whose records timed out may be fenced or out of
                    // sequence with the broker; a fresh one (new producer id) starts clean.
                    match Publisher::new(&self.kafka) {
                        Ok(fresh) => self.publisher = fresh,
                        Err(error) => tracing::warn!(error = format!("{error:#}"), "cannot recreate the producer"),
                    }
                    wait(&Notify::new(), backoff, &shutdown).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            if pruned.elapsed() > PRUNE_EVERY {
                pruned = Instant::now();
                match self.store.prune_outbox(self.settings.keep_delivered).await {
                    Ok(n) if n > 0 => tracing::debug!(rows = n, "pruned delivered outbox rows"),
                    Ok(_) => {}
                    Err(error) => {
                        tracing::warn!(error = format!("{error:#}"), "outbox prune failed")
                    }
                }
            }
        }
        if renewed.is_some() {
            let _ = self.store.release_lease(LEASE, &self.holder).await;
        }
        tracing::info!("relay stopped");
        Ok(())
    }

    async fn step(&self, renewed: &mut Option<Instant>) -> anyhow::Result<Step> {
        let due = renewed.is_none_or(|at| at.elapsed() > Duration::from_secs(5));
        if due {
            if !self.store.acquire_lease(LEASE, &self.holder, LEASE_TTL).await? {
                if renewed.take().is_some() {
                    tracing::warn!("relay lost its lease; another relay publishes now");
                }
                return Ok(Step::NotLeader);
            }
            *renewed = Some(Instant::now());
        }
        let rows = self.store.pending_outbox(self.settings.batch_size).await?;
        if rows.is_empty() {
            return Ok(Step::Idle);
        }
        let delivered = self.publish(&rows).await;
        let ids: Vec<i64> = rows.iter().take(delivered).map(|r| r.id).collect();
        self.store.mark_delivered(&ids).await?;
        if delivered < rows.len() {
            anyhow::bail!("{} of {} records not acknowledged", rows.len() - delivered, rows.len());
        }
        tracing::debug!(records = rows.len(), "published");
        Ok(Step::Published)
    }

    /// Sends the batch; returns how many leading rows the broker acknowledged.
    async fn publish(&self, rows: &[OutboxRow]) -> usize {
        let names: Vec<String> = rows
            .iter()
            .map(|r| Topic::from_base_name(&r.topic).map_or_else(|| r.topic.clone(), |t| self.kafka.topics.name(t)))
            .collect();
        let records = rows
            .iter()
            .zip(&names)
            .map(|(row, topic)| Outgoing {
                topic,
                key: &row.record_key,
                payload: row.payload.as_bytes(),
                headers: record_headers(&row.header_pairs()),
            })
            .collect();
        let results = self.publisher.send_all(records).await;
        let delivered = results.iter().take_while(|r| r.is_ok()).count();
        if let Some(Err(error)) = results.get(delivered) {
            tracing::warn!(%error, "first unacknowledged record");
        }
        delivered
    }
}

enum Step {
    Published,
    Idle,
    NotLeader,
}

async fn wait(wake: &Notify, timeout: Duration, shutdown: &CancellationToken) {
    tokio::select! {
        () = wake.notified() => {},
        () = tokio::time::sleep(timeout) => {},
        () = shutdown.cancelled() => {},
    }
}

/// Turns PostgreSQL notifications from any process into wake-ups of this relay.
async fn listen(url: String, wake: Arc<Notify>, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        let result = async {
            let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
            listener.listen(OUTBOX_CHANNEL).await?;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok::<(), sqlx::Error>(()),
                    notification = listener.recv() => { notification?; wake.notify_one(); }
                }
            }
        }
        .await;
        if let Err(error) = result {
            tracing::warn!(%error, "outbox listener lost its connection; reconnecting");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}
