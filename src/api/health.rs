//! Liveness and readiness probes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

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

/// The last readiness verdict, reused for a second: a probe storm costs one check a second,
/// not one database and broker round trip per request.
#[derive(Clone, Debug, Default)]
pub struct ReadinessCache(Arc<Mutex<Option<(Instant, Verdict)>>>);

/// What /readyz tells anyone who asks: which checks failed, never their error texts (those
/// go to the log).
#[derive(Clone, Debug)]
struct Verdict {
    failed: Vec<String>,
}

impl Verdict {
    /// Each check by name: "ok", or what failed (roles by name).
    fn checks(&self) -> Value {
        let failed = |name: &str| self.failed.iter().any(|f| f == name);
        let waiting: Vec<&str> = self.failed.iter().filter_map(|f| f.strip_prefix("role ")).collect();
        json!({
            "database": if failed("database") { "failed" } else { "ok" },
            "broker": if failed("broker") { "failed" } else { "ok" },
            "roles": if waiting.is_empty() { "ok".to_owned() } else { format!("waiting: {}", waiting.join(", ")) },
        })
    }
}

const CACHE_FOR: Duration = Duration::from_secs(1);

impl ReadinessCache {
    async fn verdict(&self, state: &AppState) -> Verdict {
        if let Some((at, verdict)) = self.0.lock().ok().and_then(|c| c.clone()) {
            if at.elapsed() < CACHE_FOR {
                return verdict;
            }
        }
        let verdict = check(state).await;
        if let Ok(mut cache) = self.0.lock() {
            *cache = Some((Instant::now(), verdict.clone()));
        }
        verdict
    }
}

async fn check(state: &AppState) -> Verdict {
    let (database, broker) = tokio::join!(
        tokio::time::timeout(Duration::from_secs(2), state.store.ping()),
        state.broker.check(Duration::from_secs(2)),
    );
    let mut failed = Vec::new();
    let mut details = Vec::new();
    match database {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            failed.push("database".to_owned());
            details.push(format!("database: {error}"));
        }
        Err(_) => {
            failed.push("database".to_owned());
            details.push("database: no answer within 2 s".to_owned());
        }
    }
    if let Err(error) = broker {
        failed.push("broker".to_owned());
        details.push(format!("broker: {error}"));
    }
    for (role, why) in state.stalls.current() {
        failed.push(format!("role {role}"));
        details.push(format!("role {role} waiting: {why}"));
    }
    if !details.is_empty() {
        tracing::warn!(checks = ?details, "not ready");
    }
    Verdict { failed }
}

/// The process can serve: its database and its broker answer, and none of its roles is
/// waiting for a dependency (503 otherwise, an orchestrator's cue). Either way the body details
/// each role of the process (ready, lag, records, parked records, time since its last record)
/// and the queues it samples (outbox backlog, pending reminders, waiting deliveries); lag alone
/// never makes a process unready (taking it out of service would not help it catch up). The
/// checks come from a verdict at most a second old; error texts stay in the log.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "Ready, with each role's detail"), (status = 503, description = "A dependency is down or a role waits for one", body = super::Problem, content_type = "application/problem+json")))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let verdict = state.readiness.verdict(&state).await;
    let (_, detail) = crate::telemetry::health::report(&state.stalls);
    let mut members = match detail {
        Value::Object(members) => members,
        _ => Map::new(),
    };
    members.insert("checks".to_owned(), verdict.checks());
    if verdict.failed.is_empty() {
        members.insert("status".to_owned(), json!("ready"));
        Json(Value::Object(members)).into_response()
    } else {
        ApiError::Unavailable(format!(
            "not ready: {} (details in the service log)",
            verdict.failed.join(", ")
        ))
        .with_members(members)
    }
}
