//! The broker's own share of the end-to-end latency (`bench broker-hop`): an independent
//! rdkafka producer (idempotent, acks=all, linger 2 ms, eight headers, as the relay sends)
//! writes one record at a time at a fixed rate, and a consumer assigned every partition (no
//! group, so no join) reads them with the service's fetch wait. Each record carries its
//! scheduled send time, so the two hops the service's e2e figure splits into are measured
//! for the broker alone: send → acknowledged, and send → read by the consumer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use taskstream::bus::record_headers;
use taskstream::events::Topic;

use crate::relay::fresh_kafka;
use crate::support::percentiles;

const HEADERS: usize = 8;
const SIZE: usize = 600;
/// The index of the record sent before the measured ones.
const WARM_UP: usize = usize::MAX;

pub async fn broker_hop(brokers: &str, rate: u32, seconds: u32, fetch_wait_ms: u32) -> anyhow::Result<()> {
    let kafka = fresh_kafka(brokers).await?;
    let topic = kafka.topics.name(Topic::TaskEvents);
    let consumer = assigned_consumer(brokers, &topic, fetch_wait_ms)?;
    let total = usize::try_from(rate * seconds)?;
    let reading = tokio::spawn(read(consumer, total));

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2")
        .create()?;
    let send = |i: usize, sent_at: u128| {
        let mut payload = sent_at.to_be_bytes().to_vec();
        payload.resize(SIZE, b'x');
        let key = format!("task-{i}");
        let pairs: Vec<(String, String)> = (0..HEADERS)
            .map(|h| (format!("ce_h{h}"), format!("value-{h}-{i}")))
            .collect();
        let record = FutureRecord::to(&topic)
            .key(&key)
            .payload(&payload)
            .headers(record_headers(&pairs));
        producer.send_result(record).map_err(|(e, _)| e)
    };
    // One record acknowledged before the clock starts: the producer id and metadata are not
    // the broker's per-record share. The consumer skips it (send time 0).
    send(WARM_UP, 0)?.await?.map_err(|(e, _)| e)?;
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let start = tokio::time::Instant::now();
    let mut acks = Vec::with_capacity(total);
    for i in 0..total {
        let due = start + interval.mul_f64(i as f64);
        tokio::time::sleep_until(due).await;
        let sent_at = epoch_micros(SystemTime::now() - due.elapsed());
        let delivery = send(i, sent_at)?;
        acks.push(tokio::spawn(async move {
            delivery.await.ok().and_then(Result::ok).map(|_| since(sent_at))
        }));
    }
    let mut acked = Vec::with_capacity(total);
    for ack in acks {
        acked.extend(ack.await?);
    }
    let read = reading.await??;
    println!(
        "broker alone at {rate}/s for {seconds} s ({HEADERS} headers, fetch.wait.max.ms={fetch_wait_ms}): \
         send → acknowledged over {} records: {}",
        acked.len(),
        percentiles(&acked)
    );
    println!(
        "  send → read by a consumer over {} records: {}",
        read.len(),
        percentiles(&read)
    );
    Ok(())
}

/// A consumer reading every partition of `topic` from its start, without a group.
fn assigned_consumer(brokers: &str, topic: &str, fetch_wait_ms: u32) -> anyhow::Result<StreamConsumer> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "bench-broker-hop")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", fetch_wait_ms.to_string())
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let partitions = metadata
        .topics()
        .first()
        .map(|t| t.partitions().len())
        .filter(|n| *n > 0)
        .ok_or_else(|| anyhow::anyhow!("topic {topic} has no partitions"))?;
    let mut list = TopicPartitionList::new();
    for partition in 0..partitions {
        list.add_partition_offset(topic, i32::try_from(partition)?, Offset::Beginning)?;
    }
    consumer.assign(&list)?;
    Ok(consumer)
}

/// Reads `total` records, each one's time since its scheduled send.
async fn read(consumer: StreamConsumer, total: usize) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(total);
    let mut stream = consumer.stream();
    while latencies.len() < total {
        let next = tokio::time::timeout(Duration::from_secs(30), stream.next()).await;
        let message = next
            .map_err(|_| anyhow::anyhow!("no record for 30 s after {} of {total}", latencies.len()))?
            .ok_or_else(|| anyhow::anyhow!("consumer ended"))??;
        let sent_at = message
            .payload()
            .and_then(|p| p.get(..16))
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .map(u128::from_be_bytes)
            .ok_or_else(|| anyhow::anyhow!("a record without its send time"))?;
        if sent_at != 0 {
            latencies.push(since(sent_at));
        }
    }
    Ok(latencies)
}

fn epoch_micros(at: SystemTime) -> u128 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_micros()
}

fn since(sent_at_micros: u128) -> Duration {
    let now = epoch_micros(SystemTime::now());
    Duration::from_micros(u64::try_from(now.saturating_sub(sent_at_micros)).unwrap_or(u64::MAX))
}
