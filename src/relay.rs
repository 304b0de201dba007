//! The outbox relay: publishes committed outbox rows to Kafka, in order, at least once.
//!
//! Ordering argument. A task's writes hold its row lock (PostgreSQL) or the single writer
//! (SQLite) from read to commit, so a task's outbox rows get increasing ids in commit
//! order: once one of its rows is visible, all its earlier ones are too. Only the holder of
//! the `outbox-relay` lease publishes. It reads pending rows in id order, passing over the
//! rows it has in flight (never "after the last id sent": on PostgreSQL another task's
//! smaller id may commit later), and hands them to one idempotent producer (acks=all, which
//! keeps per-partition order across retries) one after the other, batch after batch. So
//! each task's rows reach the producer in id order, and its key's partition keeps them so.
//! Up to `batch_size × in_flight` rows are out at once, in batches: while the oldest batch
//! waits for the broker, each commit's wake-up reads the rows committed since (passing over
//! those in flight) and hands them on behind it. Batches are marked delivered oldest first
//! (one statement for the oldest and every batch behind it already acknowledged), and only
//! the rows before the first failure. A failed row and everything after it (the rest of its
//! batch and every later batch in flight, dropped unmarked) are read and sent again: a
//! consumer may see a duplicate (absorbed by its inbox) but never a later version first.
//! Batches in flight are thus one larger batch, marked in steps. A relay that loses its lease
//! stops marking and drops its window; at worst it repeats records the new holder also sends:
//! duplicates, not loss.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use futures_util::FutureExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::bus::{record_headers, Kafka, Outgoing, Publisher, Refusal, Sending};
use crate::events::Topic;
use crate::store::{OutboxRow, Retention, Store};

const LEASE: &str = "outbox-relay";
/// Longer than the producer's delivery timeout (10 s), renewed every 5 s.
const LEASE_TTL: TimeDelta = TimeDelta::seconds(15);
const RENEW_EVERY: Duration = Duration::from_secs(5);
const PRUNE_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Rows read and handed to the producer at once.
    pub batch_size: i64,
    /// Rows handed to the producer and not yet acknowledged, at most, in batches' worth
    /// (`batch_size × in_flight`): rows committed while a batch is out are read and enqueued
    /// behind it up to that bound. 1 by default: on Tansu 0.6.0 (the local broker) more
    /// records outstanding made both the relay and an rdkafka producer alone slower
    /// (BENCHMARKS.md, "Relay and consumer batches").
    pub in_flight: usize,
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
            in_flight: 1,
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
        let mut window = VecDeque::new();
        tracing::info!(holder = %self.holder, "relay started");
        while !shutdown.is_cancelled() {
            match self.step(&mut window, &mut renewed, &wake).await {
                Ok(Step::Published) => backoff = Duration::from_millis(100),
                Ok(Step::Idle) => wait(&wake, Duration::from_secs(1), &shutdown).await,
                Ok(Step::NotLeader) => wait(&Notify::new(), Duration::from_secs(2), &shutdown).await,
                Err(error) => {
                    // What was in flight is sent again, after the failed row, in order.
                    window.clear();
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

    /// Renews the lease when due; false when another relay holds it.
    async fn renew_if_due(&self, renewed: &mut Option<Instant>) -> anyhow::Result<bool> {
        if renewed.is_some_and(|at| at.elapsed() < RENEW_EVERY) {
            return Ok(true);
        }
        if !self.store.acquire_lease(LEASE, &self.holder, LEASE_TTL).await? {
            if renewed.take().is_some() {
                tracing::warn!("relay lost its lease; another relay publishes now");
            }
            return Ok(false);
        }
        *renewed = Some(Instant::now());
        Ok(true)
    }

    /// Tops the window up, waits for its oldest batch and marks what the broker took.
    /// `window` holds the batches handed to the producer and not yet marked, oldest first;
    /// it is emptied whenever the relay stops being sure of what follows (an error, a lost
    /// lease), so those rows are read and sent again.
    async fn step(
        &self,
        window: &mut VecDeque<InFlight>,
        renewed: &mut Option<Instant>,
        wake: &Notify,
    ) -> anyhow::Result<Step> {
        if !self.renew_if_due(renewed).await? {
            window.clear();
            return Ok(Step::NotLeader);
        }
        self.fill(window).await?;
        if window.is_empty() {
            return Ok(Step::Idle);
        }
        let Some(results) = self.oldest_acknowledged(window, renewed, wake).await? else {
            window.clear();
            return Ok(Step::NotLeader);
        };
        let oldest = window
            .pop_front()
            .expect("the window holds the batch just acknowledged");
        let (rows, results) = with_acknowledged_behind(window, oldest.rows, results);
        self.settle(&rows, &results).await?;
        Ok(Step::Published)
    }

    /// Reads pending rows past those in flight and hands them to the producer, batch after
    /// batch, until `batch_size × in_flight` rows are out or nothing is pending.
    async fn fill(&self, window: &mut VecDeque<InFlight>) -> anyhow::Result<()> {
        let bound = self.settings.batch_size.max(1) * i64::try_from(self.settings.in_flight.max(1)).unwrap_or(1);
        loop {
            let sent: Vec<i64> = window
                .iter()
                .flat_map(|batch| batch.rows.iter().map(|row| row.id))
                .collect();
            let room = (bound - i64::try_from(sent.len()).unwrap_or(i64::MAX)).min(self.settings.batch_size.max(1));
            if room <= 0 {
                return Ok(());
            }
            let rows = self.store.pending_outbox(room, &sent).await?;
            let last = i64::try_from(rows.len()).unwrap_or(0) < room;
            if !rows.is_empty() {
                let acknowledged = Box::pin(self.enqueue(&rows).await.acknowledged());
                window.push_back(InFlight { rows, acknowledged });
            }
            if last {
                return Ok(());
            }
        }
    }

    /// Marks a batch's acknowledged rows delivered (one statement), in order until the first
    /// refusal that may pass on a retry: the rows refused for good are set aside, and that
    /// one and everything after it (this batch's rest and every later batch in flight, which
    /// the caller drops) are sent again, order kept.
    async fn settle(&self, rows: &[OutboxRow], results: &[Result<(), Refusal>]) -> anyhow::Result<()> {
        let mut delivered = Vec::with_capacity(rows.len());
        for (row, result) in rows.iter().zip(results) {
            match result {
                Ok(()) => delivered.push(row.id),
                Err(refusal) if refusal.permanent => {
                    tracing::error!(outbox_id = row.id, event_id = %row.event_id, event_type = %row.event_type, error = %refusal, "the broker refuses this record for good: quarantined");
                    self.store.quarantine_outbox(row.id, &refusal.message).await?;
                    crate::telemetry::metrics::outbox_quarantined();
                }
                Err(refusal) => {
                    self.store.mark_delivered(&delivered).await?;
                    count_published(rows, &delivered);
                    anyhow::bail!("record {} not acknowledged: {refusal}", row.id);
                }
            }
        }
        self.store.mark_delivered(&delivered).await?;
        count_published(rows, &delivered);
        tracing::debug!(records = rows.len(), "published");
        Ok(())
    }

    /// Waits for the oldest batch's acknowledgements while renewing the lease, so a batch
    /// that takes long (the broker slow or away, up to the delivery timeout) is never
    /// published by two relays at once; meanwhile each commit's wake-up hands the rows
    /// committed since to the producer behind it (they need not wait for this batch to be
    /// acknowledged and marked). `None` when the lease was lost: nothing more is marked, the
    /// new holder sends the rows again (records of this relay still in flight can only be
    /// duplicates, which the consumers' inboxes absorb).
    async fn oldest_acknowledged(
        &self,
        window: &mut VecDeque<InFlight>,
        renewed: &mut Option<Instant>,
        wake: &Notify,
    ) -> anyhow::Result<Option<Vec<Result<(), Refusal>>>> {
        loop {
            let renew_in = renewed.map_or(Duration::ZERO, |at| RENEW_EVERY.saturating_sub(at.elapsed()));
            let oldest = window.front_mut().expect("a batch in flight");
            let woke = tokio::select! {
                results = &mut oldest.acknowledged => return Ok(Some(results)),
                () = tokio::time::sleep(renew_in) => Woke::Renew,
                () = wake.notified() => Woke::Committed,
            };
            match woke {
                Woke::Renew => {
                    if !self.renew_if_due(renewed).await? {
                        return Ok(None);
                    }
                }
                Woke::Committed => self.fill(window).await?,
            }
        }
    }

    /// Hands the batch to the producer in row order; result `i` of the acknowledgements is
    /// row `i`'s.
    async fn enqueue(&self, rows: &[OutboxRow]) -> Sending {
        let names = topic_names(&self.kafka, rows);
        self.publisher.enqueue(records(rows, &names)).await
    }
}

/// The broker topic of each row: its logical topic under this deployment's layout (a row
/// naming no known topic keeps its name).
pub fn topic_names(kafka: &Kafka, rows: &[OutboxRow]) -> Vec<String> {
    rows.iter()
        .map(|r| Topic::from_base_name(&r.topic).map_or_else(|| r.topic.clone(), |t| kafka.topics.name(t)))
        .collect()
}

/// The records that publish `rows`, in row order, to the topics `names` (from [`topic_names`]).
pub fn records<'a>(rows: &'a [OutboxRow], names: &'a [String]) -> Vec<Outgoing<'a>> {
    rows.iter()
        .zip(names)
        .map(|(row, topic)| Outgoing {
            topic,
            key: &row.record_key,
            payload: row.payload.as_bytes(),
            headers: record_headers(&row.header_pairs()),
        })
        .collect()
}

/// A batch handed to the producer, its rows in id order.
struct InFlight {
    rows: Vec<OutboxRow>,
    /// Result `i` is row `i`'s.
    acknowledged: Acknowledgements,
}

type Acknowledgements = Pin<Box<dyn Future<Output = Vec<Result<(), Refusal>>> + Send>>;

/// `rows` (the oldest batch, acknowledged with `results`) and every batch behind it the
/// broker has acknowledged as well, taken out of `window`: one statement marks them all.
/// A commit's wake-up may have sent a batch of a few rows; marking each on its own (a
/// write, a disk sync on SQLite) fell behind at 1,000 events/s and held the window full.
fn with_acknowledged_behind(
    window: &mut VecDeque<InFlight>,
    mut rows: Vec<OutboxRow>,
    mut results: Vec<Result<(), Refusal>>,
) -> (Vec<OutboxRow>, Vec<Result<(), Refusal>>) {
    while let Some(next) = window.front_mut() {
        let Some(acknowledged) = (&mut next.acknowledged).now_or_never() else {
            break;
        };
        let next = window.pop_front().expect("the batch just looked at");
        rows.extend(next.rows);
        results.extend(acknowledged);
    }
    (rows, results)
}

/// What ended a wait for the oldest batch other than its acknowledgements.
enum Woke {
    Renew,
    Committed,
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
