//! The idempotent producer (enable.idempotence, acks=all) used by the relay and the DLQ.

use std::time::Duration;

use anyhow::Context;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::Kafka;

/// A record to publish.
pub struct Outgoing<'a> {
    pub topic: &'a str,
    pub key: &'a str,
    pub payload: &'a [u8],
    pub headers: OwnedHeaders,
}

/// Why the broker did not take a record.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Sending it again cannot succeed (too large, malformed, a forbidden or invalid topic).
    pub permanent: bool,
    pub message: String,
}

impl Refusal {
    fn from_kafka(error: &KafkaError) -> Self {
        let permanent = matches!(
            error.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::MessageSizeTooLarge
                    | RDKafkaErrorCode::InvalidMessageSize
                    | RDKafkaErrorCode::InvalidMessage
                    | RDKafkaErrorCode::InvalidRecord
                    | RDKafkaErrorCode::InvalidTopic
                    | RDKafkaErrorCode::TopicAuthorizationFailed
            )
        );
        Self {
            permanent,
            message: error.to_string(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Longest a record may wait for the broker's acknowledgement: shorter than the relay's
/// lease, so a stalled relay's records can no longer land once another relay has taken over.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Publisher {
    producer: FutureProducer,
}

impl Publisher {
    /// # Errors
    /// When the configuration is invalid.
    pub fn new(kafka: &Kafka) -> anyhow::Result<Self> {
        let mut config = kafka.base_config()?;
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2")
            // A timed-out record makes an idempotent producer bump its epoch, which some
            // brokers handle badly (Tansu 0.6 stops accepting the producer's records): the
            // relay makes a fresh producer after any failure.
            .set("message.timeout.ms", DELIVERY_TIMEOUT.as_millis().to_string());
        kafka.apply_overrides(&mut config); // KAFKA_PROPERTIES win over these defaults
        let producer = config.create().context("cannot create the Kafka producer")?;
        Ok(Self { producer })
    }

    /// Sends all records at once and waits for every acknowledgement; result `i` is record
    /// `i`'s. Enqueuing before awaiting keeps one round trip per batch, not per record.
    pub async fn send_all(&self, records: Vec<Outgoing<'_>>) -> Vec<Result<(), Refusal>> {
        let sends = records.into_iter().map(|r| {
            let record = FutureRecord::to(r.topic)
                .key(r.key)
                .payload(r.payload)
                .headers(r.headers);
            self.producer.send(record, Duration::from_secs(5))
        });
        futures_util::future::join_all(sends)
            .await
            .into_iter()
            .map(|result| result.map(|_| ()).map_err(|(error, _)| Refusal::from_kafka(&error)))
            .collect()
    }
}

/// Kafka headers from name/value pairs.
pub fn record_headers(pairs: &[(String, String)]) -> OwnedHeaders {
    pairs
        .iter()
        .fold(OwnedHeaders::new_with_capacity(pairs.len()), |headers, (key, value)| {
            headers.insert(Header {
                key,
                value: Some(value.as_bytes()),
            })
        })
}
