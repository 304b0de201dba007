//! The live stream: GET /api/v1/stream sends the caller's task changes and fired reminders
//! as Server-Sent Events while the client is connected, from the process's [`LiveHub`](crate::roles::live::LiveHub) (the
//! `live` role, `roles::live`). A client that reconnects with `Last-Event-ID` gets what it
//! missed meanwhile; when that id is no longer buffered (a long absence, or another API
//! process) it gets a `resync` event and should reload through the REST API. A user may hold
//! [`STREAMS_PER_USER`](crate::roles::live::STREAMS_PER_USER) streams and the process
//! [`STREAMS_TOTAL`](crate::roles::live::STREAMS_TOTAL) (429 beyond).

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;

use super::{ApiError, AppState};
use crate::api::Caller;
use crate::roles::live::LiveEvent;

pub fn router() -> Router<AppState> {
    Router::new().route("/stream", get(stream))
}

fn to_sse(event: &Arc<LiveEvent>) -> SseEvent {
    SseEvent::default()
        .id(event.id.clone())
        .event(event.kind.clone())
        .data(event.json.clone())
}

/// One event of the stream as it goes over the wire (documentation only).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct StreamEvent {
    /// task.created, task.updated, task.completed, task.reopened, task.deleted,
    /// reminder.fired, or resync (reload through the REST API)
    event: String,
    /// The event as docs/events.md describes it; for resync, why
    data: String,
    /// What to send back as Last-Event-ID (not on resync)
    id: Option<String>,
}

/// Live task changes and fired reminders of the caller (Server-Sent Events). Send
/// `Last-Event-ID` when reconnecting to get what was missed. The stream ends with a
/// `token-expired` event when the caller's token expires: reconnect with a fresh one.
#[utoipa::path(get, path = "/api/v1/stream", tag = "live",
    params(("Last-Event-ID" = Option<String>, Header, description = "id of the last event received")),
    responses((status = 200, description = "task.* and reminder.fired events", content_type = "text/event-stream", body = StreamEvent)),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let hub = state.live.clone();
    let user = caller.user.as_str().to_owned();
    let slot = hub.open_stream(&user).ok_or(ApiError::TooManyRequests {
        retry_after: Duration::from_secs(5),
    })?;
    let last_id = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let (receiver, missed) = hub.resume(&user, last_id);
    let missed: Vec<SseEvent> = match missed {
        Some(events) => events.iter().map(to_sse).collect(),
        None => vec![SseEvent::default()
            .event("resync")
            .data("{\"reason\":\"events since Last-Event-ID are no longer buffered; reload\"}")],
    };
    let live = BroadcastStream::new(receiver).filter_map(move |item| {
        let mine = match &item {
            Ok(event) => event.user_id == user,
            Err(_) => true,
        };
        async move {
            match item {
                Ok(event) if mine => Some(to_sse(&event)),
                Ok(_) => None,
                // The client fell behind the channel: tell it to reload.
                Err(_) => Some(
                    SseEvent::default()
                        .event("resync")
                        .data("{\"reason\":\"the stream fell behind; reload\"}"),
                ),
            }
        }
    });
    let (stop, expired) = (hub.stop.clone(), Arc::new(AtomicBool::new(false)));
    let until_expiry = Duration::from_secs(caller.expires_at.saturating_sub(jsonwebtoken::get_current_timestamp()));
    let ended = {
        let expired = expired.clone();
        async move {
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(until_expiry) => expired.store(true, Ordering::Relaxed),
            }
        }
    };
    // After the token's expiry the caller would be refused: say so, and end.
    let farewell = stream::once(async move { expired.load(Ordering::Relaxed) }).filter_map(|expired| async move {
        expired.then(|| {
            SseEvent::default()
                .event("token-expired")
                .data("{\"reason\":\"the token has expired; reconnect with a fresh one\"}")
        })
    });
    let events = stream::iter(missed)
        .chain(live)
        .take_until(ended)
        .chain(farewell)
        .map(move |event| {
            let _open = &slot; // counted while the client holds the stream
            Ok(event)
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
