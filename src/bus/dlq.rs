//! Dead-letter topics: parking records a consumer could not process, listing them, and
//! replaying them onto their source topic.

use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::producer::Outgoing;
use super::{record_headers, Detached, Kafka, Publisher};
use crate::events::Topic;

/// Header names added to a parked record, next to the original headers.
pub const ERROR: &str = "dlq_error";
pub const SOURCE_TOPIC: &str = "dlq_source_topic";
pub const SOURCE_PARTITION: &str = "dlq_source_partition";
pub const SOURCE_OFFSET: &str = "dlq_source_offset";
pub const ATTEMPTS: &str = "dlq_attempts";
pub const CONSUMER: &str = "dlq_consumer";
pub const FAILED_AT: &str = "dlq_failed_at";

pub struct Failure<'a> {
    pub consumer: &'a str,
    pub error: &'a str,
    pub attempts: u32,
}

fn headers_of<M: Message>(message: &M) -> Vec<(String, String)> {
    message
        .headers()
        .map(|headers| {
            headers
                .iter()
                .map(|h| {
                    (
                        h.key.to_owned(),
                        String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `message` with its provenance to its topic's DLQ and waits for the broker.
///
/// # Errors
/// When the DLQ does not acknowledge the record.
pub async fn park(
    kafka: &Kafka,
    publisher: &Publisher,
    message: &BorrowedMessage<'_>,
    failure: &Failure<'_>,
) -> anyhow::Result<()> {
    let dlq = kafka
        .topics
        .parse(message.topic())
        .map_or_else(|| format!("{}.dlq", message.topic()), |t| kafka.topics.dlq(t));
    let mut headers = headers_of(message);
    headers.extend([
        (ERROR.to_owned(), failure.error.chars().take(4_000).collect()),
        (SOURCE_TOPIC.to_owned(), message.topic().to_owned()),
        (SOURCE_PARTITION.to_owned(), message.partition().to_string()),
        (SOURCE_OFFSET.to_owned(), message.offset().to_string()),
        (ATTEMPTS.to_owned(), failure.attempts.to_string()),
        (CONSUMER.to_owned(), failure.consumer.to_owned()),
        (FAILED_AT.to_owned(), crate::time::format(crate::time::now())),
    ]);
    let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
    let record = Outgoing {
        topic: &dlq,
        key: &key,
        payload: message.payload().unwrap_or_default(),
        headers: record_headers(&headers),
    };
    publisher
        .send_all(vec![record])
        .await
        .remove(0)
        .map_err(|e| anyhow::anyhow!("DLQ {dlq}: {e}"))
}

/// A record found on a DLQ.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Parked {
    pub dlq_topic: String,
    pub dlq_partition: i32,
    pub dlq_offset: i64,
    pub key: String,
    pub value: String,
    pub headers: Vec<(String, String)>,
}

impl Parked {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn event_type(&self) -> Option<&str> {
        self.header("ce_type")
    }
}

/// Which parked records a command applies to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub topic: Option<Topic>,
    pub event_type: Option<String>,
    pub error_contains: Option<String>,
    pub offset: Option<i64>,
}

impl Filter {
    fn matches(&self, parked: &Parked) -> bool {
        self.event_type
            .as_deref()
            .is_none_or(|t| parked.event_type() == Some(t))
            && self
                .error_contains
                .as_deref()
                .is_none_or(|s| parked.header(ERROR).is_some_and(|e| e.contains(s)))
            && self.offset.is_none_or(|o| parked.dlq_offset == o)
    }
}

/// Every record on the DLQs the filter selects, oldest first per partition.
///
/// # Errors
/// When the broker cannot be read.
pub fn list(kafka: &Kafka, filter: &Filter) -> anyhow::Result<Vec<Parked>> {
    let consumer: Detached<BaseConsumer> = Detached::new(
        kafka
            .base_config()?
            .set("group.id", format!("taskstream-dlq-reader-{}", uuid::Uuid::new_v4()))
            .set("enable.auto.commit", "false")
            .set("fetch.wait.max.ms", kafka.settings().fetch_wait_max_ms.to_string())
            .create()
            .context("cannot create the DLQ reader")?,
    );
    let topics: Vec<Topic> = filter.topic.map_or_else(|| Topic::ALL.to_vec(), |t| vec![t]);
    let mut found = Vec::new();
    for topic in topics {
        let name = kafka.topics.dlq(topic);
        let (low, high) = consumer
            .fetch_watermarks(&name, 0, Duration::from_secs(10))
            .with_context(|| format!("cannot read the offsets of {name}"))?;
        if high <= low {
            continue;
        }
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(&name, 0, Offset::Offset(low))?;
        consumer.assign(&assignment)?;
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut next = low;
        while next < high && std::time::Instant::now() < deadline {
            let Some(result) = consumer.poll(Duration::from_millis(500)) else {
                continue;
            };
            let message = result.context("reading a DLQ")?;
            next = message.offset() + 1;
            let parked = Parked {
                dlq_topic: name.clone(),
                dlq_partition: message.partition(),
                dlq_offset: message.offset(),
                key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
                value: String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned(),
                headers: headers_of(&message),
            };
            if filter.matches(&parked) {
                found.push(parked);
            }
        }
    }
    Ok(found)
}

/// Publishes each parked record again on its source topic, original key, value and
/// headers (without the DLQ ones); `progress` is told after each. Returns how many.
///
/// # Errors
/// When a record cannot be published.
pub async fn replay(
    publisher: &Publisher,
    records: &[Parked],
    mut progress: impl FnMut(usize, &Parked),
) -> anyhow::Result<usize> {
    for (i, parked) in records.iter().enumerate() {
        let source = parked
            .header(SOURCE_TOPIC)
            .map_or_else(|| parked.dlq_topic.trim_end_matches(".dlq").to_owned(), str::to_owned);
        let headers: Vec<(String, String)> = parked
            .headers
            .iter()
            .filter(|(k, _)| !k.starts_with("dlq_"))
            .cloned()
            .collect();
        let record = Outgoing {
            topic: &source,
            key: &parked.key,
            payload: parked.value.as_bytes(),
            headers: record_headers(&headers),
        };
        publisher
            .send_all(vec![record])
            .await
            .remove(0)
            .map_err(|e| anyhow::anyhow!("replay to {source}: {e}"))?;
        progress(i + 1, parked);
    }
    Ok(records.len())
}
