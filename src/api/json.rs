//! The JSON body extractor: 400 for bytes that are not JSON, 422 naming the field for JSON
//! of the wrong shape (including unknown fields), 413 for bodies over the limit.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::domain::FieldError;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A parsed JSON body, and the JSON value it came from.
pub struct ApiJson<T> {
    pub body: T,
    pub raw: serde_json::Value,
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        check_content_type(&req)?;
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge { limit: BODY_LIMIT }
            } else {
                ApiError::MalformedBody(format!("the request body could not be read: {rejection}"))
            }
        })?;
        let raw: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| ApiError::MalformedBody(format!("the request body is not valid JSON: {e}")))?;
        let body = serde_path_to_error::deserialize(&raw).map_err(|e| shape_error(&e))?;
        Ok(Self { body, raw })
    }
}

/// A body without a content type is read as JSON; one that names another type is refused.
fn check_content_type(req: &Request) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let mime = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || mime.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(format!(
            "the request body must be application/json, not {mime:?}"
        )))
    }
}

fn shape_error(error: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let message = error.inner().to_string();
    // The path already ends at an unknown field; at the root it is "." and the message
    // names the missing field.
    let field = match (path.as_str(), missing_field(&message)) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => String::new(),
        _ => path,
    };
    ApiError::invalid(vec![FieldError::new(field, message)])
}

fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}
