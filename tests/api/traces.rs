//! One trace id from a request to its effects: the `traceparent` a client sends (or the one
//! the API starts) goes onto the change's events, and a role's effect writes its own events
//! in the same trace (the recurrence role's next occurrence).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with_events, TestApp, WAIT};
use crate::kafka_client::{consume_validated, Record};
use crate::process::wait_for;
use crate::reminders::{in_secs, set_webhook_for, wait_for_calls, Receiver};

const USER: &str = "tracy";

/// The trace id of a `traceparent` value.
fn trace_id(traceparent: &str) -> &str {
    traceparent.split('-').nth(1).unwrap_or_default()
}

fn span_id(traceparent: &str) -> &str {
    traceparent.split('-').nth(2).unwrap_or_default()
}

async fn post(app: &TestApp, path: &str, body: &Value, traceparent: Option<&str>) -> (String, Value) {
    let mut request = app.request(reqwest::Method::POST, path, USER).json(body);
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent);
    }
    let response = request.send().await.expect("send");
    assert!(response.status().is_success(), "{path}: {}", response.status());
    let answered = response
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .expect("every response names its trace")
        .to_owned();
    (answered, response.json().await.expect("json"))
}

/// The records of `topic` whose value has this event type and task id.
fn records<'r>(all: &'r [Record], topic: &str, event_type: &str, task_id: &str) -> Vec<&'r Record> {
    all.iter()
        .filter(|r| r.topic == topic)
        .filter(|r| {
            let value = r.json();
            value["event_type"] == event_type && value["task_id"] == task_id
        })
        .collect()
}

#[tokio::test]
async fn a_request_trace_goes_onto_its_events_and_through_the_recurrence_role_to_the_next_occurrence() {
    let app = spawn_app_with_events().await;
    let created_trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let completed_trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let body = json!({"title": "Daily", "due_at": "2030-01-01T09:00:00Z", "recurrence": "FREQ=DAILY"});
    let (answered, task) = post(&app, "/api/v1/tasks", &body, Some(created_trace)).await;
    assert_eq!(
        trace_id(&answered),
        trace_id(created_trace),
        "the request's trace continues"
    );
    assert_ne!(span_id(&answered), span_id(created_trace), "as a span of its own");
    let first = task["id"].as_str().expect("id").to_owned();
    let series = task["series_id"].as_str().expect("series").to_owned();
    let (_, _) = post(
        &app,
        &format!("/api/v1/tasks/{first}/complete"),
        &json!({}),
        Some(completed_trace),
    )
    .await;
    // A request without a traceparent starts a trace of its own.
    let (started, plain) = post(&app, "/api/v1/tasks", &json!({"title": "Plain"}), None).await;
    let plain = plain["id"].as_str().expect("id").to_owned();
    assert_eq!(trace_id(&started).len(), 32);

    let next = wait_for("the next occurrence", WAIT, || async {
        let page: Value = app
            .list(USER, "limit=50")
            .await
            .json()
            .await
            .map_err(|e| e.to_string())?;
        page["items"]
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .find(|t| t["series_id"] == series.as_str() && t["id"] != first.as_str())
            })
            .and_then(|t| t["id"].as_str().map(str::to_owned))
            .ok_or_else(|| "not yet".to_owned())
    })
    .await;

    let events_topic = app.topic("task-events");
    let recurrence_topic = app.topic("task-recurrence");
    let all = wait_for("the next occurrence's task.created on the topic", WAIT, || async {
        let all = consume_validated(&app.kafka.brokers, &[events_topic.clone(), recurrence_topic.clone()]).await;
        if records(&all, &events_topic, "task.created", &next).is_empty() {
            Err("not yet".to_owned())
        } else {
            Ok(all)
        }
    })
    .await;
    let header = |record: &Record| record.header("traceparent").expect("traceparent").to_owned();

    let created = records(&all, &events_topic, "task.created", &first);
    assert_eq!(trace_id(&header(created[0])), trace_id(created_trace));
    let completed = records(&all, &events_topic, "task.completed", &first);
    assert_eq!(trace_id(&header(completed[0])), trace_id(completed_trace));
    let advance = records(&all, &recurrence_topic, "series.advance", &first);
    assert_eq!(trace_id(&header(advance[0])), trace_id(completed_trace));
    // The recurrence role's effect: a span of its own in the completion's trace.
    let next_created = records(&all, &events_topic, "task.created", &next);
    assert_eq!(trace_id(&header(next_created[0])), trace_id(completed_trace));
    assert_ne!(span_id(&header(next_created[0])), span_id(&header(advance[0])));
    let plain_created = records(&all, &events_topic, "task.created", &plain);
    assert_eq!(trace_id(&header(plain_created[0])), trace_id(&started));

    // A malformed traceparent is not an error: the request starts a new trace.
    let response = app
        .request(reqwest::Method::GET, &format!("/api/v1/tasks/{first}"), USER)
        .header("traceparent", "00-not-a-trace-01")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let answered = response.headers()["traceparent"].to_str().expect("ascii").to_owned();
    assert_eq!(trace_id(&answered).len(), 32);
}

#[tokio::test]
async fn json_log_lines_of_a_role_carry_the_trace_and_the_record_ids_and_no_secrets() {
    // The API and the relay in the test; the audit role as a process of its own, logging JSON.
    let app = crate::helpers::spawn(|http| taskstream::startup::Parts {
        http: Some(http),
        relay: true,
        ..taskstream::startup::Parts::default()
    })
    .await;
    let logs = tempfile::NamedTempFile::new().expect("log file");
    let mut command = app.worker_command(
        "audit",
        &[
            ("TASKSTREAM_LOG_FORMAT", "json".to_owned()),
            (
                "TASKSTREAM_LOG",
                "taskstream=debug,rdkafka=off,librdkafka=off".to_owned(),
            ),
        ],
    );
    command.stderr(logs.reopen().expect("log file"));
    let _worker = crate::process::Guarded::spawn(&mut command, "taskstream worker --role audit");

    let traceparent = "00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let (_, task) = post(&app, "/api/v1/tasks", &json!({"title": "Logged"}), Some(traceparent)).await;
    let id = task["id"].as_str().expect("id").to_owned();
    app.wait_for_history(USER, &id, 1).await;
    let line = wait_for("the audit role's log line about the record", WAIT, || async {
        let text = std::fs::read_to_string(logs.path()).map_err(|e| e.to_string())?;
        text.lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["span"]["task_id"] == id.as_str() && line["message"] == "record done")
            .ok_or_else(|| format!("{} lines, none about the record yet", text.lines().count()))
    })
    .await;
    let span = &line["span"];
    assert_eq!(span["trace_id"], trace_id(traceparent), "{line}");
    assert_eq!(span["role"], "audit");
    assert_eq!(span["user_id"], USER);
    assert_eq!(span["topic"], app.topic("task-events"));
    assert!(span["partition"].is_i64() && span["offset"].is_i64(), "{line}");
    assert!(span["event_id"].as_str().is_some_and(|e| e.len() == 36), "{line}");
    let text = std::fs::read_to_string(logs.path()).expect("logs");
    assert!(
        !text.contains(crate::helpers::SECRET),
        "the JWT secret never reaches a log"
    );
}

#[tokio::test]
async fn a_reminder_fires_and_is_delivered_in_the_trace_of_the_change_that_scheduled_it() {
    let app = spawn_app_with_events().await;
    let (receiver, url) = Receiver::start().await;
    set_webhook_for(&app, USER, &url).await;
    let traceparent = "00-7bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let body = json!({"title": "Call back", "reminders": [in_secs(3.0)]});
    let (_, task) = post(&app, "/api/v1/tasks", &body, Some(traceparent)).await;
    let id = task["id"].as_str().expect("id").to_owned();

    // The timer fires it and the delivery worker sends it long after the request ended.
    wait_for_calls(&receiver, 1).await;
    let calls = receiver.calls();
    let called_with = calls[0]
        .0
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .expect("the webhook call names its trace");
    assert_eq!(
        trace_id(called_with),
        trace_id(traceparent),
        "the webhook call continues the trace"
    );

    let topic = app.topic("task-reminders");
    let all = wait_for("reminder.delivered on the topic", WAIT, || async {
        let all = consume_validated(&app.kafka.brokers, std::slice::from_ref(&topic)).await;
        if records(&all, &topic, "reminder.delivered", &id).is_empty() {
            Err("not yet".to_owned())
        } else {
            Ok(all)
        }
    })
    .await;
    let header = |event_type: &str| {
        let found = records(&all, &topic, event_type, &id);
        found[0].header("traceparent").expect("traceparent").to_owned()
    };
    let fired = header("reminder.fired");
    assert_eq!(
        trace_id(&fired),
        trace_id(traceparent),
        "the fired event continues the creating request's trace"
    );
    assert_ne!(
        span_id(&fired),
        span_id(&header("reminder.scheduled")),
        "as the scheduler's own span"
    );
    let delivered = header("reminder.delivered");
    assert_eq!(trace_id(&delivered), trace_id(traceparent), "so does the delivery");
    assert_eq!(
        span_id(&delivered),
        span_id(called_with),
        "the delivery's span made the call"
    );
}
