//! OpenTelemetry export over OTLP/HTTP (protobuf), off unless an endpoint is configured.
//!
//! The service's own [`TraceContext`] stays the source of truth: a span that does work for a
//! request or a record is exported as a child of the `traceparent` it continues, and the
//! context the work then carries (on events, on schedule rows, on webhook calls) takes the
//! exported span's ids, so every `traceparent` the service writes names a span a collector
//! has. Spans are batched and sent by the SDK's export thread: a finished span goes into a
//! bounded queue without waking anyone (the thread wakes when a batch is full or the
//! schedule delay passes), so no request pays for a task wake-up per span, and none waits on
//! the network. Flushed at shutdown.

use std::any::TypeId;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::trace::{BatchSpanProcessor, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{span, Metadata};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::{self, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::trace::TraceContext;
use crate::config::OtlpSettings;

/// The provider while export is on: its presence is what [`enabled`] asks.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The longest a shutdown waits for the last spans to reach the collector.
const FLUSH_LIMIT: Duration = Duration::from_secs(5);
/// The longest one export call may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether spans are being exported.
pub fn enabled() -> bool {
    PROVIDER.get().is_some()
}

/// An exporter ready to be installed: the `tracing` layer and the provider behind it.
pub struct Export {
    provider: SdkTracerProvider,
}

impl Export {
    /// Builds the exporter when `settings` name an endpoint; `None` when export is off. Must
    /// run inside the tokio runtime (the exporter is built there).
    ///
    /// # Errors
    /// An endpoint that is not an http(s) URL, or a protocol other than http/protobuf.
    pub fn build(settings: &OtlpSettings) -> anyhow::Result<Option<Self>> {
        let Some(url) = settings.traces_url()? else {
            return Ok(None);
        };
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(url)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .context("OTEL_EXPORTER_OTLP_ENDPOINT: cannot build the OTLP exporter")?;
        let resource = Resource::builder()
            .with_service_name(settings.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(BatchSpanProcessor::builder(exporter).build())
            .with_resource(resource)
            .build();
        Ok(Some(Self { provider }))
    }

    /// The `tracing` layer that turns spans into exported ones, minus the `trace_id` and
    /// `span_id` fields spans record for the log lines: an exported span carries its ids
    /// already, and repeating them as attributes would cost every span two conversions and
    /// two encodings.
    pub fn layer<S>(&self) -> WithoutIds<tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        // Entering and leaving a span (each poll of a request's future) costs nothing extra:
        // no OpenTelemetry context is activated (parents come from tracing's own span tree
        // and from TraceContext) and no busy/idle times are kept.
        WithoutIds(
            tracing_opentelemetry::layer()
                .with_tracer(self.provider.tracer("taskstream"))
                .with_context_activation(false)
                .with_tracked_inactivity(false)
                .with_threads(false)
                .with_location(false),
        )
    }

    /// Export is on from now: spans started later get exported ids.
    pub fn activate(self) {
        let _ = PROVIDER.set(self.provider);
    }

    /// Stops the batch task of an exporter that was never activated.
    pub fn discard(self) {
        let _ = self.provider.shutdown();
    }
}

/// The context of `span`, the exported span that continues `parent` (or starts a trace):
/// `None` when export is off or `span` is not exported, and the caller keeps its own.
pub(super) fn adopt(span: &tracing::Span, parent: Option<TraceContext>) -> Option<TraceContext> {
    if !enabled() {
        return None;
    }
    if let Some(parent) = parent {
        let (trace_id, span_id, flags) = parent.ids();
        let remote = SpanContext::new(
            TraceId::from_bytes(trace_id),
            SpanId::from_bytes(span_id),
            TraceFlags::new(flags),
            true,
            TraceState::default(),
        );
        span.set_parent(Context::new().with_remote_span_context(remote)).ok()?;
    }
    let exported = span.context();
    let exported = exported.span();
    let ids = exported.span_context();
    ids.is_valid().then(|| {
        TraceContext::from_ids(
            ids.trace_id().to_bytes(),
            ids.span_id().to_bytes(),
            ids.trace_flags().to_u8(),
        )
    })
}

/// Sends the spans still waiting and stops export, within [`FLUSH_LIMIT`].
pub async fn flush() {
    let Some(provider) = PROVIDER.get().cloned() else {
        return;
    };
    // The processor's shutdown blocks its caller until the batch task has sent: off the
    // runtime's workers, which that task needs.
    let done = tokio::time::timeout(FLUSH_LIMIT, tokio::task::spawn_blocking(move || provider.shutdown())).await;
    match done {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(error))) => tracing::warn!(%error, "spans not exported at shutdown"),
        Ok(Err(error)) => tracing::warn!(%error, "spans not exported at shutdown"),
        Err(_) => {
            tracing::warn!(limit = ?FLUSH_LIMIT, "spans not exported at shutdown: the collector did not answer in time")
        }
    }
}

/// A layer that passes everything on to its inner one except the recording of the fields
/// named in [`IDS`] alone (they are recorded one at a time, after the span starts).
pub struct WithoutIds<L>(L);

/// The fields [`WithoutIds`] keeps from its inner layer.
const IDS: [&str; 2] = ["trace_id", "span_id"];

impl<S: tracing::Subscriber, L: Layer<S>> Layer<S> for WithoutIds<L> {
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        self.0.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.0.on_layer(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.0.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: layer::Context<'_, S>) -> bool {
        self.0.enabled(metadata, ctx)
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: layer::Context<'_, S>) {
        self.0.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: layer::Context<'_, S>) {
        let mut others = Others(false);
        values.record(&mut others);
        if others.0 {
            self.0.on_record(id, values, ctx);
        }
    }

    fn on_follows_from(&self, id: &span::Id, follows: &span::Id, ctx: layer::Context<'_, S>) {
        self.0.on_follows_from(id, follows, ctx);
    }

    fn event_enabled(&self, event: &tracing::Event<'_>, ctx: layer::Context<'_, S>) -> bool {
        self.0.event_enabled(event, ctx)
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: layer::Context<'_, S>) {
        self.0.on_event(event, ctx);
    }

    fn on_enter(&self, id: &span::Id, ctx: layer::Context<'_, S>) {
        self.0.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &span::Id, ctx: layer::Context<'_, S>) {
        self.0.on_exit(id, ctx);
    }

    fn on_close(&self, id: span::Id, ctx: layer::Context<'_, S>) {
        self.0.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &span::Id, new: &span::Id, ctx: layer::Context<'_, S>) {
        self.0.on_id_change(old, new, ctx);
    }

    // The exported span's context is found by downcasting the subscriber to the inner layer.
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            Some(std::ptr::from_ref(self).cast())
        } else {
            // SAFETY: forwarded unchanged; the inner layer upholds the contract for itself.
            unsafe { self.0.downcast_raw(id) }
        }
    }
}

/// Whether a record names any field but the ids.
struct Others(bool);

impl Visit for Others {
    fn record_debug(&mut self, field: &Field, _: &dyn std::fmt::Debug) {
        self.0 |= !IDS.contains(&field.name());
    }
}
