//! The operators' listener, on its own address (`TASKSTREAM_METRICS_LISTEN`), apart from the
//! API so that it can stay inside the cluster: `/metrics` in the Prometheus text format and
//! `/status`, each role's health in JSON (503 while a role of the process waits for a
//! dependency).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{health, metrics};
use crate::bus::Stalls;

/// How often histograms are drained into their buckets.
const UPKEEP: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct Operators {
    handle: PrometheusHandle,
    process: Arc<metrics_process::Collector>,
    stalls: Stalls,
}

/// Installs the recorder and binds `address`.
///
/// # Errors
/// When the address cannot be bound or the recorder installed.
pub async fn bind(address: SocketAddr) -> anyhow::Result<TcpListener> {
    metrics::install()?;
    TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen for metrics on {address}"))
}

/// Serves `/metrics` and `/status` until `shutdown`.
///
/// # Errors
/// When the server fails.
pub async fn serve(listener: TcpListener, stalls: Stalls, shutdown: CancellationToken) -> anyhow::Result<()> {
    let handle = metrics::install()?;
    let process = metrics_process::Collector::default();
    process.describe();
    let state = Operators {
        handle: handle.clone(),
        process: Arc::new(process),
        stalls,
    };
    let upkeep = shutdown.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = upkeep.cancelled() => return,
                () = tokio::time::sleep(UPKEEP) => handle.run_upkeep(),
            }
        }
    });
    let router = Router::new()
        .route("/metrics", get(scrape))
        .route("/status", get(status))
        .with_state(state);
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .context("metrics listener failed")
}

async fn scrape(State(operators): State<Operators>) -> Response {
    operators.process.collect();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        operators.handle.render(),
    )
        .into_response()
}

/// Each role's health; 503 while any role waits for a dependency (the reason is in the log).
async fn status(State(operators): State<Operators>) -> Response {
    let (ready, mut body) = health::report(&operators.stalls);
    body["status"] = json!(if ready { "ready" } else { "not ready" });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}
