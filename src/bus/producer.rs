//! The idempotent producer (enable.idempotence, acks=all) used by the relay and the DLQ.

use std::time::Duration;

use anyhow::Context;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};

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
        self.enqueue(records).await.acknowledged().await
    }

    /// Hands the records to the producer's queue in order and returns at once; the
    /// acknowledgements come with [`Sending::acknowledged`]. Records are enqueued one after
    /// the other, a full queue waited out before the next one, so the producer sends them (and
    /// the idempotent producer keeps them, per partition) in exactly this order, and a later
    /// call's records after all of these.
    pub async fn enqueue(&self, records: Vec<Outgoing<'_>>) -> Sending {
        let mut deliveries = Vec::with_capacity(records.len());
        for r in records {
            let mut record = FutureRecord::to(r.topic)
                .key(r.key)
                .payload(r.payload)
                .headers(r.headers);
            let queued_at = std::time::Instant::now();
            deliveries.push(loop {
                match self.producer.send_result(record) {
                    Ok(delivery) => break Ok(delivery),
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                        if queued_at.elapsed() < QUEUE_TIMEOUT =>
                    {
                        record = back;
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Err((error, _)) => break Err(Refusal::from_kafka(&error)),
                }
            });
        }
        Sending { deliveries }
    }
}

/// Longest a record waits for room in the producer's queue.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

/// Records handed to the producer, not yet acknowledged.
pub struct Sending {
    deliveries: Vec<Result<DeliveryFuture, Refusal>>,
}

impl Sending {
    /// Waits for every acknowledgement; result `i` is record `i`'s.
    pub async fn acknowledged(self) -> Vec<Result<(), Refusal>> {
        let mut results = Vec::with_capacity(self.deliveries.len());
        for delivery in self.deliveries {
            results.push(match delivery {
                Ok(delivery) => match delivery.await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err((error, _))) => Err(Refusal::from_kafka(&error)),
                    Err(_) => Err(Refusal {
                        permanent: false,
                        message: "the producer went away before the broker answered".to_owned(),
                    }),
                },
                Err(refusal) => Err(refusal),
            });
        }
        results
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
