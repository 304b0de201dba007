//! The whole batch: hostile bodies, ids, query strings and headers against every endpoint.

use reqwest::header::HeaderValue;
use reqwest::Method;
use serde_json::json;

use super::super::auth::{bad_authorizations, hs256, now_secs};
use super::super::task_path;
use super::bodies::hostile_bodies;
use super::json_bytes;
use super::probe::Probe;
use super::queries::hostile_queries;
use crate::helpers::SECRET;

/// Everything of the batch: hostile bodies to every endpoint that reads one (and to those
/// that do not), hostile ids, query strings and headers.
pub(super) fn hostile_probes(id: &str) -> Vec<Probe> {
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
