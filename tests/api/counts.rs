//! GET /tasks/counts: the caller's open, overdue and completed tasks and open ones per
//! priority, exact after known work, never another user's.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp};
use crate::reminders::in_secs;

async fn counts(app: &TestApp, user: &str) -> Value {
    let response = app
        .request(reqwest::Method::GET, "/api/v1/tasks/counts", user)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

fn expected(open: u32, overdue: u32, completed: u32, [low, medium, high, urgent]: [u32; 4]) -> Value {
    json!({
        "open": open, "overdue": overdue, "completed": completed,
        "open_by_priority": {"low": low, "medium": medium, "high": high, "urgent": urgent},
        "capped": false,
    })
}

async fn create(app: &TestApp, user: &str, body: Value) -> String {
    app.create_task(user, &body).await["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test]
async fn counts_are_exact_after_known_work_and_only_the_callers() {
    let app = spawn_app().await;
    assert_eq!(counts(&app, "cora").await, expected(0, 0, 0, [0, 0, 0, 0]));

    let hour_ago = in_secs(-3600.0);
    create(
        &app,
        "cora",
        json!({"title": "late", "priority": "urgent", "due_at": hour_ago}),
    )
    .await;
    create(
        &app,
        "cora",
        json!({"title": "soon", "priority": "high", "due_at": in_secs(86_400.0)}),
    )
    .await;
    create(&app, "cora", json!({"title": "some day", "priority": "high"})).await;
    let done = create(
        &app,
        "cora",
        json!({"title": "done", "priority": "low", "due_at": in_secs(-7200.0)}),
    )
    .await;
    let gone = create(&app, "cora", json!({"title": "gone"})).await;
    assert_eq!(app.action("cora", &done, "complete").await.status(), StatusCode::OK);
    let deleted = app
        .request(reqwest::Method::DELETE, &format!("/api/v1/tasks/{gone}"), "cora")
        .send()
        .await
        .expect("send");
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    // Another user's tasks of every kind change nothing of cora's.
    for priority in ["low", "medium", "high", "urgent"] {
        create(
            &app,
            "otto",
            json!({"title": "his", "priority": priority, "due_at": hour_ago}),
        )
        .await;
    }
    let his = create(&app, "otto", json!({"title": "his done"})).await;
    assert_eq!(app.action("otto", &his, "complete").await.status(), StatusCode::OK);

    assert_eq!(counts(&app, "cora").await, expected(3, 1, 1, [0, 0, 2, 1]));
    assert_eq!(counts(&app, "otto").await, expected(4, 4, 1, [1, 1, 1, 1]));

    // Reopened, the low task is open and overdue again.
    assert_eq!(app.action("cora", &done, "reopen").await.status(), StatusCode::OK);
    assert_eq!(counts(&app, "cora").await, expected(4, 2, 0, [1, 0, 2, 1]));
}

#[tokio::test]
async fn counts_take_no_parameters_and_need_a_token() {
    let app = spawn_app().await;
    let response = app
        .request(reqwest::Method::GET, "/api/v1/tasks/counts?status=open", "cora")
        .send()
        .await
        .expect("send");
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some("status")).await;
    let anonymous = reqwest::Client::new()
        .get(app.url("/api/v1/tasks/counts"))
        .send()
        .await
        .expect("send");
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, None).await;
}
