//! Request headers the task endpoints understand: If-Match and Idempotency-Key.

use axum::http::{header, HeaderMap, HeaderName, HeaderValue};

use super::ApiError;
use crate::domain::FieldError;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");

/// The version an If-Match header names (`"3"`, `W/"3"` or `3`); `None` without the header
/// or with `*`.
///
/// # Errors
/// When the header names no version.
pub fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    if text == "*" {
        return Ok(None);
    }
    let bare = text.trim_start_matches("W/").trim_matches('"');
    bare.parse::<i64>().map(Some).map_err(|_| {
        ApiError::BadHeader(FieldError::new(
            "If-Match",
            "must be the task's version as an ETag, e.g. \"3\"",
        ))
    })
}

/// # Errors
/// When the key is empty, longer than 255 characters or not printable ASCII.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= 255 => Ok(Some(key.to_owned())),
        _ => Err(ApiError::BadHeader(FieldError::new(
            "Idempotency-Key",
            "must be 1 to 255 printable ASCII characters",
        ))),
    }
}

pub fn etag(version: i64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}
