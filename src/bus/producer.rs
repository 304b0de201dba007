//! The idempotent producer (enable.idempotence, acks=all) used by the relay and the DLQ.

use std::time::Duration;

use anyhow::Context;
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
            // brokers handle badly (Tansu 0.6 stops accepting the producer's records). Give
            // deliveries long: the relay waits anyway while the broker is away.
            .set("message.timeout.ms", "300000");
        kafka.apply_overrides(&mut config); // KAFKA_PROPERTIES win over these defaults
        let producer = config.create().context("cannot create the Kafka producer")?;
        Ok(Self { producer })
    }

    /// Sends all records at once and waits for every acknowledgement; result `i` is record
    /// `i`'s. Enqueuing before awaiting keeps one round trip per batch, not per record.
    pub async fn send_all(&self, records: Vec<Outgoing<'_>>) -> Vec<Result<(), String>> {
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
            .map(|result| result.map(|_| ()).map_err(|(error, _)| error.to_string()))
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
