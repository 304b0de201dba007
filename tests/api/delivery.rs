//! Webhook delivery off the partition: a receiver that hangs and one that fails do not delay a
//! healthy user's reminders, and are delivered once they recover, exactly once each; two
//! notifier processes never send one delivery twice; a notifier killed mid-send takes its
//! delivery back when it restarts.
//!
//! Receivers here are scripted by the test (hold every call until released, answer a chosen
//! status) and write every call and answer into one log shared by all of them, so the tests
//! assert the order of events, never how fast they happened.

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use serde_json::json;
use taskstream::config::HttpSettings;
use taskstream::roles::Role;
use taskstream::startup::Parts;
use taskstream::store::{DeliveryFilter, DeliveryRow, Store};
use tokio::sync::watch;

use crate::helpers::{instance, spawn, spawn_tuned, TestApp, WAIT};
use crate::process::wait_for;
use crate::reminders::{in_secs, set_webhook_for, wait_for_state_of};

/// The webhook jobs of `user`, newest first.
pub(crate) async fn deliveries(app: &TestApp, user: &str) -> Vec<DeliveryRow> {
    let store = Store::connect(&app.database_url, 1).await.expect("connect");
    let filter = DeliveryFilter {
        user: Some(user.to_owned()),
        ..DeliveryFilter::default()
    };
    let rows = store.deliveries(&filter, 1_000).await.expect("read deliveries");
    store.close().await;
    rows
}

/// What happened at the receivers, in order: `<receiver> call <delivery id>` when a call
/// arrives, `<receiver> answer <delivery id> <status>` when it is answered.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, line: String) {
        self.0.lock().expect("lock").push(line);
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().expect("lock").clone()
    }

    /// Lines starting with `prefix`.
    fn matching(&self, prefix: &str) -> Vec<String> {
        self.lines().into_iter().filter(|l| l.starts_with(prefix)).collect()
    }

    /// Position of the first line starting with `prefix`.
    fn first(&self, prefix: &str) -> Option<usize> {
        self.lines().iter().position(|l| l.starts_with(prefix))
    }
}

/// A receiver the test scripts: while held, every call waits until it is released; then it
/// answers `status`.
#[derive(Clone)]
struct Scripted {
    status: Arc<AtomicU16>,
    held: Arc<watch::Sender<bool>>,
}

impl Scripted {
    async fn start(name: &'static str, log: &Log, status: u16, held: bool) -> (Self, String) {
        let receiver = Self {
            status: Arc::new(AtomicU16::new(status)),
            held: Arc::new(watch::channel(held).0),
        };
        let (state, log) = (receiver.clone(), log.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap| {
                let (state, log) = (state.clone(), log.clone());
                async move {
                    let id = headers
                        .get("x-taskstream-delivery")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("?")
                        .to_owned();
                    log.push(format!("{name} call {id}"));
                    let mut held = state.held.subscribe();
                    // Bounded, so a forgotten release cannot keep a test alive.
                    let _ = tokio::time::timeout(WAIT * 2, held.wait_for(|held| !*held)).await;
                    let status = state.status.load(Ordering::SeqCst);
                    log.push(format!("{name} answer {id} {status}"));
                    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    fn release(&self) {
        self.held.send_replace(false);
    }
}

/// Creates a task for `user` with one reminder a second from now; returns its id.
async fn remind(app: &TestApp, user: &str, title: &str) -> String {
    let task = app
        .create_task(user, &json!({"title": title, "reminders": [in_secs(1.0)]}))
        .await;
    task["id"].as_str().expect("id").to_owned()
}

/// Waits until the log has at least `count` lines starting with `prefix`.
async fn wait_for_lines(log: &Log, prefix: &str, count: usize) {
    wait_for(&format!("{count} × {prefix:?}"), WAIT, || async {
        let seen = log.matching(prefix).len();
        if seen >= count {
            Ok(())
        } else {
            Err(format!("{seen}; log: {:?}", log.lines()))
        }
    })
    .await;
}

/// Each delivery id answered 2xx exactly once, and no other.
fn answered_ok_once_each(log: &Log, receiver: &str, count: usize) {
    let mut ids: Vec<String> = log
        .matching(&format!("{receiver} answer "))
        .iter()
        .filter(|l| l.ends_with(" 200"))
        .filter_map(|l| l.split(' ').nth(2).map(str::to_owned))
        .collect();
    ids.sort();
    let all = ids.len();
    ids.dedup();
    assert_eq!(
        (all, ids.len()),
        (count, count),
        "{receiver}: each delivery answered 200 once: {:?}",
        log.lines()
    );
}

#[tokio::test]
async fn a_hanging_and_a_failing_receiver_do_not_delay_a_healthy_users_reminders() {
    // Calls may take up to 2 minutes (so a hanging call really holds its sender), failures are
    // retried every second or so for ever, and an open breaker tries again after a second.
    let app = spawn_tuned(Parts::all, |roles| {
        roles.webhook_timeout_ms = 120_000;
        roles.webhook_max_attempts = 10_000;
        roles.webhook_max_backoff_secs = 1;
        roles.webhook_breaker_cooldown_secs = 1;
    })
    .await;
    let log = Log::default();
    let (hanging, hanging_url) = Scripted::start("hanging", &log, 200, true).await;
    let (failing, failing_url) = Scripted::start("failing", &log, 500, false).await;
    let (_healthy, healthy_url) = Scripted::start("healthy", &log, 200, false).await;
    set_webhook_for(&app, "hanging-user", &hanging_url).await;
    set_webhook_for(&app, "failing-user", &failing_url).await;
    set_webhook_for(&app, "healthy-user", &healthy_url).await;

    // Three reminders for the hanging receiver: two calls hang (two per user at once), the
    // third waits its turn. One for the failing receiver, which keeps failing.
    let mut hanging_tasks = Vec::new();
    for i in 0..3 {
        hanging_tasks.push(remind(&app, "hanging-user", &format!("hang {i}")).await);
    }
    let failing_task = remind(&app, "failing-user", "fail").await;
    wait_for_lines(&log, "hanging call ", 2).await;
    wait_for_lines(&log, "failing answer ", 2).await;

    // Only now does the healthy user's reminder fire; it is delivered meanwhile.
    let healthy_task = remind(&app, "healthy-user", "healthy").await;
    wait_for_state_of(&app, "healthy-user", &healthy_task, "delivered").await;
    let healthy_at = log.first("healthy answer ").expect("the healthy receiver was called");
    assert!(log.first("hanging answer ").is_none(), "{:?}", log.lines());
    assert!(log.first("failing answer ").is_some_and(|first| first < healthy_at));
    assert_eq!(
        log.matching("hanging call ").len(),
        2,
        "two per user at once: {:?}",
        log.lines()
    );
    for (user, task) in [("hanging-user", &hanging_tasks[0]), ("failing-user", &failing_task)] {
        let states = crate::reminders::reminders_of(&app, user, task).await;
        assert!(
            states.iter().all(|r| r["state"] == "fired"),
            "still being delivered, not failed: {states:?}"
        );
    }

    // The receivers recover: every reminder arrives, once.
    hanging.release();
    failing.answer(200);
    for task in &hanging_tasks {
        wait_for_state_of(&app, "hanging-user", task, "delivered").await;
    }
    wait_for_state_of(&app, "failing-user", &failing_task, "delivered").await;
    answered_ok_once_each(&log, "hanging", 3);
    answered_ok_once_each(&log, "failing", 1);
    answered_ok_once_each(&log, "healthy", 1);
    assert!(log.first("hanging answer ").is_some_and(|first| first > healthy_at));
    for user in ["hanging-user", "failing-user", "healthy-user"] {
        for job in deliveries(&app, user).await {
            assert_eq!(job.state, "delivered", "{job:?}");
        }
    }
    // A late duplicate would show up here.
    tokio::time::sleep(Duration::from_secs(2)).await;
    answered_ok_once_each(&log, "hanging", 3);
    answered_ok_once_each(&log, "failing", 1);
}

/// The API, the relay and the scheduler in the test, plus a notifier (consumer and worker).
fn with_notifier(http: HttpSettings) -> Parts {
    Parts {
        http: Some(http),
        relay: true,
        roles: vec![Role::Scheduler, Role::Notifier],
    }
}

#[tokio::test]
async fn two_notifier_processes_send_each_delivery_once() {
    // A call that times out is sent again (at least once): give calls time enough that this
    // test sees only what the claims do.
    let app = spawn_tuned(with_notifier, |roles| roles.webhook_timeout_ms = 60_000).await;
    let _other = app.start_worker(
        "notifier",
        &[instance("n2"), ("TASKSTREAM_WEBHOOK_TIMEOUT_MS", "60000".to_owned())],
    );
    let log = Log::default();
    let (_receiver, url) = Scripted::start("receiver", &log, 200, false).await;
    let users = ["ann", "bob", "cyd"];
    for user in users {
        set_webhook_for(&app, user, &url).await;
    }
    let mut tasks = Vec::new();
    for i in 0..12 {
        let user = users[i % users.len()];
        tasks.push((user, remind(&app, user, &format!("r{i}")).await));
    }
    for (user, task) in &tasks {
        wait_for_state_of(&app, user, task, "delivered").await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    answered_ok_once_each(&log, "receiver", tasks.len());
    assert_eq!(log.matching("receiver call ").len(), tasks.len(), "{:?}", log.lines());
}

/// The API, the relay and the scheduler; the notifier comes as a worker process.
fn without_notifier(http: HttpSettings) -> Parts {
    Parts {
        http: Some(http),
        relay: true,
        roles: vec![Role::Scheduler],
    }
}

#[tokio::test]
async fn a_notifier_killed_mid_send_takes_the_delivery_back_when_it_restarts() {
    let app = spawn(without_notifier).await;
    let env = || {
        vec![
            instance("n1"),
            // Far longer than the test waits: only the restart can hand the claim back.
            ("TASKSTREAM_WEBHOOK_TIMEOUT_MS", "600000".to_owned()),
        ]
    };
    let mut notifier = app.start_worker("notifier", &env());
    let log = Log::default();
    let (receiver, url) = Scripted::start("receiver", &log, 200, true).await;
    set_webhook_for(&app, "kim", &url).await;
    let task = remind(&app, "kim", "interrupted").await;
    wait_for_lines(&log, "receiver call ", 1).await;
    notifier.kill(); // kill -9 while the call hangs
    receiver.release();
    let _restarted = app.start_worker("notifier", &env());
    wait_for_state_of(&app, "kim", &task, "delivered").await;
    assert_eq!(log.matching("receiver call ").len(), 2, "sent again: {:?}", log.lines());
    let job = deliveries(&app, "kim").await.remove(0);
    assert_eq!((job.state.as_str(), job.attempts), ("delivered", 2));
}
