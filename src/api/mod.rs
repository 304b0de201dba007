//! The HTTP API: JSON under /api/v1, problem+json for every error.

mod admission;
mod caller;
mod deadline;
mod error;
mod headers;
mod health;
mod json;
mod live;
mod occurrences;
mod openapi;
mod quota;
mod rate_limit;
pub mod tasks;
pub mod webhook;

use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{Method, Uri};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;

pub use admission::Admission;
pub use caller::{Caller, CurrentUser};
pub use deadline::RequestDeadline;
pub use error::{ApiError, Problem, PROBLEM_JSON};
pub use json::{ApiJson, BODY_LIMIT};
pub use openapi::ApiDoc;
pub use quota::Quotas;
pub use rate_limit::UserLimits;

use crate::auth::Auth;
use crate::store::Store;

/// What every handler can reach.
#[derive(Clone, Debug, FromRef)]
pub struct AppState {
    pub store: Store,
    pub auth: Auth,
    pub broker: crate::bus::BrokerProbe,
    /// Fans live events out to connected stream clients.
    pub live: crate::roles::live::LiveHub,
    /// Where webhooks may point (never back at this API).
    pub webhook_policy: crate::webhook::EgressPolicy,
    /// Makes the test calls of POST /webhook/test, under that policy.
    pub webhook_client: crate::webhook::WebhookClient,
    /// Roles of this process waiting for a dependency.
    pub stalls: crate::bus::Stalls,
    /// The bounded write queue.
    pub admission: Admission,
    /// Per-user request budgets.
    pub limits: UserLimits,
    /// The last readiness verdict.
    pub readiness: health::ReadinessCache,
    /// What one user may hold and change.
    pub quotas: Quotas,
    /// How long one request may take.
    pub deadline: RequestDeadline,
    /// The web console's settings.
    pub console: crate::console::Console,
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest(
            "/api/v1",
            tasks::router()
                .merge(webhook::router())
                .merge(live::router())
                .merge(occurrences::router()),
        )
        .merge(crate::console::router())
        .merge(health::router())
        .merge(openapi::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.admission.clone(),
            admission::admit,
        ))
        .layer(axum::middleware::from_fn_with_state(state.deadline, deadline::bound))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::Internal(anyhow::anyhow!("a handler panicked")))
        }))
        // Outermost, so that sheds, panics and every status are seen (routes are matched
        // before layers run: the route template is known).
        .layer(axum::middleware::from_fn(crate::telemetry::http::observe))
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no endpoint at {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}
