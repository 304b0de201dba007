//! Failures the event backbone must survive: the broker going away, a consumer killed
//! with SIGKILL, a clean stop on SIGTERM.

use std::process::Command;
use std::time::Duration;

use serde_json::json;
use taskstream::startup::Parts;

use crate::broker::{self, PrivateBroker};
use crate::helpers::{count_at, hold_writes, instance, spawn, spawn_with, TestApp, SECRET, WAIT};
use crate::kafka_client::{consume_validated, produce, Outgoing};
use crate::process::{wait_for, Guarded};

const USER: &str = "rita";

#[tokio::test]
async fn writes_succeed_with_the_broker_down_and_their_events_arrive_in_order_once_it_returns() {
    let mut broker = PrivateBroker::start();
    let kafka = broker::kafka_settings_for(&broker.address(), "outage.");
    let app = spawn_with(Parts::all, kafka).await;
    let task = app.create_task(USER, &json!({"title": "v1"})).await;
    let id = task["id"].as_str().expect("id").to_owned();
    assert_eq!(
        app.wait_for_history(USER, &id, 1).await.len(),
        1,
        "events flow before the outage"
    );

    broker.stop();
    for n in 2..=11 {
        let response = app.patch_task(USER, &id, &json!({ "title": format!("v{n}") })).await;
        assert_eq!(response.status(), 200, "writes must not wait for the broker");
    }
    let mut others = Vec::new();
    for i in 0..5 {
        let task = app.create_task(USER, &json!({ "title": format!("other {i}") })).await;
        others.push(task["id"].as_str().unwrap_or_default().to_owned());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    broker.resume();

    let history = wait_long(&app, &id, 11).await;
    let versions: Vec<i64> = history.iter().filter_map(|h| h["task_version"].as_i64()).collect();
    assert_eq!(
        versions,
        (1..=11).collect::<Vec<_>>(),
        "every event once, in version order"
    );
    for other in others {
        assert_eq!(wait_long(&app, &other, 1).await.len(), 1);
    }
}

async fn wait_long(app: &TestApp, id: &str, count: usize) -> Vec<serde_json::Value> {
    app.wait_for_history(USER, id, count).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    count_at(&app.database_url, sql).await
}

async fn wait_for_count(app: &TestApp, sql: &str, at_least: i64) -> i64 {
    wait_for(&format!("{at_least} from {sql}"), WAIT, || async {
        let n = count(app, sql).await;
        if n >= at_least {
            Ok(n)
        } else {
            Err(n.to_string())
        }
    })
    .await
}

async fn create_tasks(app: &TestApp, range: std::ops::Range<i64>) {
    let bodies: Vec<_> = range.map(|i| json!({ "title": format!("task {i}") })).collect();
    for chunk in bodies.chunks(50) {
        futures_util::future::join_all(chunk.iter().map(|body| app.create_task(USER, body))).await;
    }
}

#[tokio::test]
async fn a_consumer_killed_mid_stream_loses_nothing_and_doubles_nothing_and_stops_cleanly_on_sigterm() {
    // The API and the relay here; the audit consumer in a process of its own.
    let app = spawn(|http| Parts {
        http: Some(http),
        relay: true,
        roles: vec![],
    })
    .await;
    const HALF: i64 = 150;
    create_tasks(&app, 0..HALF).await;
    let mut worker = app.start_worker("audit", &[instance("a1")]);
    wait_for_count(&app, "SELECT COUNT(*) FROM audit_log", HALF).await;

    // Mid-stream by construction, whatever the machine's speed: pause the worker, put the
    // second half on the topic, hold the tables it writes, let it go on. It takes records in
    // (a batch of them, its inbox claims written) but cannot commit; the kill lands there.
    worker.signal(libc::SIGSTOP);
    create_tasks(&app, HALF..2 * HALF).await;
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NOT NULL",
        2 * HALF,
    )
    .await;
    let held = hold_writes(&app, "audit_log").await;
    worker.signal(libc::SIGCONT);
    tokio::time::sleep(Duration::from_millis(500)).await; // let it fetch and block (not needed for the verdict)
    worker.kill();
    drop(held);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM audit_log").await,
        HALF,
        "the kill came with the second half on the topic and none of it applied"
    );

    let mut worker = app.start_worker("audit", &[instance("a1")]);
    let applied = wait_for_count(&app, "SELECT COUNT(*) FROM audit_log", 2 * HALF).await;
    assert_eq!(applied, 2 * HALF, "every event applied after the restart");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM inbox WHERE consumer = 'audit'").await,
        2 * HALF,
        "each exactly once"
    );

    // Promise 8: SIGTERM → finish, commit, leave the group, exit 0 well within 30 s.
    worker.signal(libc::SIGTERM);
    let status = worker.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "worker exited with {status}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM audit_log").await,
        2 * HALF,
        "no late doubles"
    );
}

#[tokio::test]
async fn every_role_stops_within_30_s_on_sigterm_even_with_the_broker_gone() {
    let mut broker = PrivateBroker::start();
    let data = tempfile::tempdir().expect("data dir");
    let port = broker::free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskstream"));
    command
        .args(["all", "--listen", &format!("127.0.0.1:{port}")])
        .env("TASKSTREAM_DATA_DIR", data.path())
        .env("TASKSTREAM_JWT_SECRET", SECRET)
        .env("KAFKA_BOOTSTRAP_SERVERS", broker.address())
        .env("KAFKA_FETCH_WAIT_MAX_MS", "10")
        .env("TASKSTREAM_LOG", "error");
    let mut process = Guarded::spawn(&mut command, "taskstream all");
    let ready = format!("http://127.0.0.1:{port}/readyz");
    wait_for("taskstream all to be ready", WAIT, || async {
        match reqwest::get(&ready).await {
            Ok(response) if response.status() == 200 => Ok(()),
            Ok(response) => Err(response.status().to_string()),
            Err(error) => Err(error.to_string()),
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await; // consumers joining their groups (either way is a valid case)
    broker.stop();
    process.signal(libc::SIGTERM);
    let status = process.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exited with {status}");
}

/// `taskstream all` as a process of the test's own, on `database_url`, with a stable
/// instance id (what an operator sets so a restart resumes at once).
fn start_all(data: &std::path::Path, database_url: &str, port: u16, prefix: &str) -> Guarded {
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskstream"));
    command
        .args(["all", "--listen", &format!("127.0.0.1:{port}")])
        .env("TASKSTREAM_DATA_DIR", data)
        .env("DATABASE_URL", database_url)
        .env("TASKSTREAM_JWT_SECRET", SECRET)
        .env("TASKSTREAM_INSTANCE_ID", "node-1")
        .env("KAFKA_BOOTSTRAP_SERVERS", broker::brokers())
        .env("TASKSTREAM_TOPIC_PREFIX", prefix)
        .env("KAFKA_FETCH_WAIT_MAX_MS", "10")
        .env("TASKSTREAM_LOG", "error");
    Guarded::spawn(&mut command, "taskstream all")
}

async fn wait_for_delivered(database_url: &str, at_least: i64) -> i64 {
    let sql = "SELECT COUNT(*) FROM reminder_schedule WHERE state = 'delivered'";
    wait_for(&format!("{at_least} reminders delivered"), WAIT, || async {
        let n = count_at(database_url, sql).await;
        if n >= at_least {
            Ok(n)
        } else {
            Err(format!("{n} delivered"))
        }
    })
    .await
}

#[tokio::test]
async fn after_a_kill_9_and_a_restart_every_due_reminder_is_delivered_once() {
    let data = tempfile::tempdir().expect("data dir");
    let database_url = crate::helpers::fresh_database(data.path()).await.expect("database");
    let port = broker::free_port();
    let prefix = format!("crash{}.", uuid::Uuid::new_v4().simple());
    let mut process = start_all(data.path(), &database_url, port, &prefix);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    wait_for("taskstream all to be ready", WAIT, || async {
        match client.get(format!("{base}/readyz")).send().await {
            Ok(response) if response.status() == 200 => Ok(()),
            Ok(response) => Err(response.status().to_string()),
            Err(error) => Err(error.to_string()),
        }
    })
    .await;
    let token = taskstream::auth::Auth::new(&taskstream::config::Secret::new(SECRET))
        .issue(
            &taskstream::domain::UserId::parse(USER).expect("user"),
            Duration::from_secs(3600),
        )
        .expect("token");

    // 60 reminders falling due 100 ms apart, from 3 s on.
    const REMINDERS: i64 = 60;
    let start = chrono::Utc::now() + chrono::TimeDelta::seconds(3);
    for i in 0..REMINDERS {
        let fire_at = taskstream::time::format(start + chrono::TimeDelta::milliseconds(100 * i));
        let response = client
            .post(format!("{base}/api/v1/tasks"))
            .bearer_auth(&token)
            .json(&json!({ "title": format!("reminder {i}"), "reminders": [fire_at] }))
            .send()
            .await
            .expect("create");
        assert_eq!(response.status(), 201);
    }

    // Killed once the burst is under way, restarted 2 s later.
    let at_kill = wait_for_delivered(&database_url, 1).await;
    process.kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let restarted = std::time::Instant::now();
    let _process = start_all(data.path(), &database_url, port, &prefix);
    wait_for_delivered(&database_url, REMINDERS).await;
    eprintln!(
        "killed with {at_kill} of {REMINDERS} delivered; all delivered {:?} after the restart",
        restarted.elapsed()
    );

    for (what, sql) in [
        (
            "deliveries (log channel)",
            "SELECT COUNT(*) FROM reminder_deliveries WHERE channel = 'log'",
        ),
        (
            "reminder.fired events",
            "SELECT COUNT(*) FROM outbox WHERE event_type = 'reminder.fired'",
        ),
        (
            "reminder.delivered events",
            "SELECT COUNT(*) FROM outbox WHERE event_type = 'reminder.delivered'",
        ),
    ] {
        assert_eq!(
            count_at(&database_url, sql).await,
            REMINDERS,
            "{what}: one per reminder"
        );
    }
}

#[tokio::test]
async fn a_database_outage_longer_than_every_retry_parks_nothing_and_reports_not_ready() {
    let app = spawn(|http| Parts {
        http: Some(http),
        relay: true,
        roles: vec![taskstream::roles::Role::Audit],
    })
    .await;
    let first = app.create_task(USER, &json!({"title": "before"})).await;
    app.wait_for_history(USER, first["id"].as_str().expect("id"), 1).await;

    // The audit role's tables held for longer than five attempts of five seconds each: on
    // SQLite its writes fail busy (an outage, not a verdict on the record); on PostgreSQL
    // they wait for the lock. The record arrives while they are held: a copy of the first
    // event under a new id, put on the topic by an independent client (on SQLite the API
    // could not write either).
    let topic = app.topic("task-events");
    let first_record = consume_validated(&app.kafka.brokers, std::slice::from_ref(&topic))
        .await
        .pop()
        .expect("the first event");
    let event_id = uuid::Uuid::new_v4().to_string();
    let mut value = first_record.json();
    value["event_id"] = json!(event_id);
    let mut headers: std::collections::HashMap<String, String> = first_record
        .headers
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
        .collect();
    headers.insert("ce_id".into(), event_id.clone());
    let held = hold_writes(&app, "audit_log").await;
    produce(
        &app.kafka.brokers,
        &[Outgoing {
            topic,
            key: first_record.key.clone().unwrap_or_default(),
            value: value.to_string(),
            headers,
        }],
    )
    .await;
    let id = first["id"].as_str().expect("id").to_owned();
    if app.database_url.starts_with("sqlite") {
        wait_for("/readyz to report the stalled audit role", WAIT, || async {
            let response = app.client.get(app.url("/readyz")).send().await.expect("readyz");
            let status = response.status();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let stalled = body["checks"]["roles"] == "waiting: audit" && body["roles"]["audit"]["ready"] == false;
            if status == 503 && stalled {
                Ok(())
            } else {
                Err(format!("{status} {body}"))
            }
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(35)).await;
    drop(held);

    // The first event and its copy, each once.
    assert_eq!(
        app.wait_for_history(USER, &id, 2).await.len(),
        2,
        "the copy applied once the database is back"
    );
    let kafka = taskstream::bus::Kafka::new(app.kafka.clone());
    let parked = tokio::task::spawn_blocking(move || {
        taskstream::bus::dlq::list(&kafka, &taskstream::bus::dlq::Filter::default()).expect("read the DLQs")
    })
    .await
    .expect("join");
    assert!(parked.is_empty(), "nothing parked for an outage: {parked:?}");
    wait_for("/readyz to be ready again", WAIT, || async {
        let status = app
            .client
            .get(app.url("/readyz"))
            .send()
            .await
            .expect("readyz")
            .status();
        if status == 200 {
            Ok(())
        } else {
            Err(status.to_string())
        }
    })
    .await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM inbox WHERE consumer = 'audit'").await,
        2,
        "each applied exactly once"
    );
}

#[tokio::test]
async fn a_record_the_broker_refuses_for_good_is_quarantined_and_the_rows_behind_it_flow() {
    // The client refuses records over 4,000 bytes: a task with a long description makes one.
    let mut kafka = broker::kafka_settings(&format!("q{}.", uuid::Uuid::new_v4().simple()));
    kafka.properties = vec!["message.max.bytes=4000".into()];
    let app = spawn_with(Parts::all, kafka).await;
    let big = app
        .create_task(USER, &json!({"title": "big", "description": "x".repeat(6_000)}))
        .await;
    let small = app.create_task(USER, &json!({"title": "small"})).await;
    let small_id = small["id"].as_str().expect("id");
    assert_eq!(
        app.wait_for_history(USER, small_id, 1).await.len(),
        1,
        "the row behind the refused one flows"
    );
    wait_for_count(&app, "SELECT COUNT(*) FROM outbox WHERE quarantined_at IS NOT NULL", 1).await;
    let error: (String,) = {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&app.database_url).await.expect("connect");
        let row = sqlx::query_as("SELECT quarantine_error FROM outbox WHERE quarantined_at IS NOT NULL")
            .fetch_one(&pool)
            .await
            .expect("the quarantined row");
        pool.close().await;
        row
    };
    assert!(
        error.0.to_lowercase().contains("size"),
        "the reason is kept: {}",
        error.0
    );
    let big_id = big["id"].as_str().expect("id");
    assert!(
        app.history(USER, big_id).await.is_empty(),
        "the refused event was not published"
    );
}

#[tokio::test]
async fn housekeeping_deletes_old_inbox_rows_idempotency_keys_and_finished_reminders_only() {
    let app = crate::helpers::spawn_app().await;
    let store = taskstream::store::Store::connect(&app.database_url, 2)
        .await
        .expect("store");
    let old = taskstream::time::format(chrono::Utc::now() - chrono::TimeDelta::days(400));
    let new = taskstream::time::format(chrono::Utc::now());
    for (when, tag) in [(&old, "old"), (&new, "new")] {
        for sql in [
            format!("INSERT INTO inbox (consumer, event_id, processed_at) VALUES ('audit', '{tag}', '{when}')"),
            format!(
                "INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, created_at) \
                 VALUES ('u', '{tag}', 'h', '{when}')"
            ),
            format!(
                "INSERT INTO reminder_schedule (id, task_id, user_id, reminder_index, spec, fire_at, task_version, state, updated_at) \
                 VALUES ('{tag}-done', 't', 'u', 0, 's', '{when}', 1, 'delivered', '{when}')"
            ),
            format!(
                "INSERT INTO reminder_schedule (id, task_id, user_id, reminder_index, spec, fire_at, task_version, state, updated_at) \
                 VALUES ('{tag}-pending', 't', 'u', 0, 's', '{when}', 1, 'pending', '{when}')"
            ),
            format!("INSERT INTO reminder_deliveries (reminder_id, channel, delivered_at) VALUES ('{tag}-done', 'log', '{when}')"),
        ] {
            count_exec(&app, &sql).await;
        }
    }
    let keep = taskstream::store::Retention::for_topics(chrono::TimeDelta::days(14));
    let pruned = store.prune(&keep).await.expect("prune");
    assert_eq!(
        (pruned.inbox, pruned.idempotency_keys, pruned.reminders),
        (1, 1, 1),
        "exactly the old finished rows"
    );
    for (table, left) in [
        ("inbox", 1),
        ("idempotency_keys", 1),
        ("reminder_schedule", 3), // the new finished one and both pending ones
        ("reminder_deliveries", 1),
    ] {
        assert_eq!(
            count(&app, &format!("SELECT COUNT(*) FROM {table}")).await,
            left,
            "{table}"
        );
    }
}

async fn count_exec(app: &TestApp, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.expect("connect");
    sqlx::query(sql).execute(&pool).await.expect(sql);
    pool.close().await;
}
