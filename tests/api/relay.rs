//! The relay's batches in flight: what it reads next while earlier batches are unacknowledged,
//! and what reaches the broker (each event once, each task's events in version order).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection;
use taskstream::bus::{topics, Kafka, Publisher};
use taskstream::domain::{TaskTitle, UserId};
use taskstream::events::Event;
use taskstream::relay::{Relay, RelaySettings};
use taskstream::store::{Holdings, Store};
use tokio_util::sync::CancellationToken;

use crate::helpers::{fresh_database, spawn_app, TestApp, WAIT};
use crate::kafka_client::consume_validated;

const USER: &str = "rhea";

/// An outbox row of `task` written (uncommitted) in `connection`'s open transaction, or
/// committed on its own when `connection` has none.
async fn append(connection: &mut sqlx::AnyConnection, task: &str) {
    sqlx::query(
        "INSERT INTO outbox (topic, record_key, event_id, event_type, payload, headers, created_at) \
         VALUES ('task-events', $1, $2, 'task.updated', '{}', '[]', '2026-01-01T00:00:00.000000Z')",
    )
    .bind(task)
    .bind(uuid::Uuid::new_v4().to_string())
    .execute(&mut *connection)
    .await
    .expect("append an outbox row");
}

async fn keys_and_ids(store: &Store, in_flight: &[i64]) -> Vec<(String, i64)> {
    store
        .pending_outbox(100, in_flight)
        .await
        .expect("read the outbox")
        .into_iter()
        .map(|row| (row.record_key, row.id))
        .collect()
}

/// A row that commits after rows with larger ids were read (PostgreSQL takes ids before the
/// commit) is read next, before its task's later rows: the relay passes over the rows it has
/// in flight, it does not read "after the last id sent". SQLite has one writer, so there the
/// test checks the passing over alone.
#[tokio::test]
async fn the_next_batch_passes_over_rows_in_flight_and_keeps_a_late_commit_before_its_tasks_later_rows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = fresh_database(dir.path()).await.expect("a database");
    let store = Store::connect(&url, 2).await.expect("connect");
    store.migrate().await.expect("migrate");
    sqlx::any::install_default_drivers();
    let mut first = sqlx::AnyConnection::connect(&url).await.expect("connect");
    let mut second = sqlx::AnyConnection::connect(&url).await.expect("connect");
    let postgres = url.starts_with("postgres");

    append(&mut first, "task-a").await;
    if postgres {
        // Task b's first row takes an id now and commits after task c's row is in flight.
        sqlx::Executor::execute(&mut first, "BEGIN").await.expect("begin");
        append(&mut first, "task-b").await;
    }
    append(&mut second, "task-c").await;
    let read = keys_and_ids(&store, &[]).await;
    let keys: Vec<&str> = read.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(keys, ["task-a", "task-c"], "only committed rows, in id order");
    let in_flight: Vec<i64> = read.iter().map(|(_, id)| *id).collect();

    if postgres {
        sqlx::Executor::execute(&mut first, "COMMIT").await.expect("commit");
    } else {
        append(&mut first, "task-b").await;
    }
    append(&mut second, "task-b").await;
    let next = keys_and_ids(&store, &in_flight).await;
    let keys: Vec<&str> = next.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        ["task-b", "task-b"],
        "task b's late row and its next one, nothing in flight again"
    );
    assert!(next[0].1 < next[1].1, "task b's rows in id order: {next:?}");
}

/// Tiny batches, several in flight: every event reaches the broker once, and each task's
/// events in version order.
#[tokio::test]
async fn batches_in_flight_publish_every_event_once_in_each_tasks_order() {
    let app = spawn_app().await; // the API alone: the events wait in the outbox
    let mut ids = Vec::new();
    for t in 0..4 {
        let task = app.create_task(USER, &json!({ "title": format!("t{t} v1") })).await;
        ids.push(task["id"].as_str().expect("id").to_owned());
    }
    for v in 2..=8 {
        for (t, id) in ids.iter().enumerate() {
            let response = app
                .patch_task(USER, id, &json!({ "title": format!("t{t} v{v}") }))
                .await;
            assert_eq!(response.status(), 200);
        }
    }
    let store = Store::connect(&app.database_url, 2).await.expect("connect");
    let written = store.outbox_backlog().await.expect("backlog");
    assert_eq!(written, 32, "4 creates and 28 updates wait in the outbox");

    let relay = RunningRelay::start(&app, &store, (3, 4)).await;
    relay.drain_and_stop(&store).await;
    assert_published_once_in_order(&app, &ids, 8).await;
}

/// The relay running while the writes commit (through its own store, so each commit wakes
/// it while a batch is out): the rows committed meanwhile are read and sent behind the
/// batches in flight, still each event once and each task's events in version order.
#[tokio::test]
async fn rows_committed_while_batches_are_out_publish_once_in_each_tasks_order() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for t in 0..4 {
        let task = app.create_task(USER, &json!({ "title": format!("t{t} v1") })).await;
        ids.push(task["id"].as_str().expect("id").to_owned());
    }
    let store = Store::connect(&app.database_url, 2).await.expect("connect");
    // Batches of 2 with room for 16 rows out: a round's 4 rows fit behind those in flight.
    let relay = RunningRelay::start(&app, &store, (2, 8)).await;
    let user = UserId::parse(USER).expect("user");
    for v in 2..=12 {
        // The four tasks' versions commit side by side, while earlier ones are out.
        let writes = ids.iter().enumerate().map(|(t, id)| {
            let (store, user) = (store.clone(), user.clone());
            let id = uuid::Uuid::parse_str(id).expect("uuid");
            async move {
                store
                    .change_task(&user, id, None, Holdings::UNBOUNDED, move |current, _| {
                        let mut next = current.clone();
                        next.content.title = TaskTitle::parse(&format!("t{t} v{v}")).expect("title");
                        Ok(Some(next))
                    })
                    .await
                    .expect("change the task")
            }
        });
        futures_util::future::join_all(writes).await;
    }
    relay.drain_and_stop(&store).await;
    assert_published_once_in_order(&app, &ids, 12).await;
}

/// A relay of its own on `store`, with batches of `batch` rows and `in_flight` batches' worth
/// of rows out at most.
struct RunningRelay {
    stop: CancellationToken,
    running: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningRelay {
    async fn start(app: &TestApp, store: &Store, (batch, in_flight): (i64, usize)) -> Self {
        let kafka = Kafka::new(app.kafka.clone());
        topics::ensure(&kafka).await.expect("topics");
        let mut settings = RelaySettings::for_kafka(kafka.settings());
        settings.batch_size = batch;
        settings.in_flight = in_flight;
        let relay = Relay::new(
            store.clone(),
            kafka.clone(),
            Publisher::new(&kafka).expect("producer"),
            settings,
        );
        let stop = CancellationToken::new();
        let running = tokio::spawn(relay.run(stop.clone()));
        Self { stop, running }
    }

    /// Waits until the outbox is published, then stops the relay.
    async fn drain_and_stop(self, store: &Store) {
        let deadline = Instant::now() + WAIT;
        while store.outbox_backlog().await.expect("backlog") > 0 {
            assert!(
                Instant::now() < deadline,
                "the relay did not publish the outbox within {WAIT:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.stop.cancel();
        self.running
            .await
            .expect("the relay's task")
            .expect("the relay stops cleanly");
    }
}

/// Every event of the tasks `ids` (versions 1 to `versions` each) is on the broker once, and
/// each task's in version order.
async fn assert_published_once_in_order(app: &TestApp, ids: &[String], versions: i64) {
    let records = consume_validated(&app.kafka.brokers, &[app.topic("task-events")]).await;
    let events: Vec<Event> = records
        .iter()
        .map(|record| Event::decode(record.value.as_deref().unwrap_or_default().as_bytes()).expect("decodes"))
        .collect();
    let mut seen = HashMap::new();
    for event in &events {
        *seen.entry(event.header.event_id).or_insert(0) += 1;
    }
    let expected = ids.len() * usize::try_from(versions).expect("versions");
    assert_eq!(seen.len(), expected, "every event published");
    assert!(seen.values().all(|&n| n == 1), "no event published twice: {seen:?}");
    for id in ids {
        let published: Vec<i64> = events
            .iter()
            .filter(|event| event.header.task_id.to_string() == *id)
            .map(|event| event.header.task_version)
            .collect();
        assert_eq!(
            published,
            (1..=versions).collect::<Vec<_>>(),
            "task {id}'s events in version order"
        );
    }
}
