//! The operators' listener: after known work, /metrics moved by exactly that work (not only
//! "it answers"), labels are route templates, and /status shows every role.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use taskstream::startup::Parts;

use crate::helpers::{hold_writes, spawn_observed, TestApp, WAIT};
use crate::process::wait_for;
use crate::reminders::{in_secs, set_webhook_for, wait_for_calls, wait_for_state_of, Receiver};

const USER: &str = "mona";

/// One scrape of /metrics.
struct Scrape(String);

impl Scrape {
    /// The sum of the series of `name` whose labels include `labels` (0 when none).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (series, value) = line.rsplit_once(' ')?;
                let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
                if metric != name {
                    return None;
                }
                let matches = labels
                    .iter()
                    .all(|(key, expected)| rest.contains(&format!("{key}=\"{expected}\"")));
                matches.then(|| value.parse::<f64>().ok()).flatten()
            })
            .sum()
    }

    fn has(&self, name: &str) -> bool {
        self.0.lines().any(|line| line.starts_with(name))
    }
}

impl TestApp {
    async fn scrape(&self) -> Scrape {
        let address = self.metrics_address.as_ref().expect("an observed app");
        let response = self
            .client
            .get(format!("{address}/metrics"))
            .send()
            .await
            .expect("scrape");
        assert_eq!(response.status(), StatusCode::OK);
        Scrape(response.text().await.expect("text"))
    }

    async fn status(&self) -> (StatusCode, Value) {
        let address = self.metrics_address.as_ref().expect("an observed app");
        let response = self
            .client
            .get(format!("{address}/status"))
            .send()
            .await
            .expect("status");
        let status = response.status();
        (status, response.json().await.expect("json"))
    }

    /// Waits until `probe` holds on a scrape; returns that scrape.
    async fn scrape_until(&self, what: &str, probe: impl Fn(&Scrape) -> Result<(), String>) -> Scrape {
        wait_for(what, WAIT, || async {
            let scrape = self.scrape().await;
            probe(&scrape).map(|()| scrape)
        })
        .await
    }
}

/// `value` moved from `before` by exactly `by`.
fn moved(before: &Scrape, after: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    after.value(name, labels) - before.value(name, labels)
}

#[tokio::test]
async fn http_metrics_count_each_request_by_route_template_method_and_status_class() {
    let app = spawn_observed(|mut http| {
        http.rate_limit_burst = 3;
        http.rate_limit_per_minute = 1;
        Parts {
            http: Some(http),
            ..Parts::default()
        }
    })
    .await;
    let before = app.scrape().await;
    let task = app.create_task(USER, &json!({"title": "Count me"})).await;
    let id = task["id"].as_str().expect("id");
    assert_eq!(app.get_task(USER, id).await.status(), StatusCode::OK);
    let missing = uuid::Uuid::new_v4().to_string();
    assert_eq!(app.get_task(USER, &missing).await.status(), StatusCode::NOT_FOUND);
    // The user's burst of 3 is spent: the next is throttled.
    assert_eq!(app.get_task(USER, id).await.status(), StatusCode::TOO_MANY_REQUESTS);
    let unmatched = app.client.get(app.url("/no/such/path")).send().await.expect("send");
    assert_eq!(unmatched.status(), StatusCode::NOT_FOUND);
    let after = app.scrape().await;

    let requests = "taskstream_http_requests_total";
    let create = [("route", "/api/v1/tasks"), ("method", "POST"), ("status", "2xx")];
    assert_eq!(moved(&before, &after, requests, &create), 1.0);
    let one = [("route", "/api/v1/tasks/{id}"), ("method", "GET")];
    assert_eq!(
        moved(&before, &after, requests, &[one[0], one[1], ("status", "2xx")]),
        1.0
    );
    assert_eq!(
        moved(&before, &after, requests, &[one[0], one[1], ("status", "4xx")]),
        2.0
    );
    assert_eq!(moved(&before, &after, requests, &[("route", "unmatched")]), 1.0);
    assert_eq!(
        moved(&before, &after, "taskstream_http_throttled_total", &[one[0]]),
        1.0
    );
    assert_eq!(
        moved(
            &before,
            &after,
            "taskstream_http_request_duration_seconds_count",
            &create
        ),
        1.0
    );
    assert!(
        !after.0.contains(id) && !after.0.contains(&missing),
        "raw paths never become labels"
    );
    assert!(!after.0.contains("/no/such/path"));
    assert_eq!(after.value("taskstream_http_requests_in_flight", &[]), 0.0);
    assert!(
        after.has("process_resident_memory_bytes"),
        "process metrics are exported"
    );
}

#[tokio::test]
async fn writes_shed_by_a_full_queue_are_counted() {
    let app = spawn_observed(|mut http| {
        http.write_queue = 1;
        Parts {
            http: Some(http),
            ..Parts::default()
        }
    })
    .await;
    app.create_task(USER, &json!({"title": "before"})).await;
    let before = app.scrape().await;
    let held = hold_writes(&app, "tasks").await;
    let bodies: Vec<_> = (0..6).map(|i| json!({ "title": format!("burst {i}") })).collect();
    let burst = futures_util::future::join_all(bodies.iter().map(|body| app.post_task(USER, body)));
    let release = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        drop(held);
    };
    let (responses, ()) = tokio::join!(burst, release);
    let shed = responses
        .iter()
        .filter(|r| r.status() == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(shed >= 1, "a queue of one sheds some of six writes at once");
    let after = app.scrape().await;
    assert_eq!(moved(&before, &after, "taskstream_http_shed_total", &[]), shed as f64);
    assert_eq!(
        moved(&before, &after, "taskstream_http_requests_total", &[("status", "5xx")]),
        shed as f64
    );
}

#[tokio::test]
async fn pipeline_metrics_follow_the_outbox_the_consumers_the_reminders_and_the_series() {
    let app = spawn_observed(Parts::all).await;
    let before = app.scrape().await;

    // Three plain tasks: three task.created through the outbox, relay and audit role.
    let mut ids = Vec::new();
    for n in 0..3 {
        let task = app.create_task(USER, &json!({ "title": format!("plain {n}") })).await;
        ids.push(task["id"].as_str().expect("id").to_owned());
    }
    for id in &ids {
        app.wait_for_history(USER, id, 1).await;
    }
    let after = app
        .scrape_until("the audit role's three records counted", |s| {
            let n = moved(&before, s, "taskstream_consumer_records_total", &[("role", "audit")]);
            if n == 3.0 {
                Ok(())
            } else {
                Err(format!("{n}"))
            }
        })
        .await;
    let events = [("topic", "task-events")];
    assert_eq!(
        moved(&before, &after, "taskstream_outbox_published_total", &events),
        3.0
    );
    assert_eq!(
        moved(
            &before,
            &after,
            "taskstream_consumer_processing_seconds_count",
            &[("role", "audit"), events[0]]
        ),
        3.0
    );
    assert_eq!(moved(&before, &after, "taskstream_consumer_parked_total", &[]), 0.0);
    assert!(
        after.value(
            "taskstream_consumer_last_record_timestamp_seconds",
            &[("role", "audit")]
        ) > 0.0
    );
    // Sampled gauges and the consumer's statistics arrive on their own ticks.
    app.scrape_until("an empty outbox and no audit lag", |s| {
        let waiting = s.value("taskstream_outbox_waiting_rows", &[]);
        let lag_series = s.has("taskstream_consumer_lag_records{role=\"audit\"");
        let lag = s.value("taskstream_consumer_lag_records", &[("role", "audit")]);
        if s.has("taskstream_outbox_waiting_rows") && waiting == 0.0 && lag_series && lag == 0.0 {
            Ok(())
        } else {
            Err(format!("waiting {waiting}, lag series {lag_series}, lag {lag}"))
        }
    })
    .await;

    // A reminder to a webhook: fired once, its lateness observed, delivered by webhook.
    let (receiver, url) = Receiver::start().await;
    set_webhook_for(&app, USER, &url).await;
    let before = app.scrape().await;
    let task = app
        .create_task(USER, &json!({"title": "Remind me", "reminders": [in_secs(6.0)]}))
        .await;
    let id = task["id"].as_str().expect("id");
    app.scrape_until("one reminder pending", |s| {
        match s.value("taskstream_reminders_pending", &[]) {
            1.0 => Ok(()),
            n => Err(format!("{n} pending")),
        }
    })
    .await;
    wait_for_calls(&receiver, 1).await;
    wait_for_state_of(&app, USER, id, "delivered").await;
    let after = app
        .scrape_until("the webhook delivery counted", |s| {
            match moved(
                &before,
                s,
                "taskstream_reminders_delivered_total",
                &[("channel", "webhook")],
            ) {
                1.0 => Ok(()),
                n => Err(format!("{n}")),
            }
        })
        .await;
    assert_eq!(moved(&before, &after, "taskstream_reminders_fired_total", &[]), 1.0);
    assert_eq!(moved(&before, &after, "taskstream_reminders_missed_total", &[]), 0.0);
    assert_eq!(
        moved(&before, &after, "taskstream_reminder_lateness_seconds_count", &[]),
        1.0
    );
    assert_eq!(
        moved(
            &before,
            &after,
            "taskstream_reminders_delivered_total",
            &[("channel", "log")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            &before,
            &after,
            "taskstream_webhook_call_duration_seconds_count",
            &[("outcome", "delivered")]
        ),
        1.0
    );
    app.scrape_until("nothing pending or waiting", |s| {
        let pending = s.value("taskstream_reminders_pending", &[]);
        let waiting = s.value("taskstream_webhook_deliveries_waiting", &[]);
        if pending == 0.0 && waiting == 0.0 && s.has("taskstream_webhook_deliveries_waiting") {
            Ok(())
        } else {
            Err(format!("{pending} pending, {waiting} waiting"))
        }
    })
    .await;

    // A repeating task completed: one next occurrence, its latency observed.
    let before = app.scrape().await;
    let series = app
        .create_task(
            USER,
            &json!({"title": "Daily", "due_at": "2030-01-01T09:00:00Z", "recurrence": "FREQ=DAILY"}),
        )
        .await;
    let response = app.action(USER, series["id"].as_str().expect("id"), "complete").await;
    assert_eq!(response.status(), StatusCode::OK);
    let after = app
        .scrape_until("the next occurrence counted", |s| {
            match moved(&before, s, "taskstream_recurrence_next_created_total", &[]) {
                1.0 => Ok(()),
                n => Err(format!("{n}")),
            }
        })
        .await;
    assert_eq!(
        moved(&before, &after, "taskstream_recurrence_next_latency_seconds_count", &[]),
        1.0
    );

    // /status: every role of the process, ready, with its numbers. The audit role reads
    // task-events on its own schedule, so the next occurrence may be made before it has applied
    // the completion: wait for its five records rather than assume them.
    let (code, status) = wait_for("the audit role to have applied five records", WAIT, || async {
        let (code, status) = app.status().await;
        match status["roles"]["audit"]["records"].as_u64() {
            Some(records) if records >= 5 => Ok((code, status)),
            _ => Err(status.to_string()),
        }
    })
    .await;
    assert_eq!(code, StatusCode::OK, "{status}");
    assert_eq!(status["status"], "ready");
    for role in ["audit", "recurrence", "scheduler", "notifier", "live"] {
        let role_status = &status["roles"][role];
        assert_eq!(role_status["ready"], true, "{role}: {status}");
        assert!(role_status["records"].as_u64().is_some(), "{role}: {status}");
    }
    assert!(status["roles"]["audit"]["last_record_at"].is_string(), "{status}");
    assert_eq!(
        status["outbox"]["waiting"].as_i64().map(|n| n >= 0),
        Some(true),
        "{status}"
    );
}

/// `taskstream status --json` against the app's database and topics: exit code and report.
/// Run off the test's thread, so the app keeps running meanwhile.
async fn status_command(app: &TestApp, args: &[&str]) -> (Option<i32>, Value) {
    let mut status = std::process::Command::new(env!("CARGO_BIN_EXE_taskstream"));
    status
        .args(["status", "--json"])
        .args(args)
        .env("DATABASE_URL", &app.database_url)
        .env("KAFKA_BOOTSTRAP_SERVERS", &app.kafka.brokers)
        .env("TASKSTREAM_TOPIC_PREFIX", &app.kafka.topic_prefix)
        .env("TASKSTREAM_LOG", "error,rdkafka=off,librdkafka=off");
    let output =
        crate::process::run_bounded_async(status, Vec::new(), Duration::from_secs(120), "taskstream status").await;
    let report = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    (output.status.code(), report)
}

fn role<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["roles"]
        .as_array()
        .and_then(|roles| roles.iter().find(|r| r["role"] == name))
        .unwrap_or(&Value::Null)
}

/// A role's readiness: `expected` processes consume for it, as they announce themselves in the
/// database (whatever the broker says of its groups).
fn consuming(report: &Value, name: &str, expected: usize) {
    let role = role(report, name);
    assert_eq!(role["ready"], expected > 0, "{name}: {report}");
    let members = role["members"].as_array().map(Vec::len);
    assert_eq!(members, Some(expected), "{name}: {report}");
    for member in role["members"].as_array().into_iter().flatten() {
        assert_eq!(member["state"], "consuming", "{name}: {report}");
        assert_eq!(member["pid"], u64::from(std::process::id()), "{name}: {report}");
    }
}

#[tokio::test]
async fn status_reports_each_role_and_exits_2_while_a_role_falls_behind() {
    // The API, the relay and the audit role only: the recurrence role is not deployed.
    let app = crate::helpers::spawn(|http| Parts {
        http: Some(http),
        relay: true,
        roles: vec![taskstream::roles::Role::Audit],
    })
    .await;
    let body = json!({"title": "Daily", "due_at": "2030-01-01T09:00:00Z", "recurrence": "FREQ=DAILY"});
    let id = app.create_task(USER, &body).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(app.action(USER, &id, "complete").await.status(), StatusCode::OK);
    app.wait_for_history(USER, &id, 2).await;
    let (code, report) = wait_for("status to see the series.advance nobody reads", WAIT, || async {
        let (code, report) = status_command(&app, &["--max-lag", "0"]).await;
        let audit = role(&report, "audit");
        let caught_up = audit["lag"] == 0 && audit["last_applied_at"].is_string() && audit["ready"] == true;
        if caught_up && role(&report, "recurrence")["lag"] == 1 {
            Ok((code, report))
        } else {
            Err(format!("exit {code:?}: {report}"))
        }
    })
    .await;
    assert_eq!(code, Some(2), "{report}");
    let problems = report["problems"].to_string();
    assert!(
        problems.contains("the recurrence role is 1 records behind"),
        "{problems}"
    );
    assert!(!problems.contains("audit"), "{problems}");
    assert!(problems.contains("no process runs the recurrence role"), "{problems}");
    consuming(&report, "audit", 1);
    consuming(&report, "recurrence", 0);
    assert!(role(&report, "recurrence")["last_applied_at"].is_null(), "{report}");
    assert_eq!(role(&report, "audit")["dlq_records"], 0);
    assert_eq!(report["outbox"]["rows"], 0, "{report}");

    // Every role deployed: healthy, exit code 0.
    let full = crate::helpers::spawn_app_with_events().await;
    let task = full.create_task(USER, &json!({"title": "Everyone"})).await;
    full.wait_for_history(USER, task["id"].as_str().expect("id"), 1).await;
    let report = wait_for("status to report every role healthy", WAIT, || async {
        match status_command(&full, &[]).await {
            // Offsets are committed every second: wait for the commit, not only the effect.
            (Some(0), report)
                if report["roles"]
                    .as_array()
                    .is_some_and(|r| r.iter().all(|r| r["lag"] == 0)) =>
            {
                Ok(report)
            }
            (code, report) => Err(format!("exit {code:?}: {report}")),
        }
    })
    .await;
    for name in ["audit", "recurrence", "scheduler", "notifier"] {
        consuming(&report, name, 1);
        assert_eq!(role(&report, name)["lag"], 0, "{report}");
    }
}
