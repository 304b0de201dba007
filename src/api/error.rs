//! Every HTTP error as RFC 9457 problem+json, naming the field at fault where there is one.
//! Server faults are logged with their cause and answered without it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::FieldError;
use crate::store::{is_outage, WriteError};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// What a 503 asks the client to wait before retrying.
const RETRY_AFTER_SECS: &str = "1";

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields at fault, when the request had any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// On 412: the version the task is at now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    MalformedBody(String),
    #[error("{}: {}", .0.field, .0.message)]
    BadHeader(FieldError),
    #[error("{detail}")]
    Invalid { detail: String, errors: Vec<FieldError> },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the task is at version {current}")]
    PreconditionFailed { current: i64 },
    #[error("{0}")]
    Unavailable(String),
    /// The caller spent their rate limit.
    #[error("too many requests from this user; retry after the time in Retry-After")]
    TooManyRequests { retry_after: std::time::Duration },
    /// The request took longer than its deadline.
    #[error("the request took longer than {} ms; retry after the time in Retry-After", .limit.as_millis())]
    TimedOut { limit: std::time::Duration },
    /// The caller holds as much of something as one user may.
    #[error("{0}")]
    QuotaExceeded(String),
    /// The write queue is full: retry after a moment.
    #[error("the service is at capacity; retry after the time in Retry-After")]
    Overloaded,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// One or more fields failed to parse.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] if one.field.is_empty() => one.message.clone(),
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        Self::Invalid { detail, errors }
    }

    pub fn task_not_found() -> Self {
        Self::NotFound("no such task".into())
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::MalformedBody(_) | Self::BadHeader(_) => StatusCode::BAD_REQUEST,
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::QuotaExceeded(_) => StatusCode::FORBIDDEN,
            Self::Unavailable(_) | Self::Overloaded | Self::TimedOut { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(error) if is_outage(error) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::MalformedBody(_) => "/problems/malformed-body",
            Self::BadHeader(_) => "/problems/bad-header",
            Self::Invalid { .. } => "/problems/validation",
            Self::PayloadTooLarge { .. } => "/problems/payload-too-large",
            Self::UnsupportedMediaType(_) => "/problems/unsupported-media-type",
            Self::Unauthorized(_) => "/problems/unauthorized",
            Self::NotFound(_) => "/problems/not-found",
            Self::MethodNotAllowed(_) => "/problems/method-not-allowed",
            Self::Conflict(_) => "/problems/conflict",
            Self::PreconditionFailed { .. } => "/problems/stale-version",
            Self::Unavailable(_) => "/problems/unavailable",
            Self::Overloaded => "/problems/overloaded",
            Self::TimedOut { .. } => "/problems/timeout",
            Self::QuotaExceeded(_) => "/problems/quota-exceeded",
            Self::TooManyRequests { .. } => "/problems/rate-limited",
            Self::Internal(error) if is_outage(error) => "/problems/unavailable",
            Self::Internal(_) => "/problems/internal",
        }
    }

    fn problem(&self) -> Problem {
        let status = self.status();
        let detail = match self {
            Self::Internal(error) if is_outage(error) => {
                "the database is busy or unavailable; retry after the time in Retry-After".to_owned()
            }
            Self::Internal(_) => "the server failed to handle the request; it has been logged".to_owned(),
            other => other.to_string(),
        };
        let errors = match self {
            Self::Invalid { errors, .. } => errors.clone(),
            Self::BadHeader(error) => vec![error.clone()],
            _ => Vec::new(),
        };
        Problem {
            kind: self.kind().to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors,
            current_version: match self {
                Self::PreconditionFailed { current } => Some(*current),
                _ => None,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.respond(serde_json::Map::new())
    }
}

impl ApiError {
    /// The problem response with extension members beside the standard ones (RFC 9457 §3.2),
    /// e.g. the checks behind a 503 from /readyz.
    pub fn with_members(self, members: serde_json::Map<String, serde_json::Value>) -> Response {
        self.respond(members)
    }

    fn respond(self, members: serde_json::Map<String, serde_json::Value>) -> Response {
        match &self {
            // A pool timeout or a busy database is load, not a bug: 503, and the client may retry.
            Self::Internal(error) if is_outage(error) => {
                tracing::warn!(error = format!("{error:#}"), "database unavailable: answered 503");
            }
            Self::Internal(error) => tracing::error!(error = format!("{error:#}"), "request failed"),
            _ => {}
        }
        let mut problem = serde_json::to_value(self.problem()).unwrap_or_default();
        if let Some(fields) = problem.as_object_mut() {
            for (name, value) in members {
                fields.entry(name).or_insert(value);
            }
        }
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status(), body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match &self {
            Self::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"taskstream\", error=\"invalid_token\""),
                );
            }
            Self::PreconditionFailed { current } => {
                if let Ok(etag) = HeaderValue::from_str(&format!("\"{current}\"")) {
                    headers.insert(header::ETAG, etag);
                }
            }
            _ => {}
        }
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
        }
        if let Self::TooManyRequests { retry_after } = &self {
            // Whole seconds, rounded up: a client that waits this long gets through.
            let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

impl From<WriteError> for ApiError {
    fn from(error: WriteError) -> Self {
        match error {
            WriteError::NotFound => Self::task_not_found(),
            WriteError::Stale { current } => Self::PreconditionFailed { current },
            WriteError::Invalid(errors) => Self::invalid(errors),
            WriteError::IdempotencyMismatch => Self::invalid(vec![FieldError::new(
                "Idempotency-Key",
                "this key was already used with a different request body",
            )]),
            WriteError::IdempotencyInFlight => {
                Self::Conflict("a request with this Idempotency-Key is still in progress; retry shortly".into())
            }
            WriteError::QuotaExceeded(message) => Self::QuotaExceeded(message),
            WriteError::Database(error) => Self::Internal(error),
        }
    }
}
