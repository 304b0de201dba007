//! The task endpoints doing their job: create, read, change, delete, complete and reopen;
//! listing with filters, search, sorting and pagination; idempotent creation, optimistic
//! concurrency and isolation between users.

use std::cmp::Ordering;
use std::collections::HashSet;

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp};

const ALICE: &str = "alice";
const BOB: &str = "bob";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn id_of(task: &Value) -> String {
    task["id"].as_str().expect("task has an id").to_owned()
}

fn ids_of(tasks: &[Value]) -> Vec<String> {
    tasks.iter().map(id_of).collect()
}

fn header(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

/// Asserts a 200 with a task body and the ETag of its version; returns the task.
async fn expect_task(response: Response) -> Value {
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

async fn get_ok(app: &TestApp, user: &str, id: &str) -> Value {
    expect_task(app.get_task(user, id).await).await
}

async fn patch_ok(app: &TestApp, user: &str, id: &str, body: &Value) -> Value {
    expect_task(app.patch_task(user, id, body).await).await
}

async fn action_ok(app: &TestApp, user: &str, id: &str, action: &str) -> Value {
    expect_task(app.action(user, id, action).await).await
}

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

/// Creates one task per title (with nothing else set) and returns them in creation order.
async fn create_titled(app: &TestApp, user: &str, titles: &[&str]) -> Vec<Value> {
    let mut tasks = Vec::new();
    for title in titles {
        tasks.push(app.create_task(user, &json!({ "title": title })).await);
    }
    tasks
}

/// One page of a listing, which must succeed.
async fn list_page(app: &TestApp, user: &str, query: &str) -> Value {
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
async fn list_ids(app: &TestApp, user: &str, query: &str) -> Vec<String> {
    let page = list_page(app, user, &format!("limit=200&{query}")).await;
    assert!(page["next_cursor"].is_null(), "expected one page for {query}: {page}");
    ids_of(page["items"].as_array().expect("items"))
}

/// Like `list_ids`, ignoring order.
async fn list_id_set(app: &TestApp, user: &str, query: &str) -> HashSet<String> {
    list_ids(app, user, query).await.into_iter().collect()
}

fn id_set(tasks: &[&Value]) -> HashSet<String> {
    tasks.iter().map(|t| id_of(t)).collect()
}

/// Follows next_cursor from the first page to the last; returns the pages' ids.
async fn walk_pages(app: &TestApp, user: &str, query: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page_query = match &cursor {
            Some(c) => format!(
                "{query}&cursor={}",
                url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
            ),
            None => query.to_owned(),
        };
        let page = list_page(app, user, &page_query).await;
        pages.push(ids_of(page["items"].as_array().expect("items")));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert!(
                    page["next_cursor"].is_null(),
                    "next_cursor must be a string or null: {page}"
                );
                return pages;
            }
        }
        assert!(pages.len() <= 100, "pagination of {query} does not end");
    }
}

/// A sort key as the API documents it: tasks without a due time sort after dated ones.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Rank(i64),
    Text(String),
}

fn priority_rank(name: &str) -> i64 {
    match name {
        "low" => 0,
        "medium" => 1,
        "high" => 2,
        "urgent" => 3,
        other => panic!("unknown priority {other}"),
    }
}

fn sort_key(task: &Value, sort: &str) -> Key {
    let text = |field: &str| Key::Text(task[field].as_str().expect("text field").to_owned());
    match sort {
        "due_at" => Key::Text(task["due_at"].as_str().map_or_else(|| "~".to_owned(), str::to_owned)),
        "priority" => Key::Rank(priority_rank(task["priority"].as_str().expect("priority"))),
        "created_at" | "updated_at" | "title" => text(sort),
        other => panic!("unknown sort {other}"),
    }
}

/// The order the API must return `tasks` in: by the sort key, ties by id, both reversed
/// for descending order.
fn expected_order(tasks: &[Value], sort: &str, order: &str) -> Vec<String> {
    let mut sorted: Vec<&Value> = tasks.iter().collect();
    sorted.sort_by(|a, b| {
        let by_key: Ordering = sort_key(a, sort)
            .cmp(&sort_key(b, sort))
            .then_with(|| id_of(a).cmp(&id_of(b)));
        if order == "desc" {
            by_key.reverse()
        } else {
            by_key
        }
    });
    sorted.into_iter().map(id_of).collect()
}

/// RFC 3339 in UTC with exactly six fractional digits and a Z.
fn assert_utc_micros(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("expected an instant, got {value}"));
    let (seconds, fraction) = text.split_once('.').unwrap_or_else(|| panic!("no fraction in {text}"));
    assert_eq!(seconds.len(), 19, "{text}");
    assert!(fraction.len() == 7 && fraction.ends_with('Z'), "{text}");
    assert!(fraction[..6].chars().all(|c| c.is_ascii_digit()), "{text}");
    assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
}

fn sample_task() -> Value {
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

// ---------------------------------------------------------------------------------------
// Create and read
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_returns_201_with_location_etag_and_normalised_task() {
    let app = spawn_app().await;
    let response = app.post_task(ALICE, &sample_task()).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header(&response, "etag").as_deref(), Some("\"1\""));
    assert!(header(&response, "content-type")
        .unwrap_or_default()
        .starts_with("application/json"));
    let location = header(&response, "location").expect("Location header");
    assert_eq!(header(&response, "idempotent-replayed"), None);
    let task: Value = response.json().await.unwrap();

    let id = id_of(&task);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    assert_eq!(location, format!("/api/v1/tasks/{id}"));
    assert_eq!(task["title"], "Pay rent");
    assert_eq!(task["description"], "Transfer to the landlord");
    assert_eq!(task["priority"], "high");
    assert_eq!(task["tags"], json!(["home", "money"]));
    assert_eq!(task["due_at"], "2026-12-01T08:00:00.000000Z");
    assert_eq!(task["time_zone"], "Europe/Berlin");
    assert_eq!(task["recurrence"], "FREQ=MONTHLY;BYMONTHDAY=1");
    assert_eq!(task["reminders"], json!(["-PT1H", "2026-11-30T23:00:00.000000Z"]));
    assert_eq!(task["status"], "open");
    assert_eq!(task["completed_at"], Value::Null);
    assert_eq!(task["version"], 1);
    assert_utc_micros(&task["created_at"]);
    assert_eq!(task["created_at"], task["updated_at"]);
    let keys: HashSet<&str> = task.as_object().unwrap().keys().map(String::as_str).collect();
    let expected: HashSet<&str> = [
        "id",
        "title",
        "description",
        "priority",
        "tags",
        "due_at",
        "time_zone",
        "recurrence",
        "recurrence_mode",
        "exdates",
        "reminders",
        "series_id",
        "occurrence",
        "series_ended",
        "status",
        "completed_at",
        "created_at",
        "updated_at",
        "version",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, expected);

    // The Location names the task, and reading it gives the same view.
    let fetched = expect_task(app.request(Method::GET, &location, ALICE).send().await.unwrap()).await;
    assert_eq!(fetched, task);
}

#[tokio::test]
async fn create_with_only_a_title_uses_defaults() {
    let app = spawn_app().await;
    let task = app.create_task(ALICE, &json!({ "title": "Buy milk" })).await;
    assert_eq!(task["title"], "Buy milk");
    assert_eq!(task["description"], "");
    assert_eq!(task["priority"], "medium");
    assert_eq!(task["tags"], json!([]));
    assert_eq!(task["due_at"], Value::Null);
    assert_eq!(task["time_zone"], "UTC");
    assert_eq!(task["recurrence"], Value::Null);
    assert_eq!(task["reminders"], json!([]));
    assert_eq!(task["status"], "open");
}

#[tokio::test]
async fn create_accepts_the_limits_and_unicode() {
    let app = spawn_app().await;
    let tags: Vec<String> = (0..10).map(|i| format!("{i}{}", "x".repeat(29))).collect();
    let task = app
        .create_task(
            ALICE,
            &json!({
                "title": "🎉".repeat(255),
                "description": "d".repeat(10_000),
                "tags": tags,
                "due_at": "2026-01-01T00:00:00Z",
                "reminders": ["-PT1M", "-PT2M", "-PT3M", "-P1D", "-P1W"],
            }),
        )
        .await;
    assert_eq!(task["title"], "🎉".repeat(255));
    assert_eq!(task["tags"].as_array().unwrap().len(), 10);
    assert_eq!(task["reminders"], json!(["-PT1M", "-PT2M", "-PT3M", "-P1D", "-P7D"]));
    assert_eq!(get_ok(&app, ALICE, &id_of(&task)).await, task);
}

#[tokio::test]
async fn get_returns_the_stored_task_with_its_etag() {
    let app = spawn_app().await;
    let created = app.create_task(ALICE, &sample_task()).await;
    let fetched = get_ok(&app, ALICE, &id_of(&created)).await;
    assert_eq!(fetched, created);
}

// ---------------------------------------------------------------------------------------
// Change
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn patch_changes_only_the_given_fields_and_bumps_the_version() {
    let app = spawn_app().await;
    let created = app.create_task(ALICE, &sample_task()).await;
    let id = id_of(&created);

    let changed = patch_ok(
        &app,
        ALICE,
        &id,
        &json!({ "title": "Pay the rent", "priority": "urgent", "tags": ["Bills"] }),
    )
    .await;
    assert_eq!(changed["title"], "Pay the rent");
    assert_eq!(changed["priority"], "urgent");
    assert_eq!(changed["tags"], json!(["bills"]));
    assert_eq!(changed["version"], 2);
    for unchanged in [
        "id",
        "description",
        "due_at",
        "time_zone",
        "recurrence",
        "reminders",
        "status",
        "created_at",
    ] {
        assert_eq!(changed[unchanged], created[unchanged], "{unchanged} must not change");
    }
    assert_utc_micros(&changed["updated_at"]);
    assert!(changed["updated_at"].as_str() >= created["updated_at"].as_str());
    assert_eq!(get_ok(&app, ALICE, &id).await, changed);

    let moved = patch_ok(
        &app,
        ALICE,
        &id,
        &json!({ "due_at": "2027-01-01T10:00:00+02:00", "time_zone": "Asia/Tokyo" }),
    )
    .await;
    assert_eq!(moved["due_at"], "2027-01-01T08:00:00.000000Z");
    assert_eq!(moved["time_zone"], "Asia/Tokyo");
    assert_eq!(moved["version"], 3);
}

#[tokio::test]
async fn patch_null_clears_description_due_at_and_recurrence() {
    let app = spawn_app().await;
    let created = app
        .create_task(
            ALICE,
            &json!({
                "title": "Water plants",
                "description": "all of them",
                "due_at": "2026-05-01T07:00:00Z",
                "recurrence": "FREQ=WEEKLY",
            }),
        )
        .await;
    let id = id_of(&created);
    let cleared = patch_ok(
        &app,
        ALICE,
        &id,
        &json!({ "description": null, "due_at": null, "recurrence": null }),
    )
    .await;
    assert_eq!(cleared["description"], "");
    assert_eq!(cleared["due_at"], Value::Null);
    assert_eq!(cleared["recurrence"], Value::Null);
    assert_eq!(cleared["title"], "Water plants");
    assert_eq!(cleared["version"], 2);
    assert_eq!(get_ok(&app, ALICE, &id).await, cleared);
}

#[tokio::test]
async fn patch_without_a_real_change_keeps_the_version() {
    let app = spawn_app().await;
    let created = app.create_task(ALICE, &sample_task()).await;
    let id = id_of(&created);
    let no_ops = [
        json!({}),
        json!({ "title": "Pay rent" }),
        json!({ "title": "   Pay rent " }),
        json!({ "tags": ["HOME", "Money"] }),
        json!({ "due_at": "2026-12-01T09:00:00+01:00" }),
        json!({ "recurrence": "FREQ=MONTHLY;BYMONTHDAY=1" }),
        json!({ "reminders": ["-PT1H", "2026-11-30T23:00:00Z"] }),
        json!({ "priority": "high", "time_zone": "Europe/Berlin" }),
    ];
    for body in &no_ops {
        let after = patch_ok(&app, ALICE, &id, body).await;
        assert_eq!(after, created, "PATCH {body} changed nothing, so nothing may move");
    }
    assert_eq!(get_ok(&app, ALICE, &id).await["version"], 1);
}

/// A repeat rule is shown in one form (upper case, without "RRULE:"), however it was
/// written, so that a later PATCH that leaves it alone does not change it.
#[tokio::test]
async fn a_recurrence_is_normalised_and_survives_an_empty_patch() {
    let app = spawn_app().await;
    for written in [
        "FREQ=WEEKLY;BYDAY=MO",
        "freq=weekly;byday=mo",
        "RRULE:FREQ=WEEKLY;BYDAY=MO",
        "rrule:freq=weekly;byday=mo",
        "RRule:Freq=Weekly;ByDay=Mo",
    ] {
        let created = app
            .create_task(
                ALICE,
                &json!({ "title": written, "due_at": "2026-01-05T08:00:00Z", "recurrence": written }),
            )
            .await;
        assert_eq!(
            created["recurrence"], "FREQ=WEEKLY;BYDAY=MO",
            "recurrence written as {written:?}"
        );
        let after = patch_ok(&app, ALICE, &id_of(&created), &json!({})).await;
        assert_eq!(
            after, created,
            "an empty PATCH of a task whose rule was written as {written:?} must change nothing"
        );
    }
}

#[tokio::test]
async fn patch_is_checked_against_the_whole_task() {
    let app = spawn_app().await;
    let created = app
        .create_task(
            ALICE,
            &json!({
                "title": "Standup",
                "due_at": "2026-02-02T09:00:00Z",
                "recurrence": "FREQ=DAILY",
                "reminders": ["-PT5M"],
            }),
        )
        .await;
    let id = id_of(&created);
    // Clearing the due time leaves a repeat rule and a relative reminder without one.
    let problem = assert_problem(
        app.patch_task(ALICE, &id, &json!({ "due_at": null })).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("recurrence"),
    )
    .await;
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "reminders"),
        "{problem}"
    );
    assert_eq!(get_ok(&app, ALICE, &id).await, created);
    // Clearing all three together is fine.
    let cleared = patch_ok(
        &app,
        ALICE,
        &id,
        &json!({ "due_at": null, "recurrence": null, "reminders": [] }),
    )
    .await;
    assert_eq!(cleared["version"], 2);
}

// ---------------------------------------------------------------------------------------
// Delete, complete, reopen
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_returns_204_and_the_task_is_gone() {
    let app = spawn_app().await;
    let keep = app.create_task(ALICE, &json!({ "title": "keep" })).await;
    let doomed = app.create_task(ALICE, &json!({ "title": "doomed" })).await;
    let path = format!("/api/v1/tasks/{}", id_of(&doomed));

    let response = app.request(Method::DELETE, &path, ALICE).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.unwrap().is_empty());

    assert_problem(app.get_task(ALICE, &id_of(&doomed)).await, StatusCode::NOT_FOUND, None).await;
    let again = app.request(Method::DELETE, &path, ALICE).send().await.unwrap();
    assert_problem(again, StatusCode::NOT_FOUND, None).await;
    assert_problem(
        app.patch_task(ALICE, &id_of(&doomed), &json!({ "title": "x" })).await,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
    assert_problem(
        app.action(ALICE, &id_of(&doomed), "complete").await,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
    assert_eq!(list_ids(&app, ALICE, "").await, vec![id_of(&keep)]);
}

#[tokio::test]
async fn complete_and_reopen_toggle_the_status_idempotently() {
    let app = spawn_app().await;
    let created = app.create_task(ALICE, &json!({ "title": "Ship it" })).await;
    let id = id_of(&created);

    let done = action_ok(&app, ALICE, &id, "complete").await;
    assert_eq!(done["status"], "completed");
    assert_utc_micros(&done["completed_at"]);
    assert_eq!(done["version"], 2);
    assert_eq!(done["title"], created["title"]);
    assert_eq!(get_ok(&app, ALICE, &id).await, done);

    let done_again = action_ok(&app, ALICE, &id, "complete").await;
    assert_eq!(done_again, done, "completing a completed task changes nothing");

    let reopened = action_ok(&app, ALICE, &id, "reopen").await;
    assert_eq!(reopened["status"], "open");
    assert_eq!(reopened["completed_at"], Value::Null);
    assert_eq!(reopened["version"], 3);

    let reopened_again = action_ok(&app, ALICE, &id, "reopen").await;
    assert_eq!(reopened_again, reopened, "reopening an open task changes nothing");
    assert_eq!(get_ok(&app, ALICE, &id).await, reopened);
}

#[tokio::test]
async fn patching_a_completed_task_keeps_it_completed() {
    let app = spawn_app().await;
    let id = id_of(&app.create_task(ALICE, &json!({ "title": "Done soon" })).await);
    let done = action_ok(&app, ALICE, &id, "complete").await;
    let renamed = patch_ok(&app, ALICE, &id, &json!({ "title": "Done" })).await;
    assert_eq!(renamed["status"], "completed");
    assert_eq!(renamed["completed_at"], done["completed_at"]);
    assert_eq!(renamed["version"], 3);
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

// ---------------------------------------------------------------------------------------
// Isolation between users
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn another_users_task_is_invisible_and_untouchable() {
    let app = spawn_app().await;
    let alices = app.create_task(ALICE, &sample_task()).await;
    let bobs = app.create_task(BOB, &json!({ "title": "Bob's own" })).await;
    let id = id_of(&alices);
    let path = format!("/api/v1/tasks/{id}");

    assert_problem(app.get_task(BOB, &id).await, StatusCode::NOT_FOUND, None).await;
    assert_problem(
        app.patch_task(BOB, &id, &json!({ "title": "hijacked" })).await,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
    assert_problem(app.action(BOB, &id, "complete").await, StatusCode::NOT_FOUND, None).await;
    assert_problem(app.action(BOB, &id, "reopen").await, StatusCode::NOT_FOUND, None).await;
    let delete = app.request(Method::DELETE, &path, BOB).send().await.unwrap();
    assert_problem(delete, StatusCode::NOT_FOUND, None).await;
    // With the right version in hand it is still not Bob's.
    assert_problem(
        send_if_match_as(&app, BOB, Method::DELETE, &path, "\"1\"").await,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;

    assert_eq!(list_ids(&app, BOB, "").await, vec![id_of(&bobs)]);
    assert_eq!(list_ids(&app, BOB, "q=rent").await, Vec::<String>::new());
    assert_eq!(list_ids(&app, BOB, "tag=home").await, Vec::<String>::new());
    assert_eq!(
        get_ok(&app, ALICE, &id).await,
        alices,
        "Bob's attempts must change nothing"
    );
    assert_eq!(list_ids(&app, ALICE, "").await, vec![id.clone()]);
}

async fn send_if_match_as(app: &TestApp, user: &str, method: Method, path: &str, if_match: &str) -> Response {
    app.request(method, path, user)
        .header("if-match", if_match)
        .send()
        .await
        .expect("send")
}

// ---------------------------------------------------------------------------------------
// Listing: filters
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_user_has_an_empty_list() {
    let app = spawn_app().await;
    app.create_task(ALICE, &json!({ "title": "not Bob's" })).await;
    let page = list_page(&app, BOB, "").await;
    assert_eq!(page, json!({ "items": [], "next_cursor": null }));
}

#[tokio::test]
async fn list_filters_by_status() {
    let app = spawn_app().await;
    let tasks = create_titled(&app, ALICE, &["a", "b", "c"]).await;
    action_ok(&app, ALICE, &id_of(&tasks[1]), "complete").await;
    assert_eq!(list_id_set(&app, ALICE, "status=completed").await, id_set(&[&tasks[1]]));
    assert_eq!(
        list_id_set(&app, ALICE, "status=open").await,
        id_set(&[&tasks[0], &tasks[2]])
    );
    assert_eq!(list_ids(&app, ALICE, "").await.len(), 3);
}

#[tokio::test]
async fn list_filters_by_priority() {
    let app = spawn_app().await;
    let mut by_priority = Vec::new();
    for priority in ["low", "medium", "high", "urgent", "high"] {
        by_priority.push(
            app.create_task(ALICE, &json!({ "title": priority, "priority": priority }))
                .await,
        );
    }
    assert_eq!(
        list_id_set(&app, ALICE, "priority=high").await,
        id_set(&[&by_priority[2], &by_priority[4]])
    );
    assert_eq!(
        list_id_set(&app, ALICE, "priority=low").await,
        id_set(&[&by_priority[0]])
    );
    assert_eq!(
        list_id_set(&app, ALICE, "priority=urgent").await,
        id_set(&[&by_priority[3]])
    );
}

#[tokio::test]
async fn list_filters_by_tags_all_of_which_must_match() {
    let app = spawn_app().await;
    let work = app.create_task(ALICE, &json!({ "title": "w", "tags": ["work"] })).await;
    let work_urgent = app
        .create_task(ALICE, &json!({ "title": "wu", "tags": ["Work", "urgent"] }))
        .await;
    let home = app.create_task(ALICE, &json!({ "title": "h", "tags": ["home"] })).await;
    app.create_task(ALICE, &json!({ "title": "none" })).await;
    app.create_task(BOB, &json!({ "title": "bob's work", "tags": ["work"] }))
        .await;

    assert_eq!(
        list_id_set(&app, ALICE, "tag=work").await,
        id_set(&[&work, &work_urgent])
    );
    assert_eq!(
        list_id_set(&app, ALICE, "tag=WORK").await,
        id_set(&[&work, &work_urgent]),
        "tags match regardless of case"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "tag=work&tag=urgent").await,
        id_set(&[&work_urgent])
    );
    assert_eq!(list_id_set(&app, ALICE, "tag=work&tag=home").await, HashSet::new());
    assert_eq!(list_id_set(&app, ALICE, "tag=home").await, id_set(&[&home]));
    assert_eq!(
        list_id_set(&app, ALICE, "tag=wor").await,
        HashSet::new(),
        "tags match whole"
    );

    // Changing the tags moves the task between filters.
    patch_ok(&app, ALICE, &id_of(&home), &json!({ "tags": ["work", "urgent"] })).await;
    assert_eq!(
        list_id_set(&app, ALICE, "tag=work&tag=urgent").await,
        id_set(&[&work_urgent, &home])
    );
    assert_eq!(list_id_set(&app, ALICE, "tag=home").await, HashSet::new());
}

#[tokio::test]
async fn list_filters_by_due_window_exclusively() {
    let app = spawn_app().await;
    let due = |title: &str, at: &str| json!({ "title": title, "due_at": at });
    let early = app.create_task(ALICE, &due("early", "2026-01-01T00:00:00Z")).await;
    let middle = app
        .create_task(ALICE, &due("middle", "2026-06-15T12:00:00+02:00"))
        .await;
    let late = app
        .create_task(ALICE, &due("late", "2026-12-31T23:59:59.999999Z"))
        .await;
    app.create_task(ALICE, &json!({ "title": "undated" })).await;

    assert_eq!(
        list_id_set(&app, ALICE, "due_before=2026-06-15T10:00:00Z").await,
        id_set(&[&early]),
        "strictly before"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "due_before=2026-06-15T10:00:00.000001Z").await,
        id_set(&[&early, &middle])
    );
    assert_eq!(
        list_id_set(&app, ALICE, "due_after=2026-06-15T10:00:00Z").await,
        id_set(&[&late]),
        "strictly after"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "due_after=2026-06-15T09:59:59Z").await,
        id_set(&[&middle, &late])
    );
    // Offsets in the query are honoured: 12:00+02:00 is 10:00Z.
    assert_eq!(
        list_id_set(
            &app,
            ALICE,
            "due_after=2026-06-15T11:59:59%2B02:00&due_before=2026-06-15T12:00:01%2B02:00"
        )
        .await,
        id_set(&[&middle])
    );
    assert_eq!(
        list_id_set(
            &app,
            ALICE,
            "due_after=2025-01-01T00:00:00Z&due_before=2028-01-01T00:00:00Z"
        )
        .await,
        id_set(&[&early, &middle, &late])
    );
}

#[tokio::test]
async fn list_filters_by_overdue() {
    let app = spawn_app().await;
    let past = app
        .create_task(ALICE, &json!({ "title": "late", "due_at": "2020-01-01T00:00:00Z" }))
        .await;
    let past_done = app
        .create_task(
            ALICE,
            &json!({ "title": "late but done", "due_at": "2020-01-01T00:00:00Z" }),
        )
        .await;
    action_ok(&app, ALICE, &id_of(&past_done), "complete").await;
    let future = app
        .create_task(ALICE, &json!({ "title": "not yet", "due_at": "2199-01-01T00:00:00Z" }))
        .await;
    let undated = app.create_task(ALICE, &json!({ "title": "whenever" })).await;

    assert_eq!(list_id_set(&app, ALICE, "overdue=true").await, id_set(&[&past]));
    assert_eq!(
        list_id_set(&app, ALICE, "overdue=false").await,
        id_set(&[&past_done, &future, &undated])
    );
    // Combined with other filters.
    assert_eq!(
        list_id_set(&app, ALICE, "overdue=false&status=open").await,
        id_set(&[&future, &undated])
    );
}

// ---------------------------------------------------------------------------------------
// Listing: search
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn search_matches_word_prefixes_in_title_and_description() {
    let app = spawn_app().await;
    let milk = app
        .create_task(
            ALICE,
            &json!({ "title": "Buy milk", "description": "and bread from the bakery" }),
        )
        .await;
    let milkshake = app.create_task(ALICE, &json!({ "title": "Make a milkshake" })).await;
    let report = app
        .create_task(
            ALICE,
            &json!({ "title": "Quarterly report", "description": "send to Milton" }),
        )
        .await;
    app.create_task(ALICE, &json!({ "title": "Unrelated chore" })).await;

    assert_eq!(list_id_set(&app, ALICE, "q=milk").await, id_set(&[&milk, &milkshake]));
    assert_eq!(
        list_id_set(&app, ALICE, "q=mil").await,
        id_set(&[&milk, &milkshake, &report]),
        "prefix search"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=MILK").await,
        id_set(&[&milk, &milkshake]),
        "case-insensitive"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=bakery").await,
        id_set(&[&milk]),
        "description is searched"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=ilk").await,
        HashSet::new(),
        "only word prefixes match"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=quarterly%20milt").await,
        id_set(&[&report]),
        "title and description words together"
    );
}

#[tokio::test]
async fn search_needs_every_word_to_match() {
    let app = spawn_app().await;
    let both = app
        .create_task(
            ALICE,
            &json!({ "title": "Paint the fence", "description": "green paint" }),
        )
        .await;
    let fence = app.create_task(ALICE, &json!({ "title": "Fix fence" })).await;
    let paint = app.create_task(ALICE, &json!({ "title": "Buy paint" })).await;

    assert_eq!(list_id_set(&app, ALICE, "q=fence").await, id_set(&[&both, &fence]));
    assert_eq!(list_id_set(&app, ALICE, "q=paint").await, id_set(&[&both, &paint]));
    assert_eq!(list_id_set(&app, ALICE, "q=paint%20fence").await, id_set(&[&both]));
    assert_eq!(
        list_id_set(&app, ALICE, "q=fen+gre").await,
        id_set(&[&both]),
        "every word is a prefix"
    );
    assert_eq!(list_id_set(&app, ALICE, "q=fix%20paint").await, HashSet::new());
    // Punctuation separates words rather than breaking the search.
    assert_eq!(
        list_id_set(&app, ALICE, "q=%22paint%22%20AND%20(fence*)").await,
        HashSet::new(),
        "AND is a word to match, not an operator"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=%22paint%22%2C%20(fence*)").await,
        id_set(&[&both])
    );
}

#[tokio::test]
async fn search_ignores_other_users_tasks() {
    let app = spawn_app().await;
    let mine = app.create_task(ALICE, &json!({ "title": "Secret project plan" })).await;
    app.create_task(BOB, &json!({ "title": "Secret project budget" })).await;
    app.create_task(BOB, &json!({ "title": "Other", "description": "secret stuff" }))
        .await;
    assert_eq!(list_ids(&app, ALICE, "q=secret").await, vec![id_of(&mine)]);
    assert_eq!(list_ids(&app, ALICE, "q=secret%20project").await, vec![id_of(&mine)]);
    assert_eq!(list_ids(&app, BOB, "q=plan").await, Vec::<String>::new());
    assert_eq!(list_ids(&app, BOB, "q=secret").await.len(), 2);
}

#[tokio::test]
async fn the_search_index_holds_each_users_words_apart_and_older_rows_are_indexed_on_migration() {
    let app = spawn_app().await;
    let mine = app.create_task(ALICE, &json!({ "title": "Quarterly review" })).await;
    let alice_key = taskstream::store::search::user_key(ALICE);
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.expect("connect");
    let (words,): (String,) = sqlx::query_as("SELECT words FROM tasks WHERE id = $1")
        .bind(id_of(&mine))
        .fetch_one(&pool)
        .await
        .expect("row");
    assert_eq!(
        words,
        format!("{alice_key}quarterly {alice_key}review"),
        "indexed behind the owner's key"
    );

    // A row as an earlier version stored it (no indexed words) is found again after migration.
    sqlx::query("UPDATE tasks SET words = '' WHERE id = $1")
        .bind(id_of(&mine))
        .execute(&pool)
        .await
        .expect("forget the words");
    assert_eq!(list_ids(&app, ALICE, "q=quart").await, Vec::<String>::new());
    let store = taskstream::store::Store::connect(&app.database_url, 1)
        .await
        .expect("store");
    store.migrate().await.expect("migrate");
    store.close().await;
    pool.close().await;
    assert_eq!(list_ids(&app, ALICE, "q=quart").await, vec![id_of(&mine)]);
}

#[tokio::test]
async fn search_follows_changes_and_deletions() {
    let app = spawn_app().await;
    let task = app.create_task(ALICE, &json!({ "title": "Renew passport" })).await;
    let id = id_of(&task);
    assert_eq!(list_ids(&app, ALICE, "q=passport").await, vec![id.clone()]);

    patch_ok(
        &app,
        ALICE,
        &id,
        &json!({ "title": "Renew driving licence", "description": "at the town hall" }),
    )
    .await;
    assert_eq!(list_ids(&app, ALICE, "q=passport").await, Vec::<String>::new());
    assert_eq!(list_ids(&app, ALICE, "q=licence").await, vec![id.clone()]);
    assert_eq!(list_ids(&app, ALICE, "q=town").await, vec![id.clone()]);

    patch_ok(&app, ALICE, &id, &json!({ "description": null })).await;
    assert_eq!(list_ids(&app, ALICE, "q=town").await, Vec::<String>::new());

    let deleted = app
        .request(Method::DELETE, &format!("/api/v1/tasks/{id}"), ALICE)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(list_ids(&app, ALICE, "q=licence").await, Vec::<String>::new());
}

#[tokio::test]
async fn search_combines_with_filters() {
    let app = spawn_app().await;
    let open = app
        .create_task(
            ALICE,
            &json!({ "title": "Clean kitchen", "tags": ["home"], "priority": "high" }),
        )
        .await;
    let done = app
        .create_task(ALICE, &json!({ "title": "Clean garage", "tags": ["home"] }))
        .await;
    app.create_task(
        ALICE,
        &json!({ "title": "Clean desk", "tags": ["work"], "priority": "high" }),
    )
    .await;
    action_ok(&app, ALICE, &id_of(&done), "complete").await;
    assert_eq!(
        list_id_set(&app, ALICE, "q=clean&tag=home").await,
        id_set(&[&open, &done])
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=clean&tag=home&status=open").await,
        id_set(&[&open])
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=clean&priority=high&tag=home").await,
        id_set(&[&open])
    );
}

// ---------------------------------------------------------------------------------------
// Listing: sorting and pagination
// ---------------------------------------------------------------------------------------

const SORTS: [&str; 5] = ["due_at", "priority", "created_at", "updated_at", "title"];

/// Seven tasks with ties and gaps in every sort key: equal due times, missing due times,
/// equal priorities, titles that differ in case, accents and emoji. Some are changed after
/// creation so that updated_at order differs from created_at order. Returns their views.
async fn seed_sortable_tasks(app: &TestApp, user: &str) -> Vec<Value> {
    let seeds = [
        json!({ "title": "banana", "priority": "high", "due_at": "2026-03-01T10:00:00Z" }),
        json!({ "title": "Apple", "priority": "low" }),
        json!({ "title": "cherry", "priority": "urgent", "due_at": "2026-01-15T08:00:00Z" }),
        json!({ "title": "Éclair", "priority": "medium", "due_at": "2026-03-01T10:00:00Z" }),
        json!({ "title": "apple", "priority": "high" }),
        json!({ "title": "date 🍇", "priority": "medium", "due_at": "2025-12-31T23:59:59.5Z" }),
        json!({ "title": "banana", "priority": "low", "due_at": "2026-03-01T10:00:00+02:00" }),
    ];
    let mut ids = Vec::new();
    for seed in &seeds {
        ids.push(id_of(&app.create_task(user, seed).await));
    }
    patch_ok(app, user, &ids[2], &json!({ "description": "touched first" })).await;
    action_ok(app, user, &ids[0], "complete").await;
    patch_ok(app, user, &ids[5], &json!({ "priority": "urgent" })).await;
    let mut tasks = Vec::new();
    for id in &ids {
        tasks.push(get_ok(app, user, id).await);
    }
    tasks
}

#[tokio::test]
async fn pagination_walks_every_sort_and_order_without_gaps_or_duplicates() {
    let app = spawn_app().await;
    let tasks = seed_sortable_tasks(&app, ALICE).await;
    // Another user's tasks must not leak into any page.
    seed_sortable_tasks(&app, BOB).await;

    for sort in SORTS {
        for order in ["asc", "desc"] {
            let query = format!("sort={sort}&order={order}&limit=2");
            let pages = walk_pages(&app, ALICE, &query).await;
            let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
            assert_eq!(sizes, vec![2, 2, 2, 1], "page sizes for {query}");
            let walked: Vec<String> = pages.concat();
            assert_eq!(walked, expected_order(&tasks, sort, order), "order of {query}");
            // The same order in one page.
            let single = list_ids(&app, ALICE, &format!("sort={sort}&order={order}")).await;
            assert_eq!(single, walked, "one page and many pages agree for {query}");
        }
    }
}

#[tokio::test]
async fn pagination_ends_without_a_cursor_when_the_last_page_is_full() {
    let app = spawn_app().await;
    create_titled(&app, ALICE, &["1", "2", "3", "4"]).await;
    let pages = walk_pages(&app, ALICE, "limit=2").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2]);
    let pages = walk_pages(&app, ALICE, "limit=4").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![4]);
}

#[tokio::test]
async fn pagination_keeps_the_filters() {
    let app = spawn_app().await;
    let mut expected = Vec::new();
    for i in 0..9 {
        let tags = if i % 3 == 0 { json!(["other"]) } else { json!(["paged"]) };
        let task = app
            .create_task(ALICE, &json!({ "title": format!("task {i}"), "tags": tags }))
            .await;
        if i % 3 != 0 {
            expected.push(task);
        }
    }
    let pages = walk_pages(&app, ALICE, "tag=paged&sort=title&order=desc&limit=4").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 2]);
    assert_eq!(pages.concat(), expected_order(&expected, "title", "desc"));
}

#[tokio::test]
async fn a_page_boundary_holds_while_tasks_are_added() {
    let app = spawn_app().await;
    let first = create_titled(&app, ALICE, &["a", "b", "c"]).await;
    let page = list_page(&app, ALICE, "limit=2").await;
    assert_eq!(ids_of(page["items"].as_array().unwrap()), ids_of(&first[..2]));
    let cursor = page["next_cursor"].as_str().expect("more pages").to_owned();
    let later = create_titled(&app, ALICE, &["d"]).await;
    let rest = list_page(&app, ALICE, &format!("limit=2&cursor={cursor}")).await;
    assert_eq!(
        ids_of(rest["items"].as_array().unwrap()),
        vec![id_of(&first[2]), id_of(&later[0])]
    );
    assert!(rest["next_cursor"].is_null());
}

#[tokio::test]
async fn list_defaults_to_created_at_ascending_and_50_items() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 0..51 {
        created.push(
            app.create_task(ALICE, &json!({ "title": format!("{:02}", 50 - i) }))
                .await,
        );
    }
    let page = list_page(&app, ALICE, "").await;
    let items = ids_of(page["items"].as_array().unwrap());
    assert_eq!(items.len(), 50);
    assert_eq!(items, expected_order(&created, "created_at", "asc")[..50].to_vec());
    assert!(page["next_cursor"].is_string());

    let all = list_page(&app, ALICE, "limit=200").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 51);
    assert!(all["next_cursor"].is_null());

    let one = list_page(&app, ALICE, "limit=1&sort=title").await;
    assert_eq!(ids_of(one["items"].as_array().unwrap()), vec![id_of(&created[50])]);
}

#[tokio::test]
async fn sorting_by_due_at_puts_undated_tasks_last_ascending_and_first_descending() {
    let app = spawn_app().await;
    let undated = app.create_task(ALICE, &json!({ "title": "someday" })).await;
    let later = app
        .create_task(ALICE, &json!({ "title": "later", "due_at": "2026-05-01T00:00:00Z" }))
        .await;
    let sooner = app
        .create_task(
            ALICE,
            &json!({ "title": "sooner", "due_at": "2026-05-01T01:00:00+02:00" }),
        )
        .await;
    assert_eq!(
        list_ids(&app, ALICE, "sort=due_at").await,
        ids_of(&[sooner.clone(), later.clone(), undated.clone()])
    );
    assert_eq!(
        list_ids(&app, ALICE, "sort=due_at&order=desc").await,
        ids_of(&[undated, later, sooner])
    );
}

#[tokio::test]
async fn sorting_by_priority_ranks_rather_than_spells() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for priority in ["medium", "urgent", "low", "high"] {
        tasks.push(
            app.create_task(ALICE, &json!({ "title": priority, "priority": priority }))
                .await,
        );
    }
    let titles = |ids: Vec<String>| {
        ids.iter()
            .map(|id| {
                tasks.iter().find(|t| &id_of(t) == id).unwrap()["title"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(list_ids(&app, ALICE, "sort=priority").await),
        vec!["low", "medium", "high", "urgent"]
    );
    assert_eq!(
        titles(list_ids(&app, ALICE, "sort=priority&order=desc").await),
        vec!["urgent", "high", "medium", "low"]
    );
}
