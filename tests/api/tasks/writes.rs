//! Creating, reading, changing, deleting, completing and reopening a task.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{action_ok, expect_task, get_ok, header, id_of, list_ids, patch_ok, sample_task, ALICE};
use crate::helpers::{assert_problem, spawn_app};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

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
