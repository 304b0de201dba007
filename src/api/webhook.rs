//! The caller's reminder webhook: PUT sets it (the signing secret is shown once), GET shows
//! it without the secret, DELETE removes it.

use std::net::{IpAddr, SocketAddr};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::put;
use axum::{Json, Router};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, ApiJson, AppState, Problem};
use crate::auth::CurrentUser;
use crate::config::Secret;
use crate::domain::FieldError;

pub fn router() -> Router<AppState> {
    Router::new().route("/webhook", put(put_webhook).get(get_webhook).delete(delete_webhook))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// http(s) URL that receives a POST for every fired reminder.
    #[schema(example = "https://example.com/hooks/taskstream")]
    pub url: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    pub url: String,
    pub created_at: String,
    /// Only in the answer to PUT: the key of the `X-Taskstream-Signature` HMAC-SHA256.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A webhook URL must be http(s), short, and must not point back at this service.
fn check_url(raw: &str, own: Option<SocketAddr>) -> Result<url::Url, FieldError> {
    let invalid = |why: &str| FieldError::new("url", why);
    if raw.len() > 2_000 {
        return Err(invalid("must be at most 2000 characters"));
    }
    let url = url::Url::parse(raw).map_err(|_| invalid("is not a valid absolute URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("must use http or https"));
    }
    let host = url.host_str().ok_or_else(|| invalid("must name a host"))?;
    if let Some(own) = own {
        let port = url.port_or_known_default();
        let host_ip: Option<IpAddr> = host.trim_matches(['[', ']']).parse().ok();
        let same_host = host.eq_ignore_ascii_case("localhost")
            || host_ip.is_some_and(|ip| ip == own.ip() || ip.is_loopback() || ip.is_unspecified());
        if same_host && port == Some(own.port()) {
            return Err(invalid("must not point at this service itself"));
        }
    }
    Ok(url)
}

/// Set the reminder webhook (replacing any earlier one, with a new secret).
#[utoipa::path(put, path = "/api/v1/webhook", tag = "webhook", request_body = WebhookRequest,
    responses(
        (status = 201, description = "Set; the secret is shown this once", body = WebhookView),
        (status = 422, description = "Bad URL", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put_webhook(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson { body, .. }: ApiJson<WebhookRequest>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    let url = check_url(&body.url, state.own_address).map_err(|e| ApiError::invalid(vec![e]))?;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = Secret::new(format!("whsec_{}", hex::encode(bytes)));
    let webhook = state.store.put_webhook(&user, url.as_str(), &secret).await?;
    Ok((
        StatusCode::CREATED,
        Json(WebhookView {
            url: webhook.url,
            created_at: webhook.created_at,
            secret: Some(secret.expose().to_owned()),
        }),
    ))
}

/// Show the reminder webhook (without its secret).
#[utoipa::path(get, path = "/api/v1/webhook", tag = "webhook",
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 404, description = "None set", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn get_webhook(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<WebhookView>, ApiError> {
    let webhook = state
        .store
        .webhook(user.as_str())
        .await?
        .ok_or_else(|| ApiError::NotFound("no webhook is set".into()))?;
    Ok(Json(WebhookView {
        url: webhook.url,
        created_at: webhook.created_at,
        secret: None,
    }))
}

/// Remove the reminder webhook.
#[utoipa::path(delete, path = "/api/v1/webhook", tag = "webhook",
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "None set", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_webhook(&user).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no webhook is set".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_other_schemes_and_the_service_itself() {
        let own: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert!(check_url("https://example.com/hook", Some(own)).is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook", Some(own)).is_ok());
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "not a url",
            "http://localhost:8080/x",
            "http://127.0.0.1:8080/",
            "http://[::1]:8080/",
            "http://0.0.0.0:8080/",
        ] {
            assert!(check_url(bad, Some(own)).is_err(), "{bad}");
        }
    }
}
