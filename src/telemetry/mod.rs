//! What operators see: logs (human or JSON lines), the W3C trace context that ties a change
//! to its effects, Prometheus metrics and each role's health on an opt-in listener.

pub mod health;
pub mod http;
pub mod listener;
pub mod metrics;
pub mod sampler;
pub mod status;
pub mod trace;

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

/// Installs the global subscriber. Safe to call more than once (later calls do nothing),
/// which the tests rely on. JSON lines carry the fields of the spans they happen in (trace
/// id, user, task, event, role, topic, partition, offset) under `span` and `spans`.
pub fn init(filter: &str, format: LogFormat) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
