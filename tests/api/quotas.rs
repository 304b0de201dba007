//! Per-user quotas and the request deadline: one user can hold only so much, change their
//! webhook only so often, and no request is answered later than its deadline.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use taskstream::bus::consumer::apply_batch;
use taskstream::config::HttpSettings;
use taskstream::events::Event;
use taskstream::roles::recurrence::Repeat;
use taskstream::startup::Parts;
use taskstream::store::Store;

use crate::helpers::{assert_problem, count_at, hold_writes, spawn, TestApp, WAIT};
use crate::process::wait_for;

const USER: &str = "quinn";

async fn api_with(tune: impl FnOnce(&mut HttpSettings)) -> TestApp {
    spawn(|mut http| {
        tune(&mut http);
        Parts {
            http: Some(http),
            ..Parts::default()
        }
    })
    .await
}

async fn assert_quota(response: reqwest::Response, mentions: &str) {
    let problem = assert_problem(response, StatusCode::FORBIDDEN, None).await;
    assert_eq!(problem["type"], "/problems/quota-exceeded");
    assert!(
        problem["detail"].as_str().unwrap_or_default().contains(mentions),
        "{problem}"
    );
}

#[tokio::test]
async fn a_user_at_the_open_task_quota_cannot_create_or_reopen_until_one_closes() {
    let app = api_with(|http| http.quota_open_tasks = 3).await;
    let keyed = json!({"title": "first"});
    let first = app
        .request(Method::POST, "/api/v1/tasks", USER)
        .header("idempotency-key", "first")
        .json(&keyed)
        .send()
        .await
        .expect("send");
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.expect("json");
    let second = app.create_task(USER, &json!({"title": "second"})).await;
    app.create_task(USER, &json!({"title": "third"})).await;

    assert_quota(
        app.post_task(USER, &json!({"title": "fourth"})).await,
        "at most 3 open tasks",
    )
    .await;
    let replay = app
        .request(Method::POST, "/api/v1/tasks", USER)
        .header("idempotency-key", "first")
        .json(&keyed)
        .send()
        .await
        .expect("send");
    assert_eq!(
        replay.status(),
        StatusCode::CREATED,
        "a retry of an earlier create is replayed"
    );
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(
        app.post_task("another", &json!({"title": "mine"})).await.status(),
        StatusCode::CREATED,
        "the quota is per user"
    );

    let id = first["id"].as_str().expect("id");
    assert_eq!(app.action(USER, id, "complete").await.status(), StatusCode::OK);
    assert_eq!(
        app.post_task(USER, &json!({"title": "fourth"})).await.status(),
        StatusCode::CREATED
    );
    assert_quota(app.action(USER, id, "reopen").await, "at most 3 open tasks").await;
    let second_id = second["id"].as_str().expect("id");
    let gone = app
        .request(Method::DELETE, &format!("/api/v1/tasks/{second_id}"), USER)
        .send()
        .await
        .expect("send");
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.action(USER, id, "reopen").await.status(), StatusCode::OK);
    let open = app.list(USER, "status=open&limit=10").await;
    let open: Value = open.json().await.expect("json");
    assert_eq!(
        open["items"].as_array().map(Vec::len),
        Some(3),
        "never more than the quota"
    );
}

#[tokio::test]
async fn a_user_at_the_reminder_quota_cannot_add_reminders_until_a_task_closes() {
    let app = api_with(|http| http.quota_reminders = 3).await;
    let held = app
        .create_task(
            USER,
            &json!({"title": "two", "reminders": ["2099-01-01T09:00:00Z", "2099-01-02T09:00:00Z"]}),
        )
        .await;
    let single = app
        .create_task(USER, &json!({"title": "one", "reminders": ["2099-01-03T09:00:00Z"]}))
        .await;
    let more = json!({"title": "one more", "reminders": ["2099-01-04T09:00:00Z"]});
    assert_quota(app.post_task(USER, &more).await, "3 reminders").await;
    let plain = app.create_task(USER, &json!({"title": "no reminder"})).await;
    let plain_id = plain["id"].as_str().expect("id");
    let patched = app
        .patch_task(USER, plain_id, &json!({"reminders": ["2099-01-04T09:00:00Z"]}))
        .await;
    assert_quota(patched, "3 reminders").await;
    let held_id = held["id"].as_str().expect("id");
    assert_eq!(
        app.patch_task(USER, held_id, &json!({"title": "renamed, same reminders"}))
            .await
            .status(),
        StatusCode::OK,
        "a change that adds no reminder passes"
    );
    assert_eq!(
        app.post_task("another", &more).await.status(),
        StatusCode::CREATED,
        "the quota is per user"
    );

    let single_id = single["id"].as_str().expect("id");
    assert_eq!(app.action(USER, single_id, "complete").await.status(), StatusCode::OK);
    assert_eq!(
        app.post_task(USER, &more).await.status(),
        StatusCode::CREATED,
        "a completed task's reminders no longer count"
    );
    assert_quota(app.action(USER, single_id, "reopen").await, "3 reminders").await;
}

#[tokio::test]
async fn webhook_changes_beyond_the_hourly_quota_are_answered_429() {
    let app = api_with(|http| http.quota_webhook_changes_per_hour = 2).await;
    let put = |user: &'static str| {
        app.request(Method::PUT, "/api/v1/webhook", user)
            .json(&json!({"url": "https://example.com/hook"}))
            .send()
    };
    assert_eq!(put(USER).await.expect("send").status(), StatusCode::CREATED);
    assert_eq!(put(USER).await.expect("send").status(), StatusCode::CREATED);
    let refused = put(USER).await.expect("send");
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(wait >= 60, "the next change fits in about half an hour, not {wait} s");
    let problem = assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, None).await;
    assert_eq!(problem["type"], "/problems/rate-limited");
    let delete = app
        .request(Method::DELETE, "/api/v1/webhook", USER)
        .send()
        .await
        .expect("send");
    assert_eq!(
        delete.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "removing counts as a change"
    );
    assert_eq!(
        app.request(Method::GET, "/api/v1/webhook", USER)
            .send()
            .await
            .expect("send")
            .status(),
        StatusCode::OK,
        "reading is not a change"
    );
    assert_eq!(
        put("another").await.expect("send").status(),
        StatusCode::CREATED,
        "per user"
    );
}

#[tokio::test]
async fn a_request_past_its_deadline_is_answered_503_and_rolled_back() {
    let app = api_with(|http| http.request_timeout_ms = 1_000).await;
    let held = hold_writes(&app, "tasks").await;
    // Behind the lock a write would wait 5 s on SQLite (its busy timeout) and for ever on
    // PostgreSQL: the deadline answers first.
    let response = app.post_task(USER, &json!({"title": "stuck behind a lock"})).await;
    assert!(response.headers().contains_key("retry-after"));
    let problem = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, None).await;
    assert_eq!(problem["type"], "/problems/timeout");
    drop(held);

    // Once the lock is gone writes go through again (a busy machine may still need a retry).
    wait_for("a create to succeed after the lock is released", WAIT, || async {
        match app.post_task(USER, &json!({"title": "after"})).await.status() {
            StatusCode::CREATED => Ok(()),
            other => Err(other.to_string()),
        }
    })
    .await;
    let page: Value = app.list(USER, "limit=10").await.json().await.expect("json");
    let titles: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["title"].as_str())
        .collect();
    assert!(
        !titles.contains(&"stuck behind a lock"),
        "the timed-out write left nothing behind: {titles:?}"
    );
}

/// The user's holdings row beside a recount of their tasks: ((open, reminders) held,
/// (open, reminders) counted).
async fn holdings_and_recount(app: &TestApp) -> ((i64, i64), (i64, i64)) {
    let url = &app.database_url;
    let length = if url.starts_with("sqlite") {
        "json_array_length(reminders)"
    } else {
        "json_array_length(reminders::json)"
    };
    let held = |column: &str| {
        format!("SELECT CAST(COALESCE(MAX({column}), 0) AS BIGINT) FROM user_holdings WHERE user_id = '{USER}'")
    };
    let open = format!("FROM tasks WHERE user_id = '{USER}' AND status = 'open'");
    (
        (
            count_at(url, &held("open_tasks")).await,
            count_at(url, &held("reminders")).await,
        ),
        (
            count_at(url, &format!("SELECT CAST(COUNT(*) AS BIGINT) {open}")).await,
            count_at(
                url,
                &format!("SELECT CAST(COALESCE(SUM({length}), 0) AS BIGINT) {open}"),
            )
            .await,
        ),
    )
}

#[tokio::test]
async fn the_holdings_row_matches_a_recount_after_every_kind_of_write() {
    let app = api_with(|_| {}).await;
    let store = Store::connect(&app.database_url, 2).await.expect("connect");
    let mut steps = Vec::new();
    let mut check = async |step: &str| {
        let (held, counted) = holdings_and_recount(&app).await;
        steps.push(step.to_owned());
        assert_eq!(held, counted, "after {steps:?}");
        held
    };
    let two = json!({"title": "two", "reminders": ["2099-01-01T09:00:00Z", "2099-01-02T09:00:00Z"]});
    let kept = app.create_task(USER, &two).await;
    let kept = kept["id"].as_str().expect("id").to_owned();
    let gone = app.create_task(USER, &json!({"title": "plain"})).await;
    let gone = gone["id"].as_str().expect("id").to_owned();
    let repeating = json!({"title": "daily", "due_at": "2030-03-28T09:00:00Z", "recurrence": "FREQ=DAILY",
                           "reminders": ["2030-03-28T08:00:00Z"]});
    let daily = app.create_task(USER, &repeating).await;
    let daily = daily["id"].as_str().expect("id").to_owned();
    assert_eq!(check("three creates").await, (3, 3));

    let fewer = app
        .patch_task(USER, &kept, &json!({"reminders": ["2099-01-03T09:00:00Z"]}))
        .await;
    assert_eq!(fewer.status(), StatusCode::OK);
    let renamed = app.patch_task(USER, &kept, &json!({"title": "renamed"})).await;
    assert_eq!(renamed.status(), StatusCode::OK);
    assert_eq!(check("a reminder fewer, a rename").await, (3, 2));

    assert_eq!(app.action(USER, &kept, "complete").await.status(), StatusCode::OK);
    assert_eq!(check("complete").await, (2, 1));
    assert_eq!(app.action(USER, &kept, "reopen").await.status(), StatusCode::OK);
    assert_eq!(check("reopen").await, (3, 2));

    assert_eq!(app.action(USER, &daily, "complete").await.status(), StatusCode::OK);
    let advances: Vec<Event> = store
        .pending_outbox(1_000, &[])
        .await
        .expect("read the outbox")
        .into_iter()
        .filter(|row| row.event_type == "series.advance")
        .map(|row| Event::decode(row.payload.as_bytes()).expect("decodes"))
        .collect();
    assert_eq!(advances.len(), 1, "one series.advance");
    apply_batch(&store, &Repeat::new(store.clone()), &advances)
        .await
        .expect("the next occurrence is made");
    let (open, _) = check("the recurrence role's next occurrence").await;
    assert_eq!(open, 3, "the completed occurrence left, its next one came");

    let delete = |id: String, query: &'static str| {
        app.request(Method::DELETE, &format!("/api/v1/tasks/{id}{query}"), USER)
            .send()
    };
    assert_eq!(delete(gone, "").await.expect("send").status(), StatusCode::NO_CONTENT);
    assert_eq!(
        delete(kept.clone(), "").await.expect("send").status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(check("two deletes of open tasks").await.0, 1);
    assert_eq!(
        delete(daily, "?series=true").await.expect("send").status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(check("the completed occurrence and its series deleted").await.0, 1);
}
