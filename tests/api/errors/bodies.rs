//! Bodies that are not the JSON expected: malformed, unknown fields, wrong types, too
//! large, not JSON at all.

use reqwest::{Method, Response, StatusCode};
use serde_json::json;

use super::{assert_create_refused, assert_patch_refused, create, id_of, stored, task_count, task_path, ALICE};
use crate::helpers::{assert_problem, spawn_app, TestApp};

/// A request as ALICE with these raw body bytes and content type (none: no header).
async fn send_bytes(
    app: &TestApp,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(app.token(ALICE))
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.expect("send")
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = spawn_app().await;
    let task = create(&app).await;
    let bodies = [
        r#"{"title": "x""#,
        r#"{title: "x"}"#,
        r#"{"title": "x",}"#,
        "",
        "not json",
        "{\"title\": \"x\"} trailing",
    ];
    for (method, path) in [
        (Method::POST, "/api/v1/tasks".to_owned()),
        (Method::PATCH, task_path(&id_of(&task))),
    ] {
        for body in bodies {
            let response = send_bytes(&app, method.clone(), &path, Some("application/json"), body).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{method} {body:?}");
            assert_problem(response, StatusCode::BAD_REQUEST, None).await;
        }
    }
    assert_eq!(task_count(&app).await, 1);
    assert_eq!(stored(&app, &id_of(&task)).await, task);
}

#[tokio::test]
async fn unknown_fields_are_422_naming_them() {
    let app = spawn_app().await;
    assert_create_refused(&app, "typo", &json!({ "titel": "x" }), "titel").await;
    assert_create_refused(
        &app,
        "typo next to title",
        &json!({ "title": "x", "titel": "x" }),
        "titel",
    )
    .await;
    assert_create_refused(
        &app,
        "server-owned field",
        &json!({ "title": "x", "status": "completed" }),
        "status",
    )
    .await;
    assert_create_refused(
        &app,
        "server-owned id",
        &json!({ "title": "x", "id": "0190b3c8-0000-7000-8000-000000000000" }),
        "id",
    )
    .await;
    let task = create(&app).await;
    assert_patch_refused(&app, &task, "typo", &json!({ "titel": "x" }), "titel").await;
    assert_patch_refused(
        &app,
        &task,
        "status by PATCH",
        &json!({ "status": "completed" }),
        "status",
    )
    .await;
    assert_patch_refused(&app, &task, "version by PATCH", &json!({ "version": 9 }), "version").await;
}

#[tokio::test]
async fn a_missing_title_is_422() {
    let app = spawn_app().await;
    assert_create_refused(&app, "no title", &json!({}), "title").await;
    assert_create_refused(&app, "no title", &json!({ "description": "only this" }), "title").await;
    assert_create_refused(&app, "null title", &json!({ "title": null }), "title").await;
}

#[tokio::test]
async fn values_of_the_wrong_type_are_422_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({ "title": 42 }), "title"),
        (json!({ "title": ["a"] }), "title"),
        (json!({ "title": true }), "title"),
        (json!({ "title": "x", "description": false }), "description"),
        (json!({ "title": "x", "priority": 3 }), "priority"),
        (json!({ "title": "x", "tags": "work" }), "tags"),
        (json!({ "title": "x", "tags": ["ok", 1] }), "tags[1]"),
        (json!({ "title": "x", "due_at": 1_700_000_000 }), "due_at"),
        (json!({ "title": "x", "time_zone": {} }), "time_zone"),
        (json!({ "title": "x", "reminders": "-PT5M" }), "reminders"),
        (
            json!({ "title": "x", "due_at": "2026-03-01T09:00:00Z", "recurrence": ["FREQ=DAILY"] }),
            "recurrence",
        ),
    ];
    for (body, field) in &cases {
        assert_create_refused(&app, "wrong type", body, field).await;
    }
    let task = create(&app).await;
    for (body, field) in [
        (json!({ "title": 1 }), "title"),
        (json!({ "description": 1 }), "description"),
        (json!({ "due_at": true }), "due_at"),
        (json!({ "tags": [null] }), "tags[0]"),
        (json!({ "priority": "HIGH" }), "priority"),
    ] {
        assert_patch_refused(&app, &task, "wrong type", &body, field).await;
    }
}

#[tokio::test]
async fn a_body_over_64_kib_is_413() {
    let app = spawn_app().await;
    let task = create(&app).await;
    let huge = json!({ "title": "x", "description": "d".repeat(70_000) });
    let response = app.post_task(ALICE, &huge).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, None).await;
    let response = app.patch_task(ALICE, &id_of(&task), &huge).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, None).await;

    // The limit is 64 KiB exactly: padding a valid body to the limit is fine, one byte more is not.
    let padded = |len: usize| {
        let mut body = br#"{"title":"padded"}"#.to_vec();
        body.resize(len, b' ');
        body
    };
    let at_limit = send_bytes(
        &app,
        Method::POST,
        "/api/v1/tasks",
        Some("application/json"),
        padded(64 * 1024),
    )
    .await;
    assert_eq!(at_limit.status(), StatusCode::CREATED);
    let over = send_bytes(
        &app,
        Method::POST,
        "/api/v1/tasks",
        Some("application/json"),
        padded(64 * 1024 + 1),
    )
    .await;
    assert_problem(over, StatusCode::PAYLOAD_TOO_LARGE, None).await;

    assert_eq!(task_count(&app).await, 2);
    assert_eq!(stored(&app, &id_of(&task)).await, task);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    let task = create(&app).await;
    let body = r#"{"title":"typed wrong"}"#;
    for content_type in [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/xml",
        "application/x-www-form-urlencoded",
    ] {
        for (method, path) in [
            (Method::POST, "/api/v1/tasks".to_owned()),
            (Method::PATCH, task_path(&id_of(&task))),
        ] {
            let response = send_bytes(&app, method.clone(), &path, Some(content_type), body).await;
            assert_problem(response, StatusCode::UNSUPPORTED_MEDIA_TYPE, None).await;
        }
    }
    assert_eq!(task_count(&app).await, 1);
    assert_eq!(stored(&app, &id_of(&task)).await, task);
    // JSON with parameters is JSON.
    let response = send_bytes(
        &app,
        Method::POST,
        "/api/v1/tasks",
        Some("application/json; charset=utf-8"),
        body,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}
