//! The delivery worker, the notifier role's second half: it sends the webhook deliveries the
//! notifier records, away from the task-reminders partition, so one slow or failing receiver
//! delays nobody else's reminders (promise 10).
//!
//! - Claiming: due jobs are claimed in the database (see [`crate::store::ClaimRequest`]), so
//!   two notifier processes never send one job at the same time and jobs outlive restarts.
//! - Fairness: at most `per_user` sends in flight per user, `per_host` per host
//!   (`scheme://host[:port]`) and `concurrency` in all; a job whose user or host is at its cap
//!   is not claimed, so it costs no attempt.
//! - Circuit breaker per host: after `breaker_failures` consecutive failures that say the host
//!   is unwell, the host gets no sends for `breaker_cooldown` (its jobs wait unclaimed, no
//!   attempt counted), then one trial send: success closes the breaker, failure reopens it.
//!   The caps and breakers are per process.
//! - Retries: a failed attempt is retried after 30 s doubling up to `max_backoff`, each wait
//!   jittered by ±20 %, for `max_attempts` attempts (20 × up to 2 h: about 24 h); then the job
//!   is failed, the reminder marked failed and reminder.failed written. A refused destination,
//!   or a webhook removed or changed since the reminder fired, fails at once.
//! - Success marks the job delivered, records the webhook delivery and writes
//!   reminder.delivered in one transaction.
//! - Timing: woken by the notifier when it records a job, otherwise it looks again when the
//!   next job falls due, at least every second (jobs recorded by another process).
//!
//! A send is at least once: a worker that dies after the receiver answered and before the
//! outcome committed leaves a claim that runs out, and the job is sent again. Receivers dedupe
//! on `X-Taskstream-Delivery`, the reminder id.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use futures_util::FutureExt;
use rand::Rng;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::field::Empty;
use tracing::Instrument;
use uuid::Uuid;

use crate::bus::Stalls;
use crate::config::RoleSettings;
use crate::events::{Event, EventData, ReminderDelivered, ReminderFailed};
use crate::store::{ClaimRequest, Claimed, Store, WEBHOOK};
use crate::telemetry::trace::TraceContext;
use crate::webhook::{Call, DeliveryError, WebhookClient, WebhookUrl};

/// Name under which the worker reports a stall (/readyz).
const ROLE: &str = "notifier-delivery";
/// Longest wait before looking at the queue again: jobs recorded by another process.
const POLL: Duration = Duration::from_secs(1);
/// How long sends in flight get to finish after the stop signal; the rest are handed on.
const DRAIN: Duration = Duration::from_secs(10);
/// A claim outlives the send's timeout by this much, for settling the outcome.
const CLAIM_MARGIN: Duration = Duration::from_secs(10);
/// How often settled jobs are pruned, and how long they are kept.
const PRUNE_EVERY: Duration = Duration::from_secs(3_600);
const KEEP_DELIVERED: TimeDelta = TimeDelta::days(1);
const KEEP_FAILED: TimeDelta = TimeDelta::days(14);
/// The first wait between attempts (or `max_backoff`, if smaller).
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
/// Most users or hosts named in a claim's skip lists; the rest are filtered after reading.
const MAX_SKIPPED: usize = 200;

#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub per_user: usize,
    pub per_host: usize,
    pub concurrency: usize,
    pub max_attempts: u32,
    pub max_backoff: Duration,
    pub breaker_failures: u32,
    pub breaker_cooldown: Duration,
    /// The webhook client's timeout: a claim must outlive one send.
    pub send_timeout: Duration,
    /// Names this process's claims: the instance id when there is one (so a restart takes
    /// its claims back at once), otherwise random.
    pub holder: String,
}

impl DeliverySettings {
    pub fn new(roles: &RoleSettings, instance_id: Option<&str>) -> Self {
        let count = |n: u32| usize::try_from(n).unwrap_or(usize::MAX).max(1);
        Self {
            per_user: count(roles.webhook_per_user),
            per_host: count(roles.webhook_per_host),
            concurrency: count(roles.webhook_concurrency),
            max_attempts: roles.webhook_max_attempts.max(1),
            max_backoff: Duration::from_secs(roles.webhook_max_backoff_secs.max(1)),
            breaker_failures: roles.webhook_breaker_failures.max(1),
            breaker_cooldown: Duration::from_secs(roles.webhook_breaker_cooldown_secs.max(1)),
            send_timeout: roles.webhook_timeout(),
            holder: instance_id.map_or_else(|| Uuid::new_v4().simple().to_string(), str::to_owned),
        }
    }

    /// The wait after the `attempts`-th failed attempt: 30 s doubling up to `max_backoff`,
    /// times `jitter` (0.8 to 1.2).
    pub fn backoff(&self, attempts: u32, jitter: f64) -> Duration {
        let first = FIRST_BACKOFF.min(self.max_backoff);
        let nominal = first
            .saturating_mul(1 << attempts.saturating_sub(1).min(20))
            .min(self.max_backoff);
        nominal.mul_f64(jitter.clamp(0.8, 1.2))
    }

    fn claim_hold(&self) -> Duration {
        self.send_timeout + CLAIM_MARGIN
    }
}

/// Sends recorded webhook deliveries until stopped.
pub struct DeliveryWorker {
    store: Store,
    client: WebhookClient,
    settings: DeliverySettings,
    wake: Arc<Notify>,
    stalls: Stalls,
}

impl DeliveryWorker {
    pub fn new(store: Store, client: WebhookClient, settings: DeliverySettings, stalls: Stalls) -> Self {
        Self {
            store,
            client,
            settings,
            wake: Arc::new(Notify::new()),
            stalls,
        }
    }

    /// What the notifier raises after committing a job.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Claims and sends due jobs until `shutdown`; then lets the sends in flight finish for
    /// up to 10 s and hands the rest on.
    ///
    /// # Errors
    /// Never in normal operation: database failures are logged and retried.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let worker = Arc::new(self);
        let settings = &worker.settings;
        tracing::info!(
            per_user = settings.per_user,
            per_host = settings.per_host,
            max_attempts = settings.max_attempts,
            max_backoff = ?settings.max_backoff,
            "webhook delivery worker started"
        );
        match worker.store.release_deliveries(&settings.holder).await {
            Ok(0) => {}
            Ok(taken) => tracing::info!(taken, "took back the deliveries this instance held before its restart"),
            Err(error) => tracing::warn!(error = format!("{error:#}"), "cannot take back earlier claims"),
        }
        let mut dispatch = Dispatch::new(settings);
        let mut failures = 0u32;
        let mut pruned = Instant::now().checked_sub(PRUNE_EVERY).unwrap_or_else(Instant::now);
        while !shutdown.is_cancelled() {
            let pause = match worker.dispatch_due(&mut dispatch).await {
                Ok(more) => {
                    if failures > 0 {
                        worker.stalls.clear(ROLE);
                        failures = 0;
                    }
                    if more {
                        Duration::ZERO
                    } else {
                        worker.idle(&dispatch).await
                    }
                }
                Err(error) => {
                    failures += 1;
                    let why = format!("{error:#}");
                    tracing::warn!(error = why, failures, "cannot claim webhook deliveries; retrying");
                    worker.stalls.stall(ROLE, why);
                    Duration::from_millis(100)
                        .saturating_mul(1 << failures.min(6))
                        .min(Duration::from_secs(5))
                }
            };
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = Instant::now();
                if let Err(error) = worker.store.prune_deliveries(KEEP_DELIVERED, KEEP_FAILED).await {
                    tracing::warn!(error = format!("{error:#}"), "cannot prune settled deliveries");
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => {},
                () = worker.wake.notified() => {},
                () = tokio::time::sleep(pause) => {},
                Some(done) = dispatch.sends.join_next(), if !dispatch.sends.is_empty() => {
                    dispatch.finished(done);
                },
            }
            while let Some(done) = dispatch.sends.try_join_next() {
                dispatch.finished(done);
            }
        }
        worker.drain(dispatch).await;
        tracing::info!("webhook delivery worker stopped");
        Ok(())
    }

    /// Claims what the caps and breakers allow and starts sending it; true when there may be
    /// more due jobs it could take at once.
    async fn dispatch_due(self: &Arc<Self>, dispatch: &mut Dispatch) -> anyhow::Result<bool> {
        let free = self.settings.concurrency.saturating_sub(dispatch.load.total);
        if free == 0 {
            return Ok(false);
        }
        let now = Instant::now();
        let (skip_users, skip_hosts) = dispatch.skipped(now);
        let scan = i64::try_from(free.saturating_mul(4).clamp(16, 500)).unwrap_or(500);
        let request = ClaimRequest {
            now: crate::time::now(),
            hold: TimeDelta::from_std(self.settings.claim_hold()).unwrap_or(TimeDelta::minutes(5)),
            holder: &self.settings.holder,
            scan,
            skip_users: &skip_users,
            skip_hosts: &skip_hosts,
        };
        // A trial tally: a row picked but claimed by another worker first only costs room
        // in this round.
        let mut tally = dispatch.load.clone();
        let mut seen = 0_i64;
        let (gates, concurrency) = (&dispatch.gates, self.settings.concurrency);
        let claimed = self
            .store
            .claim_deliveries(&request, |row| {
                seen += 1;
                let admitted = tally.total < concurrency && gates.admits(&tally, &row.user_id, &row.host, now);
                if admitted {
                    tally.take(&row.user_id, &row.host);
                }
                admitted
            })
            .await?;
        let more = !claimed.is_empty() && seen >= scan;
        for job in claimed {
            dispatch.load.take(&job.row.user_id, &job.row.host);
            let worker = self.clone();
            let (user, host) = (job.row.user_id.clone(), job.row.host.clone());
            dispatch.sends.spawn(async move {
                let health = AssertUnwindSafe(worker.deliver(job))
                    .catch_unwind()
                    .await
                    .unwrap_or_else(|_| {
                        tracing::error!("a webhook delivery panicked; its claim runs out and it is sent again");
                        Health::Unknown
                    });
                Finished { user, host, health }
            });
        }
        Ok(more)
    }

    /// How long to wait when nothing more can be claimed now: until the next job falls due or
    /// a breaker's cool-down ends, at most [`POLL`].
    async fn idle(&self, dispatch: &Dispatch) -> Duration {
        let now = crate::time::now();
        let mut pause = POLL;
        if let Ok(Some(next)) = self.store.next_delivery_after(now).await {
            pause = pause.min((next - now).to_std().unwrap_or_default());
        }
        if let Some(reopen) = dispatch.gates.breakers.next_trial(Instant::now()) {
            pause = pause.min(reopen);
        }
        pause.max(Duration::from_millis(5))
    }

    /// Waits up to [`DRAIN`] for the sends in flight; the others are stopped and their jobs
    /// made due at once, for the next worker.
    async fn drain(&self, mut dispatch: Dispatch) {
        let finished = tokio::time::timeout(DRAIN, async {
            while let Some(done) = dispatch.sends.join_next().await {
                dispatch.finished(done);
            }
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                in_flight = dispatch.sends.len(),
                "webhook sends unfinished after {DRAIN:?}; handing them on"
            );
            dispatch.sends.abort_all();
            while dispatch.sends.join_next().await.is_some() {}
            if let Err(error) = self.store.release_deliveries(&self.settings.holder).await {
                tracing::warn!(
                    error = format!("{error:#}"),
                    "cannot hand on unfinished deliveries; their claims run out"
                );
            }
        }
    }

    /// Sends one claimed job and records the outcome, in the trace of the reminder.fired it
    /// delivers (the webhook call carries it on); tells how the host fared.
    async fn deliver(&self, job: Claimed) -> Health {
        let span = tracing::info_span!(
            "deliver",
            otel.kind = "client",
            reminder = %job.row.reminder_id,
            host = %job.row.host,
            attempt = job.row.attempts,
            trace_id = Empty,
        );
        let parent = job.row.traceparent.as_deref().and_then(TraceContext::parse);
        let context = TraceContext::start(&span, parent);
        span.record("trace_id", context.trace_id());
        context.scope(self.deliver_in_trace(job)).instrument(span).await
    }

    async fn deliver_in_trace(&self, job: Claimed) -> Health {
        let started = Instant::now();
        let sent = self.send(&job).await;
        let elapsed = started.elapsed();
        let (outcome, health) = match sent {
            Ok(()) => (Outcome::Delivered, Health::Up),
            Err(Failure::Permanent(why)) => (Outcome::Failed(why), Health::Unknown),
            Err(Failure::Transient(why, health)) => {
                let attempts = u32::try_from(job.row.attempts).unwrap_or(u32::MAX);
                if attempts >= self.settings.max_attempts {
                    (
                        Outcome::Failed(format!("gave up after {attempts} attempts: {why}")),
                        health,
                    )
                } else {
                    let wait = self.settings.backoff(attempts, rand::thread_rng().gen_range(0.8..=1.2));
                    tracing::info!(error = why, ?wait, "webhook delivery failed; retrying later");
                    let at = crate::time::now() + TimeDelta::from_std(wait).unwrap_or(TimeDelta::hours(1));
                    (Outcome::RetryAt(why, at), health)
                }
            }
        };
        let label = match outcome {
            Outcome::Delivered => "delivered",
            Outcome::Failed(_) => "failed",
            Outcome::RetryAt(..) => "retry",
        };
        crate::telemetry::metrics::webhook_call(label, elapsed);
        self.settle(&job, outcome).await;
        health
    }

    /// One attempt: the user's webhook must still be the one recorded (its secret is read
    /// now, so a rotated secret signs the call and a removed webhook gets nothing).
    async fn send(&self, job: &Claimed) -> Result<(), Failure> {
        let row = &job.row;
        let webhook = self
            .store
            .webhook(&row.user_id)
            .await
            .map_err(|e| Failure::Transient(format!("cannot read the webhook: {e:#}"), Health::Unknown))?;
        let webhook = match webhook {
            Some(webhook) if webhook.url == row.url => webhook,
            Some(_) => {
                return Err(Failure::Permanent(
                    "the webhook was changed since the reminder fired".into(),
                ))
            }
            None => {
                return Err(Failure::Permanent(
                    "the webhook was removed since the reminder fired".into(),
                ))
            }
        };
        let url = WebhookUrl::parse(&row.url)
            .map_err(|e| Failure::Permanent(format!("webhook {}: the stored URL {e}", row.host)))?;
        let call = Call {
            url: &url,
            secret: webhook.secret.expose(),
            delivery_id: &row.reminder_id,
            body: row.payload.clone().into_bytes(),
        };
        self.client.post(call).await.map(|_| ()).map_err(|error| {
            let health = if error.host_is_down() {
                Health::Down
            } else if matches!(error, DeliveryError::Status { .. }) {
                Health::Up // it answered
            } else {
                Health::Unknown
            };
            // A refused destination is refused on every retry: fail it now.
            let permanent = error.is_permanent();
            let why = error.report();
            if permanent {
                Failure::Permanent(why)
            } else {
                Failure::Transient(why, health)
            }
        })
    }

    /// Records the outcome, retrying a failing database a few times; if it still fails the
    /// claim runs out and the job is sent again.
    async fn settle(&self, job: &Claimed, outcome: Outcome) {
        let row = &job.row;
        let task_id = Uuid::parse_str(&row.task_id).unwrap_or_default();
        let about = |data| Event::about(&row.user_id, task_id, row.task_version, data);
        let now = || crate::time::format(crate::time::now());
        for attempt in 0..5u32 {
            let result = match &outcome {
                Outcome::Delivered => {
                    let event = about(EventData::ReminderDelivered(ReminderDelivered {
                        reminder_id: row.reminder_id.clone(),
                        channels: vec![super::notifier::LOG.to_owned(), WEBHOOK.to_owned()],
                        delivered_at: now(),
                    }));
                    self.store.delivery_succeeded(job, &event).await
                }
                Outcome::Failed(why) => {
                    let event = about(EventData::ReminderFailed(ReminderFailed {
                        reminder_id: row.reminder_id.clone(),
                        channel: WEBHOOK.to_owned(),
                        error: why.clone(),
                        failed_at: now(),
                    }));
                    self.store.delivery_failed(job, why, &event).await
                }
                Outcome::RetryAt(why, at) => self.store.delivery_retry_at(job, why, *at).await,
            };
            match result {
                Ok(true) => {
                    match &outcome {
                        Outcome::Delivered => {
                            crate::telemetry::metrics::reminder_delivered(WEBHOOK);
                            tracing::info!("webhook delivered");
                        }
                        Outcome::Failed(why) => {
                            crate::telemetry::metrics::reminder_failed(WEBHOOK);
                            tracing::warn!(error = why, "webhook delivery failed for good");
                        }
                        Outcome::RetryAt(..) => {}
                    }
                    return;
                }
                Ok(false) => {
                    tracing::warn!("the claim ran out before the outcome was recorded; another worker has the job");
                    return;
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        attempt,
                        "cannot record the delivery outcome; retrying"
                    );
                    tokio::time::sleep(Duration::from_millis(200) * 2u32.pow(attempt)).await;
                }
            }
        }
        tracing::error!("cannot record the delivery outcome; the job will be sent again when its claim runs out");
    }
}

enum Failure {
    Permanent(String),
    Transient(String, Health),
}

enum Outcome {
    Delivered,
    Failed(String),
    RetryAt(String, chrono::DateTime<chrono::Utc>),
}

/// What a send says about its host, for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Up,
    Down,
    /// Nothing (refused before connecting, a database failure).
    Unknown,
}

struct Finished {
    user: String,
    host: String,
    health: Health,
}

/// Sends in flight per user and host.
#[derive(Debug, Clone, Default)]
struct Load {
    users: HashMap<String, usize>,
    hosts: HashMap<String, usize>,
    total: usize,
}

impl Load {
    fn take(&mut self, user: &str, host: &str) {
        *self.users.entry(user.to_owned()).or_default() += 1;
        *self.hosts.entry(host.to_owned()).or_default() += 1;
        self.total += 1;
    }

    fn give_back(&mut self, user: &str, host: &str) {
        for (map, key) in [(&mut self.users, user), (&mut self.hosts, host)] {
            if let Some(count) = map.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    map.remove(key);
                }
            }
        }
        self.total = self.total.saturating_sub(1);
    }

    fn user(&self, user: &str) -> usize {
        self.users.get(user).copied().unwrap_or(0)
    }

    fn host(&self, host: &str) -> usize {
        self.hosts.get(host).copied().unwrap_or(0)
    }
}

/// The worker's state: what is in flight and how each host fares.
struct Dispatch {
    load: Load,
    gates: Gates,
    sends: JoinSet<Finished>,
}

impl Dispatch {
    fn new(settings: &DeliverySettings) -> Self {
        Self {
            load: Load::default(),
            gates: Gates {
                breakers: Breakers::new(settings.breaker_failures, settings.breaker_cooldown),
                per_user: settings.per_user,
                per_host: settings.per_host,
            },
            sends: JoinSet::new(),
        }
    }

    /// Users and hosts whose jobs cannot be taken now, for the claim query to pass over.
    fn skipped(&self, now: Instant) -> (Vec<String>, Vec<String>) {
        let gates = &self.gates;
        let users = self
            .load
            .users
            .iter()
            .filter(|(_, n)| **n >= gates.per_user)
            .map(|(user, _)| user.clone())
            .take(MAX_SKIPPED)
            .collect();
        let hosts = gates
            .breakers
            .map
            .keys()
            .chain(self.load.hosts.keys())
            .filter(|host| self.load.host(host) >= gates.host_cap(host, now))
            .cloned()
            .collect::<std::collections::BTreeSet<String>>()
            .into_iter()
            .take(MAX_SKIPPED)
            .collect();
        (users, hosts)
    }

    fn finished(&mut self, done: Result<Finished, tokio::task::JoinError>) {
        // Every send returns (panics are caught inside); an aborted one is only seen while
        // draining, when the tally no longer matters.
        if let Ok(done) = done {
            self.load.give_back(&done.user, &done.host);
            self.gates.breakers.record(&done.host, done.health, Instant::now());
        }
    }
}

/// The caps and the breakers: who may get one more send.
struct Gates {
    breakers: Breakers,
    per_user: usize,
    per_host: usize,
}

impl Gates {
    /// Sends `host` may have in flight now.
    fn host_cap(&self, host: &str, now: Instant) -> usize {
        match self.breakers.gate(host, now) {
            Gate::Closed => self.per_host,
            Gate::Trial => 1,
            Gate::Open => 0,
        }
    }

    /// Whether one more send for `user` to `host` fits, given `load`.
    fn admits(&self, load: &Load, user: &str, host: &str, now: Instant) -> bool {
        load.user(user) < self.per_user && load.host(host) < self.host_cap(host, now)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Closed,
    /// The cool-down is over: one send may try.
    Trial,
    Open,
}

#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
}

/// A circuit breaker per host.
#[derive(Debug)]
struct Breakers {
    map: HashMap<String, Breaker>,
    threshold: u32,
    cooldown: Duration,
}

/// Hosts remembered at most; past it, only hosts with an open breaker are kept.
const MAX_BREAKERS: usize = 10_000;

impl Breakers {
    fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            map: HashMap::new(),
            threshold,
            cooldown,
        }
    }

    fn gate(&self, host: &str, now: Instant) -> Gate {
        match self.map.get(host).and_then(|b| b.open_until) {
            None => Gate::Closed,
            Some(until) if now < until => Gate::Open,
            Some(_) => Gate::Trial,
        }
    }

    fn record(&mut self, host: &str, health: Health, now: Instant) {
        match health {
            Health::Up => {
                if self.map.remove(host).is_some_and(|b| b.open_until.is_some()) {
                    tracing::info!(host, "webhook host answers again; circuit closed");
                }
            }
            Health::Down => {
                let breaker = self.map.entry(host.to_owned()).or_default();
                breaker.failures += 1;
                if breaker.failures >= self.threshold {
                    breaker.open_until = Some(now + self.cooldown);
                    tracing::warn!(host, failures = breaker.failures, cooldown = ?self.cooldown, "webhook host keeps failing; circuit open");
                }
                if self.map.len() > MAX_BREAKERS {
                    self.map.retain(|_, b| b.open_until.is_some());
                }
            }
            Health::Unknown => {}
        }
    }

    /// How long until the next open breaker lets a trial through.
    fn next_trial(&self, now: Instant) -> Option<Duration> {
        self.map
            .values()
            .filter_map(|b| b.open_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> DeliverySettings {
        DeliverySettings::new(&RoleSettings::default(), Some("test"))
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_spreads_over_about_a_day() {
        let settings = settings();
        assert_eq!(settings.backoff(1, 1.0), Duration::from_secs(30));
        assert_eq!(settings.backoff(2, 1.0), Duration::from_secs(60));
        assert_eq!(settings.backoff(30, 1.0), Duration::from_secs(7_200));
        assert_eq!(settings.backoff(1, 0.8), Duration::from_secs(24));
        assert_eq!(settings.backoff(1, 5.0), Duration::from_secs(36), "jitter is bounded");
        let total: Duration = (1..settings.max_attempts).map(|a| settings.backoff(a, 1.0)).sum();
        let hours = total.as_secs_f64() / 3_600.0;
        assert!((20.0..=28.0).contains(&hours), "{hours} h of retries");
        let small = DeliverySettings {
            max_backoff: Duration::from_secs(1),
            ..settings
        };
        assert_eq!(small.backoff(1, 1.0), Duration::from_secs(1));
        assert_eq!(small.backoff(9, 1.0), Duration::from_secs(1));
    }

    #[test]
    fn a_breaker_opens_after_consecutive_failures_and_a_trial_decides() {
        let mut breakers = Breakers::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..2 {
            breakers.record("http://a", Health::Down, t0);
        }
        assert_eq!(breakers.gate("http://a", t0), Gate::Closed);
        breakers.record("http://a", Health::Up, t0);
        for _ in 0..2 {
            breakers.record("http://a", Health::Down, t0);
        }
        assert_eq!(
            breakers.gate("http://a", t0),
            Gate::Closed,
            "a success resets the count"
        );
        breakers.record("http://a", Health::Down, t0);
        assert_eq!(breakers.gate("http://a", t0), Gate::Open);
        assert_eq!(breakers.gate("http://b", t0), Gate::Closed, "per host");
        assert_eq!(breakers.next_trial(t0), Some(Duration::from_secs(60)));
        let later = t0 + Duration::from_secs(61);
        assert_eq!(breakers.gate("http://a", later), Gate::Trial);
        breakers.record("http://a", Health::Down, later);
        assert_eq!(breakers.gate("http://a", later), Gate::Open, "a failed trial reopens");
        let after = later + Duration::from_secs(61);
        breakers.record("http://a", Health::Up, after);
        assert_eq!(breakers.gate("http://a", after), Gate::Closed);
        breakers.record("http://a", Health::Unknown, after);
        assert_eq!(breakers.gate("http://a", after), Gate::Closed);
    }

    #[test]
    fn caps_hold_per_user_and_per_host_and_trials_go_one_at_a_time() {
        let mut dispatch = Dispatch::new(&settings());
        let now = Instant::now();
        let mut load = Load::default();
        load.take("u1", "http://a");
        let gates = &dispatch.gates;
        assert!(gates.admits(&load, "u1", "http://a", now));
        load.take("u1", "http://a");
        assert!(!gates.admits(&load, "u1", "http://a", now), "2 per user");
        assert!(gates.admits(&load, "u2", "http://a", now));
        for user in ["u3", "u4", "u5", "u6", "u7", "u8"] {
            load.take(user, "http://a");
        }
        assert!(!gates.admits(&load, "u9", "http://a", now), "8 per host");
        assert!(gates.admits(&load, "u9", "http://b", now));
        for _ in 0..5 {
            dispatch.gates.breakers.record("http://b", Health::Down, now);
        }
        let gates = &dispatch.gates;
        assert!(!gates.admits(&Load::default(), "u9", "http://b", now), "open");
        let later = now + Duration::from_secs(61);
        assert!(gates.admits(&Load::default(), "u9", "http://b", later), "trial");
        let mut one = Load::default();
        one.take("u1", "http://b");
        assert!(!gates.admits(&one, "u9", "http://b", later), "one trial at a time");
        dispatch.load = load;
        let (users, hosts) = dispatch.skipped(now);
        assert_eq!(users, vec!["u1".to_owned()]);
        assert_eq!(hosts, vec!["http://a".to_owned(), "http://b".to_owned()]);
        dispatch.load.give_back("u1", "http://a");
        assert_eq!(dispatch.skipped(now).0, Vec::<String>::new());
    }
}
