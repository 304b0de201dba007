//! librdkafka configuration from [`KafkaSettings`]. Secrets go into the client config and
//! nowhere else: the config is never logged.

use std::sync::{Arc, Mutex};

use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::ClientContext;

use super::TopicNames;
use crate::config::{KafkaSettings, SecurityProtocol};

/// Everything needed to make Kafka clients.
#[derive(Clone)]
pub struct Kafka {
    settings: KafkaSettings,
    pub topics: TopicNames,
}

impl std::fmt::Debug for Kafka {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kafka")
            .field("brokers", &self.settings.brokers)
            .finish_non_exhaustive()
    }
}

impl Kafka {
    pub fn new(settings: KafkaSettings) -> Self {
        let topics = TopicNames::new(&settings);
        Self { settings, topics }
    }

    pub fn settings(&self) -> &KafkaSettings {
        &self.settings
    }

    /// `error` with a hint at the settings that usually cause a connection failure.
    pub fn explain(&self, error: anyhow::Error) -> anyhow::Error {
        let s = &self.settings;
        if s.security_protocol.uses_sasl() {
            // Brokers differ in how they refuse credentials: some answer with an
            // authentication error, some (Tansu) just close the connection.
            error.context(format!(
                "could not connect to {} with {} authentication as {:?}: check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM{}",
                s.brokers,
                s.sasl_mechanism.as_str(),
                s.username.as_deref().unwrap_or(""),
                if s.security_protocol == SecurityProtocol::SaslSsl { ", and KAFKA_SSL_CA_LOCATION for TLS" } else { "" }
            ))
        } else {
            error.context(format!(
                "could not connect to {} over {}",
                s.brokers,
                s.security_protocol.as_str()
            ))
        }
    }

    /// The base configuration every client starts from.
    ///
    /// # Errors
    /// When the password file cannot be read.
    pub fn base_config(&self) -> anyhow::Result<ClientConfig> {
        let s = &self.settings;
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &s.brokers)
            .set("client.id", &s.client_id)
            .set("security.protocol", s.security_protocol.as_str())
            // Fail fast on a wrong address or credentials instead of retrying silently.
            .set("socket.connection.setup.timeout.ms", "10000");
        if s.security_protocol.uses_sasl() {
            config.set("sasl.mechanism", s.sasl_mechanism.as_str());
            if let Some(user) = &s.username {
                config.set("sasl.username", user);
            }
            if let Some(password) = s.password()? {
                config.set("sasl.password", password.expose());
            }
        }
        if let Some(ca) = &s.ca_file {
            config.set("ssl.ca.location", ca.display().to_string());
        }
        self.apply_overrides(&mut config);
        Ok(config)
    }

    /// Sets the KAFKA_PROPERTIES pass-through on `config`, over anything set before.
    pub fn apply_overrides(&self, config: &mut ClientConfig) {
        for property in &self.settings.properties {
            if let Some((key, value)) = property.split_once('=') {
                config.set(key.trim(), value.trim());
            }
        }
    }
}

/// Remembers the last error librdkafka reported for a client, so that a request that merely
/// times out can say why (a refused password, an untrusted certificate).
#[derive(Clone, Default)]
pub struct ErrorLog(Arc<Mutex<Option<String>>>);

impl ClientContext for ErrorLog {
    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(%error, reason, "Kafka client error");
        if let Ok(mut last) = self.0.lock() {
            *last = Some(format!("{error}: {reason}"));
        }
    }
}

impl ErrorLog {
    /// `error` with the last reported client error attached, if there was one.
    pub fn explain(&self, error: anyhow::Error) -> anyhow::Error {
        match self.0.lock().ok().and_then(|last| last.clone()) {
            Some(reason) => error.context(format!("the broker connection failed: {reason}")),
            None => error,
        }
    }
}
