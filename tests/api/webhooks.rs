//! Webhooks cannot reach the inside: every internal address form is refused when the URL is
//! set, a host name is judged at delivery by the address it resolves to (so a name pointing
//! at loopback fails the reminder and the receiver gets nothing), and the operator's
//! allow-list opens a range. The test apps allow-list 127.0.0.1/32 (helpers::settings); a
//! notifier that does not is started as its own worker with another allow-list.

use axum::http::StatusCode;
use serde_json::{json, Value};
use taskstream::config::HttpSettings;
use taskstream::roles::Role;
use taskstream::startup::Parts;

use crate::delivery::deliveries;
use crate::helpers::{assert_problem, spawn, spawn_app, spawn_app_with_events, spawn_tuned, TestApp, WorkerProcess};
use crate::reminders::{in_secs, reminders, set_webhook, wait_for_calls, wait_for_state, Receiver, USER};

/// Every spelling of an address on the inside, and a URL carrying credentials.
const REFUSED: &[&str] = &[
    "http://127.0.0.2:5432/",
    "http://10.0.0.1/hook",
    "http://172.16.5.5/hook",
    "http://192.168.1.1/hook",
    "http://100.64.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:10.0.0.1]/hook",
    "http://[64:ff9b::a00:1]/hook",
    "http://[fc00::1]/hook",
    "http://[fe80::1]/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://user:pw@example.com/",
];

async fn put_webhook(app: &TestApp, url: &str) -> reqwest::Response {
    app.request(reqwest::Method::PUT, "/api/v1/webhook", USER)
        .json(&json!({ "url": url }))
        .send()
        .await
        .expect("send")
}

#[tokio::test]
async fn every_internal_address_form_is_refused_when_set() {
    let app = spawn_app().await;
    for url in REFUSED {
        let problem = assert_problem(
            put_webhook(&app, url).await,
            reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            Some("url"),
        )
        .await;
        let host = url::Url::parse(url)
            .expect("url")
            .host_str()
            .unwrap_or_default()
            .to_owned();
        let text = problem.to_string();
        assert!(
            !text.contains(host.trim_matches(['[', ']'])),
            "the answer must not echo the address: {text}"
        );
    }
    let shown = app
        .request(reqwest::Method::GET, "/api/v1/webhook", USER)
        .send()
        .await
        .expect("send");
    assert_eq!(shown.status(), StatusCode::NOT_FOUND, "nothing was stored");
}

/// The API, the relay and the scheduler in the test; the notifier comes as a worker.
fn without_notifier(http: HttpSettings) -> Parts {
    Parts {
        http: Some(http),
        relay: true,
        roles: vec![Role::Scheduler],
    }
}

/// A notifier whose allow-list does not hold loopback.
fn strict_notifier(app: &TestApp) -> WorkerProcess {
    app.start_worker("notifier", &[("TASKSTREAM_WEBHOOK_ALLOW", "192.0.2.0/24".to_owned())])
}

/// Sets `url`, fires a reminder at once, waits for it to end `failed`; returns the error its
/// delivery was given up with.
async fn fails_at_delivery(app: &TestApp, receiver: &Receiver, url: &str) -> String {
    set_webhook(app, url).await;
    let task = app
        .create_task(USER, &json!({"title": "inside", "reminders": [in_secs(1.0)]}))
        .await;
    let id = task["id"].as_str().expect("id");
    assert_eq!(wait_for_state(app, id, "failed").await[0]["state"], "failed");
    assert!(receiver.calls().is_empty(), "the receiver got nothing");
    let job = deliveries(app, USER).await.remove(0);
    assert_eq!(
        (job.state.as_str(), job.attempts),
        ("failed", 1),
        "a refused destination is not retried"
    );
    job.last_error.unwrap_or_default()
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_accepted_then_refused_at_delivery() {
    let app = spawn(without_notifier).await;
    let _notifier = strict_notifier(&app);
    let (receiver, url) = Receiver::start().await;
    let port = url::Url::parse(&url).expect("url").port().expect("port");
    let by_name = format!("http://localhost:{port}/hook?token=s3cret");
    let reason = fails_at_delivery(&app, &receiver, &by_name).await;
    assert!(reason.contains("destination address not allowed"), "{reason}");
    assert!(reason.contains(&format!("http://localhost:{port}")), "{reason}");
    for hidden in ["/hook", "s3cret", "127.0.0.1", "::1"] {
        assert!(!reason.contains(hidden), "{hidden} in {reason}");
    }
}

#[tokio::test]
async fn a_literal_address_set_while_allowed_is_refused_by_a_notifier_that_does_not_allow_it() {
    let app = spawn(without_notifier).await;
    let _notifier = strict_notifier(&app);
    let (receiver, url) = Receiver::start().await;
    let reason = fails_at_delivery(&app, &receiver, &url).await;
    assert!(reason.contains("destination address not allowed"), "{reason}");
    assert!(!reason.contains("/hook"), "{reason}");
}

#[tokio::test]
async fn allow_listed_loopback_is_delivered_by_name() {
    let app = spawn_app_with_events().await;
    let (receiver, url) = Receiver::start().await;
    let port = url::Url::parse(&url).expect("url").port().expect("port");
    // localhost is also ::1, which stays refused; the call goes to 127.0.0.1.
    set_webhook(&app, &format!("http://localhost:{port}/hook")).await;
    let task = app
        .create_task(USER, &json!({"title": "allowed", "reminders": [in_secs(1.0)]}))
        .await;
    let id = task["id"].as_str().expect("id");
    assert_eq!(wait_for_calls(&receiver, 1).await, 1);
    let states: Vec<Value> = wait_for_state(&app, id, "delivered").await;
    assert_eq!(states[0]["state"], "delivered");
    assert_eq!(reminders(&app, id).await.len(), 1);
}

#[tokio::test]
async fn signing_secrets_are_sealed_at_rest_and_older_plain_ones_get_sealed() {
    use taskstream::config::Secret;
    use taskstream::sealing::Sealer;

    let app = spawn_app().await;
    let response = put_webhook(&app, "https://example.com/hook").await;
    assert_eq!(response.status(), reqwest::StatusCode::CREATED);
    let shown: Value = response.json().await.expect("json");
    let secret = shown["secret"].as_str().expect("shown once").to_owned();

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.expect("connect");
    let stored = |user: &'static str| {
        let pool = pool.clone();
        async move {
            let (value,): (String,) = sqlx::query_as("SELECT secret FROM webhooks WHERE user_id = $1")
                .bind(user)
                .fetch_one(&pool)
                .await
                .expect("row");
            value
        }
    };
    let at_rest = stored(USER).await;
    assert!(Sealer::is_sealed(&at_rest) && !at_rest.contains(&secret), "{at_rest}");

    // A row from before sealing: plain text, sealed when a process opens the database.
    sqlx::query("INSERT INTO webhooks (user_id, url, secret, created_at) VALUES ('legacy', 'https://example.com/', 'whsec_plain', '2026-01-01T00:00:00.000000Z')")
        .execute(&pool)
        .await
        .expect("insert");
    let key = Sealer::from_hex(&Secret::new(crate::helpers::SECRETS_KEY)).expect("key");
    let store = taskstream::store::Store::connect(&app.database_url, 1)
        .await
        .expect("store")
        .sealing_with(key);
    assert_eq!(store.seal_stored_webhook_secrets().await.expect("seal"), 1);
    assert!(Sealer::is_sealed(&stored("legacy").await));
    let read = store.webhook("legacy").await.expect("read").expect("webhook");
    assert_eq!(read.secret.expose(), "whsec_plain", "the same secret signs deliveries");
    assert_eq!(store.seal_stored_webhook_secrets().await.expect("seal"), 0, "once");

    let wrong = taskstream::store::Store::connect(&app.database_url, 1)
        .await
        .expect("store")
        .sealing_with(Sealer::from_hex(&Secret::new("ab".repeat(32))).expect("key"));
    let error = wrong.webhook(USER).await.expect_err("another key opens nothing");
    assert!(format!("{error:#}").contains("TASKSTREAM_SECRETS_KEY"), "{error:#}");
    store.close().await;
    wrong.close().await;
    pool.close().await;
}

async fn test_call(app: &TestApp, user: &str) -> reqwest::Response {
    app.request(reqwest::Method::POST, "/api/v1/webhook/test", user)
        .send()
        .await
        .expect("send")
}

async fn test_outcome(app: &TestApp) -> Value {
    let response = test_call(app, USER).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

#[tokio::test]
async fn a_test_call_is_signed_like_a_reminder_and_tells_what_the_receiver_answered() {
    let app = spawn_app().await;
    assert_problem(test_call(&app, USER).await, StatusCode::NOT_FOUND, None).await;

    let (receiver, url) = Receiver::start().await;
    let secret = set_webhook(&app, &url).await;
    let outcome = test_outcome(&app).await;
    assert_eq!(
        (outcome["delivered"].clone(), outcome["status"].clone()),
        (json!(true), json!(200))
    );
    assert!(
        outcome["error"].is_null() && outcome["latency_ms"].is_u64(),
        "{outcome}"
    );
    let calls = receiver.calls();
    assert_eq!(calls.len(), 1, "one call per test");
    let (headers, body, _) = &calls[0];
    let delivery = outcome["delivery_id"].as_str().expect("delivery id");
    assert!(delivery.starts_with("test-"), "{delivery}");
    assert_eq!(headers[taskstream::webhook::DELIVERY_HEADER], delivery);
    let signed = headers[taskstream::webhook::SIGNATURE_HEADER].to_str().expect("ascii");
    let t: i64 = signed
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .and_then(|t| t.parse().ok())
        .expect("t=<seconds>");
    assert_eq!(
        signed,
        taskstream::webhook::signature(&secret, t, body),
        "signed with the user's secret"
    );
    let sent: Value = serde_json::from_slice(body).expect("json body");
    assert_eq!(
        (sent["type"].as_str(), sent["delivery_id"].as_str()),
        (Some("webhook.test"), Some(delivery))
    );

    receiver.answer(503);
    let outcome = test_outcome(&app).await;
    assert_eq!(
        (outcome["delivered"].clone(), outcome["status"].clone()),
        (json!(false), json!(503))
    );
    let error = outcome["error"].as_str().expect("error");
    assert!(error.contains("503") && !error.contains("/hook"), "{error}");

    // Another user has no webhook: the test call is not made to this one.
    assert_problem(test_call(&app, "someone-else").await, StatusCode::NOT_FOUND, None).await;
    assert_eq!(receiver.calls().len(), 2);
}

#[tokio::test]
async fn a_test_call_is_refused_by_the_policy_at_the_address_it_would_connect_to() {
    // Without loopback on the allow-list: a name is accepted when set (it is not resolved
    // then) and refused when the test call resolves it to 127.0.0.1.
    let app = spawn_tuned(
        |http| Parts {
            http: Some(http),
            ..Parts::default()
        },
        |roles| roles.webhook_allow = Vec::new(),
    )
    .await;
    let (receiver, url) = Receiver::start().await;
    let port = url::Url::parse(&url).expect("url").port().expect("port");
    set_webhook(&app, &format!("http://localhost:{port}/hook?token=s3cret")).await;
    let outcome = test_outcome(&app).await;
    assert_eq!(outcome["delivered"], false);
    assert!(outcome["status"].is_null());
    let error = outcome["error"].as_str().expect("error");
    assert!(error.contains("destination address not allowed"), "{error}");
    assert!(!error.contains("s3cret") && !error.contains("127.0.0.1"), "{error}");
    assert!(receiver.calls().is_empty(), "the receiver got nothing");
}

#[tokio::test]
async fn a_test_call_waits_no_longer_than_a_delivery_and_counts_against_the_webhook_quota() {
    let app = spawn_tuned(
        |mut http| {
            http.quota_webhook_changes_per_hour = 3;
            Parts {
                http: Some(http),
                ..Parts::default()
            }
        },
        |roles| roles.webhook_timeout_ms = 500,
    )
    .await;
    // Takes connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = silent.local_addr().expect("addr");
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    set_webhook(&app, &format!("http://{address}/hook")).await; // change 1 of 3
    let outcome = test_outcome(&app).await; // 2 of 3
    assert_eq!(
        (outcome["delivered"].clone(), outcome["status"].clone()),
        (json!(false), Value::Null)
    );
    let latency = outcome["latency_ms"].as_u64().expect("latency");
    assert!(
        (500..5_000).contains(&latency),
        "gave up after the 500 ms timeout: {latency} ms"
    );
    test_outcome(&app).await; // 3 of 3
    let refused = assert_problem(test_call(&app, USER).await, StatusCode::TOO_MANY_REQUESTS, None).await;
    assert!(refused["detail"].is_string());
    held.abort();
}
