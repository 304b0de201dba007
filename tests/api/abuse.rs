//! A hostile user must not stall the service through repeat-rule arithmetic: the rule bombs
//! found by attack are refused with 422, instants outside 1970–2200 are refused naming their
//! field, a series moved far ahead still answers, and ordinary work goes on meanwhile.
//!
//! Every request here has a deadline (`DEADLINE`), so a hang fails the test instead of
//! blocking it. The deadline is a generous upper bound, not a speed claim: nothing here
//! asserts how fast an answer came.

use std::time::Duration;

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, spawn_app, TestApp};

const USER: &str = "mallory";
const DEADLINE: Duration = Duration::from_secs(10);

/// One request as `USER` with a JSON body (or none), failing the test if no answer comes
/// within `DEADLINE`.
async fn send(app: &TestApp, method: Method, path: &str, body: Option<&Value>) -> Response {
    let mut request = app.request(method.clone(), path, USER).timeout(DEADLINE);
    if let Some(body) = body {
        request = request.json(body);
    }
    match request.send().await {
        Ok(response) => response,
        Err(error) if error.is_timeout() => panic!("{method} {path}: no answer within {DEADLINE:?}"),
        Err(error) => panic!("{method} {path}: {error}"),
    }
}

async fn post_task(app: &TestApp, body: &Value) -> Response {
    send(app, Method::POST, "/api/v1/tasks", Some(body)).await
}

fn list(range: std::ops::Range<u32>) -> String {
    range.map(|n| n.to_string()).collect::<Vec<_>>().join(",")
}

/// The rule that built tens of millions of instants inside one request.
fn yearly_every_second() -> String {
    format!(
        "FREQ=YEARLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYHOUR={};BYMINUTE={};BYSECOND={}",
        list(0..24),
        list(0..60),
        list(0..60)
    )
}

fn daily_every_hour() -> String {
    format!("FREQ=DAILY;BYHOUR={}", list(0..24))
}

#[tokio::test]
async fn the_rule_bombs_are_refused_naming_recurrence() {
    let app = spawn_app().await;
    for rule in [yearly_every_second(), daily_every_hour()] {
        let response = post_task(
            &app,
            &json!({"title": "bomb", "due_at": "2026-01-05T09:00:00Z", "recurrence": rule}),
        )
        .await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some("recurrence")).await;
        assert!(
            problem.to_string().contains("time of day comes from due_at"),
            "{problem}"
        );
    }
    for (rule, says) in [
        ("FREQ=DAILY;INTERVAL=1001", "INTERVAL must be a whole number from 1 to 1000"),
        ("FREQ=DAILY;COUNT=10001", "COUNT must be a whole number from 1 to 10000"),
        ("FREQ=YEARLY;BYYEARDAY=1,2,3", "BYYEARDAY is not supported"),
        ("FREQ=YEARLY;BYWEEKNO=1,2,3", "BYWEEKNO is not supported"),
        (
            "FREQ=MONTHLY;BYMONTHDAY=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,-1",
            "BYMONTHDAY lists at most 31 values",
        ),
    ] {
        let response = post_task(
            &app,
            &json!({"title": "bomb", "due_at": "2026-01-05T09:00:00Z", "recurrence": rule}),
        )
        .await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some("recurrence")).await;
        assert!(problem.to_string().contains(says), "{rule}: {problem}");
    }
}

#[tokio::test]
async fn instants_outside_1970_to_2200_are_refused_naming_the_field() {
    let app = spawn_app().await;
    let base = json!({"title": "far", "due_at": "2026-01-05T09:00:00Z", "recurrence": "FREQ=DAILY"});
    let with = |extra: Value| {
        let mut body = base.clone();
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        body
    };
    for (body, field) in [
        (
            with(json!({"due_at": "0001-01-01T00:00:00Z", "recurrence": daily_every_hour()})),
            "due_at",
        ),
        (with(json!({"due_at": "0001-01-01T00:00:00Z"})), "due_at"),
        (with(json!({"due_at": "9000-01-01T00:00:00Z"})), "due_at"),
        (
            with(json!({"recurrence": "FREQ=DAILY;UNTIL=90000101T000000Z"})),
            "recurrence",
        ),
        (with(json!({"exdates": ["0001-01-01T00:00:00Z"]})), "exdates[0]"),
        (
            with(json!({"reminders": ["-PT5M", "9000-01-01T00:00:00Z"]})),
            "reminders[1]",
        ),
    ] {
        let response = post_task(&app, &body).await;
        let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
        assert!(problem.to_string().contains("outside the supported range"), "{problem}");
    }

    // The second attack: an accepted task PATCHed to a due time in year 9000.
    let task = app.create_task(USER, &base).await;
    let id = task["id"].as_str().expect("id");
    let response = send(
        &app,
        Method::PATCH,
        &format!("/api/v1/tasks/{id}"),
        Some(&json!({"due_at": "9000-01-01T00:00:00Z"})),
    )
    .await;
    assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some("due_at")).await;
}

/// A daily series due at the start of the supported range, then moved near its end.
async fn moved_far_ahead(app: &TestApp, extra: Value) -> String {
    let mut body = json!({"title": "ancient", "due_at": "1970-01-01T09:00:00Z", "recurrence": "FREQ=DAILY"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let task = app.create_task(USER, &body).await;
    let id = task["id"].as_str().expect("id").to_owned();
    let response = send(
        app,
        Method::PATCH,
        &format!("/api/v1/tasks/{id}"),
        Some(&json!({"due_at": "2200-06-01T09:00:00Z"})),
    )
    .await;
    // The move walks the rule from 1970 once; it may answer either way, but it answers.
    assert!(
        matches!(response.status(), StatusCode::OK | StatusCode::UNPROCESSABLE_ENTITY),
        "{:?}",
        response.text().await
    );
    id
}

/// An answer of 200, or of 422 naming `recurrence` (the rule needed too much computation).
async fn answered(response: Response) -> Option<Value> {
    if response.status() == StatusCode::OK {
        return Some(response.json().await.expect("json"));
    }
    let problem = assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some("recurrence")).await;
    assert!(problem.to_string().contains("too much computation"), "{problem}");
    None
}

#[tokio::test]
async fn occurrences_and_skip_answer_on_a_series_moved_far_ahead() {
    let app = spawn_app().await;
    for extra in [
        json!({}),
        json!({"recurrence": "FREQ=YEARLY;BYMONTH=1,2,3,4,5,6,7,8,9,10,11,12;BYDAY=MO,TU,WE,TH,FR,SA,SU"}),
        json!({"recurrence": "FREQ=DAILY;COUNT=10000"}),
        json!({"recurrence_mode": "completion"}),
    ] {
        let id = moved_far_ahead(&app, extra.clone()).await;
        let path = format!("/api/v1/tasks/{id}/occurrences?limit=100");
        if let Some(preview) = answered(send(&app, Method::GET, &path, None).await).await {
            assert!(preview["due_times"].is_array(), "{extra}: {preview}");
        }
        let skip = send(&app, Method::POST, &format!("/api/v1/tasks/{id}/skip"), None).await;
        if skip.status() == StatusCode::OK {
            let task: Value = skip.json().await.expect("json");
            assert_eq!(task["status"], "open", "{extra}: {task}");
        } else {
            // The last occurrence (COUNT, or the end of the supported range), or too costly.
            assert_problem(skip, StatusCode::UNPROCESSABLE_ENTITY, Some("recurrence")).await;
        }
    }
}

#[tokio::test]
async fn a_series_moved_far_ahead_previews_from_its_new_due_time() {
    let app = spawn_app().await;
    let id = moved_far_ahead(&app, json!({})).await;
    let task: Value = app.get_task(USER, &id).await.json().await.expect("json");
    if task["due_at"] != "2200-06-01T09:00:00.000000Z" {
        return; // the move was refused as too costly: covered above
    }
    let response = send(
        &app,
        Method::GET,
        &format!("/api/v1/tasks/{id}/occurrences?limit=3"),
        None,
    )
    .await;
    let preview = answered(response)
        .await
        .expect("a short walk from the re-anchored start");
    assert_eq!(
        preview["due_times"],
        json!([
            "2200-06-02T09:00:00.000000Z",
            "2200-06-03T09:00:00.000000Z",
            "2200-06-04T09:00:00.000000Z"
        ])
    );
    let skip = send(&app, Method::POST, &format!("/api/v1/tasks/{id}/skip"), None).await;
    let skipped = answered(skip).await.expect("skip");
    assert_eq!(skipped["due_at"], "2200-06-02T09:00:00.000000Z");
}

#[tokio::test]
async fn ordinary_work_goes_on_while_costly_requests_are_in_flight() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let task = app
            .create_task(
                USER,
                &json!({"title": format!("ancient {i}"), "due_at": "1970-01-01T09:00:00Z", "recurrence": "FREQ=DAILY"}),
            )
            .await;
        ids.push(task["id"].as_str().expect("id").to_owned());
    }
    let app = &app;
    let bombs = async {
        let mut answers = Vec::new();
        let costly = ids.iter().map(|id| {
            let path = format!("/api/v1/tasks/{id}");
            async move {
                send(
                    app,
                    Method::PATCH,
                    &path,
                    Some(&json!({"due_at": "2200-06-01T09:00:00Z"})),
                )
                .await
                .status()
            }
        });
        let refused = [yearly_every_second(), daily_every_hour()].map(|rule| async move {
            post_task(
                app,
                &json!({"title": "bomb", "due_at": "2026-01-05T09:00:00Z", "recurrence": rule}),
            )
            .await
            .status()
        });
        let (costly, refused) = tokio::join!(
            futures_util::future::join_all(costly),
            futures_util::future::join_all(refused)
        );
        answers.extend(costly);
        answers.extend(refused);
        answers
    };
    let ordinary = async {
        let created = post_task(app, &json!({"title": "buy milk", "due_at": "2026-01-05T09:00:00Z"})).await;
        let listed = send(app, Method::GET, "/api/v1/tasks?limit=10", None).await;
        (created.status(), listed.status())
    };
    let (answers, (created, listed)) = tokio::join!(bombs, ordinary);
    assert_eq!(created, StatusCode::CREATED);
    assert_eq!(listed, StatusCode::OK);
    for status in answers {
        assert!(
            matches!(status, StatusCode::OK | StatusCode::UNPROCESSABLE_ENTITY),
            "{status}"
        );
    }
}
