//! Failures the event backbone must survive: the broker going away, a consumer killed
//! with SIGKILL, a clean stop on SIGTERM.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use taskstream::startup::Parts;

use crate::broker::{self, PrivateBroker};
use crate::helpers::{spawn, spawn_with, TestApp, SECRET};

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
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let history = app.history(USER, id).await;
        if history.len() >= count || Instant::now() > deadline {
            return history;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.expect("connect");
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.expect("count");
    pool.close().await;
    n
}

async fn wait_for_count(app: &TestApp, sql: &str, at_least: i64, within: Duration) -> i64 {
    let deadline = Instant::now() + within;
    loop {
        let n = count(app, sql).await;
        if n >= at_least || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
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
    const TASKS: i64 = 300;
    for chunk in 0..(TASKS / 50) {
        let bodies: Vec<_> = (0..50)
            .map(|i| json!({ "title": format!("task {chunk}-{i}") }))
            .collect();
        futures_util::future::join_all(bodies.iter().map(|body| app.create_task(USER, body))).await;
    }

    let mut worker = app.start_worker("audit", &[]);
    let before_kill = wait_for_count(&app, "SELECT COUNT(*) FROM audit_log", 30, Duration::from_secs(60)).await;
    assert!(before_kill >= 30, "the worker applied {before_kill} events");
    worker.kill().expect("kill -9");
    worker.wait().expect("reap");
    let at_kill = count(&app, "SELECT COUNT(*) FROM audit_log").await;
    assert!(
        at_kill < TASKS,
        "killed too late to be mid-stream ({at_kill} of {TASKS})"
    );

    let mut worker = app.start_worker("audit", &[]);
    let applied = wait_for_count(&app, "SELECT COUNT(*) FROM audit_log", TASKS, Duration::from_secs(180)).await;
    assert_eq!(applied, TASKS, "every event applied after the restart");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM inbox WHERE consumer = 'audit'").await,
        TASKS,
        "each exactly once"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM audit_log").await,
        TASKS,
        "no late doubles"
    );

    // Promise 8: SIGTERM → finish, commit, leave the group, exit 0 well within 30 s.
    let stopping = Instant::now();
    unsafe {
        libc::kill(worker.id() as i32, libc::SIGTERM);
    }
    let status = loop {
        if let Some(status) = worker.try_wait().expect("wait") {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(30),
            "worker did not stop within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "worker exited with {status}");
}

#[tokio::test]
async fn every_role_stops_within_30_s_on_sigterm_even_with_the_broker_gone() {
    let mut broker = PrivateBroker::start();
    let data = tempfile::tempdir().expect("data dir");
    let port = broker::free_port();
    let mut process = Command::new(env!("CARGO_BIN_EXE_taskstream"))
        .args(["all", "--listen", &format!("127.0.0.1:{port}")])
        .env("TASKSTREAM_DATA_DIR", data.path())
        .env("TASKSTREAM_JWT_SECRET", SECRET)
        .env("KAFKA_BOOTSTRAP_SERVERS", broker.address())
        .env("KAFKA_FETCH_WAIT_MAX_MS", "10")
        .env("TASKSTREAM_LOG", "error")
        .spawn()
        .expect("start taskstream all");
    let ready = format!("http://127.0.0.1:{port}/readyz");
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(&ready).await.map(|r| r.status().as_u16()).ok() != Some(200) {
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // consumers joined their groups
    broker.stop();
    let stopping = Instant::now();
    unsafe {
        libc::kill(process.id() as i32, libc::SIGTERM);
    }
    let status = loop {
        if let Some(status) = process.try_wait().expect("wait") {
            break status;
        }
        if stopping.elapsed() > Duration::from_secs(30) {
            let _ = process.kill();
            panic!("taskstream all did not stop within 30 s of SIGTERM");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "exited with {status}");
}
