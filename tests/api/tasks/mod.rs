//! The task endpoints doing their job: create, read, change, delete, complete and reopen;
//! listing with filters, search, sorting and pagination; idempotent creation, optimistic
//! concurrency and isolation between users.

mod concurrency;
mod isolation;
mod listing;
mod writes;

use std::collections::HashSet;

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::TestApp;

pub(super) const ALICE: &str = "alice";
pub(super) const BOB: &str = "bob";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

pub(super) fn id_of(task: &Value) -> String {
    task["id"].as_str().expect("task has an id").to_owned()
}

pub(super) fn ids_of(tasks: &[Value]) -> Vec<String> {
    tasks.iter().map(id_of).collect()
}

pub(super) fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

/// Asserts a 200 with a task body and the ETag of its version; returns the task.
pub(super) async fn expect_task(response: Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    let etag = header(&response, "etag");
    let task: Value = response.json().await.expect("task json");
    assert_eq!(
        etag,
        Some(format!("\"{}\"", task["version"])),
        "ETag must carry the version"
    );
    task
}

pub(super) async fn get_ok(app: &TestApp, user: &str, id: &str) -> Value {
    expect_task(app.get_task(user, id).await).await
}

pub(super) async fn patch_ok(app: &TestApp, user: &str, id: &str, body: &Value) -> Value {
    expect_task(app.patch_task(user, id, body).await).await
}

pub(super) async fn action_ok(app: &TestApp, user: &str, id: &str, action: &str) -> Value {
    expect_task(app.action(user, id, action).await).await
}

/// One page of a listing, which must succeed.
pub(super) async fn list_page(app: &TestApp, user: &str, query: &str) -> Value {
    let response = app.list(user, query).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "GET /tasks?{query}: {:?}",
        response.text().await
    );
    let page: Value = response.json().await.expect("page json");
    assert!(page["items"].is_array(), "{page}");
    page
}

/// The ids of the single page a query returns (with room for every test task).
pub(super) async fn list_ids(app: &TestApp, user: &str, query: &str) -> Vec<String> {
    let page = list_page(app, user, &format!("limit=200&{query}")).await;
    assert!(page["next_cursor"].is_null(), "expected one page for {query}: {page}");
    ids_of(page["items"].as_array().expect("items"))
}

/// Like `list_ids`, ignoring order.
pub(super) async fn list_id_set(app: &TestApp, user: &str, query: &str) -> HashSet<String> {
    list_ids(app, user, query).await.into_iter().collect()
}

pub(super) fn sample_task() -> Value {
    json!({
        "title": "  Pay rent  ",
        "description": "Transfer to the landlord",
        "priority": "high",
        "tags": ["Home", "money", " HOME ", "Money"],
        "due_at": "2026-12-01T09:00:00+01:00",
        "time_zone": "Europe/Berlin",
        "recurrence": "freq=monthly;bymonthday=1",
        "reminders": ["-PT60M", "2026-11-30T18:00:00-05:00", "-PT1H"],
    })
}
