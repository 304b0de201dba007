//! Building the application from settings and running its parts until told to stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::BaseConsumer;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::{self, Admission, AppState, Quotas, RequestDeadline, UserLimits};
use crate::auth::Auth;
use crate::bus::consumer::{self, Policy};
use crate::bus::{topics, Kafka, Publisher, Stalls};
use crate::config::{CommonSettings, HttpSettings, KafkaSettings, RoleSettings};
use crate::relay::{Relay, RelaySettings};
use crate::roles::delivery::{DeliverySettings, DeliveryWorker};
use crate::roles::live::{Live, LiveHub};
use crate::roles::notifier::Notifier;
use crate::roles::scheduler::{Scheduler, SchedulerSettings};
use crate::roles::{audit::Audit, presence, recurrence::Repeat, Role};
use crate::store::{Holdings, Store};
use crate::telemetry::{listener, sampler};
use crate::webhook::{EgressPolicy, WebhookClient};

/// How long the parts get to finish their work in hand after a stop signal.
const DRAIN: Duration = Duration::from_secs(25);

/// Opens the configured database and applies its migrations.
///
/// # Errors
/// When the database cannot be opened or migrated.
pub async fn open_store(common: &CommonSettings) -> anyhow::Result<Store> {
    let url = common.database_url()?;
    let store = Store::connect_with(&url, common.db_max_connections, common.sqlite_synchronous)
        .await?
        .sealing_with(crate::sealing::Sealer::from_settings(common)?);
    store.migrate().await?;
    let sealed = store.seal_stored_webhook_secrets().await?;
    if sealed > 0 {
        tracing::info!(
            webhooks = sealed,
            "sealed webhook secrets stored in the clear by an earlier version"
        );
    }
    if let Some(file) = crate::store::sqlite_file(&url) {
        crate::private_files::private_file(&file)?;
    }
    Ok(store)
}

/// Which parts run in this process.
#[derive(Debug, Clone, Default)]
pub struct Parts {
    pub http: Option<HttpSettings>,
    pub relay: bool,
    pub roles: Vec<Role>,
}

impl Parts {
    /// Everything: the `all` subcommand.
    pub fn all(http: HttpSettings) -> Self {
        Self {
            http: Some(http),
            relay: true,
            roles: Role::ALL.to_vec(),
        }
    }
}

/// The application, bound to its port and ready to run.
pub struct Application {
    listener: Option<TcpListener>,
    /// The operators' listener (`/metrics`, `/status`), when configured.
    metrics_listener: Option<TcpListener>,
    store: Store,
    auth: Auth,
    kafka: Kafka,
    parts: Parts,
    roles: RoleSettings,
    /// Roles of this process waiting for a dependency; /readyz reports them.
    stalls: Stalls,
    /// Cancelled once the topics exist, which the consumer roles wait for.
    topics_ready: CancellationToken,
    /// Where webhooks may go; it knows this process's API address, so never back at it.
    webhook_policy: EgressPolicy,
}

impl Application {
    /// # Errors
    /// When the database, the secret, the broker settings or the address is unusable.
    pub async fn build(common: &CommonSettings, kafka: &KafkaSettings, parts: Parts) -> anyhow::Result<Self> {
        let auth = Auth::from_settings(common)?;
        let store = open_store(common).await?;
        let listener = match &parts.http {
            Some(http) => Some(
                TcpListener::bind(http.listen)
                    .await
                    .with_context(|| format!("cannot listen on {}", http.listen))?,
            ),
            None => None,
        };
        let metrics_listener = match common.metrics_listen {
            Some(address) => Some(listener::bind(address).await?),
            None => None,
        };
        let kafka = Kafka::new(kafka.clone());
        kafka.base_config()?; // reject unusable settings now, not at the first event
        let own = listener.as_ref().and_then(|l| l.local_addr().ok());
        Ok(Self {
            listener,
            metrics_listener,
            store,
            auth,
            kafka,
            parts,
            roles: common.roles.clone(),
            stalls: Stalls::default(),
            topics_ready: CancellationToken::new(),
            webhook_policy: common.roles.webhook_policy().serving_at(own),
        })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Where `/metrics` and `/status` are served, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs every part until `shutdown`, then lets each finish its work in hand.
    ///
    /// # Errors
    /// When a part fails to start or stops with an error.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut parts = JoinSet::new();
        let needs_broker = self.parts.relay || !self.parts.roles.is_empty();
        if let Some(operators) = self.metrics_listener.take() {
            parts.spawn(listener::serve(operators, self.stalls.clone(), shutdown.clone()));
        }
        // The queues this process's parts feed, for /readyz, /status and the metrics.
        let sampled = sampler::Sampled {
            outbox: self.parts.relay,
            reminders: self.parts.roles.contains(&Role::Scheduler),
            deliveries: self.parts.roles.contains(&Role::Notifier),
        };
        tokio::spawn(sampler::run(self.store.clone(), sampled, shutdown.clone()));
        if needs_broker {
            tokio::spawn(ensure_topics(
                self.kafka.clone(),
                self.topics_ready.clone(),
                shutdown.clone(),
            ));
        }
        let mut live = None;
        if let (Some(listener), Some(http)) = (self.listener.take(), self.parts.http.clone()) {
            let probe: BaseConsumer = self
                .kafka
                .base_config()?
                .create()
                .context("cannot create the broker probe")?;
            let hub = LiveHub::new(shutdown.clone());
            live = Some(hub.clone());
            let admission = Admission::new(http.write_queue);
            tokio::spawn(admission.clone().report(Duration::from_secs(10), shutdown.clone()));
            let limits = UserLimits::new(http.rate_limit_per_minute, http.rate_limit_burst);
            let quotas = Quotas::new(
                Holdings {
                    open_tasks: http.quota_open_tasks,
                    reminders: http.quota_reminders,
                },
                http.quota_webhook_changes_per_hour,
            );
            tokio::spawn(
                limits
                    .clone()
                    .tidy(quotas.clone(), Duration::from_secs(60), shutdown.clone()),
            );
            let state = AppState {
                store: self.store.clone(),
                auth: self.auth.clone(),
                broker: crate::bus::BrokerProbe::new(Arc::new(probe)),
                webhook_policy: self.webhook_policy.clone(),
                webhook_client: WebhookClient::new(self.webhook_policy.clone(), self.roles.webhook_timeout())
                    .context("cannot build the webhook client")?,
                live: hub.clone(),
                stalls: self.stalls.clone(),
                admission,
                limits,
                readiness: Default::default(),
                quotas,
                deadline: RequestDeadline(Duration::from_millis(http.request_timeout_ms)),
                console: crate::console::Console {
                    local_sign_in: http.console_local_signin,
                },
            };
            let stop = shutdown.clone();
            parts.spawn(async move {
                axum::serve(
                    listener,
                    api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
                )
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
                .context("HTTP server failed")
            });
        }
        if needs_broker || live.is_some() {
            let publisher = Publisher::new(&self.kafka)?;
            if let Some(hub) = live {
                let (kafka, store, publisher, stalls, stop) = (
                    self.kafka.clone(),
                    self.store.clone(),
                    publisher.clone(),
                    self.stalls.clone(),
                    shutdown.clone(),
                );
                // Where this process creates the topics, the live role subscribes once they
                // exist, like every role: subscribed before, it may see them only at the next
                // metadata refresh (10 s), and as it starts at the latest offset the events of
                // those seconds would never reach a stream. An API alone creates no topics: it
                // subscribes at once.
                let ready = needs_broker.then(|| self.topics_ready.clone());
                parts.spawn(async move {
                    if let Some(ready) = ready {
                        if !topics_exist(&ready, &stop).await {
                            return Ok(());
                        }
                    }
                    consumer::run(
                        &kafka,
                        store,
                        publisher,
                        Arc::new(Live(hub)),
                        Policy::default(),
                        stalls,
                        stop,
                    )
                    .await
                });
            }
            if self.parts.relay {
                let relay = Relay::new(
                    self.store.clone(),
                    self.kafka.clone(),
                    publisher.clone(),
                    RelaySettings::for_kafka(self.kafka.settings()),
                );
                let stop = shutdown.clone();
                parts.spawn(async move { relay.run(stop).await });
            }
            for role in self.parts.roles.iter().copied() {
                self.spawn_role(role, &mut parts, &publisher, &shutdown)?;
            }
            if !self.parts.roles.is_empty() {
                parts.spawn(presence::run(
                    self.store.clone(),
                    presence::this_process(self.kafka.settings().instance_id.as_deref()),
                    self.parts.roles.clone(),
                    self.stalls.clone(),
                    self.topics_ready.clone(),
                    shutdown.clone(),
                ));
            }
        }
        let mut result = Ok(());
        // Promise 8: after a stop signal every part gets DRAIN to finish, then we go anyway.
        let deadline = async {
            shutdown.cancelled().await;
            tokio::time::sleep(DRAIN).await;
        };
        tokio::pin!(deadline);
        loop {
            let done = tokio::select! {
                done = parts.join_next() => done,
                () = &mut deadline => {
                    tracing::warn!("some parts did not stop within {DRAIN:?}; stopping anyway");
                    parts.abort_all();
                    break;
                }
            };
            let Some(done) = done else { break };
            if let Err(error) = done.context("a part panicked").and_then(|r| r) {
                tracing::error!(
                    error = format!("{error:#}"),
                    "a part stopped with an error; stopping the rest"
                );
                shutdown.cancel();
                result = Err(error);
            } else if !shutdown.is_cancelled() {
                tracing::error!("a part stopped on its own; stopping the rest");
                shutdown.cancel();
            }
        }
        self.store.close().await;
        result
    }
}

impl Application {
    /// Starts a consumer role (and, for the scheduler, its timer; for the notifier, its delivery
    /// worker) in `parts`.
    fn spawn_role(
        &self,
        role: Role,
        parts: &mut JoinSet<anyhow::Result<()>>,
        publisher: &Publisher,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let (kafka, store, publisher, stalls, stop) = (
            self.kafka.clone(),
            self.store.clone(),
            publisher.clone(),
            self.stalls.clone(),
            shutdown.clone(),
        );
        let ready = self.topics_ready.clone();
        let policy = Policy {
            batch: usize::from(self.roles.consumer_batch),
            ..Policy::default()
        };
        match role {
            Role::Audit => {
                parts.spawn(async move {
                    {
                        if !topics_exist(&ready, &stop).await {
                            return Ok(());
                        }
                        consumer::run(&kafka, store, publisher, Arc::new(Audit), policy, stalls, stop).await
                    }
                });
            }
            Role::Recurrence => {
                let handler = Arc::new(Repeat::new(store.clone()));
                parts.spawn(async move {
                    {
                        if !topics_exist(&ready, &stop).await {
                            return Ok(());
                        }
                        consumer::run(&kafka, store, publisher, handler, policy, stalls, stop).await
                    }
                });
            }
            Role::Scheduler => {
                let settings = SchedulerSettings {
                    grace: self.roles.reminder_grace(),
                    ..SchedulerSettings::default()
                };
                let scheduler = Arc::new(Scheduler::new(store.clone(), settings));
                parts.spawn(scheduler.clone().run_timer(shutdown.clone()));
                parts.spawn(async move {
                    {
                        if !topics_exist(&ready, &stop).await {
                            return Ok(());
                        }
                        consumer::run(&kafka, store, publisher, scheduler, policy, stalls, stop).await
                    }
                });
            }
            Role::Notifier => {
                let client = WebhookClient::new(self.webhook_policy.clone(), self.roles.webhook_timeout())
                    .context("cannot build the webhook client")?;
                let settings = DeliverySettings::new(&self.roles, self.kafka.settings().instance_id.as_deref());
                let worker = DeliveryWorker::new(store.clone(), client, settings, stalls.clone());
                let notifier = Arc::new(Notifier::new(store.clone(), worker.waker()));
                parts.spawn(worker.run(shutdown.clone()));
                parts.spawn(async move {
                    {
                        if !topics_exist(&ready, &stop).await {
                            return Ok(());
                        }
                        consumer::run(&kafka, store, publisher, notifier, policy, stalls, stop).await
                    }
                });
            }
        }
        Ok(())
    }
}

/// Whether the topics exist (true) or the process is stopping first (false). Consumers wait
/// for it: one subscribed to a topic that does not exist yet would not see it appear until
/// librdkafka's next metadata refresh.
async fn topics_exist(ready: &CancellationToken, stop: &CancellationToken) -> bool {
    tokio::select! {
        () = ready.cancelled() => true,
        () = stop.cancelled() => false,
    }
}

/// Creates missing topics, retrying while the broker is away; the API serves meanwhile.
/// Cancels `ready` once they exist.
async fn ensure_topics(kafka: Kafka, ready: CancellationToken, shutdown: CancellationToken) {
    let mut delay = Duration::from_millis(500);
    while !shutdown.is_cancelled() {
        match topics::ensure(&kafka).await {
            Ok(states) => {
                for state in states {
                    if state.created {
                        tracing::info!(topic = %state.spec.name, partitions = state.spec.partitions, "created topic");
                    }
                    for difference in state.differences() {
                        tracing::warn!(topic = %state.spec.name, "topic differs from configuration: {difference}");
                    }
                }
                ready.cancel();
                return;
            }
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "cannot ensure topics yet; retrying");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {},
                    () = shutdown.cancelled() => return,
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// A token cancelled on SIGINT or SIGTERM. A second signal is not needed: every part
/// stops within its drain time.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("stop signal received; finishing in-flight work");
        trigger.cancel();
    });
    token
}
