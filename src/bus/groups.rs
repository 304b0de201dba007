//! What the broker says about a consumer group and a topic, for `taskstream status`: the
//! group's committed offset and lag on each partition, and how many records a topic holds. Blocking librdkafka calls, bounded by `TIMEOUT`; call from a blocking thread.

use std::time::Duration;

use anyhow::Context;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use serde::Serialize;

use super::{Detached, Kafka};

const TIMEOUT: Duration = Duration::from_secs(10);

/// One partition a group reads.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    /// The group's committed offset (the next record it will read), if it committed one.
    pub committed: Option<i64>,
    /// The partition's end (high watermark).
    pub end: i64,
    /// Records after the committed offset (after the partition's start when none).
    pub lag: i64,
}

/// A consumer group as the broker sees it.
#[derive(Debug, Clone, Serialize)]
pub struct GroupState {
    pub group: String,
    pub partitions: Vec<PartitionLag>,
}

impl GroupState {
    pub fn lag(&self) -> i64 {
        self.partitions.iter().map(|p| p.lag).sum()
    }
}

/// A client in `group` that never joins it: it only asks for the group's offsets.
fn observer(kafka: &Kafka, group: &str) -> anyhow::Result<Detached<BaseConsumer>> {
    let consumer = kafka
        .base_config()?
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .context("cannot create a broker client")?;
    Ok(Detached::new(consumer))
}

/// The lag of `group` on `topics`. Not its members: the processes announce those in the
/// database (`roles::presence`), which every broker allows; Tansu 0.6.0 fails the
/// DescribeGroups request on its own stored group state and drops the connection.
///
/// # Errors
/// When the broker cannot be reached or does not know a topic.
pub fn group_state(kafka: &Kafka, group: &str, topics: &[String]) -> anyhow::Result<GroupState> {
    let client = observer(kafka, group)?;
    let mut wanted = TopicPartitionList::new();
    let mut ends = Vec::new();
    for topic in topics {
        for partition in 0..partition_count(&client, topic)? {
            let (start, end) = client
                .fetch_watermarks(topic, partition, TIMEOUT)
                .with_context(|| format!("cannot read the offsets of {topic}[{partition}]"))?;
            wanted.add_partition(topic, partition);
            ends.push((start, end));
        }
    }
    let committed = client
        .committed_offsets(wanted, TIMEOUT)
        .with_context(|| format!("cannot read the committed offsets of {group}"))?;
    let partitions = committed
        .elements()
        .iter()
        .zip(ends)
        .map(|(element, (start, end))| {
            let committed = match element.offset() {
                Offset::Offset(offset) => Some(offset),
                _ => None,
            };
            PartitionLag {
                topic: element.topic().to_owned(),
                partition: element.partition(),
                committed,
                end,
                lag: (end - committed.unwrap_or(start)).max(0),
            }
        })
        .collect();
    Ok(GroupState {
        group: group.to_owned(),
        partitions,
    })
}

/// Records `topic` holds now (over all partitions).
///
/// # Errors
/// When the broker cannot be reached or does not know the topic.
pub fn topic_records(kafka: &Kafka, topic: &str) -> anyhow::Result<i64> {
    let client = observer(kafka, &format!("taskstream-status-{}", uuid::Uuid::new_v4().simple()))?;
    let mut total = 0;
    for partition in 0..partition_count(&client, topic)? {
        let (start, end) = client
            .fetch_watermarks(topic, partition, TIMEOUT)
            .with_context(|| format!("cannot read the offsets of {topic}[{partition}]"))?;
        total += (end - start).max(0);
    }
    Ok(total)
}

fn partition_count(client: &BaseConsumer, topic: &str) -> anyhow::Result<i32> {
    let metadata = client
        .fetch_metadata(Some(topic), TIMEOUT)
        .with_context(|| format!("cannot read the metadata of {topic}"))?;
    let partitions = metadata
        .topics()
        .first()
        .filter(|t| t.error().is_none())
        .map_or(0, |t| t.partitions().len());
    anyhow::ensure!(partitions > 0, "the broker does not know the topic {topic}");
    i32::try_from(partitions).context("partition count")
}
