//! Liveness and readiness probes.

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{ApiError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Alive")))]
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The process can serve: its database and its broker answer, and none of its roles is
/// waiting for a dependency.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "Ready"), (status = 503, description = "A dependency is down", body = super::Problem, content_type = "application/problem+json")))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let (database, broker) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(2), state.store.ping()),
        state.broker.check(Duration::from_secs(2)),
    );
    let database = match database {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(format!("database: {error}")),
        Err(_) => Err("database: no answer within 2 s".to_owned()),
    };
    let broker = broker.map_err(|error| format!("broker: {error}"));
    let stalled: Vec<String> = state
        .stalls
        .current()
        .into_iter()
        .map(|(role, why)| format!("role {role} waiting: {why}"))
        .collect();
    match (database, broker) {
        (Ok(()), Ok(())) if stalled.is_empty() => Ok(Json(
            json!({ "status": "ready", "checks": { "database": "ok", "broker": "ok", "roles": "ok" } }),
        )),
        (database, broker) => {
            let failed: Vec<String> = [database.err(), broker.err()]
                .into_iter()
                .flatten()
                .chain(stalled)
                .collect();
            tracing::warn!(checks = ?failed, "not ready");
            Err(ApiError::Unavailable(format!("not ready: {}", failed.join("; "))))
        }
    }
}
