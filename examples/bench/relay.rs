//! Where the relay's time goes (`bench relay-split`) and what the broker takes on its own
//! (`bench broker`, an rdkafka producer with no database behind it).

use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use taskstream::bus::{record_headers, topics, Kafka, Publisher};
use taskstream::domain::{NewTask, Status, TaskInput, UserId};
use taskstream::events::Topic;
use taskstream::relay;
use taskstream::store::{Holdings, Store};

/// Creates `events` tasks, one outbox row each.
pub async fn fill(store: &Store, events: u32) -> anyhow::Result<()> {
    let user = UserId::parse("bench").map_err(|e| anyhow::anyhow!(e.message))?;
    let filling = Instant::now();
    for i in 0..events {
        let input = TaskInput::titled(format!("task {i}"));
        let task = NewTask::parse(&input).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        store
            .create_task(&user, task, Holdings::UNBOUNDED, None, |_| unreachable!())
            .await?;
    }
    println!(
        "wrote {events} tasks (+ outbox rows) in {:.1}s",
        filling.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Creates `tasks` daily tasks with a reminder and completes each: a backlog for every role
/// (task-events for audit, task-reminders for the scheduler, task-recurrence for the
/// recurrence role), five outbox rows a task.
pub async fn fill_repeating(store: &Store, tasks: u32) -> anyhow::Result<()> {
    let user = UserId::parse("bench").map_err(|e| anyhow::anyhow!(e.message))?;
    let filling = Instant::now();
    for i in 0..tasks {
        let mut input = TaskInput::titled(format!("daily {i}"));
        input.due_at = Some("2030-01-01T09:00:00Z".into());
        input.recurrence = Some("FREQ=DAILY".into());
        input.reminders = vec!["-PT15M".into()];
        let task = NewTask::parse(&input).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let created = store
            .create_task(&user, task, Holdings::UNBOUNDED, None, |_| unreachable!())
            .await?;
        let taskstream::store::CreateOutcome::Created(task) = created else {
            anyhow::bail!("a create without an idempotency key was replayed");
        };
        store
            .change_task(&user, task.id, None, Holdings::UNBOUNDED, |current, now| {
                Ok(current.with_status(Status::Completed, now))
            })
            .await?;
    }
    println!(
        "wrote {tasks} repeating tasks, each created and completed (+ outbox rows), in {:.1}s",
        filling.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A fresh, prefixed set of topics on `brokers`.
pub async fn fresh_kafka(brokers: &str) -> anyhow::Result<Kafka> {
    let mut settings = taskstream::config::KafkaSettings::defaults();
    settings.brokers = brokers.to_owned();
    settings.topic_prefix = format!("bench{}.", uuid::Uuid::new_v4().simple());
    let kafka = Kafka::new(settings);
    topics::ensure(&kafka).await?;
    Ok(kafka)
}

/// The relay's three steps run one after the other, batch by batch, each timed: the
/// database read, the producer (enqueue and every acknowledgement), the mark-delivered.
pub async fn split(database_url: &str, brokers: &str, events: u32, batch_size: i64) -> anyhow::Result<()> {
    let store = Store::connect(database_url, 8).await?;
    store.migrate().await?;
    fill(&store, events).await?;
    let kafka = fresh_kafka(brokers).await?;
    let publisher = Publisher::new(&kafka)?;
    let (mut read, mut send, mut mark) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut records, mut bytes) = (0_usize, 0_usize);
    loop {
        let started = Instant::now();
        let rows = store.pending_outbox(batch_size, &[]).await?;
        read += started.elapsed();
        if rows.is_empty() {
            break;
        }
        let names = relay::topic_names(&kafka, &rows);
        let outgoing = relay::records(&rows, &names);
        let started = Instant::now();
        let results = publisher.send_all(outgoing).await;
        send += started.elapsed();
        if let Some(refusal) = results.iter().find_map(|r| r.as_ref().err()) {
            anyhow::bail!("the broker refused a record: {refusal}");
        }
        records += rows.len();
        bytes += rows.iter().map(|r| r.payload.len() + r.headers.len()).sum::<usize>();
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let started = Instant::now();
        store.mark_delivered(&ids).await?;
        mark += started.elapsed();
    }
    let batches = records.div_ceil(usize::try_from(batch_size)?).max(1);
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / batches as f64;
    let rate = |d: Duration| records as f64 / d.as_secs_f64();
    let total = read + send + mark;
    println!(
        "relay-split batch={batch_size} records={records} (~{} bytes each): per batch read {:.1} ms, send {:.1} ms, mark {:.1} ms; \
         alone read {:.0}/s, send {:.0}/s, mark {:.0}/s; serial {:.0} events/s",
        bytes / records.max(1),
        per(read),
        per(send),
        per(mark),
        rate(read),
        rate(send),
        rate(mark),
        rate(total),
    );
    Ok(())
}

/// An rdkafka producer of our configuration's kind (idempotent, acks=all, linger 2 ms) with
/// no database: `events` records of `size` bytes on the task-events topic, enqueued
/// `batch` at a time with at most `in_flight` batches unacknowledged.
pub async fn broker(
    brokers: &str,
    events: u32,
    size: usize,
    (batch, in_flight): (usize, usize),
    (headers, properties): (usize, &[String]),
) -> anyhow::Result<()> {
    let kafka = fresh_kafka(brokers).await?;
    let topic = kafka.topics.name(Topic::TaskEvents);
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "2");
    for property in properties {
        let (key, value) = property
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--property takes key=value, not {property}"))?;
        config.set(key, value);
    }
    let producer: FutureProducer = config.create()?;
    let payload = vec![b'x'; size];
    let keys: Vec<String> = (0..events).map(|i| format!("task-{i}")).collect();
    let started = Instant::now();
    let mut window = std::collections::VecDeque::new();
    for chunk in keys.chunks(batch) {
        let mut deliveries = Vec::with_capacity(chunk.len());
        for key in chunk {
            let pairs: Vec<(String, String)> = (0..headers)
                .map(|h| (format!("ce_h{h}"), format!("value-{h}-{key}")))
                .collect();
            let record = FutureRecord::to(&topic)
                .key(key)
                .payload(&payload)
                .headers(record_headers(&pairs));
            deliveries.push(producer.send_result(record).map_err(|(e, _)| e)?);
        }
        window.push_back(deliveries);
        if window.len() >= in_flight.max(1) {
            acknowledge(window.pop_front().unwrap_or_default()).await?;
        }
    }
    for deliveries in window {
        acknowledge(deliveries).await?;
    }
    let elapsed = started.elapsed();
    producer.flush(Duration::from_secs(10))?;
    println!(
        "broker alone (rdkafka, idempotent, acks=all {properties:?}): {events} records of {size} bytes + {headers} headers, batches of {batch}, {in_flight} in flight: {:.2}s = {:.0} records/s",
        elapsed.as_secs_f64(),
        f64::from(events) / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn acknowledge(deliveries: Vec<rdkafka::producer::DeliveryFuture>) -> anyhow::Result<()> {
    for delivery in deliveries {
        delivery
            .await
            .map_err(|_| anyhow::anyhow!("producer dropped"))?
            .map_err(|(e, _)| e)?;
    }
    Ok(())
}
