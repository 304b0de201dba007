//! Field values the domain refuses: 422 naming each field at fault, all at once.

use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

use super::{assert_create_refused, assert_patch_refused, create, fields_of, id_of, task_count, ALICE};
use crate::helpers::{assert_problem, spawn_app};

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
