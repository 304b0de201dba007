//! The consumer runtime every role runs on.
//!
//! Records come in batches: whatever the client holds ready when the first arrives, up to
//! `Policy::batch`. A batch is decoded and, in one database transaction, claimed in the
//! role's inbox with every effect applied (`apply_batch`); committed; only then are its
//! offsets stored (enable.auto.offset.store=false), so a crash before the commit means
//! redelivery and a redelivery means an inbox hit (promise 3). A batch with anything wrong
//! in it (a record that does not decode, an effect that fails or panics, the attempt
//! deadline) commits nothing and its records are taken again one at a time, in order, so the
//! culprit is isolated without losing the others or their order. Failures are retried in place with capped
//! exponential backoff, which keeps the partition's order. An outage of the database is not
//! the record's fault: it is retried until it passes, with the role reported stalled (and
//! /readyz not ready) meanwhile (promise 11). Other transient failures get a few attempts. A
//! record that does not decode, fails permanently (a handler panic included), or runs out of
//! attempts is parked on `<topic>.dlq` with its provenance and the partition moves on
//! (promise 4). On shutdown the loop stops fetching, finishes the record in hand, commits and
//! leaves the group (promise 8).
//!
//! `apply_once` and `apply_batch` (module `apply`) are those steps on their own.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::FutureExt;
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::statistics::Statistics;
use rdkafka::ClientContext;
use tokio_util::sync::CancellationToken;
use tracing::field::Empty;
use tracing::Instrument;

pub use super::apply::{apply_batch, apply_once, Applied, Batch, Scope, MAX_BATCH};
use super::closing::Detached;
use super::dlq::{self, Failure};
use super::{Kafka, Publisher, Stalls};
use crate::events::{Event, Topic};
use crate::store::{is_outage, Store, Tx};
use crate::telemetry::metrics::{self, RetryCause};
use crate::telemetry::{health, otlp, trace::TraceContext};

/// Why a handler could not apply an event.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth retrying: a database hiccup, a dependency briefly away.
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// Retrying cannot help: the event asks for something impossible.
    #[error("permanent: {0:#}")]
    Permanent(anyhow::Error),
}

/// A role's reaction to events.
pub trait Handler: Send + Sync + 'static {
    /// Names the consumer group and the inbox.
    fn name(&self) -> &'static str;

    fn topics(&self) -> &'static [Topic];

    /// What `prepare` works out before the transaction and hands to `handle`.
    type Prepared: Default + Send;

    /// What `handle` reports to `committed` once its transaction committed.
    type Done: Default + Send;

    /// Applies `event` inside `tx`; the runtime commits it together with the inbox row (and,
    /// in a batch, with the other records' effects: `handle` may run for several events
    /// before one commit, and a failure anywhere rolls them all back).
    fn handle<'a>(
        &'a self,
        tx: &'a mut Tx,
        event: &'a Event,
        prepared: Self::Prepared,
    ) -> impl Future<Output = Result<Self::Done, HandlerError>> + Send + 'a;

    /// Applies a batch's events inside `tx`, in order, reporting one `Done` for each: what
    /// the runtime calls. By default `handle` for each event in its own scope; a role whose
    /// effect is a row per event may write the batch's rows in one statement instead.
    fn handle_all<'a>(
        &'a self,
        tx: &'a mut Tx,
        batch: Batch<'a, Self::Prepared>,
    ) -> impl Future<Output = Result<Vec<Self::Done>, HandlerError>> + Send + 'a {
        async move {
            let mut done = Vec::with_capacity(batch.len());
            for (scope, event, prepared) in batch.into_items() {
                done.push(scope.run(self.handle(tx, event, prepared)).await?);
            }
            Ok(done)
        }
    }

    /// Work done before the transaction so that no database lock is held meanwhile: side
    /// effects outside the database, or a computation whose result `handle` writes (the next
    /// occurrence of a series). It holds the partition while it runs: slow work (a webhook
    /// call) belongs in a queue of its own, as the notifier's delivery worker does it. Skipped
    /// for an event taken alone that the inbox holds; in a batch it may run for one applied
    /// before (the claim then skips its effect), and a crash before the commit repeats it:
    /// it must be safe to do twice.
    fn prepare<'a>(
        &'a self,
        _event: &'a Event,
    ) -> impl Future<Output = Result<Self::Prepared, HandlerError>> + Send + 'a {
        async { Ok(Self::Prepared::default()) }
    }

    /// Told after the transaction of `event` committed, with what `handle` reported.
    fn committed(&self, _event: &Event, _done: Self::Done) {}

    /// How the role joins its topics. Roles with effects share one group and the inbox; a
    /// fan-out role (live updates) reads everything in every process and has no effect to
    /// guard, so it takes a group of its own per process, starts at the end, and skips the
    /// inbox and the transaction.
    fn membership(&self) -> Membership {
        Membership::Shared
    }

    /// Told after `event` was parked on the DLQ (not in the inbox: a replay retries it).
    fn parked<'a>(&'a self, _event: &'a Event, _error: &'a str) -> impl Future<Output = ()> + Send + 'a {
        async {}
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// One group for every replica of the role; effects once, through the inbox.
    Shared,
    /// A group per process from the latest offset; no inbox, no transaction.
    PerProcess,
}

/// How the runtime takes records: how many at once, and how it retries failures.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Most records applied in one transaction (1 to [`MAX_BATCH`]).
    pub batch: usize,
    /// Attempts for a transient failure that is not an outage (outages retry without limit).
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// Longest one attempt may take: well under max.poll.interval.ms (300 s), so a stuck
    /// attempt is retried instead of costing the consumer its group membership.
    pub attempt_deadline: Duration,
}

/// Records in one transaction unless configured otherwise.
pub const DEFAULT_BATCH: u16 = 256;

impl Default for Policy {
    fn default() -> Self {
        Self {
            batch: usize::from(DEFAULT_BATCH),
            attempts: 5,
            first_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            attempt_deadline: Duration::from_secs(60),
        }
    }
}

impl Policy {
    fn backoff(&self, attempt: u32) -> Duration {
        self.first_backoff
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_backoff)
    }
}

/// The consumer group every replica of the role `name` shares.
pub fn shared_group(kafka: &Kafka, name: &str) -> String {
    format!("{}taskstream-{}", kafka.settings().topic_prefix, name)
}

/// Commits stored offsets before partitions are taken away, so the next owner starts
/// after the last applied record instead of redoing up to a commit interval's worth; and
/// turns the client's statistics into each partition's lag.
struct CommitOnRevoke {
    role: &'static str,
}

impl ClientContext for CommitOnRevoke {
    fn stats(&self, statistics: Statistics) {
        for (topic, partitions) in &statistics.topics {
            for partition in partitions.partitions.values() {
                // Lag after the last record this role applied (its stored offset), or after
                // the committed one before it applied any; -1 (unknown) on partitions it
                // does not own, and the internal partition -1.
                let lag = if partition.consumer_lag_stored >= 0 {
                    partition.consumer_lag_stored
                } else {
                    partition.consumer_lag
                };
                if partition.partition >= 0 && lag >= 0 {
                    metrics::consumer_lag(self.role, base_name(topic), partition.partition, lag);
                    health::lag(self.role, topic, partition.partition, lag);
                }
            }
        }
    }
}

/// A member without an instance id is dropped after this long without a heartbeat: a crashed
/// process's partitions go to the others after 10 s.
const DYNAMIC_SESSION: Duration = Duration::from_secs(10);

/// A static member (`group.instance.id`) gets its partitions back when it restarts, so its
/// session need not be short to make a crash cheap; it must instead outlast a broker restart
/// (stop, pause, start, librdkafka's reconnect backoff of up to 10 s). With 10 s a restart of
/// Tansu 0.6.0 expired every member of a static group, and the group then never formed again:
/// the expired leader stays the group's leader (`Inner<Formed>::missed_heartbeat` drops the member
/// but not the leadership, and the controller skips the step that would clear it for static
/// members), so every member's SyncGroup is refused with RebalanceInProgress until the broker
/// restarts once more. 45 s is Kafka's default session timeout. KAFKA_PROPERTIES can change it.
const STATIC_SESSION: Duration = Duration::from_secs(45);

/// How often the client reports statistics (the lag /readyz and the metrics show).
const STATISTICS_EVERY: Duration = Duration::from_secs(5);

impl ConsumerContext for CommitOnRevoke {
    fn pre_rebalance(&self, consumer: &rdkafka::consumer::BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(_) = rebalance {
            if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(%error, "commit on revoke (nothing stored yet is fine)");
            }
        }
    }
}

/// Runs `handler` until `shutdown` is cancelled.
///
/// # Errors
/// When the consumer cannot be created or subscribed.
pub async fn run<H: Handler>(
    kafka: &Kafka,
    store: Store,
    publisher: Publisher,
    handler: Arc<H>,
    policy: Policy,
    stalls: Stalls,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let membership = handler.membership();
    let group = match membership {
        Membership::Shared => shared_group(kafka, handler.name()),
        Membership::PerProcess => {
            format!(
                "{}taskstream-{}-{}",
                kafka.settings().topic_prefix,
                handler.name(),
                uuid::Uuid::new_v4().simple()
            )
        }
    };
    let mut config = kafka.base_config()?;
    config
        .set("group.id", &group)
        .set("enable.auto.commit", "true")
        .set("auto.commit.interval.ms", "1000")
        .set("enable.auto.offset.store", "false")
        .set(
            "auto.offset.reset",
            if membership == Membership::Shared {
                "earliest"
            } else {
                "latest"
            },
        )
        .set("fetch.wait.max.ms", kafka.settings().fetch_wait_max_ms.to_string())
        .set("session.timeout.ms", DYNAMIC_SESSION.as_millis().to_string())
        .set("heartbeat.interval.ms", "1000")
        // A subscribed topic created after the subscription is noticed at the next metadata
        // refresh: every 10 s rather than librdkafka's 5 minutes.
        .set("topic.metadata.refresh.interval.ms", "10000");
    if let (Membership::Shared, Some(instance)) = (membership, &kafka.settings().instance_id) {
        // Static membership: the restarted process is the same member, so the broker hands its
        // partitions straight back instead of waiting out the dead member's session (and
        // Tansu 0.6.0, which can leave a group with an empty assignment after a crash when a
        // new member replaces a dead leader, never gets there).
        config.set("group.instance.id", format!("{instance}-{}", handler.name()));
        config.set("session.timeout.ms", STATIC_SESSION.as_millis().to_string());
    }
    config.set("statistics.interval.ms", STATISTICS_EVERY.as_millis().to_string());
    // KAFKA_PROPERTIES win over the runtime's defaults, except the offset discipline.
    kafka.apply_overrides(&mut config);
    config.set("enable.auto.offset.store", "false");
    let consumer: Detached<StreamConsumer<CommitOnRevoke>> = Detached::new(
        config
            .create_with_context(CommitOnRevoke { role: handler.name() })
            .context("cannot create the Kafka consumer")?,
    );
    let topics: Vec<String> = handler.topics().iter().map(|t| kafka.topics.name(*t)).collect();
    let refs: Vec<&str> = topics.iter().map(String::as_str).collect();
    consumer.subscribe(&refs).context("cannot subscribe")?;
    tracing::info!(role = handler.name(), %group, topics = ?topics, "consumer started");
    health::role_started(handler.name());
    let worker = Worker {
        kafka,
        store,
        publisher,
        handler,
        policy: Policy {
            batch: policy.batch.clamp(1, MAX_BATCH),
            ..policy
        },
        stalls,
        shutdown: shutdown.clone(),
    };
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => break,
            message = consumer.recv() => message,
        };
        let first = match message {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "consumer error; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let batch = ready_batch(&consumer, first, worker.policy.batch);
        let done = worker.process_all(&batch).await;
        for message in &batch[..done] {
            if let Err(error) = consumer.store_offset_from_message(message) {
                // E.g. the partition was revoked meanwhile: its next owner redelivers the
                // record and the inbox absorbs it.
                tracing::warn!(%error, "could not store the offset; the record will be redelivered");
            }
        }
        if done < batch.len() {
            break; // stopping mid-retry: the rest is redelivered later
        }
    }
    let role = worker.handler.name();
    leave(consumer, role).await;
    tracing::info!(role, "consumer stopped");
    Ok(())
}

/// `first` and whatever else the client holds ready, up to `most` records: a backlog is
/// taken in batches, a trickle one record at a time without waiting for company.
fn ready_batch<'c>(
    consumer: &'c StreamConsumer<CommitOnRevoke>,
    first: BorrowedMessage<'c>,
    most: usize,
) -> Vec<BorrowedMessage<'c>> {
    let mut batch = Vec::with_capacity(most.min(64));
    batch.push(first);
    while batch.len() < most {
        match consumer.recv().now_or_never() {
            Some(Ok(message)) => batch.push(message),
            Some(Err(error)) => {
                tracing::warn!(%error, "consumer error; the batch ends here");
                break;
            }
            None => break,
        }
    }
    batch
}

/// Commits stored offsets and leaves the group. These librdkafka calls block, and with the
/// broker gone they can block for ever: they run on a detached thread, and the stop goes on
/// after a bounded wait (uncommitted records are then redelivered, which the inbox absorbs).
async fn leave(consumer: Detached<StreamConsumer<CommitOnRevoke>>, role: &'static str) {
    let left = consumer
        .close(LEAVE_TIMEOUT, |consumer| {
            if let Err(error) = consumer.commit_consumer_state(CommitMode::Sync) {
                tracing::debug!(%error, "final commit (nothing to commit is fine)");
            }
            consumer.unsubscribe();
        })
        .await;
    if !left {
        tracing::warn!(
            role,
            "could not commit and leave the group within {LEAVE_TIMEOUT:?}; stopping anyway"
        );
    }
}

const LEAVE_TIMEOUT: Duration = Duration::from_secs(10);

enum Outcome {
    Done,
    Interrupted,
}

impl Outcome {
    fn is_stored(&self) -> bool {
        matches!(self, Self::Done)
    }
}

struct Worker<'k, H> {
    kafka: &'k Kafka,
    store: Store,
    publisher: Publisher,
    handler: Arc<H>,
    policy: Policy,
    stalls: Stalls,
    shutdown: CancellationToken,
}

impl<H: Handler> Worker<'_, H> {
    /// Applies `batch` in order: together when it can, else one record at a time. Returns
    /// how many records (a prefix of `batch`) are done, all unless stopping.
    async fn process_all(&self, batch: &[BorrowedMessage<'_>]) -> usize {
        if batch.len() > 1 && self.handler.membership() == Membership::Shared && self.apply_together(batch).await {
            return batch.len();
        }
        for (i, message) in batch.iter().enumerate() {
            if !self.process(message).await.is_stored() {
                return i;
            }
        }
        batch.len()
    }

    /// The whole batch in one transaction, each record in its own span; false (nothing
    /// applied) when any record does not decode or anything fails: the caller then takes
    /// them one at a time, with retries and the DLQ.
    async fn apply_together(&self, batch: &[BorrowedMessage<'_>]) -> bool {
        let started = Instant::now();
        let mut events = Vec::with_capacity(batch.len());
        let mut traces = Vec::with_capacity(batch.len());
        for message in batch {
            let Ok(event) = Event::decode(message.payload().unwrap_or_default()) else {
                self.not_together(batch.len(), "a record does not decode");
                return false;
            };
            let (span, context) = self.record_span(message);
            record_event_fields(&span, &event);
            events.push(event);
            traces.push((span, context));
        }
        let applying = AssertUnwindSafe(super::apply::apply_traced(
            &self.store,
            self.handler.as_ref(),
            &events,
            &traces,
        ))
        .catch_unwind();
        let why = match tokio::time::timeout(self.policy.attempt_deadline, applying).await {
            Ok(Ok(Ok(_))) => {
                let elapsed = started.elapsed();
                for message in batch {
                    self.finished(message, elapsed);
                }
                return true;
            }
            Ok(Ok(Err(error))) => format!("{error}"),
            Ok(Err(panic)) => format!("the handler panicked: {}", panic_message(panic.as_ref())),
            Err(_) => format!("no result within {:?}", self.policy.attempt_deadline),
        };
        self.not_together(batch.len(), &why);
        false
    }

    fn not_together(&self, records: usize, why: &str) {
        tracing::debug!(
            role = self.handler.name(),
            records,
            why,
            "batch not applied; one record at a time"
        );
    }

    /// The span one record is processed in, as a span of the trace its `traceparent` header
    /// carries (or of a new one), and that span's trace context: the events its effect
    /// writes carry that trace on.
    fn record_span(&self, message: &BorrowedMessage<'_>) -> (tracing::Span, TraceContext) {
        let role = self.handler.name();
        let span = tracing::info_span!(
            "process",
            otel.kind = "consumer",
            otel.name = Empty,
            role,
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            trace_id = Empty,
            event_id = Empty,
            task_id = Empty,
            user_id = Empty,
        );
        // Named before it starts: an exported span's name is fixed then.
        if otlp::enabled() {
            span.record("otel.name", format!("{role} process"));
        }
        let context = TraceContext::start(&span, traceparent(message));
        span.record("trace_id", context.trace_id());
        (span, context)
    }

    /// Counts a record done.
    fn finished(&self, message: &BorrowedMessage<'_>, elapsed: Duration) {
        metrics::consumer_record(self.handler.name(), base_topic(message), elapsed);
        health::record_finished(self.handler.name());
    }

    /// One record alone, with retries and the DLQ.
    async fn process(&self, message: &BorrowedMessage<'_>) -> Outcome {
        let started = Instant::now();
        let (span, context) = self.record_span(message);
        let work = async {
            let outcome = context.scope(self.decode_and_apply(message)).await;
            if outcome.is_stored() {
                let elapsed = started.elapsed();
                self.finished(message, elapsed);
                tracing::debug!(elapsed_ms = elapsed.as_secs_f64() * 1000.0, "record done");
            }
            outcome
        };
        work.instrument(span).await
    }

    async fn decode_and_apply(&self, message: &BorrowedMessage<'_>) -> Outcome {
        let event = match Event::decode(message.payload().unwrap_or_default()) {
            Ok(event) => event,
            // A fan-out role runs in every process: leave parking to the shared roles.
            Err(error) if self.handler.membership() == Membership::PerProcess => {
                tracing::warn!(%error, "undecodable record skipped by a fan-out role");
                return Outcome::Done;
            }
            Err(error) => return self.park(message, &error.to_string(), 1).await,
        };
        record_event_fields(&tracing::Span::current(), &event);
        let mut attempt = 0;
        let mut outage = 0;
        loop {
            attempt += 1;
            let result = self.attempt(&event).await;
            if let Err(HandlerError::Transient(error)) = &result {
                if is_outage(error) {
                    // Not the record's fault: not an attempt; retry until the database is back.
                    attempt -= 1;
                    outage += 1;
                    let why = format!("{error:#}");
                    tracing::warn!(event_id = %event.header.event_id, outage, error = why, "database unavailable; retrying");
                    metrics::consumer_retry(self.handler.name(), base_topic(message), RetryCause::Outage);
                    self.stalls.stall(self.handler.name(), why);
                    if !self.pause(self.policy.backoff(outage - 1)).await {
                        return Outcome::Interrupted;
                    }
                    continue;
                }
            }
            if outage > 0 {
                self.stalls.clear(self.handler.name());
                outage = 0;
            }
            let error = match result {
                Ok(()) => return Outcome::Done,
                Err(HandlerError::Permanent(error)) => format!("{error:#}"),
                Err(HandlerError::Transient(error)) if attempt >= self.policy.attempts => {
                    format!("gave up after {attempt} attempts: {error:#}")
                }
                Err(HandlerError::Transient(error)) => {
                    tracing::warn!(event_id = %event.header.event_id, attempt, error = format!("{error:#}"), "transient failure; retrying");
                    metrics::consumer_retry(self.handler.name(), base_topic(message), RetryCause::Transient);
                    if !self.pause(self.policy.backoff(attempt - 1)).await {
                        return Outcome::Interrupted;
                    }
                    continue;
                }
            };
            let outcome = self.park(message, &error, attempt).await;
            if outcome.is_stored() {
                self.handler.parked(&event, &error).await;
            }
            return outcome;
        }
    }

    /// One attempt, within the deadline; a panic in the handler is a permanent failure of
    /// this record, never the end of the process.
    async fn attempt(&self, event: &Event) -> Result<(), HandlerError> {
        let applying = AssertUnwindSafe(apply_once(&self.store, self.handler.as_ref(), event)).catch_unwind();
        match tokio::time::timeout(self.policy.attempt_deadline, applying).await {
            Ok(Ok(result)) => result.map(drop),
            Ok(Err(panic)) => Err(HandlerError::Permanent(anyhow::anyhow!(
                "the handler panicked: {}",
                panic_message(panic.as_ref())
            ))),
            Err(_) => Err(HandlerError::Transient(anyhow::anyhow!(
                "no result within {:?}",
                self.policy.attempt_deadline
            ))),
        }
    }

    /// Parks the record on the DLQ; keeps trying until the DLQ has it or we are stopping.
    async fn park(&self, message: &BorrowedMessage<'_>, error: &str, attempts: u32) -> Outcome {
        tracing::error!(error, attempts, "record goes to the dead-letter topic");
        let failure = Failure {
            consumer: self.handler.name(),
            error,
            attempts,
        };
        let mut attempt = 0;
        loop {
            match dlq::park(self.kafka, &self.publisher, message, &failure).await {
                Ok(()) => {
                    metrics::consumer_parked(self.handler.name(), base_topic(message));
                    health::record_parked(self.handler.name());
                    return Outcome::Done;
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "cannot write to the dead-letter topic; retrying"
                    );
                    attempt += 1;
                    if !self.pause(self.policy.backoff(attempt)).await {
                        return Outcome::Interrupted;
                    }
                }
            }
        }
    }

    /// Sleeps unless stopping; false when stopping.
    async fn pause(&self, duration: Duration) -> bool {
        tokio::select! {
            () = self.shutdown.cancelled() => false,
            () = tokio::time::sleep(duration) => true,
        }
    }
}

/// Names the event a record's span is about.
fn record_event_fields(span: &tracing::Span, event: &Event) {
    span.record("event_id", tracing::field::display(event.header.event_id));
    span.record("task_id", tracing::field::display(event.header.task_id));
    span.record("user_id", event.header.user_id.as_str());
}

/// The record's trace context, when it carries a valid one.
fn traceparent(message: &BorrowedMessage<'_>) -> Option<TraceContext> {
    let headers = message.headers()?;
    headers
        .iter()
        .find(|header| header.key == "traceparent")
        .and_then(|header| std::str::from_utf8(header.value?).ok())
        .and_then(TraceContext::parse)
}

/// The record's topic without the deployment's prefix: a bounded label.
fn base_topic<'m>(message: &'m BorrowedMessage<'_>) -> &'m str {
    base_name(message.topic())
}

fn base_name(name: &str) -> &str {
    Topic::ALL
        .iter()
        .map(|topic| topic.base_name())
        .find(|base| name.ends_with(base))
        .unwrap_or(name)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}
