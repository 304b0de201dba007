//! OpenTelemetry export: a `taskstream all` process sends its spans over OTLP/HTTP (protobuf)
//! to a receiver this test runs, and the exported ids are the ones the service writes in
//! `traceparent`: the API's span continues the request's trace, and a consumer role's span is
//! the child of the API's span (the record's header named it).

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, StatusCode};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::{json, Value};
use taskstream::auth::Auth;
use taskstream::config::Secret;
use taskstream::domain::UserId;

use crate::broker;
use crate::helpers::{fresh_database, SECRET, WAIT};
use crate::process::{wait_for, Guarded};

const USER: &str = "otto";

/// A span as received, with the service name of its resource.
#[derive(Debug, Clone)]
struct Received {
    service: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    name: String,
    kind: i32,
    attributes: Vec<KeyValue>,
}

impl Received {
    fn attribute(&self, key: &str) -> Option<String> {
        self.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .map(|value| match value {
                AnyValue::StringValue(s) => s.clone(),
                AnyValue::IntValue(i) => i.to_string(),
                other => format!("{other:?}"),
            })
    }
}

/// An OTLP/HTTP receiver: POST /v1/traces with a protobuf ExportTraceServiceRequest.
#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Received>>>,
    /// Requests that were not a valid protobuf export: the test fails on any.
    malformed: Arc<Mutex<Vec<String>>>,
}

impl Collector {
    async fn start() -> (Self, String) {
        let collector = Self::default();
        let state = collector.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let state = state.clone();
                async move { state.receive(&headers, &body) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (collector, endpoint)
    }

    fn receive(
        &self,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> (StatusCode, [(header::HeaderName, &'static str); 1], Vec<u8>) {
        let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
        let decoded = ExportTraceServiceRequest::decode(body);
        match (content_type, decoded) {
            (Some("application/x-protobuf"), Ok(request)) => {
                let mut spans = self.spans.lock().expect("lock");
                for resource in request.resource_spans {
                    let service = resource
                        .resource
                        .iter()
                        .flat_map(|r| r.attributes.iter())
                        .find(|kv| kv.key == "service.name")
                        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                            AnyValue::StringValue(s) => Some(s.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                    for span in resource.scope_spans.into_iter().flat_map(|scope| scope.spans) {
                        spans.push(Received {
                            service: service.clone(),
                            trace_id: hex::encode(&span.trace_id),
                            span_id: hex::encode(&span.span_id),
                            parent_span_id: hex::encode(&span.parent_span_id),
                            name: span.name,
                            kind: span.kind,
                            attributes: span.attributes,
                        });
                    }
                }
                let answer = ExportTraceServiceResponse::default().encode_to_vec();
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/x-protobuf")],
                    answer,
                )
            }
            (content_type, decoded) => {
                let why = format!("content-type {content_type:?}, decoded: {:?}", decoded.err());
                self.malformed.lock().expect("lock").push(why);
                (
                    StatusCode::BAD_REQUEST,
                    [(header::CONTENT_TYPE, "text/plain")],
                    Vec::new(),
                )
            }
        }
    }

    fn spans(&self) -> Vec<Received> {
        self.spans.lock().expect("lock").clone()
    }
}

fn ids(traceparent: &str) -> (String, String) {
    let fields: Vec<&str> = traceparent.split('-').collect();
    (fields[1].to_owned(), fields[2].to_owned())
}

#[tokio::test]
async fn spans_exported_over_otlp_carry_the_ids_the_service_writes_and_reach_the_collector_at_shutdown() {
    let (collector, endpoint) = Collector::start().await;
    let data = tempfile::tempdir().expect("data dir");
    let database_url = fresh_database(data.path()).await.expect("database");
    let port = broker::free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskstream"));
    command
        .args(["all", "--listen", &format!("127.0.0.1:{port}")])
        .env("TASKSTREAM_DATA_DIR", data.path())
        .env("DATABASE_URL", &database_url)
        .env("TASKSTREAM_JWT_SECRET", SECRET)
        .env("KAFKA_BOOTSTRAP_SERVERS", broker::brokers())
        .env(
            "TASKSTREAM_TOPIC_PREFIX",
            format!("t{}.", uuid::Uuid::new_v4().simple()),
        )
        .env("KAFKA_FETCH_WAIT_MAX_MS", "10")
        // Quiet logs: export does not depend on the log filter.
        .env("TASKSTREAM_LOG", "error,rdkafka=off,librdkafka=off")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_SERVICE_NAME", "taskstream-under-test")
        // No batch falls due while the test runs: the spans arrive through the flush at shutdown.
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000");
    let mut process = Guarded::spawn(&mut command, "taskstream all with OTLP export");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    wait_for("taskstream all to be ready", WAIT, || async {
        match client.get(format!("{base}/readyz")).send().await {
            Ok(response) if response.status() == 200 => Ok(()),
            Ok(response) => Err(response.status().to_string()),
            Err(error) => Err(error.to_string()),
        }
    })
    .await;

    let user = UserId::parse(USER).expect("user");
    let token = Auth::new(&Secret::new(SECRET))
        .issue(&user, Duration::from_secs(3600))
        .expect("token");
    let sent = "00-8bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let response = client
        .post(format!("{base}/api/v1/tasks"))
        .bearer_auth(&token)
        .header("traceparent", sent)
        .json(&json!({"title": "Exported"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::CREATED);
    let answered = response.headers()["traceparent"].to_str().expect("ascii").to_owned();
    let task: Value = response.json().await.expect("json");
    let id = task["id"].as_str().expect("id").to_owned();
    // The audit role's effect is visible: its span has ended.
    wait_for("the audit role to record the creation", WAIT, || async {
        let history: Value = client
            .get(format!("{base}/api/v1/tasks/{id}/history"))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match history.as_array() {
            Some(entries) if !entries.is_empty() => Ok(()),
            _ => Err(history.to_string()),
        }
    })
    .await;
    assert!(
        collector.spans().is_empty(),
        "nothing exported before a batch falls due"
    );

    process.signal(libc::SIGTERM);
    let status = process.wait_exit(Duration::from_secs(30)).await;
    assert!(status.success(), "exited with {status}");
    assert!(
        collector.malformed.lock().expect("lock").is_empty(),
        "every export is OTLP protobuf"
    );

    let spans = collector.spans();
    let (sent_trace, sent_span) = ids(sent);
    let (answered_trace, answered_span) = ids(&answered);
    assert_eq!(answered_trace, sent_trace);
    let http = spans
        .iter()
        .find(|s| s.span_id == answered_span)
        .unwrap_or_else(|| panic!("the API span named in the response's traceparent was exported: {spans:#?}"));
    assert_eq!(http.trace_id, sent_trace, "in the request's trace");
    assert_eq!(http.parent_span_id, sent_span, "as the child of the caller's span");
    assert_eq!(http.name, "POST /api/v1/tasks");
    assert_eq!(http.kind, SpanKind::Server as i32);
    assert_eq!(http.service, "taskstream-under-test");
    assert_eq!(http.attribute("route").as_deref(), Some("/api/v1/tasks"));
    assert_eq!(
        http.attribute("user_id").as_deref(),
        Some(USER),
        "a field recorded after the span started is exported"
    );
    for field in ["trace_id", "span_id"] {
        assert_eq!(
            http.attribute(field),
            None,
            "the span's own ids are not repeated as an attribute ({field})"
        );
    }

    assert!(
        spans.iter().all(|s| s.name != "create_task"),
        "the handler's span is not exported: the request's span stands for it"
    );

    let audit = spans
        .iter()
        .find(|s| {
            s.attribute("role").as_deref() == Some("audit") && s.attribute("task_id").as_deref() == Some(id.as_str())
        })
        .unwrap_or_else(|| panic!("the audit role's span was exported: {spans:#?}"));
    assert_eq!(
        audit.trace_id, sent_trace,
        "the consumer's span is in the request's trace"
    );
    assert_eq!(
        audit.parent_span_id, http.span_id,
        "its parent is the API span the record's traceparent named"
    );
    assert_eq!(audit.kind, SpanKind::Consumer as i32);
    assert_eq!(audit.name, "audit process");
}

/// A collector that accepts connections and never answers: the worst a collector can do.
async fn silent_collector() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    endpoint
}

#[tokio::test]
async fn a_collector_that_never_answers_costs_the_api_nothing_and_shutdown_is_bounded() {
    let endpoint = silent_collector().await;
    let data = tempfile::tempdir().expect("data dir");
    let database_url = fresh_database(data.path()).await.expect("database");
    let port = broker::free_port();
    let log = data.path().join("stderr.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_taskstream"));
    command
        .args(["api", "--listen", &format!("127.0.0.1:{port}")])
        .env("TASKSTREAM_DATA_DIR", data.path())
        .env("DATABASE_URL", &database_url)
        .env("TASKSTREAM_JWT_SECRET", SECRET)
        .env("KAFKA_BOOTSTRAP_SERVERS", broker::brokers())
        .env(
            "TASKSTREAM_TOPIC_PREFIX",
            format!("t{}.", uuid::Uuid::new_v4().simple()),
        )
        .env("TASKSTREAM_LOG", "warn,rdkafka=off,librdkafka=off")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer collector-secret-token",
        )
        // Batches fall due at once and are small: every export hangs on the collector.
        .env("OTEL_BSP_SCHEDULE_DELAY", "100")
        .env("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "8")
        .stderr(std::fs::File::create(&log).expect("log file"));
    let mut process = Guarded::spawn(&mut command, "taskstream api exporting to a silent collector");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    wait_for("taskstream api to be ready", WAIT, || async {
        match client.get(format!("{base}/readyz")).send().await {
            Ok(response) if response.status() == 200 => Ok(()),
            Ok(response) => Err(response.status().to_string()),
            Err(error) => Err(error.to_string()),
        }
    })
    .await;

    let token = Auth::new(&Secret::new(SECRET))
        .issue(&UserId::parse(USER).expect("user"), Duration::from_secs(3600))
        .expect("token");
    // Many more spans than one batch, while every export hangs.
    for n in 0..60 {
        let response = client
            .post(format!("{base}/api/v1/tasks"))
            .bearer_auth(&token)
            .json(&json!({ "title": format!("Task {n}") }))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::CREATED, "create {n}");
        assert!(response.headers().contains_key("traceparent"), "create {n}");
    }
    let ready = client.get(format!("{base}/readyz")).send().await.expect("readyz");
    assert_eq!(ready.status(), StatusCode::OK, "export is not a readiness check");

    // The shutdown flush gives up on the collector after 5 s instead of waiting for the export
    // in flight and the last one (10 s each), and says so.
    process.signal(libc::SIGTERM);
    let status = process.wait_exit(Duration::from_secs(60)).await;
    assert!(status.success(), "exited with {status}");
    let stderr = std::fs::read_to_string(&log).expect("read the log");
    assert!(
        stderr.contains("spans not exported at shutdown"),
        "the lost spans are reported: {stderr}"
    );
    assert!(
        !stderr.contains("collector-secret-token"),
        "the collector's credentials never reach the log: {stderr}"
    );
}
