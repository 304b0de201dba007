//! W3C trace context (`traceparent`): one trace id follows a change from the HTTP request
//! that caused it, through the outbox and the broker, to every role's effect and the events
//! those effects write.
//!
//! The context of the work in hand lives in a task-local: the HTTP layer and the consumer
//! runtime set it around a request or a record, and the outbox reads it when it writes an
//! event's headers, so no call chain in between has to carry it.

use std::fmt;
use std::future::Future;

use rand::RngCore;

tokio::task_local! {
    static CURRENT: TraceContext;
}

/// A position in a trace: the trace id and the id of the span doing the work.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    flags: u8,
}

/// The header's version this module writes.
const VERSION: &str = "00";
/// Longest header accepted: version 00 is 55 characters; later versions may append fields.
const MAX_LEN: usize = 512;

impl TraceContext {
    /// A new trace, sampled.
    pub fn root() -> Self {
        let mut rng = rand::thread_rng();
        let mut context = Self {
            trace_id: [0; 16],
            span_id: [0; 8],
            flags: 1,
        };
        while context.trace_id == [0; 16] {
            rng.fill_bytes(&mut context.trace_id);
        }
        context.span_id = new_span_id();
        context
    }

    /// A span of this trace whose parent is this one.
    pub fn child(&self) -> Self {
        Self {
            span_id: new_span_id(),
            ..*self
        }
    }

    /// The context of the work `span` does, continuing `parent` (or starting a trace). With
    /// OTLP export on, these are the ids of the span exported for `span`, whose parent is
    /// `parent`; without, a child of `parent` of the service's own making.
    pub fn start(span: &tracing::Span, parent: Option<Self>) -> Self {
        super::otlp::adopt(span, parent).unwrap_or_else(|| parent.map_or_else(Self::root, |parent| parent.child()))
    }

    pub(super) fn from_ids(trace_id: [u8; 16], span_id: [u8; 8], flags: u8) -> Self {
        Self {
            trace_id,
            span_id,
            flags,
        }
    }

    pub(super) fn ids(&self) -> ([u8; 16], [u8; 8], u8) {
        (self.trace_id, self.span_id, self.flags)
    }

    /// Reads a `traceparent` header; `None` for anything the W3C format refuses (callers
    /// then start a new trace, as the specification asks).
    pub fn parse(header: &str) -> Option<Self> {
        let header = header.trim();
        if header.len() > MAX_LEN {
            return None;
        }
        let mut fields = header.split('-');
        let version = fields.next()?;
        let (trace, span, flags) = (fields.next()?, fields.next()?, fields.next()?);
        let version = u8::from_str_radix(hex_field(version, 2)?, 16).ok()?;
        // Version 00 has exactly four fields; a later one may have more (read what we know).
        if version == 0xff || (version == 0 && fields.next().is_some()) {
            return None;
        }
        let mut context = Self {
            trace_id: [0; 16],
            span_id: [0; 8],
            flags: 0,
        };
        hex::decode_to_slice(hex_field(trace, 32)?, &mut context.trace_id).ok()?;
        hex::decode_to_slice(hex_field(span, 16)?, &mut context.span_id).ok()?;
        context.flags = u8::from_str_radix(hex_field(flags, 2)?, 16).ok()?;
        let valid = context.trace_id != [0; 16] && context.span_id != [0; 8];
        valid.then_some(context)
    }

    /// The `traceparent` header naming this span as the parent.
    pub fn header(&self) -> String {
        format!(
            "{VERSION}-{}-{}-{:02x}",
            hex::encode(self.trace_id),
            hex::encode(self.span_id),
            self.flags
        )
    }

    /// The trace id, 32 lowercase hex digits.
    pub fn trace_id(&self) -> String {
        hex::encode(self.trace_id)
    }

    /// The span id, 16 lowercase hex digits.
    pub fn span_id(&self) -> String {
        hex::encode(self.span_id)
    }

    /// The context of the work in hand, if any.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(|context| *context).ok()
    }

    /// The `traceparent` for a record written now: the current span as parent, or a new
    /// trace when nothing is in hand (a timer firing reminders).
    pub fn outgoing() -> String {
        Self::current().unwrap_or_else(Self::root).header()
    }

    /// Runs `work` as this span.
    pub async fn scope<F: Future>(self, work: F) -> F::Output {
        CURRENT.scope(self, work).await
    }
}

impl fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header())
    }
}

fn new_span_id() -> [u8; 8] {
    let mut rng = rand::thread_rng();
    let mut id = [0u8; 8];
    while id == [0; 8] {
        rng.fill_bytes(&mut id);
    }
    id
}

/// `field` when it is `len` lowercase hex digits (the specification forbids upper case).
fn hex_field(field: &str, len: usize) -> Option<&str> {
    (field.len() == len && field.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))).then_some(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_header_reads_back_the_same() {
        let context = TraceContext::parse(SAMPLE).expect("valid");
        assert_eq!(context.header(), SAMPLE);
        assert_eq!(context.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(context.span_id(), "00f067aa0ba902b7");
    }

    #[test]
    fn a_child_keeps_the_trace_and_gets_a_new_span() {
        let parent = TraceContext::parse(SAMPLE).expect("valid");
        let child = parent.child();
        assert_eq!(child.trace_id(), parent.trace_id());
        assert_ne!(child.span_id(), parent.span_id());
        assert_eq!(TraceContext::parse(&child.header()), Some(child));
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            "",
            "00",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_later_version_with_more_fields_is_read() {
        let header = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future";
        let context = TraceContext::parse(header).expect("forward compatible");
        assert_eq!(context.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[tokio::test]
    async fn outgoing_continues_the_current_trace() {
        let context = TraceContext::root();
        let header = context.scope(async { TraceContext::outgoing() }).await;
        assert_eq!(header, context.header());
        let outside = TraceContext::parse(&TraceContext::outgoing()).expect("valid");
        assert_ne!(outside.trace_id(), context.trace_id());
    }
}
