//! The harness's own Kafka client: it waits for the service's topics, puts poison on them,
//! reads topics from the beginning and tells how far the service's consumer groups lag.
//! librdkafka calls block, so they run on blocking threads.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};

use crate::say;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The base names of the topics the service makes.
pub const TOPICS: [&str; 3] = ["task-events", "task-reminders", "task-recurrence"];

/// The consumer groups with effects, and the topic each reads.
pub const GROUPS: [(&str, &str); 4] = [
    ("audit", "task-events"),
    ("scheduler", "task-reminders"),
    ("notifier", "task-reminders"),
    ("recurrence", "task-recurrence"),
];

/// A record as read back.
#[derive(Debug, Clone)]
pub struct Record {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub payload: Vec<u8>,
    pub headers: HashMap<String, String>,
}

/// A record the run put on a topic that no consumer can ever process.
#[derive(Debug, Clone)]
pub struct Poison {
    pub key: String,
    pub topic: String,
}

/// Keys of poison records start with this.
pub const POISON_KEY: &str = "chaos-poison-";

pub struct Broker {
    brokers: String,
    prefix: String,
}

impl Broker {
    pub fn new(brokers: String, prefix: String) -> Self {
        Self { brokers, prefix }
    }

    /// The broker-side name of a base topic name.
    pub fn name(&self, base: &str) -> String {
        format!("{}{base}", self.prefix)
    }

    /// The service's group reading as `role`.
    pub fn group(&self, role: &str) -> String {
        format!("{}taskstream-{role}", self.prefix)
    }

    fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("fetch.wait.max.ms", "10")
            .set("log_level", "3");
        config
    }

    /// Waits until the service has made its topics and their dead-letter companions.
    ///
    /// # Errors
    /// When they do not appear within `limit`.
    pub async fn wait_for_topics(&self, limit: Duration) -> anyhow::Result<()> {
        let names: Vec<String> = TOPICS
            .iter()
            .flat_map(|t| [self.name(t), format!("{}.dlq", self.name(t))])
            .collect();
        let consumer: BaseConsumer = self.config().set("group.id", "chaos-metadata").create()?;
        let deadline = Instant::now() + limit;
        loop {
            let missing = blocking(|| {
                let metadata = consumer.fetch_metadata(None, TIMEOUT).ok();
                let existing: Vec<String> = metadata
                    .map(|m| m.topics().iter().map(|t| t.name().to_owned()).collect())
                    .unwrap_or_default();
                names
                    .iter()
                    .filter(|n| !existing.contains(n))
                    .cloned()
                    .collect::<Vec<_>>()
            });
            if missing.is_empty() {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "topics missing after {limit:?}: {missing:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Puts `count` records no consumer can process on task-recurrence and task-events: not
    /// JSON, an unknown event type, a newer schema version.
    ///
    /// # Errors
    /// When the broker does not take them.
    pub async fn inject_poison(&self, count: usize) -> anyhow::Result<Vec<Poison>> {
        let producer: FutureProducer = self.config().set("acks", "all").create()?;
        let kinds = [
            ("task-recurrence", b"{not json".to_vec()),
            (
                "task-recurrence",
                serde_json::to_vec(&serde_json::json!({
                    "event_id": uuid::Uuid::new_v4(), "event_type": "series.teleport", "schema_version": 1,
                    "occurred_at": "2026-01-01T00:00:00.000000Z", "user_id": "chaos", "task_id": uuid::Uuid::new_v4(),
                    "task_version": 1, "data": {}
                }))?,
            ),
            (
                "task-events",
                serde_json::to_vec(&serde_json::json!({
                    "event_id": uuid::Uuid::new_v4(), "event_type": "task.created", "schema_version": 99,
                    "occurred_at": "2026-01-01T00:00:00.000000Z", "user_id": "chaos", "task_id": uuid::Uuid::new_v4(),
                    "task_version": 1, "data": {}
                }))?,
            ),
        ];
        let mut poison = Vec::new();
        for i in 0..count {
            let (base, payload) = &kinds[i % kinds.len()];
            let topic = self.name(base);
            let key = format!("{POISON_KEY}{i}");
            producer
                .send(FutureRecord::to(&topic).key(&key).payload(payload), TIMEOUT)
                .await
                .map_err(|(error, _)| anyhow::anyhow!("cannot put poison on {topic}: {error}"))?;
            poison.push(Poison { key, topic });
        }
        Ok(poison)
    }

    /// Every record of `topic` from the beginning to its end as of now, in partition order.
    ///
    /// # Errors
    /// When the topic cannot be read to its end within five minutes.
    pub async fn read(&self, topic: &str) -> anyhow::Result<Vec<Record>> {
        let consumer: BaseConsumer = self
            .config()
            .set("group.id", format!("chaos-reader-{}", uuid::Uuid::new_v4().simple()))
            .set("enable.auto.commit", "false")
            .create()?;
        let topic = topic.to_owned();
        let started = Instant::now();
        let records = tokio::task::spawn_blocking(move || read_all(&consumer, &topic)).await??;
        say(format!(
            "read {} records of {} in {:.1} s",
            records.len(),
            records.first().map_or("(empty)", |r| r.topic.as_str()),
            started.elapsed().as_secs_f64()
        ));
        Ok(records)
    }

    /// Records of `topic` that `group` has not committed yet.
    ///
    /// # Errors
    /// When the broker does not answer.
    pub async fn lag(&self, group: &str, topic: &str) -> anyhow::Result<i64> {
        let consumer: BaseConsumer = self
            .config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()?;
        let topic = topic.to_owned();
        tokio::task::spawn_blocking(move || {
            let ends = watermarks(&consumer, &topic)?;
            let mut asked = TopicPartitionList::new();
            for partition in ends.keys() {
                asked.add_partition(&topic, *partition);
            }
            let committed = consumer.committed_offsets(asked, TIMEOUT)?;
            let mut lag = 0;
            for element in committed.elements() {
                let (low, high) = ends.get(&element.partition()).copied().unwrap_or((0, 0));
                let at = match element.offset() {
                    Offset::Offset(n) => n,
                    _ => low,
                };
                lag += (high - at).max(0);
            }
            Ok(lag)
        })
        .await?
    }
}

/// Low and high watermarks of every partition of `topic`.
fn watermarks(consumer: &BaseConsumer, topic: &str) -> anyhow::Result<HashMap<i32, (i64, i64)>> {
    let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT)?;
    let partitions = metadata
        .topics()
        .first()
        .map(|t| t.partitions().iter().map(|p| p.id()).collect::<Vec<_>>())
        .unwrap_or_default();
    anyhow::ensure!(!partitions.is_empty(), "topic {topic} has no partitions");
    partitions
        .into_iter()
        .map(|p| Ok((p, consumer.fetch_watermarks(topic, p, TIMEOUT)?)))
        .collect()
}

fn read_all(consumer: &BaseConsumer, topic: &str) -> anyhow::Result<Vec<Record>> {
    let ends = watermarks(consumer, topic)?;
    let mut assignment = TopicPartitionList::new();
    let mut remaining = HashMap::new();
    for (partition, (low, high)) in &ends {
        if high > low {
            assignment.add_partition_offset(topic, *partition, Offset::Offset(*low))?;
            remaining.insert(*partition, *high);
        }
    }
    consumer.assign(&assignment)?;
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut records = Vec::new();
    while !remaining.is_empty() {
        anyhow::ensure!(
            Instant::now() < deadline,
            "could not read {topic} to its end in 5 minutes"
        );
        let Some(message) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let message = message.with_context(|| format!("reading {topic}"))?;
        let (partition, offset) = (message.partition(), message.offset());
        if remaining.get(&partition).is_some_and(|end| offset + 1 >= *end) {
            remaining.remove(&partition);
        }
        records.push(Record {
            topic: topic.to_owned(),
            partition,
            offset,
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            payload: message.payload().unwrap_or_default().to_vec(),
            headers: message
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
                .unwrap_or_default(),
        });
    }
    records.sort_by_key(|r| (r.partition, r.offset));
    Ok(records)
}

/// Runs a short librdkafka call inline (it blocks for at most its timeout).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}
