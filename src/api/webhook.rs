//! The caller's reminder webhook: PUT sets it (the signing secret is shown once), GET shows
//! it without the secret, DELETE removes it, POST /webhook/test sends it one signed test call.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{post, put};
use axum::{Json, Router};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, ApiJson, AppState, Problem};
use crate::api::CurrentUser;
use crate::config::Secret;
use crate::domain::FieldError;
use crate::webhook::{Call, EgressPolicy, WebhookUrl};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/webhook", put(put_webhook).get(get_webhook).delete(delete_webhook))
        .route("/webhook/test", post(test_webhook))
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

/// What one test call did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookTestView {
    /// Whether the receiver answered with a 2xx status.
    pub delivered: bool,
    /// The receiver's HTTP status, when it answered.
    pub status: Option<u16>,
    /// Why the call failed: refused by the egress policy, no connection, timeout, or a status
    /// other than 2xx. The URL shows as `scheme://host[:port]` only.
    pub error: Option<String>,
    /// From the start of the call to its answer or failure, in milliseconds.
    pub latency_ms: u64,
    /// Sent as `X-Taskstream-Delivery`; it starts with `test-`.
    pub delivery_id: String,
}

/// Send one signed test call to the reminder webhook and tell what happened.
///
/// The call is made as a reminder's would be (same signature, egress policy checked on the
/// address it connects to, same timeout), with a body of type `webhook.test`. Each test
/// counts against the hour's webhook changes.
#[utoipa::path(post, path = "/api/v1/webhook/test", tag = "webhook",
    responses(
        (status = 200, description = "The call was made (or refused by the egress policy); the answer tells the outcome", body = WebhookTestView),
        (status = 404, description = "No webhook is set", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The stored URL no longer passes the rules; set it again", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many webhook changes and tests this hour", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str()))]
pub async fn test_webhook(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<WebhookTestView>, ApiError> {
    let webhook = state
        .store
        .webhook(user.as_str())
        .await?
        .ok_or_else(|| ApiError::NotFound("no webhook is set".into()))?;
    // The stored URL passed these rules when it was set; the rules may have become stricter.
    let url = WebhookUrl::parse(&webhook.url)
        .map_err(|e| ApiError::Conflict(format!("the stored webhook URL {e}; set it again")))?;
    state.quotas.webhook_change(&user)?;
    let delivery_id = format!("test-{}", uuid::Uuid::new_v4());
    let body = serde_json::json!({
        "type": "webhook.test",
        "delivery_id": delivery_id,
        "sent_at": crate::time::format(crate::time::now()),
        "message": "A test call from taskstream: fired reminders arrive like this, signed the same way.",
    })
    .to_string()
    .into_bytes();
    let started = std::time::Instant::now();
    let sent = state
        .webhook_client
        .post(Call {
            url: &url,
            secret: webhook.secret.expose(),
            delivery_id: &delivery_id,
            body,
        })
        .await;
    let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let view = match sent {
        Ok(status) => WebhookTestView {
            delivered: true,
            status: Some(status.as_u16()),
            error: None,
            latency_ms,
            delivery_id,
        },
        Err(error) => WebhookTestView {
            delivered: false,
            status: error.status().map(|s| s.as_u16()),
            error: Some(error.report()),
            latency_ms,
            delivery_id,
        },
    };
    tracing::info!(
        delivered = view.delivered,
        status = view.status,
        latency_ms,
        "webhook test call"
    );
    Ok(Json(view))
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
