//! CloudEvents 1.0 binary-mode headers and a W3C traceparent for each record.

use rand::RngCore;

use super::Event;

/// A new W3C trace context (`00-<trace id>-<span id>-01`).
pub fn traceparent() -> String {
    let mut rng = rand::thread_rng();
    let mut trace = [0u8; 16];
    let mut span = [0u8; 8];
    rng.fill_bytes(&mut trace);
    rng.fill_bytes(&mut span);
    format!("00-{}-{}-01", hex::encode(trace), hex::encode(span))
}

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
