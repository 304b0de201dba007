//! Every way a request can be wrong: each answered with the right 4xx as problem+json
//! naming the field at fault, never with a 5xx, and never with a side effect.

use reqwest::header::HeaderValue;
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp, SECRET};

const ALICE: &str = "alice";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn id_of(task: &Value) -> String {
    task["id"].as_str().expect("task has an id").to_owned()
}

fn task_path(id: &str) -> String {
    format!("/api/v1/tasks/{id}")
}

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

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A JWT signed with `secret` and `algorithm` carrying `claims`.
fn jwt(secret: &str, algorithm: jsonwebtoken::Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(algorithm),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign token")
}

fn hs256(secret: &str, claims: &Value) -> String {
    jwt(secret, jsonwebtoken::Algorithm::HS256, claims)
}

/// An unsigned token ("alg": "none").
fn unsigned_token(claims: &Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let part = |value: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap());
    format!("{}.{}.", part(&json!({ "alg": "none", "typ": "JWT" })), part(claims))
}

/// Authorization header values that must all be refused, with what is wrong with each.
fn bad_authorizations() -> Vec<(&'static str, String)> {
    let now = now_secs();
    let claims = |sub: Value, exp: Value| json!({ "sub": sub, "exp": exp, "iat": now - 60 });
    vec![
        ("garbage token", "Bearer not-a-jwt".to_owned()),
        ("three garbage parts", "Bearer aaa.bbb.ccc".to_owned()),
        ("empty bearer", "Bearer ".to_owned()),
        ("other scheme", format!("Basic {}", "YWxpY2U6c2VjcmV0")),
        (
            "token without scheme",
            hs256(SECRET, &claims(json!(ALICE), json!(now + 3600))),
        ),
        (
            "expired",
            format!(
                "Bearer {}",
                hs256(SECRET, &json!({ "sub": ALICE, "exp": now - 3600, "iat": now - 7200 }))
            ),
        ),
        (
            "wrong secret",
            format!(
                "Bearer {}",
                hs256(
                    "another-secret-that-is-long-enough-to-use",
                    &claims(json!(ALICE), json!(now + 3600))
                )
            ),
        ),
        (
            "HS512",
            format!(
                "Bearer {}",
                jwt(
                    SECRET,
                    jsonwebtoken::Algorithm::HS512,
                    &claims(json!(ALICE), json!(now + 3600))
                )
            ),
        ),
        (
            "alg none",
            format!("Bearer {}", unsigned_token(&claims(json!(ALICE), json!(now + 3600)))),
        ),
        (
            "no exp",
            format!("Bearer {}", hs256(SECRET, &json!({ "sub": ALICE, "iat": now }))),
        ),
        (
            "no sub",
            format!("Bearer {}", hs256(SECRET, &json!({ "exp": now + 3600, "iat": now }))),
        ),
        (
            "empty sub",
            format!("Bearer {}", hs256(SECRET, &claims(json!(""), json!(now + 3600)))),
        ),
        (
            "numeric sub",
            format!("Bearer {}", hs256(SECRET, &claims(json!(42), json!(now + 3600)))),
        ),
        (
            "control character in sub",
            format!(
                "Bearer {}",
                hs256(SECRET, &claims(json!("ali\u{0}ce"), json!(now + 3600)))
            ),
        ),
        (
            "over-long sub",
            format!(
                "Bearer {}",
                hs256(SECRET, &claims(json!("u".repeat(256)), json!(now + 3600)))
            ),
        ),
    ]
}

async fn assert_unauthorized(response: Response, label: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{label}");
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    assert!(
        challenge.as_deref().is_some_and(|c| c.starts_with("Bearer")),
        "{label}: WWW-Authenticate was {challenge:?}"
    );
    assert_problem(response, StatusCode::UNAUTHORIZED, None).await;
}

fn request_without_auth(app: &TestApp, method: Method, path: &str, body: Option<&Value>) -> reqwest::RequestBuilder {
    let request = app.client.request(method, app.url(path));
    match body {
        Some(body) => request.json(body),
        None => request,
    }
}

// ---------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn every_endpoint_needs_a_valid_token() {
    let app = spawn_app().await;
    let task = create(&app).await;
    for (method, path, body) in all_endpoints(&id_of(&task)) {
        let label = format!("{method} {path} without a token");
        assert_unauthorized(
            request_without_auth(&app, method.clone(), &path, body.as_ref())
                .send()
                .await
                .unwrap(),
            &label,
        )
        .await;
        for (what, authorization) in bad_authorizations() {
            let response = request_without_auth(&app, method.clone(), &path, body.as_ref())
                .header("authorization", authorization)
                .send()
                .await
                .unwrap();
            assert_unauthorized(response, &format!("{method} {path} with {what}")).await;
        }
    }
    // None of that did anything.
    assert_eq!(stored(&app, &id_of(&task)).await, task);
    assert_eq!(task_count(&app).await, 1);
}

#[tokio::test]
async fn a_token_made_with_the_right_secret_is_accepted() {
    let app = spawn_app().await;
    let now = now_secs();
    let token = hs256(SECRET, &json!({ "sub": ALICE, "exp": now + 600, "iat": now }));
    let created = app
        .client
        .post(app.url("/api/v1/tasks"))
        .bearer_auth(&token)
        .json(&json!({ "title": "hand-made token" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    // It names the same user as the helpers' tokens.
    assert_eq!(stored(&app, &id_of(&created)).await, created);
}

// ---------------------------------------------------------------------------------------
// Bodies that are not the JSON expected
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Field values
// ---------------------------------------------------------------------------------------

fn with_due(extra: Value) -> Value {
    let mut body = json!({ "title": "x", "due_at": "2026-03-01T09:00:00Z" });
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

fn numbered(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{}", i + 1)).collect()
}

#[tokio::test]
async fn invalid_values_are_422_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        ("empty title", json!({ "title": "" }), "title"),
        ("blank title", json!({ "title": " \t\n\u{a0} " }), "title"),
        ("256-character title", json!({ "title": "x".repeat(256) }), "title"),
        ("256 emoji title", json!({ "title": "🎉".repeat(256) }), "title"),
        ("control character in title", json!({ "title": "bell\u{7}" }), "title"),
        (
            "10,001-character description",
            json!({ "title": "x", "description": "d".repeat(10_001) }),
            "description",
        ),
        (
            "unknown priority",
            json!({ "title": "x", "priority": "critical" }),
            "priority",
        ),
        ("11 tags", json!({ "title": "x", "tags": numbered("t", 11) }), "tags"),
        (
            "31-character tag",
            json!({ "title": "x", "tags": ["fine", "x".repeat(31)] }),
            "tags[1]",
        ),
        ("empty tag", json!({ "title": "x", "tags": [""] }), "tags[0]"),
        (
            "tag with a space",
            json!({ "title": "x", "tags": ["ok", "ok", "two words"] }),
            "tags[2]",
        ),
        (
            "unknown time zone",
            json!({ "title": "x", "time_zone": "Mars/Olympus" }),
            "time_zone",
        ),
        (
            "unparsable due_at",
            json!({ "title": "x", "due_at": "tomorrow" }),
            "due_at",
        ),
        (
            "due_at without offset",
            json!({ "title": "x", "due_at": "2026-03-01T09:00:00" }),
            "due_at",
        ),
        (
            "due_at as a date",
            json!({ "title": "x", "due_at": "2026-03-01" }),
            "due_at",
        ),
        (
            "impossible due_at",
            json!({ "title": "x", "due_at": "2026-02-30T09:00:00Z" }),
            "due_at",
        ),
        (
            "unparsable recurrence",
            with_due(json!({ "recurrence": "every tuesday" })),
            "recurrence",
        ),
        (
            "hourly recurrence",
            with_due(json!({ "recurrence": "FREQ=HOURLY" })),
            "recurrence",
        ),
        (
            "minutely recurrence",
            with_due(json!({ "recurrence": "FREQ=MINUTELY" })),
            "recurrence",
        ),
        (
            "recurrence on 30 February",
            with_due(json!({ "recurrence": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30" })),
            "recurrence",
        ),
        (
            "recurrence with interval 0",
            with_due(json!({ "recurrence": "FREQ=DAILY;INTERVAL=0" })),
            "recurrence",
        ),
        ("empty recurrence", with_due(json!({ "recurrence": "" })), "recurrence"),
        (
            // Found by fuzz/fuzz_targets/rule_parser.rs: the rule crate panicked on it (a 500).
            "recurrence with a letter that is not ASCII",
            with_due(json!({ "recurrence": "FREQ=WEEKLY;BYDAY=+1\u{188}E;COUNT=3" })),
            "recurrence",
        ),
        (
            "recurrence without due_at",
            json!({ "title": "x", "recurrence": "FREQ=DAILY" }),
            "recurrence",
        ),
        (
            "relative reminder without due_at",
            json!({ "title": "x", "reminders": ["-PT15M"] }),
            "reminders",
        ),
        (
            "6 reminders",
            with_due(json!({ "reminders": numbered("-PT", 6).iter().map(|r| format!("{r}M")).collect::<Vec<_>>() })),
            "reminders",
        ),
        (
            "reminder without minus",
            with_due(json!({ "reminders": ["PT15M"] })),
            "reminders[0]",
        ),
        (
            "reminder in months",
            with_due(json!({ "reminders": ["-PT5M", "-P1M"] })),
            "reminders[1]",
        ),
        (
            "reminder over a year",
            with_due(json!({ "reminders": ["-P400D"] })),
            "reminders[0]",
        ),
        (
            "reminder that is no instant",
            with_due(json!({ "reminders": ["2026-03-01 08:00"] })),
            "reminders[0]",
        ),
    ];
    for (label, body, field) in &cases {
        assert_create_refused(&app, label, body, field).await;
    }
}

#[tokio::test]
async fn every_invalid_field_is_reported_at_once() {
    let app = spawn_app().await;
    let body = json!({ "title": " ", "tags": ["ok", ""], "time_zone": "Nowhere/Land", "due_at": "soon", "reminders": ["later"] });
    let response = app.post_task(ALICE, &body).await;
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some("title")).await;
    let fields = fields_of(&problem);
    for field in ["title", "tags[1]", "time_zone", "due_at", "reminders[0]"] {
        assert!(fields.iter().any(|f| f == field), "{field} missing from {problem}");
    }
    assert_eq!(problem["type"], "/problems/validation");
    assert_eq!(task_count(&app).await, 0);
}

#[tokio::test]
async fn an_invalid_patch_is_422_and_changes_nothing() {
    let app = spawn_app().await;
    let task = create(&app).await;
    let cases = [
        ("empty title", json!({ "title": "" }), "title"),
        ("256-character title", json!({ "title": "t".repeat(256) }), "title"),
        ("11 tags", json!({ "tags": numbered("t", 11) }), "tags"),
        ("31-character tag", json!({ "tags": ["a", "x".repeat(31)] }), "tags[1]"),
        (
            "unknown time zone",
            json!({ "time_zone": "Europe/Atlantis" }),
            "time_zone",
        ),
        ("bad due_at", json!({ "due_at": "2026-13-01T00:00:00Z" }), "due_at"),
        (
            "hourly recurrence",
            json!({ "recurrence": "FREQ=HOURLY" }),
            "recurrence",
        ),
        (
            "30 February",
            json!({ "recurrence": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30" }),
            "recurrence",
        ),
        (
            "recurrence while clearing due_at",
            json!({ "due_at": null, "recurrence": "FREQ=DAILY" }),
            "recurrence",
        ),
        (
            "relative reminder while clearing due_at",
            json!({ "due_at": null, "reminders": ["-PT15M"] }),
            "reminders",
        ),
        (
            "6 reminders",
            json!({ "reminders": ["-PT1M", "-PT2M", "-PT3M", "-PT4M", "-PT5M", "-PT6M"] }),
            "reminders",
        ),
        (
            "long description",
            json!({ "description": "d".repeat(10_001) }),
            "description",
        ),
    ];
    for (label, body, field) in &cases {
        assert_patch_refused(&app, &task, label, body, field).await;
    }
}

// ---------------------------------------------------------------------------------------
// Headers
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unparsable_if_match_is_400() {
    let app = spawn_app().await;
    let task = create(&app).await;
    for if_match in ["abc", "\"abc\"", "", "W/", "\"1.5\""] {
        for (method, path, body) in id_endpoints(&id_of(&task))
            .into_iter()
            .filter(|(m, ..)| *m != Method::GET)
        {
            let mut request = app.request(method.clone(), &path, ALICE).header("if-match", if_match);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "{method} {path} If-Match {if_match:?}"
            );
            assert_problem(response, StatusCode::BAD_REQUEST, Some("If-Match")).await;
        }
    }
    assert_eq!(stored(&app, &id_of(&task)).await, task);
}

#[tokio::test]
async fn an_unusable_idempotency_key_is_400() {
    let app = spawn_app().await;
    for key in ["k".repeat(256), String::new()] {
        let response = app
            .request(Method::POST, "/api/v1/tasks", ALICE)
            .header("idempotency-key", key.as_str())
            .json(&json!({ "title": "x" }))
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, Some("Idempotency-Key")).await;
    }
    assert_eq!(task_count(&app).await, 0);
}

// ---------------------------------------------------------------------------------------
// Routes, methods and ids
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn an_id_that_is_not_a_uuid_is_404() {
    let app = spawn_app().await;
    create(&app).await;
    for bad in [
        "not-a-uuid",
        "123",
        "0190b3c8-0000-7000-8000-00000000000",
        "0190b3c8-0000-7000-8000-00000000000g",
    ] {
        for (method, path, body) in id_endpoints(bad) {
            let mut request = app.request(method.clone(), &path, ALICE);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            assert_problem(response, StatusCode::NOT_FOUND, None).await;
        }
    }
    // A well-formed id of no task is 404 too.
    for (method, path, body) in id_endpoints(&uuid::Uuid::new_v4().to_string()) {
        let mut request = app.request(method.clone(), &path, ALICE);
        if let Some(body) = &body {
            request = request.json(body);
        }
        assert_problem(request.send().await.unwrap(), StatusCode::NOT_FOUND, None).await;
    }
    assert_eq!(task_count(&app).await, 1);
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    let id = id_of(&create(&app).await);
    for (method, path) in [
        (Method::GET, "/api/v1/nothing".to_owned()),
        (Method::GET, "/api/v2/tasks".to_owned()),
        (Method::GET, "/nothing-here".to_owned()),
        (Method::GET, "/console/no-such-file.js".to_owned()),
        (Method::POST, format!("/api/v1/tasks/{id}/archive")),
        (Method::GET, format!("/api/v1/tasks/{id}/complete/now")),
    ] {
        let response = app.request(method.clone(), &path, ALICE).send().await.unwrap();
        assert_problem(response, StatusCode::NOT_FOUND, None).await;
    }
}

#[tokio::test]
async fn a_method_the_route_does_not_have_is_a_405_problem() {
    let app = spawn_app().await;
    let task = create(&app).await;
    let id = id_of(&task);
    for (method, path) in [
        (Method::PUT, task_path(&id)),
        (Method::POST, task_path(&id)),
        (Method::DELETE, "/api/v1/tasks".to_owned()),
        (Method::PATCH, "/api/v1/tasks".to_owned()),
        (Method::GET, format!("{}/complete", task_path(&id))),
        (Method::DELETE, format!("{}/reopen", task_path(&id))),
        (Method::POST, "/healthz".to_owned()),
    ] {
        let response = app
            .request(method.clone(), &path, ALICE)
            .json(&json!({ "title": "x" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_problem(response, StatusCode::METHOD_NOT_ALLOWED, None).await;
    }
    assert_eq!(stored(&app, &id).await, task);
}

// ---------------------------------------------------------------------------------------
// Query strings of GET /tasks
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_and_invalid_list_parameters_are_422_naming_them() {
    let app = spawn_app().await;
    create(&app).await;
    let cases = [
        ("colour=red", "colour"),
        ("Status=open", "Status"),
        ("page=2", "page"),
        ("status=done", "status"),
        ("status=open&status=completed", "status"),
        ("priority=critical", "priority"),
        ("tag=", "tag"),
        ("tag=ok&tag=this-tag-is-far-too-long-to-be-a-tag", "tag"),
        ("due_before=tomorrow", "due_before"),
        ("due_after=2026-01-01", "due_after"),
        ("overdue=yes", "overdue"),
        ("overdue=", "overdue"),
        ("q=", "q"),
        ("q=%21%3F%20*", "q"),
        ("sort=size", "sort"),
        ("sort=due_at&sort=title", "sort"),
        ("order=up", "order"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("cursor=garbage", "cursor"),
        ("cursor=", "cursor"),
    ];
    for (query, field) in cases {
        let response = app.list(ALICE, query).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "GET /tasks?{query}"
        );
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
    }
    // Several at once are all named.
    let problem = assert_problem(
        app.list(ALICE, "limit=0&sort=size&colour=red").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
    )
    .await;
    let fields = fields_of(&problem);
    for field in ["limit", "sort", "colour"] {
        assert!(fields.iter().any(|f| f == field), "{field} missing from {problem}");
    }
}

#[tokio::test]
async fn a_cursor_only_works_with_the_sort_and_order_it_came_from() {
    let app = spawn_app().await;
    for title in ["a", "b", "c"] {
        app.create_task(ALICE, &json!({ "title": title })).await;
    }
    let first: Value = app.list(ALICE, "sort=title&limit=1").await.json().await.unwrap();
    let cursor = first["next_cursor"].as_str().expect("a next page").to_owned();

    for query in [
        format!("sort=priority&limit=1&cursor={cursor}"),
        format!("limit=1&cursor={cursor}"),
        format!("sort=title&order=desc&limit=1&cursor={cursor}"),
        format!("sort=created_at&order=asc&cursor={cursor}"),
    ] {
        let response = app.list(ALICE, &query).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some("cursor")).await;
    }
    // With its own sort it goes on, whatever the limit and filters.
    for query in [
        format!("sort=title&limit=1&cursor={cursor}"),
        format!("cursor={cursor}&order=asc&sort=title&status=open"),
    ] {
        let response = app.list(ALICE, &query).await;
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        let page: Value = response.json().await.unwrap();
        assert_eq!(page["items"][0]["title"], "b", "{query}");
    }
}

// ---------------------------------------------------------------------------------------
// Hostile input
// ---------------------------------------------------------------------------------------

/// A task body must come back as sent, or be refused with 422 naming `field`.
async fn assert_kept_or_refused(response: Response, kept: StatusCode, field: &str, value: &str) {
    let status = response.status();
    if status == StatusCode::UNPROCESSABLE_ENTITY {
        assert_problem(response, status, Some(field)).await;
    } else {
        let body = response.text().await.unwrap_or_default();
        assert_eq!(
            status, kept,
            "{field} = {value:?} must be kept or refused with 422: {body}"
        );
        let task: Value = serde_json::from_str(&body).expect("task json");
        assert_eq!(task[field], value);
    }
}

#[tokio::test]
async fn nul_characters_in_text_are_kept_or_refused_never_a_server_error() {
    let app = spawn_app().await;
    let task = create(&app).await;
    let text = "before \u{0} after";
    for field in ["title", "description"] {
        let response = app.post_task(ALICE, &json!({ "title": "nul", field: text })).await;
        assert_kept_or_refused(response, StatusCode::CREATED, field, text).await;
        let response = app.patch_task(ALICE, &id_of(&task), &json!({ field: text })).await;
        assert_kept_or_refused(response, StatusCode::OK, field, text).await;
    }
}

/// `n` tag filters: t0, t1, ….
fn many_tag_filters(n: usize) -> String {
    (0..n).map(|i| format!("tag=t{i}")).collect::<Vec<_>>().join("&")
}

/// No task has more than 10 tags, so a thousand tag filters can match nothing; the answer
/// (an empty page, or 422 naming "tag") must come promptly rather than as a 5xx or after
/// minutes of database work.
#[tokio::test]
async fn a_thousand_tag_filters_are_answered_promptly() {
    let app = spawn_app().await;
    app.create_task(ALICE, &json!({ "title": "tagged", "tags": ["t0", "t1"] }))
        .await;
    let response = app
        .request(
            Method::GET,
            &format!("/api/v1/tasks?{}", many_tag_filters(1_000)),
            ALICE,
        )
        .timeout(PROBE_TIMEOUT)
        .send()
        .await
        .unwrap_or_else(|e| panic!("no answer within {PROBE_TIMEOUT:?}: {e}"));
    match response.status() {
        StatusCode::UNPROCESSABLE_ENTITY => {
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some("tag")).await;
        }
        status => {
            let body = response.text().await.unwrap_or_default();
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["items"], json!([]));
        }
    }
}

/// A cursor is opaque, but a client can forge one. One whose key does not fit its sort,
/// or that holds NUL characters, must be refused (422 naming "cursor") or read as a
/// position, never reach the database as something it cannot compare.
#[tokio::test]
async fn a_forged_cursor_is_never_a_server_error() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let app = spawn_app().await;
    for title in ["a", "b", "c"] {
        app.create_task(ALICE, &json!({ "title": title, "priority": "high" }))
            .await;
    }
    let forged = [
        (
            "sort=created_at",
            json!({ "s": "created_at", "o": "ASC", "k": 123, "i": "x" }),
        ),
        (
            "sort=updated_at&order=desc",
            json!({ "s": "updated_at", "o": "DESC", "k": -1, "i": "" }),
        ),
        ("sort=due_at", json!({ "s": "due_at", "o": "ASC", "k": 0, "i": "" })),
        ("sort=title", json!({ "s": "title", "o": "ASC", "k": 7, "i": "" })),
        (
            "sort=priority",
            json!({ "s": "priority", "o": "ASC", "k": "high", "i": "x" }),
        ),
        (
            "sort=title",
            json!({ "s": "title", "o": "ASC", "k": "\u{0}", "i": "a" }),
        ),
        (
            "sort=priority",
            json!({ "s": "priority", "o": "ASC", "k": 1, "i": "\u{0}" }),
        ),
    ];
    for (sort, cursor) in forged {
        let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap());
        let response = app.list(ALICE, &format!("{sort}&cursor={encoded}")).await;
        let status = response.status();
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert_problem(response, status, Some("cursor")).await;
        } else {
            let body = response.text().await.unwrap_or_default();
            assert_eq!(status, StatusCode::OK, "{sort} with cursor {cursor}: {body}");
        }
    }
}

/// Percent-encoded bytes that are not UTF-8 cannot be a task id either.
#[tokio::test]
async fn an_id_that_is_not_utf8_is_a_404_problem() {
    let app = spawn_app().await;
    create(&app).await;
    for (method, path, body) in id_endpoints("%FF%FE") {
        let mut request = app.request(method.clone(), &path, ALICE);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
        assert_problem(response, StatusCode::NOT_FOUND, None).await;
    }
}

/// One request of the hostile batch.
struct Probe {
    label: String,
    method: Method,
    path: String,
    headers: Vec<(&'static str, HeaderValue)>,
    body: Option<Vec<u8>>,
}

impl Probe {
    fn new(label: impl Into<String>, method: Method, path: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    fn body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }

    fn header(mut self, name: &'static str, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Sends it as ALICE (unless it brings its own Authorization) with a JSON content type
    /// (unless it brings its own).
    async fn send(&self, app: &TestApp) -> Outcome {
        let mut request = app
            .client
            .request(self.method.clone(), app.url(&self.path))
            .timeout(PROBE_TIMEOUT);
        let has = |name: &str| self.headers.iter().any(|(n, _)| *n == name);
        if !has("authorization") {
            request = request.bearer_auth(app.token(ALICE));
        }
        if !has("content-type") && self.body.is_some() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in &self.headers {
            request = request.header(*name, value.clone());
        }
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        Outcome::of(self.label.clone(), request.send().await).await
    }
}

/// How long a hostile request may take before it counts as a failure to answer.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What came back for one request: a status (none if no answer came), content type and
/// the start of the body (or why no answer came).
struct Outcome {
    label: String,
    status: Option<StatusCode>,
    content_type: String,
    body: String,
}

impl Outcome {
    async fn of(label: String, sent: reqwest::Result<Response>) -> Self {
        match sent {
            Ok(response) => {
                let status = Some(response.status());
                let content_type = response
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap_or("?").to_owned())
                    .unwrap_or_default();
                let body = response.text().await.unwrap_or_default();
                Self {
                    label,
                    status,
                    content_type,
                    body,
                }
            }
            Err(error) => Self {
                label,
                status: None,
                content_type: String::new(),
                body: format!("no answer: {error:?}"),
            },
        }
    }

    fn describe(&self) -> String {
        let status = self.status.map_or_else(|| "no answer".to_owned(), |s| s.to_string());
        let body: String = self.body.chars().take(300).collect();
        format!("{} -> {status} {:?} {body}", self.label, self.content_type)
    }
}

fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("json")
}

/// `n` distinct three-character tags.
fn distinct_short_tags(n: usize) -> Vec<String> {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..n)
        .map(|i| {
            [i / 1296, (i / 36) % 36, i % 36]
                .iter()
                .map(|&d| DIGITS[d] as char)
                .collect()
        })
        .collect()
}

/// Bodies no client should send.
fn hostile_bodies() -> Vec<(String, Vec<u8>)> {
    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    let mut raw = |label: &str, bytes: Vec<u8>| bodies.push((label.to_owned(), bytes));

    // Nesting.
    raw(
        "arrays nested 20,000 deep",
        format!(
            r#"{{"title":"x","description":{}{}}}"#,
            "[".repeat(20_000),
            "]".repeat(20_000)
        )
        .into_bytes(),
    );
    raw(
        "arrays nested past the body limit",
        format!("{}{}", "[".repeat(40_000), "]".repeat(40_000)).into_bytes(),
    );
    raw(
        "objects nested 10,000 deep",
        format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000)).into_bytes(),
    );
    raw(
        "title nested 200 deep",
        format!(r#"{{"title":{}"x"{}}}"#, "[".repeat(200), "]".repeat(200)).into_bytes(),
    );
    raw("title nested 3 deep", br#"{"title":[[["x"]]]}"#.to_vec());
    raw("unclosed nesting", "[{".repeat(5_000).into_bytes());

    // Numbers.
    raw("infinite float", br#"{"title":"x","priority":1e999999}"#.to_vec());
    raw(
        "huge integer title",
        br#"{"title":123456789012345678901234567890123456789012345678901234567890}"#.to_vec(),
    );
    raw(
        "60,000-digit integer",
        format!(r#"{{"title":"x","tags":[{}]}}"#, "9".repeat(60_000)).into_bytes(),
    );
    raw(
        "tiny and huge floats",
        br#"{"title":"x","reminders":[-1e308,1e-400,-0.0]}"#.to_vec(),
    );
    raw(
        "u64 overflow due_at",
        br#"{"title":"x","due_at":18446744073709551616}"#.to_vec(),
    );
    raw("NaN", br#"{"title":"x","priority":NaN}"#.to_vec());

    // Invalid UTF-8 and encodings.
    raw("invalid UTF-8 in title", b"{\"title\":\"\xff\xfe\xfd\"}".to_vec());
    raw("overlong NUL", b"{\"title\":\"\xc0\x80\"}".to_vec());
    raw("truncated UTF-8", b"{\"title\":\"\xe2\x82\"}".to_vec());
    raw("invalid UTF-8 in a key", b"{\"\xff\":\"x\",\"title\":\"x\"}".to_vec());
    raw("lone surrogate", br#"{"title":"\ud800"}"#.to_vec());
    raw(
        "reversed surrogates",
        br#"{"title":"ok","description":"\udfff\ud800"}"#.to_vec(),
    );
    raw("byte order mark", b"\xef\xbb\xbf{\"title\":\"bom\"}".to_vec());
    raw(
        "UTF-16",
        "{\"title\":\"x\"}".encode_utf16().flat_map(u16::to_le_bytes).collect(),
    );

    // NUL bytes.
    raw("raw NUL in a string", b"{\"title\":\"raw \x00 nul\"}".to_vec());
    raw("only NULs", vec![0; 64]);
    // Shapes.
    for shape in [
        "null",
        "[]",
        "\"title\"",
        "0",
        "true",
        "",
        "   ",
        "{}",
        r#"{"title":"x","title":"y"}"#,
        r#"{"":""}"#,
    ] {
        raw(&format!("body {shape:?}"), shape.as_bytes().to_vec());
    }

    let mut json = |label: &str, value: Value| bodies.push((label.to_owned(), json_bytes(&value)));
    let due = "2026-03-01T09:00:00Z";
    json("escaped NUL in title", json!({ "title": "a\u{0}b" }));
    json(
        "escaped NUL in description",
        json!({ "title": "nul", "description": "before \u{0} after" }),
    );
    json("escaped NUL in a tag", json!({ "title": "nul", "tags": ["a\u{0}b"] }));
    json(
        "escaped NUL in time_zone",
        json!({ "title": "nul", "time_zone": "UTC\u{0}" }),
    );
    json(
        "escaped NUL in due_at",
        json!({ "title": "nul", "due_at": "2026-01-01T00:00:00Z\u{0}" }),
    );
    json(
        "escaped NUL in recurrence",
        json!({ "title": "nul", "due_at": due, "recurrence": "FREQ=DAILY\u{0}" }),
    );
    json(
        "escaped NUL in a reminder",
        json!({ "title": "nul", "due_at": due, "reminders": ["-PT5M\u{0}"] }),
    );
    json(
        "nulls everywhere",
        json!({ "title": "x", "description": null, "priority": null, "tags": null, "due_at": null, "time_zone": null, "recurrence": null, "reminders": null }),
    );
    json(
        "prototype pollution",
        json!({ "__proto__": { "title": "x" }, "constructor": {} }),
    );

    // Big arrays and strings.
    json(
        "10,000 copies of one tag",
        json!({ "title": "x", "tags": vec!["a"; 10_000] }),
    );
    json(
        "10,000 distinct tags",
        json!({ "title": "x", "tags": distinct_short_tags(10_000) }),
    );
    json(
        "one 10,000-character tag",
        json!({ "title": "x", "tags": ["t".repeat(10_000)] }),
    );
    json(
        "10,000 copies of one reminder",
        json!({ "title": "x", "due_at": due, "reminders": vec!["-PT5M"; 10_000] }),
    );
    json(
        "5,000 distinct reminders",
        json!({ "title": "x", "due_at": due, "reminders": (1..=5_000).map(|i| format!("-PT{i}S")).collect::<Vec<_>>() }),
    );
    json("60,000-character title", json!({ "title": "x".repeat(60_000) }));
    json(
        "60,000-character description",
        json!({ "title": "x", "description": "y".repeat(60_000) }),
    );
    json(
        "60,000-character time zone",
        json!({ "title": "x", "time_zone": "Z".repeat(60_000) }),
    );
    json(
        "60,000-character recurrence",
        json!({ "title": "x", "due_at": due, "recurrence": "FREQ=DAILY;".repeat(5_000) }),
    );

    // Unicode.
    json("255 emoji title", json!({ "title": "🎉".repeat(255) }));
    json("256 emoji title", json!({ "title": "🎉".repeat(256) }));
    json(
        "ZWJ emoji",
        json!({ "title": "👩‍👩‍👧‍👦 family 🏳️‍🌈", "description": "🦀".repeat(2_000) }),
    );
    json(
        "bidi and zero-width",
        json!({ "title": "\u{202e}reversed\u{200b}\u{feff}" }),
    );
    json(
        "unicode tags",
        json!({ "title": "tags", "tags": ["🎉", "👩‍👩‍👧‍👦", "ǅ", "İstanbul", "ß"] }),
    );
    json("unicode whitespace title", json!({ "title": "\u{a0}\u{2003}\u{3000}" }));
    json("odd letters and digits", json!({ "title": "Ⅻ ½ ٣ e\u{301} ﷽" }));
    json(
        "SQL in every text",
        json!({ "title": "'; DROP TABLE tasks; --", "description": "\" OR 1=1 --", "tags": ["';--"], "time_zone": "' OR '1'='1" }),
    );
    json(
        "FTS syntax in title",
        json!({ "title": "NEAR(a b) AND \"x\"* OR -y ^z", "description": "col:value {a b}" }),
    );

    // Dates, rules and reminders at the edges.
    let dated = |due_at: &str, extra: Value| {
        let mut body = json!({ "title": "edge", "due_at": due_at });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    json(
        "year 9999 daily",
        dated(
            "9999-12-31T23:59:59.999999999Z",
            json!({ "recurrence": "FREQ=DAILY", "reminders": ["-P366D"] }),
        ),
    );
    json(
        "year 9999 yearly",
        dated(
            "9999-12-31T00:00:00Z",
            json!({ "recurrence": "FREQ=YEARLY", "time_zone": "Pacific/Kiritimati" }),
        ),
    );
    json(
        "year 0",
        dated(
            "0000-01-01T00:00:00Z",
            json!({ "recurrence": "FREQ=YEARLY", "time_zone": "America/New_York", "reminders": ["-P366D"] }),
        ),
    );
    json("offset +23:59", dated("2026-01-01T00:00:00+23:59", json!({})));
    json(
        "leap second",
        dated("2026-06-30T23:59:60Z", json!({ "recurrence": "FREQ=DAILY" })),
    );
    json("lower-case RFC 3339", dated("2026-01-01t00:00:00z", json!({})));
    json("nanoseconds", dated("2026-01-01T00:00:00.123456789Z", json!({})));
    for rule in [
        "FREQ=DAILY;INTERVAL=4294967296",
        "FREQ=DAILY;INTERVAL=65535",
        "FREQ=DAILY;COUNT=-1",
        "FREQ=DAILY;COUNT=4294967296",
        "FREQ=MONTHLY;BYMONTHDAY=-31",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO",
        "FREQ=YEARLY;BYWEEKNO=-53",
        "FREQ=WEEKLY;BYDAY=+5MO",
        "FREQ=MONTHLY;BYDAY=+6MO",
        "FREQ=YEARLY;BYYEARDAY=-366",
        "FREQ=YEARLY;BYYEARDAY=367",
        "FREQ=MONTHLY;BYSETPOS=-366;BYDAY=MO",
        "FREQ=DAILY;BYHOUR=25",
        "FREQ=DAILY;BYSECOND=60",
        "FREQ=DAILY;WKST=XX",
        "FREQ=DAILY;UNTIL=99991231T235959Z",
        "FREQ=DAILY;UNTIL=00000101T000000Z",
        "FREQ=DAILY;UNTIL=20260101",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=YEARLY;INTERVAL=400;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=DAILY;BYMONTH=13",
        "RRULE:",
        ";;;;",
        "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY",
        "FREQ=DAILY\r\nEXDATE:20260102T000000Z",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYMONTHDAY=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31;BYSETPOS=-1",
    ] {
        json(&format!("rule {rule:?}"), dated(due, json!({ "recurrence": rule })));
        json(&format!("rule {rule:?} in year 9999"), dated("9999-12-30T00:00:00Z", json!({ "recurrence": rule })));
    }
    for reminder in [
        "-P99999999W",
        "-PT999999999S",
        "-PT9223372036854775807S",
        "-P",
        "--PT5M",
        "+PT5M",
        "-PT5.5M",
        "9999-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z",
        "-P0D",
        "-PT0S",
    ] {
        json(
            &format!("reminder {reminder:?}"),
            dated("0001-01-01T00:00:00Z", json!({ "reminders": [reminder] })),
        );
    }
    for zone in [
        "../../etc/passwd",
        "",
        "utc",
        "Etc/GMT+14",
        "EST5EDT",
        "Factory",
        "America/Argentina/ComodRivadavia",
    ] {
        json(
            &format!("time zone {zone:?}"),
            dated(due, json!({ "time_zone": zone, "recurrence": "FREQ=WEEKLY" })),
        );
    }
    bodies
}

/// Query strings no client should send to GET /tasks.
fn hostile_queries() -> Vec<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let cursor = |value: Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap());
    let mut queries: Vec<String> = [
        "q=%00",
        "q=%FF%FE",
        "q=*",
        "q=%22",
        "q=%22%22*",
        "q=a%20OR%20b",
        "q=NEAR(a%20b)",
        "q=title%3Ax",
        "q=-a",
        "q=%5E",
        "q=%C2%BD",
        "q=%C2%B2",
        "q=%E2%85%AB",
        "q=%D9%A3",
        "q=e%CC%81",
        "q=%C4%B0stanbul",
        "q=%F0%9F%8E%89",
        "q=%EF%B7%BD",
        "q=a:*%20%26%20b",
        "q=!a",
        "q=a%7Cb",
        "q=%27",
        "q=%5C",
        "q=a%00b",
        "q=1e999",
        "q=0",
        "tag=%00",
        "tag=%FF",
        "tag=%F0%9F%8E%89",
        "tag=a&tag=a&tag=a",
        "tag=%27%3B--",
        "due_before=9999-12-31T23:59:59Z",
        "due_after=0000-01-01T00:00:00Z",
        "due_before=%00",
        "due_after=2026-06-30T23:59:60Z",
        "limit=99999999999999999999",
        "limit=1e3",
        "limit=%00",
        "limit=2&limit=3",
        "sort=%00",
        "order=DESC",
        "status=open%00",
        "overdue=TRUE",
        "%FF=1",
        "=",
        "&&&",
        "a",
        "%",
        "q=%",
        "q=%zz",
        "cursor=%00",
        "cursor=%FF",
        "cursor=====",
        "cursor=e30",
        "cursor=bnVsbA",
    ]
    .iter()
    .map(|q| (*q).to_owned())
    .collect();
    queries.push(format!("q={}", "a".repeat(10_000)));
    queries.push(format!("q={}", "word%20".repeat(1_000)));
    queries.push(format!("q={}", "%F0%9F%8E%89x".repeat(500)));
    queries.push(format!("tag={}", "a".repeat(10_000)));
    // A thousand tag filters have a test of their own (they are slow to refuse).
    queries.push(many_tag_filters(100));
    // Cursors a client forged: a key of the wrong type for the sort, text with NUL bytes,
    // keys and ids out of any range.
    let forged = [
        ("", json!({ "s": "created_at", "o": "ASC", "k": 123, "i": "x" })),
        (
            "sort=updated_at&order=desc&",
            json!({ "s": "updated_at", "o": "DESC", "k": -1, "i": "" }),
        ),
        (
            "sort=priority&",
            json!({ "s": "priority", "o": "ASC", "k": "high", "i": "x" }),
        ),
        (
            "sort=priority&",
            json!({ "s": "priority", "o": "ASC", "k": i64::MAX, "i": "\u{0}" }),
        ),
        (
            "sort=due_at&order=desc&",
            json!({ "s": "due_at", "o": "DESC", "k": i64::MIN, "i": "" }),
        ),
        (
            "sort=title&",
            json!({ "s": "title", "o": "ASC", "k": "\u{0}", "i": "\u{0}" }),
        ),
        (
            "sort=title&",
            json!({ "s": "title", "o": "ASC", "k": "a".repeat(5_000), "i": "🎉" }),
        ),
        ("sort=title&", json!({ "s": "title", "o": "ASC", "k": 1.5, "i": "x" })),
        ("sort=title&", json!({ "s": "title", "o": "ASC", "k": null, "i": null })),
        ("sort=title&", json!({ "s": "title", "o": "ASC", "k": ["x"], "i": {} })),
        (
            "",
            json!({ "s": "created_at", "o": "ASC", "k": "x", "i": "y", "extra": [1, 2, 3] }),
        ),
        ("", json!([])),
    ];
    for (prefix, value) in forged {
        queries.push(format!("{prefix}cursor={}", cursor(value)));
    }
    queries
}

/// Everything of the batch: hostile bodies to every endpoint that reads one (and to those
/// that do not), hostile ids, query strings and headers.
fn hostile_probes(id: &str) -> Vec<Probe> {
    let mut probes = Vec::new();
    let path = task_path(id);
    for (label, body) in hostile_bodies() {
        probes.push(Probe::new(format!("POST /tasks with {label}"), Method::POST, "/api/v1/tasks").body(body.clone()));
        probes.push(Probe::new(format!("PATCH with {label}"), Method::PATCH, path.clone()).body(body.clone()));
        for action in ["complete", "reopen"] {
            probes.push(
                Probe::new(
                    format!("{action} with {label}"),
                    Method::POST,
                    format!("{path}/{action}"),
                )
                .body(body.clone()),
            );
        }
        probes.push(Probe::new(format!("GET /tasks with {label}"), Method::GET, "/api/v1/tasks").body(body.clone()));
        probes.push(Probe::new(format!("GET task with {label}"), Method::GET, path.clone()).body(body));
    }
    // Patches of single fields that other bodies create with.
    for field in [
        "title",
        "description",
        "tags",
        "due_at",
        "time_zone",
        "recurrence",
        "reminders",
        "priority",
    ] {
        for value in [
            json!("\u{0}"),
            json!(null),
            json!([]),
            json!({}),
            json!(1e300),
            json!("🎉".repeat(300)),
            json!(["\u{0}"]),
        ] {
            probes.push(
                Probe::new(format!("PATCH {field} = {value}"), Method::PATCH, path.clone())
                    .body(json_bytes(&json!({ field: value }))),
            );
        }
    }
    let long_id = "a".repeat(10_000);
    let braced = format!("{{{id}}}");
    let urn = format!("urn:uuid:{id}");
    let upper = id.to_uppercase();
    for bad_id in [
        "%00",
        "%FF%FE",
        "%F0%9F%8E%89",
        "🎉",
        "'%20OR%201=1--",
        "%2e%2e",
        "..%2F..%2Fhealthz",
        "%2F",
        "{id}",
        "null",
        "-1",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        long_id.as_str(),
        braced.as_str(),
        urn.as_str(),
        upper.as_str(),
    ] {
        let bad_path = task_path(bad_id);
        probes.push(Probe::new(
            format!("GET task {bad_id:.40}"),
            Method::GET,
            bad_path.clone(),
        ));
        probes.push(
            Probe::new(format!("PATCH task {bad_id:.40}"), Method::PATCH, bad_path.clone())
                .body(br#"{"title":"x"}"#.to_vec()),
        );
        probes.push(Probe::new(
            format!("complete task {bad_id:.40}"),
            Method::POST,
            format!("{bad_path}/complete"),
        ));
        probes.push(Probe::new(
            format!("reopen task {bad_id:.40}"),
            Method::POST,
            format!("{bad_path}/reopen"),
        ));
        probes.push(
            Probe::new(format!("DELETE task {bad_id:.40}"), Method::DELETE, bad_path.clone())
                .header("if-match", HeaderValue::from_static("\"999\"")),
        );
    }
    for query in hostile_queries() {
        probes.push(Probe::new(
            format!("GET /tasks?{query:.80}"),
            Method::GET,
            format!("/api/v1/tasks?{query}"),
        ));
        probes.push(Probe::new(
            format!("GET /tasks?sort=title&{query:.80}"),
            Method::GET,
            format!("/api/v1/tasks?sort=title&order=desc&{query}"),
        ));
    }
    let title = br#"{"title":"headers"}"#.to_vec();
    let if_matches: Vec<HeaderValue> = [
        "\"99999999999999999999\"",
        "\"-1\"",
        "*",
        "\"9223372036854775807\"",
        "\"-9223372036854775808\"",
        "W/",
        "\"1\", \"2\"",
        "\"0\"",
        "W/\"\"",
    ]
    .into_iter()
    .map(HeaderValue::from_static)
    .chain([
        HeaderValue::from_bytes(b"\"\xff\"").unwrap(),
        HeaderValue::from_str(&"9".repeat(5_000)).unwrap(),
    ])
    .collect();
    for value in if_matches {
        probes.push(
            Probe::new(format!("PATCH If-Match {value:?}"), Method::PATCH, path.clone())
                .header("if-match", value.clone())
                .body(title.clone()),
        );
        probes.push(
            Probe::new(
                format!("complete If-Match {value:?}"),
                Method::POST,
                format!("{path}/complete"),
            )
            .header("if-match", value.clone()),
        );
        probes.push(
            Probe::new(format!("DELETE If-Match {value:?}"), Method::DELETE, path.clone()).header("if-match", value),
        );
    }
    let keys: Vec<HeaderValue> = [
        HeaderValue::from_str(&"k".repeat(256)).unwrap(),
        HeaderValue::from_static(""),
        HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        HeaderValue::from_static("\t"),
        HeaderValue::from_static("'; DROP TABLE idempotency_keys; --"),
    ]
    .into_iter()
    .collect();
    for key in keys {
        for _ in 0..2 {
            probes.push(
                Probe::new(format!("Idempotency-Key {key:?}"), Method::POST, "/api/v1/tasks")
                    .header("idempotency-key", key.clone())
                    .body(title.clone()),
            );
        }
    }
    let authorizations: Vec<HeaderValue> = bad_authorizations()
        .into_iter()
        .map(|(_, value)| HeaderValue::from_str(&value).unwrap())
        .chain([
            HeaderValue::from_str(&format!("Bearer {}", "a".repeat(10_000))).unwrap(),
            HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
            HeaderValue::from_static("Bearer"),
            HeaderValue::from_static("bearer  a.b.c  "),
        ])
        .collect();
    for value in authorizations {
        probes.push(
            Probe::new(format!("Authorization {value:?}"), Method::POST, "/api/v1/tasks")
                .header("authorization", value.clone())
                .body(title.clone()),
        );
        probes.push(
            Probe::new(
                format!("Authorization {value:?} on a list"),
                Method::GET,
                "/api/v1/tasks",
            )
            .header("authorization", value),
        );
    }
    for content_type in [
        HeaderValue::from_static("application/json; charset=utf-16"),
        HeaderValue::from_static("multipart/form-data; boundary=x"),
        HeaderValue::from_static("+json"),
        HeaderValue::from_static(""),
        HeaderValue::from_bytes(b"application/\xffjson").unwrap(),
    ] {
        probes.push(
            Probe::new(format!("Content-Type {content_type:?}"), Method::POST, "/api/v1/tasks")
                .header("content-type", content_type.clone())
                .body(title.clone()),
        );
        probes.push(
            Probe::new(
                format!("Content-Type {content_type:?} on PATCH"),
                Method::PATCH,
                path.clone(),
            )
            .header("content-type", content_type)
            .body(title.clone()),
        );
    }
    // Valid users with odd names.
    for sub in [
        "'; DROP TABLE tasks; --",
        "🎉",
        "user with spaces",
        "%00",
        &"u".repeat(255),
    ] {
        let now = now_secs();
        let token = hs256(SECRET, &json!({ "sub": sub, "exp": now + 600, "iat": now }));
        let authorization = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        probes.push(
            Probe::new(format!("create as {sub:.20}"), Method::POST, "/api/v1/tasks")
                .header("authorization", authorization.clone())
                .body(title.clone()),
        );
        probes.push(
            Probe::new(format!("list as {sub:.20}"), Method::GET, "/api/v1/tasks?q=headers")
                .header("authorization", authorization),
        );
    }
    probes.push(Probe::new("DELETE with a hostile body", Method::DELETE, path.clone()).body(b"\xff\x00{[".to_vec()));
    probes
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
