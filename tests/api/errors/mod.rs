//! Every way a request can be wrong: each answered with the right 4xx as problem+json
//! naming the field at fault, never with a 5xx, and never with a side effect. One file per
//! concern; the helpers they share are here.

mod auth;
mod bodies;
mod fields;
mod headers;
mod hostile;
mod list_queries;
mod routes;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, TestApp};

const ALICE: &str = "alice";

fn id_of(task: &Value) -> String {
    task["id"].as_str().expect("task has an id").to_owned()
}

fn task_path(id: &str) -> String {
    format!("/api/v1/tasks/{id}")
}

/// Every endpoint that needs a task id, with a valid body where it takes one.
fn id_endpoints(id: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, task_path(id), None),
        (Method::PATCH, task_path(id), Some(json!({ "title": "changed" }))),
        (Method::DELETE, task_path(id), None),
        (Method::POST, format!("{}/complete", task_path(id)), None),
        (Method::POST, format!("{}/reopen", task_path(id)), None),
    ]
}

/// Every endpoint of the API.
fn all_endpoints(id: &str) -> Vec<(Method, String, Option<Value>)> {
    let mut endpoints = vec![
        (
            Method::POST,
            "/api/v1/tasks".to_owned(),
            Some(json!({ "title": "new" })),
        ),
        (Method::GET, "/api/v1/tasks".to_owned(), None),
    ];
    endpoints.extend(id_endpoints(id));
    endpoints
}

async fn create(app: &TestApp) -> Value {
    app.create_task(
        ALICE,
        &json!({ "title": "Existing", "due_at": "2026-03-01T09:00:00Z", "tags": ["keep"] }),
    )
    .await
}

async fn stored(app: &TestApp, id: &str) -> Value {
    let response = app.get_task(ALICE, id).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("task json")
}

async fn task_count(app: &TestApp) -> usize {
    let response = app.list(ALICE, "limit=200").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.expect("page json");
    page["items"].as_array().expect("items").len()
}

/// POST /tasks with `body` must be refused with 422 naming `field`, creating nothing.
async fn assert_create_refused(app: &TestApp, label: &str, body: &Value, field: &str) {
    let response = app.post_task(ALICE, body).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{label}: {body}");
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
    assert_eq!(task_count(app).await, 0, "{label} must create nothing");
}

/// PATCH with `body` must be refused with 422 naming `field`, changing nothing.
async fn assert_patch_refused(app: &TestApp, task: &Value, label: &str, body: &Value, field: &str) {
    let id = id_of(task);
    let response = app.patch_task(ALICE, &id, body).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{label}: {body}");
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
    assert_eq!(&stored(app, &id).await, task, "{label} must change nothing");
}

fn fields_of(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// How long a hostile request may take before it counts as a failure to answer.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `n` tag filters: t0, t1, ….
fn many_tag_filters(n: usize) -> String {
    (0..n).map(|i| format!("tag=t{i}")).collect::<Vec<_>>().join("&")
}
