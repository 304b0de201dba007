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

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::bus::{record_headers, Kafka, Outgoing, Publisher, Refusal};
use crate::events::Topic;
use crate::store::{OutboxRow, Retention, Store};

const LEASE: &str = "outbox-relay";
/// Longer than the producer's delivery timeout (10 s), renewed every 5 s.
const LEASE_TTL: TimeDelta = TimeDelta::seconds(15);
const RENEW_EVERY: Duration = Duration::from_secs(5);
const PRUNE_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct RelaySettings {
    pub batch_size: i64,
    /// Delivered rows are kept this long for inspection, then deleted.
    pub keep_delivered: TimeDelta,
    /// What the relay's housekeeping deletes from the other growing tables.
    pub retention: Retention,
}

impl RelaySettings {
    /// Defaults, with the inbox kept longer than `kafka`'s longest topic retention.
    pub fn for_kafka(kafka: &crate::config::KafkaSettings) -> Self {
        let longest = [
            kafka.events_retention_ms,
            kafka.reminders_retention_ms,
            kafka.recurrence_retention_ms,
            kafka.dlq_retention_ms,
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        Self {
            batch_size: 1_000,
            keep_delivered: TimeDelta::hours(1),
            retention: Retention::for_topics(TimeDelta::milliseconds(longest)),
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

    /// Publishes until `shutdown`, woken by commits of this process and (on PostgreSQL) others.
    ///
    /// # Errors
    /// Never in normal operation: failures are logged and retried.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let wake = self.store.outbox_wakeups(shutdown.clone());
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
                    crate::telemetry::metrics::outbox_error();
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
                self.housekeeping().await;
            }
        }
        if renewed.is_some() {
            let _ = self.store.release_lease(LEASE, &self.holder).await;
        }
        tracing::info!("relay stopped");
        Ok(())
    }

    /// Deletes delivered outbox rows and what the other tables no longer need.
    async fn housekeeping(&self) {
        match self.store.prune_outbox(self.settings.keep_delivered).await {
            Ok(n) if n > 0 => tracing::debug!(rows = n, "pruned delivered outbox rows"),
            Ok(_) => {}
            Err(error) => tracing::warn!(error = format!("{error:#}"), "outbox prune failed"),
        }
        match self.store.prune(&self.settings.retention).await {
            Ok(pruned) if pruned.total() > 0 => tracing::info!(?pruned, "pruned finished rows"),
            Ok(_) => {}
            Err(error) => tracing::warn!(error = format!("{error:#}"), "prune failed"),
        }
    }

    async fn step(&self, renewed: &mut Option<Instant>) -> anyhow::Result<Step> {
        let due = renewed.is_none_or(|at| at.elapsed() > RENEW_EVERY);
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
        let Some(results) = self.publish_leased(&rows, renewed).await? else {
            return Ok(Step::NotLeader);
        };
        // Rows in order until the first refusal that may pass on a retry: the acknowledged
        // ones are delivered, the ones refused for good are set aside, and that one and
        // everything after it are sent again (order kept).
        let mut delivered = Vec::new();
        for (row, result) in rows.iter().zip(&results) {
            match result {
                Ok(()) => delivered.push(row.id),
                Err(refusal) if refusal.permanent => {
                    tracing::error!(outbox_id = row.id, event_id = %row.event_id, event_type = %row.event_type, error = %refusal, "the broker refuses this record for good: quarantined");
                    self.store.quarantine_outbox(row.id, &refusal.message).await?;
                    crate::telemetry::metrics::outbox_quarantined();
                }
                Err(refusal) => {
                    self.store.mark_delivered(&delivered).await?;
                    count_published(&rows, &delivered);
                    anyhow::bail!("record {} not acknowledged: {refusal}", row.id);
                }
            }
        }
        self.store.mark_delivered(&delivered).await?;
        count_published(&rows, &delivered);
        tracing::debug!(records = rows.len(), "published");
        Ok(Step::Published)
    }

    /// Publishes while renewing the lease, so a batch that takes long (the broker slow or
    /// away, up to the delivery timeout) is never published by two relays at once. `None`
    /// when the lease was lost meanwhile: nothing is marked, the new holder sends the rows
    /// again (records of this batch still in flight can only be duplicates, which the
    /// consumers' inboxes absorb).
    async fn publish_leased(
        &self,
        rows: &[OutboxRow],
        renewed: &mut Option<Instant>,
    ) -> anyhow::Result<Option<Vec<Result<(), Refusal>>>> {
        let publishing = self.publish(rows);
        tokio::pin!(publishing);
        loop {
            tokio::select! {
                results = &mut publishing => return Ok(Some(results)),
                () = tokio::time::sleep(RENEW_EVERY) => {
                    if !self.store.acquire_lease(LEASE, &self.holder, LEASE_TTL).await? {
                        tracing::warn!("relay lost its lease during a batch; another relay publishes now");
                        *renewed = None;
                        return Ok(None);
                    }
                    *renewed = Some(Instant::now());
                }
            }
        }
    }

    /// Sends the batch; result `i` is row `i`'s.
    async fn publish(&self, rows: &[OutboxRow]) -> Vec<Result<(), Refusal>> {
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
        self.publisher.send_all(records).await
    }
}

/// Counts the rows marked delivered, by topic (`delivered` is in row order, ids ascending).
fn count_published(rows: &[OutboxRow], delivered: &[i64]) {
    let mut by_topic: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for row in rows.iter().filter(|row| delivered.binary_search(&row.id).is_ok()) {
        *by_topic.entry(row.topic.as_str()).or_default() += 1;
    }
    for (topic, count) in by_topic {
        crate::telemetry::metrics::outbox_published(topic, count);
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
