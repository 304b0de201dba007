//! The caller's reminder webhook: PUT sets it (the signing secret is shown once), GET shows
//! it without the secret, DELETE removes it.

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
use crate::webhook::{EgressPolicy, WebhookUrl};

pub fn router() -> Router<AppState> {
    Router::new().route("/webhook", put(put_webhook).get(get_webhook).delete(delete_webhook))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// http(s) URL that receives a POST for every fired reminder: a public address (the
    /// operator may allow-list internal ranges), without user:password@ or #fragment.
    #[schema(example = "https://example.com/hooks/taskstream")]
    pub url: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    pub url: String,
    pub created_at: String,
    /// Only in the answer to PUT: the key of the `X-Taskstream-Signature` HMAC-SHA256
    /// (`t=<unix seconds>,v1=<hex HMAC of "<t>.<body>">`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A webhook URL must parse and, as far as the URL alone tells, go where the policy allows.
/// A host name is not resolved here: its answer can change, so it is judged at each call.
fn check_url(raw: &str, policy: &EgressPolicy) -> Result<WebhookUrl, FieldError> {
    let invalid = |why: String| FieldError::new("url", why);
    let url = WebhookUrl::parse(raw).map_err(|e| invalid(e.to_string()))?;
    policy.check(&url).map_err(|e| invalid(e.to_string()))?;
    Ok(url)
}

/// Set the reminder webhook (replacing any earlier one, with a new secret).
#[utoipa::path(put, path = "/api/v1/webhook", tag = "webhook", request_body = WebhookRequest,
    responses(
        (status = 201, description = "Set; the secret is shown this once", body = WebhookView),
        (status = 422, description = "Bad URL", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many webhook changes this hour", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
pub async fn put_webhook(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    ApiJson { body, .. }: ApiJson<WebhookRequest>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    let url = check_url(&body.url, &state.webhook_policy).map_err(|e| ApiError::invalid(vec![e]))?;
    state.quotas.webhook_change(&user)?;
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
    state.quotas.webhook_change(&user)?;
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
    fn refuses_other_schemes_internal_addresses_and_the_service_itself() {
        let own: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let allow = [crate::webhook::parse_allow_entry("127.0.0.1/32").unwrap()];
        let policy = EgressPolicy::new(&allow, false).serving_at(Some(own));
        assert!(check_url("https://example.com/hook", &policy).is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook", &policy).is_ok(), "allow-listed");
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "not a url",
            "http://localhost:8080/x",
            "http://127.0.0.1:8080/",
            "http://[::1]:8080/",
            "http://0.0.0.0:8080/",
            "http://10.0.0.1/",
            "http://user:pw@example.com/",
        ] {
            let error = check_url(bad, &policy).expect_err(bad);
            assert_eq!(error.field, "url");
        }
    }
}
