//! The HTTP side of telemetry, one middleware around every request: the request's span
//! (trace id, method, route template, task id; the auth extractor adds the user id), its
//! trace context (continuing a valid incoming `traceparent`, else a new trace, and answered
//! in the response's `traceparent`), and its metrics.

use std::time::Instant;

use axum::extract::{MatchedPath, RawPathParams, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::field::Empty;
use tracing::Instrument;

use super::trace::TraceContext;
use super::{metrics, otlp};

pub const TRACEPARENT: &str = "traceparent";

/// Counts a request in flight while it lives, also when its future is dropped.
struct InFlight;

impl InFlight {
    fn enter() -> Self {
        metrics::http_in_flight(1.0);
        Self
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::http_in_flight(-1.0);
    }
}

/// Middleware: observes one request.
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // The template, never the raw path: ids in paths would make a label per task.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let incoming = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|value| value.to_str().ok())
        .and_then(TraceContext::parse);
    let (mut parts, body) = request.into_parts();
    let task_id = task_id(&mut parts).await;
    let request = Request::from_parts(parts, body);
    let span = tracing::info_span!(
        "http",
        otel.kind = "server",
        otel.name = Empty,
        trace_id = Empty,
        span_id = Empty,
        %method,
        %route,
        user_id = Empty,
        task_id = task_id.as_deref(),
    );
    // Named before it starts: an exported span's name is fixed then.
    if otlp::enabled() {
        span.record("otel.name", format!("{method} {route}"));
    }
    let context = TraceContext::start(&span, incoming);
    span.record("trace_id", tracing::field::display(context.trace_id()));
    span.record("span_id", tracing::field::display(context.span_id()));
    let in_flight = InFlight::enter();
    let mut response = context.scope(next.run(request)).instrument(span.clone()).await;
    drop(in_flight);
    let elapsed = started.elapsed();
    if let Ok(value) = HeaderValue::from_str(&context.header()) {
        response.headers_mut().insert(TRACEPARENT, value);
    }
    metrics::http_request(&method, &route, response.status(), elapsed);
    tracing::debug!(parent: &span, status = response.status().as_u16(), latency_ms = elapsed.as_secs_f64() * 1000.0, "request answered");
    response
}

/// The task a `/tasks/{id}…` route is about.
async fn task_id(parts: &mut axum::http::request::Parts) -> Option<String> {
    use axum::extract::FromRequestParts;
    let params = RawPathParams::from_request_parts(parts, &()).await.ok()?;
    params
        .iter()
        .find(|(name, _)| *name == "id")
        .map(|(_, value)| value.chars().take(64).collect())
}
