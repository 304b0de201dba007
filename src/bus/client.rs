//! librdkafka configuration from [`KafkaSettings`]. Secrets go into the client config and
//! nowhere else: the config is never logged.

use rdkafka::config::ClientConfig;

use super::TopicNames;
use crate::config::KafkaSettings;

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
        for property in &s.properties {
            if let Some((key, value)) = property.split_once('=') {
                config.set(key.trim(), value.trim());
            }
        }
        Ok(config)
    }
}
