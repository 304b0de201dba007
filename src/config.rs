//! Typed settings shared by every subcommand: flags and environment variables, validated once
//! at start-up so the rest of the program only sees values that make sense.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use ipnet::IpNet;

use crate::webhook::EgressPolicy;

/// A value that must never reach a log line or an error message.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Settings every subcommand understands.
#[derive(Debug, Clone, Args)]
pub struct CommonSettings {
    /// Folder for the embedded SQLite database and the generated local JWT secret.
    #[arg(long, env = "TASKSTREAM_DATA_DIR", default_value = "taskstream-data", global = true)]
    pub data_dir: PathBuf,

    /// Database URL: postgres://… for PostgreSQL, sqlite://… for SQLite.
    /// Without it, SQLite in the data directory is used.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Largest number of pooled database connections.
    #[arg(long, env = "TASKSTREAM_DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub db_max_connections: u32,

    /// HS256 secret for bearer tokens (at least 32 bytes). Without it (and without
    /// --jwt-secret-file) a random secret is generated once and kept in the data directory.
    #[arg(long, env = "TASKSTREAM_JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<Secret>,

    /// When set, tokens must carry this `iss` claim (and `taskstream token` puts it in).
    #[arg(long, env = "TASKSTREAM_JWT_ISSUER", global = true)]
    pub jwt_issuer: Option<String>,

    /// When set, tokens must carry this `aud` claim (and `taskstream token` puts it in).
    #[arg(long, env = "TASKSTREAM_JWT_AUDIENCE", global = true)]
    pub jwt_audience: Option<String>,

    /// File holding the HS256 secret (an alternative to --jwt-secret).
    #[arg(long, env = "TASKSTREAM_JWT_SECRET_FILE", global = true)]
    pub jwt_secret_file: Option<PathBuf>,

    /// File of HS256 keys, one `kid=secret` a line, the signing key first: tokens are checked
    /// with the key their `kid` names, so a secret rotates without signing anyone out
    /// (an alternative to the two settings above).
    #[arg(long, env = "TASKSTREAM_JWT_KEYS_FILE", global = true)]
    pub jwt_keys_file: Option<PathBuf>,

    /// Key that encrypts webhook signing secrets at rest: 32 bytes as 64 hex digits. Without
    /// it (and without --secrets-key-file) one is generated once into the data directory.
    #[arg(long, env = "TASKSTREAM_SECRETS_KEY", hide_env_values = true, global = true)]
    pub secrets_key: Option<Secret>,

    /// File holding the key that encrypts webhook secrets at rest (64 hex digits).
    #[arg(long, env = "TASKSTREAM_SECRETS_KEY_FILE", global = true)]
    pub secrets_key_file: Option<PathBuf>,

    /// Log format.
    #[arg(
        long,
        env = "TASKSTREAM_LOG_FORMAT",
        value_enum,
        default_value = "human",
        global = true
    )]
    pub log_format: LogFormat,

    /// Address of the operators' listener (`/metrics` in the Prometheus format, `/status`),
    /// apart from the API. Without it no metrics are recorded.
    #[arg(long, env = "TASKSTREAM_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    #[command(flatten)]
    pub roles: RoleSettings,

    #[command(flatten)]
    pub otlp: OtlpSettings,

    /// How SQLite's writer syncs commits: `full` (each acknowledged write survives an OS
    /// crash or power loss) or `normal` (faster; a power loss may roll back the last commits).
    #[arg(
        long,
        env = "TASKSTREAM_SQLITE_SYNCHRONOUS",
        value_enum,
        default_value = "full",
        global = true
    )]
    pub sqlite_synchronous: crate::store::SqliteSync,

    /// Log filter in tracing's EnvFilter syntax.
    #[arg(long, env = "TASKSTREAM_LOG", default_value = "info", global = true)]
    pub log: String,
}

/// OpenTelemetry export of spans over OTLP/HTTP, under the standard variable names; off
/// unless an endpoint is given.
#[derive(Debug, Clone, Args)]
pub struct OtlpSettings {
    /// Base URL of an OTLP/HTTP receiver (a collector, or a tracing backend's OTLP
    /// endpoint); spans are POSTed as protobuf to `<URL>/v1/traces`. Without it nothing is
    /// exported.
    #[arg(long = "otlp-endpoint", env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub endpoint: Option<String>,

    /// The OTLP protocol: only `http/protobuf` is supported.
    #[arg(
        long = "otlp-protocol",
        env = "OTEL_EXPORTER_OTLP_PROTOCOL",
        default_value = "http/protobuf",
        global = true
    )]
    pub protocol: String,

    /// The `service.name` of the exported spans.
    #[arg(
        long = "otel-service-name",
        env = "OTEL_SERVICE_NAME",
        default_value = "taskstream",
        global = true
    )]
    pub service_name: String,
}

impl Default for OtlpSettings {
    fn default() -> Self {
        Self {
            endpoint: None,
            protocol: "http/protobuf".into(),
            service_name: "taskstream".into(),
        }
    }
}

impl OtlpSettings {
    /// Where spans go (`<endpoint>/v1/traces`), or `None` when export is off.
    ///
    /// # Errors
    /// An endpoint that is not an http(s) URL, or another protocol.
    pub fn traces_url(&self) -> anyhow::Result<Option<String>> {
        let Some(endpoint) = self.endpoint.as_deref().map(str::trim).filter(|e| !e.is_empty()) else {
            return Ok(None);
        };
        if self.protocol != "http/protobuf" {
            bail!(
                "OTEL_EXPORTER_OTLP_PROTOCOL {:?} is not supported: taskstream exports over http/protobuf",
                self.protocol
            );
        }
        let url = url::Url::parse(endpoint)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host());
        let Some(url) = url else {
            bail!("OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL");
        };
        if self.service_name.trim().is_empty() {
            bail!("OTEL_SERVICE_NAME must not be empty");
        }
        // The specification's rule for the signal-neutral variable: append the signal's path.
        Ok(Some(format!("{}/v1/traces", url.as_str().trim_end_matches('/'))))
    }
}

/// Settings of the HTTP API.
#[derive(Debug, Clone, Args)]
pub struct HttpSettings {
    /// Address the HTTP API listens on (port 0 picks a free port).
    #[arg(long, env = "TASKSTREAM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Writes that may wait for the database at once; more are answered 503 + Retry-After at
    /// once. About the database's writes per second × the latency you accept (1,300/s × 50 ms
    /// on SQLite here).
    #[arg(long, env = "TASKSTREAM_WRITE_QUEUE", default_value_t = 64)]
    pub write_queue: usize,

    /// Requests a minute one user may make, sustained (beyond it: 429 + Retry-After).
    #[arg(long, env = "TASKSTREAM_RATE_LIMIT_PER_MINUTE", default_value_t = 3_000)]
    pub rate_limit_per_minute: u32,

    /// Requests one user may make at once before the per-minute rate applies.
    #[arg(long, env = "TASKSTREAM_RATE_LIMIT_BURST", default_value_t = 200)]
    pub rate_limit_burst: u32,

    /// Longest time one request may take to be answered, in milliseconds (beyond it: 503 +
    /// Retry-After). A live stream's events are not bounded by it, only its opening.
    #[arg(long, env = "TASKSTREAM_REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,

    /// Open tasks one user may have (beyond it a create or reopen is answered 403).
    #[arg(long, env = "TASKSTREAM_QUOTA_OPEN_TASKS", default_value_t = 10_000)]
    pub quota_open_tasks: u32,

    /// Reminders one user may have across their open tasks (beyond it a write adding
    /// reminders is answered 403).
    #[arg(long, env = "TASKSTREAM_QUOTA_REMINDERS", default_value_t = 20_000)]
    pub quota_reminders: u32,

    /// Webhook changes (set, remove) one user may make an hour (beyond it: 429 + Retry-After).
    #[arg(long, env = "TASKSTREAM_QUOTA_WEBHOOK_CHANGES_PER_HOUR", default_value_t = 30)]
    pub quota_webhook_changes_per_hour: u32,
    /// Lets the web console at / sign a person in with a name alone (a short-lived token for
    /// any user name, asked from this machine only). For local use: `scripts/run` turns it on;
    /// never turn it on where others can reach the API.
    #[arg(long, env = "TASKSTREAM_CONSOLE_LOCAL_SIGNIN", default_value_t = false, action = clap::ArgAction::Set)]
    pub console_local_signin: bool,
}

impl CommonSettings {
    /// Checks what clap's types cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.db_max_connections == 0 {
            bail!("--db-max-connections (TASKSTREAM_DB_MAX_CONNECTIONS) must be at least 1");
        }
        if let Some(url) = &self.database_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("sqlite:")) {
                bail!("DATABASE_URL must start with postgres://, postgresql:// or sqlite: (got a URL with another scheme)");
            }
        }
        let jwt_sources = [
            self.jwt_secret.is_some(),
            self.jwt_secret_file.is_some(),
            self.jwt_keys_file.is_some(),
        ];
        if jwt_sources.iter().filter(|given| **given).count() > 1 {
            bail!("give one of TASKSTREAM_JWT_SECRET, TASKSTREAM_JWT_SECRET_FILE and TASKSTREAM_JWT_KEYS_FILE, not several");
        }
        if self.secrets_key.is_some() && self.secrets_key_file.is_some() {
            bail!("give either TASKSTREAM_SECRETS_KEY or TASKSTREAM_SECRETS_KEY_FILE, not both");
        }
        tracing_subscriber::EnvFilter::try_new(&self.log)
            .with_context(|| format!("TASKSTREAM_LOG is not a valid log filter: {}", self.log))?;
        Ok(())
    }

    /// The database URL to use: the configured one, or SQLite in the data directory.
    pub fn database_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database_url {
            return Ok(url.clone());
        }
        crate::private_files::private_dir(&self.data_dir)?;
        Ok(format!(
            "sqlite://{}?mode=rwc",
            self.data_dir.join("taskstream.db").display()
        ))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }

    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SaslMechanism {
    #[value(name = "SCRAM-SHA-256")]
    ScramSha256,
    #[value(name = "SCRAM-SHA-512")]
    ScramSha512,
    #[value(name = "PLAIN")]
    Plain,
}

impl SaslMechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ScramSha256 => "SCRAM-SHA-256",
            Self::ScramSha512 => "SCRAM-SHA-512",
            Self::Plain => "PLAIN",
        }
    }
}

/// How to reach the Kafka-compatible broker, and the shape of taskstream's topics.
#[derive(Debug, Clone, Args)]
pub struct KafkaSettings {
    /// Bootstrap servers, comma-separated host:port.
    #[arg(
        long = "kafka-brokers",
        env = "KAFKA_BOOTSTRAP_SERVERS",
        default_value = "127.0.0.1:9092",
        global = true
    )]
    pub brokers: String,

    /// Client id sent to the broker.
    #[arg(
        long = "kafka-client-id",
        env = "KAFKA_CLIENT_ID",
        default_value = "taskstream",
        global = true
    )]
    pub client_id: String,

    /// PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (Redpanda Cloud: SASL_SSL).
    #[arg(
        long = "kafka-security-protocol",
        env = "KAFKA_SECURITY_PROTOCOL",
        value_enum,
        default_value = "PLAINTEXT",
        global = true
    )]
    pub security_protocol: SecurityProtocol,

    /// SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN (used with SASL_* protocols).
    #[arg(
        long = "kafka-sasl-mechanism",
        env = "KAFKA_SASL_MECHANISM",
        value_enum,
        default_value = "SCRAM-SHA-256",
        global = true
    )]
    pub sasl_mechanism: SaslMechanism,

    /// SASL user name.
    #[arg(long = "kafka-username", env = "KAFKA_SASL_USERNAME", global = true)]
    pub username: Option<String>,

    /// SASL password (never logged).
    #[arg(
        long = "kafka-password",
        env = "KAFKA_SASL_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub password: Option<Secret>,

    /// File holding the SASL password (an alternative to --kafka-password).
    #[arg(long = "kafka-password-file", env = "KAFKA_SASL_PASSWORD_FILE", global = true)]
    pub password_file: Option<PathBuf>,

    /// CA certificate file (PEM) to verify the broker's TLS certificate.
    #[arg(long = "kafka-ca-file", env = "KAFKA_SSL_CA_LOCATION", global = true)]
    pub ca_file: Option<PathBuf>,

    /// Any other librdkafka property as key=value (repeatable; comma-separated in the env).
    #[arg(
        long = "kafka-property",
        env = "KAFKA_PROPERTIES",
        value_delimiter = ',',
        global = true
    )]
    pub properties: Vec<String>,

    /// Longest time the broker may hold a fetch. Small values cut latency on brokers that
    /// answer only when it runs out (Tansu); Kafka and Redpanda answer as soon as data is there.
    #[arg(
        long = "kafka-fetch-wait-max-ms",
        env = "KAFKA_FETCH_WAIT_MAX_MS",
        default_value_t = 100,
        global = true
    )]
    pub fetch_wait_max_ms: u32,

    /// A name for this process that stays the same across its restarts and is unique among
    /// the running processes (e.g. a StatefulSet pod name). With it, a restarted process
    /// takes its partitions back at once (Kafka static membership, `group.instance.id`) and
    /// its relay lease too, instead of waiting for its dead predecessor's session and lease
    /// to run out. Two live processes must never share one.
    #[arg(long = "instance-id", env = "TASKSTREAM_INSTANCE_ID", global = true)]
    pub instance_id: Option<String>,

    /// Prefix of every topic name (e.g. "prod.").
    #[arg(
        long = "topic-prefix",
        env = "TASKSTREAM_TOPIC_PREFIX",
        default_value = "",
        global = true
    )]
    pub topic_prefix: String,

    /// Replication factor of created topics (3 on Redpanda Cloud).
    #[arg(
        long = "topic-replication",
        env = "TASKSTREAM_TOPIC_REPLICATION",
        default_value_t = 1,
        global = true
    )]
    pub replication: i32,

    /// Partitions of task-events.
    #[arg(long, env = "TASKSTREAM_EVENTS_PARTITIONS", default_value_t = 3, global = true)]
    pub events_partitions: i32,
    /// Partitions of task-reminders.
    #[arg(long, env = "TASKSTREAM_REMINDERS_PARTITIONS", default_value_t = 1, global = true)]
    pub reminders_partitions: i32,
    /// Partitions of task-recurrence.
    #[arg(long, env = "TASKSTREAM_RECURRENCE_PARTITIONS", default_value_t = 1, global = true)]
    pub recurrence_partitions: i32,
    /// retention.ms of task-events (7 days).
    #[arg(
        long,
        env = "TASKSTREAM_EVENTS_RETENTION_MS",
        default_value_t = 604_800_000,
        global = true
    )]
    pub events_retention_ms: i64,
    /// retention.ms of task-reminders (1 day).
    #[arg(
        long,
        env = "TASKSTREAM_REMINDERS_RETENTION_MS",
        default_value_t = 86_400_000,
        global = true
    )]
    pub reminders_retention_ms: i64,
    /// retention.ms of task-recurrence (7 days).
    #[arg(
        long,
        env = "TASKSTREAM_RECURRENCE_RETENTION_MS",
        default_value_t = 604_800_000,
        global = true
    )]
    pub recurrence_retention_ms: i64,
    /// retention.ms of every .dlq topic (14 days).
    #[arg(
        long,
        env = "TASKSTREAM_DLQ_RETENTION_MS",
        default_value_t = 1_209_600_000,
        global = true
    )]
    pub dlq_retention_ms: i64,
}

impl KafkaSettings {
    /// The settings with no flags given (environment variables still apply, as clap reads them).
    pub fn defaults() -> Self {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            kafka: KafkaSettings,
        }
        <Wrapper as clap::Parser>::parse_from(["taskstream"]).kafka
    }

    /// Checks what clap's types cannot express.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.brokers.trim().is_empty() {
            bail!("KAFKA_BOOTSTRAP_SERVERS must name at least one host:port");
        }
        if self.security_protocol.uses_sasl() {
            if self.username.is_none() {
                bail!("{} needs KAFKA_SASL_USERNAME", self.security_protocol.as_str());
            }
            if self.password.is_none() && self.password_file.is_none() {
                bail!(
                    "{} needs KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE",
                    self.security_protocol.as_str()
                );
            }
        }
        if let Some(id) = &self.instance_id {
            let fine = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
            if id.is_empty() || id.len() > 100 || !id.chars().all(fine) {
                bail!("TASKSTREAM_INSTANCE_ID must be 1 to 100 letters, digits, '.', '_' or '-' (got {id:?})");
            }
        }
        if let Some(bad) = self.properties.iter().find(|p| !p.contains('=')) {
            bail!("KAFKA_PROPERTIES entries must be key=value (got {bad:?})");
        }
        for (name, value) in [
            ("events", self.events_partitions),
            ("reminders", self.reminders_partitions),
            ("recurrence", self.recurrence_partitions),
            ("replication", self.replication),
        ] {
            if value < 1 {
                bail!("the {name} partition/replication count must be at least 1");
            }
        }
        Ok(())
    }

    /// The SASL password from the setting or its file.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub fn password(&self) -> anyhow::Result<Option<Secret>> {
        match (&self.password, &self.password_file) {
            (Some(secret), _) => Ok(Some(secret.clone())),
            (None, Some(path)) => {
                crate::private_files::check_secret_file(path, "KAFKA_SASL_PASSWORD_FILE")?;
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read KAFKA_SASL_PASSWORD_FILE {}", path.display()))?;
                Ok(Some(Secret::new(text.trim_end())))
            }
            (None, None) => Ok(None),
        }
    }
}

/// Settings of the consumer roles.
#[derive(Debug, Clone, Args)]
pub struct RoleSettings {
    /// Reminders overdue by more than this many seconds when a scheduler finds them (after
    /// downtime) are recorded as missed instead of sent.
    #[arg(
        long,
        env = "TASKSTREAM_REMINDER_GRACE_SECS",
        default_value_t = 86_400,
        global = true
    )]
    pub reminder_grace_secs: u64,

    /// Timeout of one webhook call, in milliseconds.
    #[arg(long, env = "TASKSTREAM_WEBHOOK_TIMEOUT_MS", default_value_t = 5_000, global = true)]
    pub webhook_timeout_ms: u64,

    /// Address ranges webhooks may reach although they are private, loopback or otherwise
    /// internal (comma-separated CIDRs, e.g. 127.0.0.1/32,10.1.0.0/16). None by default:
    /// webhooks reach public addresses only. This service's own address stays refused.
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_ALLOW",
        value_delimiter = ',',
        value_parser = parse_webhook_allow,
        global = true
    )]
    pub webhook_allow: Vec<IpNet>,

    /// Refuse webhooks that are not https.
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_HTTPS_ONLY",
        action = clap::ArgAction::Set,
        default_value_t = false,
        global = true
    )]
    pub webhook_https_only: bool,

    /// Attempts of one webhook delivery before it is marked failed (about 24 h of retries
    /// with the default backoff).
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_MAX_ATTEMPTS",
        default_value_t = 20,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub webhook_max_attempts: u32,

    /// Longest wait between two attempts of a delivery, in seconds, before ±20 % jitter; the
    /// wait starts at 30 s (or this, if smaller) and doubles.
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_MAX_BACKOFF_SECS",
        default_value_t = 7_200,
        value_parser = clap::value_parser!(u64).range(1..=604_800),
        global = true
    )]
    pub webhook_max_backoff_secs: u64,

    /// Webhook sends in flight at once for one user (per notifier process).
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_PER_USER",
        default_value_t = 2,
        value_parser = clap::value_parser!(u32).range(1..=1_000),
        global = true
    )]
    pub webhook_per_user: u32,

    /// Webhook sends in flight at once to one host, `scheme://host:port` (per notifier process).
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_PER_HOST",
        default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..=1_000),
        global = true
    )]
    pub webhook_per_host: u32,

    /// Webhook sends in flight at once in all (per notifier process).
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_CONCURRENCY",
        default_value_t = 64,
        value_parser = clap::value_parser!(u32).range(1..=10_000),
        global = true
    )]
    pub webhook_concurrency: u32,

    /// Consecutive failures of a host (no answer, 5xx, 408, 429) after which it gets no sends
    /// for the cool-down; then one trial send decides.
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_BREAKER_FAILURES",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub webhook_breaker_failures: u32,

    /// Cool-down of an open circuit breaker, in seconds.
    #[arg(
        long,
        env = "TASKSTREAM_WEBHOOK_BREAKER_COOLDOWN_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..=86_400),
        global = true
    )]
    pub webhook_breaker_cooldown_secs: u64,
}

/// One `TASKSTREAM_WEBHOOK_ALLOW` entry, with a message that names the setting.
fn parse_webhook_allow(entry: &str) -> Result<IpNet, String> {
    if entry.trim().is_empty() {
        return Err("TASKSTREAM_WEBHOOK_ALLOW has an empty entry; leave it unset to allow no internal range".into());
    }
    crate::webhook::parse_allow_entry(entry).map_err(|why| format!("TASKSTREAM_WEBHOOK_ALLOW: {why}"))
}

impl Default for RoleSettings {
    fn default() -> Self {
        Self {
            reminder_grace_secs: 86_400,
            webhook_timeout_ms: 5_000,
            webhook_allow: Vec::new(),
            webhook_https_only: false,
            webhook_max_attempts: 20,
            webhook_max_backoff_secs: 7_200,
            webhook_per_user: 2,
            webhook_per_host: 8,
            webhook_concurrency: 64,
            webhook_breaker_failures: 5,
            webhook_breaker_cooldown_secs: 60,
        }
    }
}

impl RoleSettings {
    pub fn reminder_grace(&self) -> chrono::TimeDelta {
        // Beyond a century the grace means "never missed"; chrono cannot hold much more.
        const CENTURY: u64 = 100 * 366 * 86_400;
        chrono::TimeDelta::seconds(i64::try_from(self.reminder_grace_secs.min(CENTURY)).unwrap_or(0))
    }

    pub fn webhook_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.webhook_timeout_ms.max(1))
    }

    /// Where webhooks may go (before the API's own address is known).
    pub fn webhook_policy(&self) -> EgressPolicy {
        EgressPolicy::new(&self.webhook_allow, self.webhook_https_only)
    }
}

#[cfg(test)]
mod tests {
    use super::OtlpSettings;

    fn otlp(endpoint: &str, protocol: &str) -> OtlpSettings {
        OtlpSettings {
            endpoint: Some(endpoint.into()),
            protocol: protocol.into(),
            ..OtlpSettings::default()
        }
    }

    #[test]
    fn otlp_export_is_off_without_an_endpoint_and_sends_to_the_traces_path() {
        assert_eq!(OtlpSettings::default().traces_url().expect("valid"), None);
        assert_eq!(otlp("  ", "http/protobuf").traces_url().expect("valid"), None);
        for (endpoint, url) in [
            ("http://collector:4318", "http://collector:4318/v1/traces"),
            ("https://otlp.example.com/", "https://otlp.example.com/v1/traces"),
            ("http://127.0.0.1:4318/base", "http://127.0.0.1:4318/base/v1/traces"),
        ] {
            let got = otlp(endpoint, "http/protobuf").traces_url().expect("valid");
            assert_eq!(got.as_deref(), Some(url), "{endpoint}");
        }
    }

    #[test]
    fn otlp_settings_that_cannot_work_are_refused_without_echoing_the_endpoint() {
        for endpoint in ["collector:4318", "grpc://collector:4317", "http://", "not a url"] {
            let error = otlp(endpoint, "http/protobuf").traces_url().expect_err(endpoint);
            assert!(error.to_string().contains("OTEL_EXPORTER_OTLP_ENDPOINT"), "{error}");
        }
        let error = otlp("http://collector:4317", "grpc").traces_url().expect_err("grpc");
        assert!(error.to_string().contains("http/protobuf"), "{error}");
    }
}
