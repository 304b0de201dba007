//! CloudEvents 1.0 binary-mode headers and a W3C traceparent for each record (the trace
//! context itself is [`crate::telemetry::trace`]'s).

use super::Event;

/// The headers a record of `event` carries, produced by `source` (e.g. "/taskstream/api").
pub fn cloud_event_headers(event: &Event, source: &str, traceparent: &str) -> Vec<(String, String)> {
    let h = &event.header;
    vec![
        ("ce_specversion".into(), "1.0".into()),
        ("ce_id".into(), h.event_id.to_string()),
        ("ce_source".into(), source.into()),
        ("ce_type".into(), h.event_type.clone()),
        ("ce_time".into(), h.occurred_at.clone()),
        ("ce_subject".into(), h.task_id.to_string()),
        ("content-type".into(), "application/json".into()),
        ("traceparent".into(), traceparent.into()),
    ]
}
