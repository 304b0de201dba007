//! Optimistic concurrency with If-Match, and idempotent creation with Idempotency-Key.

use std::collections::HashSet;

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use super::{expect_task, get_ok, header, id_of, list_id_set, list_ids, patch_ok, sample_task, ALICE, BOB};
use crate::helpers::{assert_problem, spawn_app, TestApp};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A request with an If-Match header.
async fn send_if_match(app: &TestApp, method: Method, path: &str, if_match: &str, body: Option<&Value>) -> Response {
    let request = app.request(method, path, ALICE).header("if-match", if_match);
    let request = match body {
        Some(body) => request.json(body),
        None => request,
    };
    request.send().await.expect("send")
}

/// Creates a task with an Idempotency-Key.
async fn post_with_key(app: &TestApp, user: &str, key: &str, body: &Value) -> Response {
    app.request(Method::POST, "/api/v1/tasks", user)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .expect("send")
}

// ---------------------------------------------------------------------------------------
// Optimistic concurrency
// ---------------------------------------------------------------------------------------

/// Asserts a 412 naming the current version in the body and the ETag.
async fn assert_stale(response: Response, current: i64) {
    let etag = header(&response, "etag");
    let problem = assert_problem(response, StatusCode::PRECONDITION_FAILED, None).await;
    assert_eq!(problem["current_version"], current, "{problem}");
    assert_eq!(etag, Some(format!("\"{current}\"")));
}

#[tokio::test]
async fn if_match_with_the_current_version_allows_the_change() {
    let app = spawn_app().await;
    let id = id_of(&app.create_task(ALICE, &json!({ "title": "v1" })).await);
    let path = format!("/api/v1/tasks/{id}");

    let v2 =
        expect_task(send_if_match(&app, Method::PATCH, &path, "\"1\"", Some(&json!({ "title": "v2" }))).await).await;
    assert_eq!(v2["version"], 2);
    // Weak ETags and bare numbers name a version too.
    let v3 =
        expect_task(send_if_match(&app, Method::PATCH, &path, "W/\"2\"", Some(&json!({ "title": "v3" }))).await).await;
    assert_eq!(v3["version"], 3);
    let v4 = expect_task(send_if_match(&app, Method::POST, &format!("{path}/complete"), "\"3\"", None).await).await;
    assert_eq!(
        (v4["version"].as_i64(), v4["status"].as_str()),
        (Some(4), Some("completed"))
    );
    let v5 = expect_task(send_if_match(&app, Method::POST, &format!("{path}/reopen"), "\"4\"", None).await).await;
    assert_eq!((v5["version"].as_i64(), v5["status"].as_str()), (Some(5), Some("open")));
    let deleted = send_if_match(&app, Method::DELETE, &path, "\"5\"", None).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.get_task(ALICE, &id).await.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_stale_if_match_is_refused_with_412_on_every_write() {
    let app = spawn_app().await;
    let id = id_of(&app.create_task(ALICE, &json!({ "title": "original" })).await);
    let current = patch_ok(&app, ALICE, &id, &json!({ "title": "changed elsewhere" })).await;
    assert_eq!(current["version"], 2);
    let path = format!("/api/v1/tasks/{id}");

    let title = json!({ "title": "lost update" });
    assert_stale(
        send_if_match(&app, Method::PATCH, &path, "\"1\"", Some(&title)).await,
        2,
    )
    .await;
    assert_stale(
        send_if_match(&app, Method::PATCH, &path, "\"7\"", Some(&title)).await,
        2,
    )
    .await;
    // Even a patch that would change nothing is checked against the version.
    assert_stale(
        send_if_match(&app, Method::PATCH, &path, "\"1\"", Some(&json!({}))).await,
        2,
    )
    .await;
    assert_stale(
        send_if_match(&app, Method::POST, &format!("{path}/complete"), "\"1\"", None).await,
        2,
    )
    .await;
    assert_stale(
        send_if_match(&app, Method::POST, &format!("{path}/reopen"), "\"1\"", None).await,
        2,
    )
    .await;
    assert_stale(send_if_match(&app, Method::DELETE, &path, "\"1\"", None).await, 2).await;

    assert_eq!(
        get_ok(&app, ALICE, &id).await,
        current,
        "refused writes must leave the task alone"
    );
}

#[tokio::test]
async fn of_concurrent_writes_based_on_one_version_exactly_one_wins() {
    let app = spawn_app().await;
    let id = id_of(&app.create_task(ALICE, &json!({ "title": "contended" })).await);
    let path = format!("/api/v1/tasks/{id}");
    let requests = (0..8).map(|i| {
        let body = json!({ "title": format!("writer {i}") });
        let request = app
            .request(Method::PATCH, &path, ALICE)
            .header("if-match", "\"1\"")
            .json(&body);
        async move { request.send().await.expect("send") }
    });
    let responses = run_concurrently(requests).await;
    let mut winners = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::OK => winners.push(response.json::<Value>().await.unwrap()),
            _ => assert_stale(response, 2).await,
        }
    }
    assert_eq!(winners.len(), 1, "exactly one write based on version 1 may succeed");
    let stored = get_ok(&app, ALICE, &id).await;
    assert_eq!(stored["version"], 2);
    assert_eq!(stored["title"], winners[0]["title"]);
}

/// Runs the futures concurrently on this task and returns their outputs in order.
async fn run_concurrently<F: std::future::Future + Send + 'static>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("request task"));
    }
    outputs
}

// ---------------------------------------------------------------------------------------
// Idempotency
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_replays_the_first_response() {
    let app = spawn_app().await;
    let body = sample_task();
    let first = post_with_key(&app, ALICE, "key-1", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(header(&first, "idempotent-replayed"), None);
    let first_location = header(&first, "location");
    let first: Value = first.json().await.unwrap();

    let retry = post_with_key(&app, ALICE, "key-1", &body).await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(header(&retry, "idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(header(&retry, "location"), first_location);
    assert!(header(&retry, "content-type")
        .unwrap_or_default()
        .starts_with("application/json"));
    let retry: Value = retry.json().await.unwrap();
    assert_eq!(retry, first);
    assert_eq!(list_ids(&app, ALICE, "").await, vec![id_of(&first)]);

    // Another key is another request.
    let other = post_with_key(&app, ALICE, "key-2", &body).await;
    assert_eq!(other.status(), StatusCode::CREATED);
    assert_eq!(header(&other, "idempotent-replayed"), None);
    let other: Value = other.json().await.unwrap();
    assert_ne!(id_of(&other), id_of(&first));
    assert_eq!(list_ids(&app, ALICE, "").await.len(), 2);
}

#[tokio::test]
async fn a_replay_ignores_key_order_and_whitespace_of_the_body() {
    let app = spawn_app().await;
    let send_raw = |raw: &'static str| {
        app.request(Method::POST, "/api/v1/tasks", ALICE)
            .header("idempotency-key", "same")
            .body(raw)
            .send()
    };
    let first = send_raw(r#"{"title":"Call mom","priority":"high"}"#).await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let retry = send_raw("{\n  \"priority\" : \"high\",\n  \"title\" : \"Call mom\"\n}")
        .await
        .unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(header(&retry, "idempotent-replayed").as_deref(), Some("true"));
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    assert_eq!(list_ids(&app, ALICE, "").await.len(), 1);
}

#[tokio::test]
async fn an_idempotency_key_reused_with_another_body_is_refused() {
    let app = spawn_app().await;
    let first = post_with_key(&app, ALICE, "reused", &json!({ "title": "first" })).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();

    let reused = post_with_key(&app, ALICE, "reused", &json!({ "title": "second" })).await;
    assert_problem(reused, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;
    let reused = post_with_key(&app, ALICE, "reused", &json!({ "title": "first", "priority": "low" })).await;
    assert_problem(reused, StatusCode::UNPROCESSABLE_ENTITY, Some("Idempotency-Key")).await;

    assert_eq!(list_ids(&app, ALICE, "").await, vec![id_of(&first)]);
}

#[tokio::test]
async fn idempotency_keys_belong_to_one_user() {
    let app = spawn_app().await;
    let body = json!({ "title": "Same request" });
    let alice = post_with_key(&app, ALICE, "shared-key", &body).await;
    assert_eq!(alice.status(), StatusCode::CREATED);
    let alice: Value = alice.json().await.unwrap();

    let bob = post_with_key(&app, BOB, "shared-key", &body).await;
    assert_eq!(bob.status(), StatusCode::CREATED);
    assert_eq!(header(&bob, "idempotent-replayed"), None);
    let bob: Value = bob.json().await.unwrap();
    assert_ne!(id_of(&bob), id_of(&alice));
    assert_eq!(list_ids(&app, BOB, "").await, vec![id_of(&bob)]);
    assert_eq!(list_ids(&app, ALICE, "").await, vec![id_of(&alice)]);

    // And Bob's different body under the same key is not a mismatch with Alice's.
    let bob_other = post_with_key(&app, BOB, "alice-only", &json!({ "title": "x" })).await;
    assert_eq!(bob_other.status(), StatusCode::CREATED);
    let alice_other = post_with_key(&app, ALICE, "alice-only", &json!({ "title": "y" })).await;
    assert_eq!(alice_other.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn concurrent_requests_with_one_idempotency_key_create_one_task() {
    let app = spawn_app().await;
    let body = json!({ "title": "Only once", "tags": ["race"] });
    let requests = (0..10).map(|_| {
        let request = app
            .request(Method::POST, "/api/v1/tasks", ALICE)
            .header("idempotency-key", "race-key")
            .json(&body);
        async move { request.send().await.expect("send") }
    });
    let mut originals = 0;
    let mut ids = HashSet::new();
    for response in run_concurrently(requests).await {
        match response.status() {
            StatusCode::CREATED => {
                if header(&response, "idempotent-replayed").is_none() {
                    originals += 1;
                }
                ids.insert(id_of(&response.json::<Value>().await.unwrap()));
            }
            // A retry that overlaps the first request may be told to retry later.
            StatusCode::CONFLICT => {
                assert_problem(response, StatusCode::CONFLICT, None).await;
            }
            other => panic!("unexpected status {other}: {:?}", response.text().await),
        }
    }
    assert_eq!(originals, 1, "exactly one request may do the work");
    assert_eq!(ids.len(), 1, "every 201 must name the same task");
    assert_eq!(list_id_set(&app, ALICE, "").await, ids);
}
