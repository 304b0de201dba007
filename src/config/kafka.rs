//! How to reach the Kafka-compatible broker, and the layout of taskstream's topics.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use super::Secret;

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
