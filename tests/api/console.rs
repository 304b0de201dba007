//! The web console's own routes: its page and files with their security headers, the local
//! sign-in (off by default, loopback only) and the occurrence preview its form uses.

use reqwest::StatusCode;
use serde_json::{json, Value};
use taskstream::startup::Parts;

use crate::helpers::{assert_problem, spawn, spawn_app, TestApp};

async fn with_local_sign_in() -> TestApp {
    spawn(|mut http| {
        http.console_local_signin = true;
        Parts {
            http: Some(http),
            ..Parts::default()
        }
    })
    .await
}

async fn sign_in(app: &TestApp, host: Option<&str>, user: &str) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/console/sign-in"))
        .json(&json!({ "user": user }));
    if let Some(host) = host {
        request = request.header("host", host);
    }
    request.send().await.expect("send")
}

#[tokio::test]
async fn the_page_and_its_files_carry_the_security_headers() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/")).send().await.expect("send");
    assert_eq!(page.status(), StatusCode::OK);
    let header = |name: &str| page.headers().get(name).map(|v| v.to_str().unwrap_or("").to_owned());
    assert_eq!(header("content-type").as_deref(), Some("text/html; charset=utf-8"));
    let csp = header("content-security-policy").expect("a CSP");
    for part in [
        "script-src 'self'",
        "frame-ancestors 'none'",
        "default-src 'none'",
        "connect-src 'self'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    assert!(!csp.contains("unsafe"), "no inline script or eval: {csp}");
    assert_eq!(header("referrer-policy").as_deref(), Some("no-referrer"));
    assert!(page.text().await.expect("body").contains("/console/main.js"));

    let script = app.client.get(app.url("/console/main.js")).send().await.expect("send");
    assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(script.headers()["cache-control"], "no-cache");
    let etag = script.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url("/console/main.js"))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("send");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let missing = app
        .client
        .get(app.url("/console/secrets.js"))
        .send()
        .await
        .expect("send");
    assert_problem(missing, StatusCode::NOT_FOUND, None).await;
}

#[tokio::test]
async fn local_sign_in_is_off_unless_turned_on() {
    let app = spawn_app().await;
    let offered: Value = app
        .client
        .get(app.url("/console/sign-in"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(offered, json!({ "local_sign_in": false }));
    assert_problem(sign_in(&app, None, "dana").await, StatusCode::FORBIDDEN, None).await;
}

#[tokio::test]
async fn local_sign_in_issues_a_working_token_to_this_machine_only() {
    let app = with_local_sign_in().await;
    let response = sign_in(&app, None, "dana").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["user"], "dana");
    assert_eq!(body["expires_in"], 3600);
    let token = body["token"].as_str().expect("token");
    let tasks = app
        .client
        .get(app.url("/api/v1/tasks"))
        .bearer_auth(token)
        .send()
        .await
        .expect("send");
    assert_eq!(tasks.status(), StatusCode::OK, "the token works on the API");

    // A page elsewhere whose name was rebound to 127.0.0.1 sends its own Host.
    let rebound = sign_in(&app, Some("attacker.example:8080"), "dana").await;
    assert_problem(rebound, StatusCode::FORBIDDEN, None).await;
    assert_problem(
        sign_in(&app, None, "").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        Some("user"),
    )
    .await;
}

#[tokio::test]
async fn a_rule_is_previewed_before_the_task_exists() {
    let app = spawn_app().await;
    let preview = |body: Value| {
        app.request(reqwest::Method::POST, "/api/v1/occurrences", "erin")
            .json(&body)
            .send()
    };
    let response = preview(json!({
        "due_at": "2030-01-25T09:00:00+01:00", "time_zone": "Europe/Berlin",
        "recurrence": "FREQ=MONTHLY;BYDAY=-1FR", "limit": 3
    }))
    .await
    .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body["local_times"],
        json!([
            "2030-02-22T09:00:00+01:00",
            "2030-03-29T09:00:00+01:00",
            "2030-04-26T09:00:00+02:00"
        ]),
        "last Fridays at 09:00 Berlin time, across the change to summer time"
    );
    assert_eq!(body["series_ends"], false);

    let bad_rule = preview(json!({"due_at": "2030-01-25T09:00:00Z", "recurrence": "FREQ=HOURLY"}))
        .await
        .expect("send");
    assert_problem(bad_rule, StatusCode::UNPROCESSABLE_ENTITY, Some("recurrence")).await;
    let bad_limit = preview(json!({"due_at": "2030-01-25T09:00:00Z", "recurrence": "FREQ=DAILY", "limit": 0}))
        .await
        .expect("send");
    assert_problem(bad_limit, StatusCode::UNPROCESSABLE_ENTITY, Some("limit")).await;
    let anonymous = app
        .client
        .post(app.url("/api/v1/occurrences"))
        .json(&json!({"due_at": "2030-01-25T09:00:00Z", "recurrence": "FREQ=DAILY"}))
        .send()
        .await
        .expect("send");
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, None).await;

    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert!(doc["paths"]["/api/v1/occurrences"]["post"].is_object(), "documented");
}
