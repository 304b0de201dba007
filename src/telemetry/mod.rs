//! What operators see: logs (human or JSON lines), the W3C trace context that ties a change
//! to its effects, Prometheus metrics and each role's health on an opt-in listener.

pub mod health;
pub mod http;
pub mod listener;
pub mod metrics;
pub mod otlp;
pub mod sampler;
pub mod status;
pub mod trace;

use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::Metadata;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer, Registry};

use crate::config::{LogFormat, OtlpSettings};

/// Installs the global subscriber, with OTLP export when `otlp` names an endpoint. Safe to
/// call more than once (later calls do nothing), which the tests rely on. JSON lines carry
/// the fields of the spans they happen in (trace id, user, task, event, role, topic,
/// partition, offset) under `span` and `spans`. Must run inside the tokio runtime.
///
/// # Errors
/// OTLP settings that make no sense (see [`OtlpSettings::traces_url`]).
pub fn init(filter: &str, format: LogFormat, otlp: &OtlpSettings) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let Some(export) = otlp::Export::build(otlp)? else {
        // Without export the log filter is the subscriber's own: spans it turns away cost nothing.
        let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
        let _ = match format {
            LogFormat::Human => builder.try_init(),
            LogFormat::Json => builder.json().flatten_event(true).try_init(),
        };
        return Ok(());
    };
    // The log filter applies to the log lines alone: spans are exported at info and above
    // however quiet the logs are. Not the API handlers' spans: the request's span already
    // says what they would (route, user, task), and each exported span costs CPU.
    let logs = match format {
        LogFormat::Human => fmt::layer().with_writer(std::io::stderr).boxed(),
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .boxed(),
    };
    let spans = export.layer().with_filter(AlwaysAsk(
        Targets::new()
            .with_target("taskstream", tracing::Level::INFO)
            .with_target("taskstream::api", tracing::level_filters::LevelFilter::OFF),
    ));
    let installed = Registry::default()
        .with(logs.with_filter(filter))
        .with(spans)
        .try_init();
    match installed {
        Ok(()) => export.activate(),
        Err(_) => export.discard(),
    }
    Ok(())
}

/// A per-layer filter that never lets a callsite's interest be cached as "always".
///
/// With two per-layer filters, tracing-subscriber carries each filter's verdict from
/// `enabled` to `on_event`/`on_new_span` in a thread-local; a callsite cached as "always"
/// skips `enabled`, so it reads the verdict left by the last unrelated `enabled` call (a `log`
/// crate level check from librdkafka or sqlx leaves "disabled") and the event or span is
/// silently dropped (tokio-rs/tracing#2519, seen here: the shutdown's warning lost). Asking
/// every time costs one filter check an event.
struct AlwaysAsk<F>(F);

impl<S, F: Filter<S>> Filter<S> for AlwaysAsk<F> {
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        self.0.enabled(meta, cx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        let interest = self.0.callsite_enabled(meta);
        if interest.is_always() {
            Interest::sometimes()
        } else {
            interest
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.0.max_level_hint()
    }
}

/// Sends the spans still waiting for export (at shutdown).
pub async fn flush() {
    otlp::flush().await;
}
