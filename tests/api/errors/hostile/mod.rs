//! Hostile input: a batch of several hundred requests no client should send (bodies,
//! ids, query strings, headers), each of which must be answered promptly, never with a
//! 5xx, and refused with problem+json.

mod bodies;
mod probe;
mod probes;
mod queries;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{id_of, stored, ALICE, PROBE_TIMEOUT};
use crate::helpers::{spawn_app, TestApp};
use probe::Outcome;
use probes::hostile_probes;

fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("json")
}

/// Sends the whole batch, then lists what it created in every sort and order, page by
/// page; returns what came back for each request.
async fn run_hostile_batch(app: &TestApp) -> Vec<Outcome> {
    let id = id_of(
        &app.create_task(
            ALICE,
            &json!({ "title": "target", "due_at": "2026-03-01T09:00:00Z", "tags": ["a"] }),
        )
        .await,
    );
    let mut outcomes = Vec::new();
    for probe in hostile_probes(&id) {
        outcomes.push(probe.send(app).await);
    }
    for sort in ["due_at", "priority", "created_at", "updated_at", "title"] {
        for order in ["asc", "desc"] {
            let mut query = format!("sort={sort}&order={order}&limit=7");
            for page in 0..500 {
                let sent = app
                    .request(Method::GET, &format!("/api/v1/tasks?{query}"), ALICE)
                    .timeout(PROBE_TIMEOUT)
                    .send()
                    .await;
                let outcome =
                    Outcome::of(format!("listing the batch's tasks, {sort} {order}, page {page}"), sent).await;
                let next = serde_json::from_str::<Value>(&outcome.body)
                    .ok()
                    .and_then(|p| p["next_cursor"].as_str().map(str::to_owned));
                outcomes.push(outcome);
                match next {
                    Some(next) => query = format!("sort={sort}&order={order}&limit=7&cursor={next}"),
                    None => break,
                }
            }
        }
    }
    outcomes
}

fn failures(outcomes: &[Outcome], failed: impl Fn(&Outcome) -> bool) -> Vec<String> {
    outcomes.iter().filter(|o| failed(o)).map(Outcome::describe).collect()
}

#[tokio::test]
async fn hostile_input_never_causes_a_server_error() {
    let app = spawn_app().await;
    let outcomes = run_hostile_batch(&app).await;
    assert!(
        outcomes.len() > 500,
        "the batch is smaller than intended: {}",
        outcomes.len()
    );
    let failed = failures(&outcomes, |o| o.status.is_none_or(|s| s.is_server_error()));
    assert!(
        failed.is_empty(),
        "{} of {} hostile requests got a 5xx or no answer within {PROBE_TIMEOUT:?}:\n{}",
        failed.len(),
        outcomes.len(),
        failed.join("\n")
    );

    // And the service is still fine afterwards.
    let response = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let task = app.create_task(ALICE, &json!({ "title": "still working" })).await;
    assert_eq!(stored(&app, &id_of(&task)).await, task);
}

#[tokio::test]
async fn hostile_input_is_refused_with_problem_json() {
    let app = spawn_app().await;
    let outcomes = run_hostile_batch(&app).await;
    let failed = failures(&outcomes, |o| {
        o.status.is_some_and(|s| s.is_client_error()) && o.content_type != "application/problem+json"
    });
    assert!(
        failed.is_empty(),
        "{} of {} hostile requests got an error that is not problem+json:\n{}",
        failed.len(),
        outcomes.len(),
        failed.join("\n")
    );
}
