//! A deadline on every request: a handler still working when it passes is dropped (its
//! transaction rolls back) and the caller gets 503 + Retry-After, so no request holds a
//! connection, a queue slot or the caller's patience without bound. A live stream's opening
//! is bounded; the events it sends afterwards are not.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// How long one request may take to be answered.
#[derive(Clone, Copy, Debug)]
pub struct RequestDeadline(pub Duration);

/// Middleware: the response within the deadline, or 503.
pub async fn bound(State(RequestDeadline(limit)): State<RequestDeadline>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                path,
                limit_ms = limit.as_millis() as u64,
                "request timed out: answered 503"
            );
            ApiError::TimedOut { limit }.into_response()
        }
    }
}
