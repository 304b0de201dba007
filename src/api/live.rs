//! The live stream: GET /api/v1/stream sends the caller's task changes and fired reminders
//! as Server-Sent Events while the client is connected.
//!
//! Every API process reads task-events and task-reminders in a consumer group of its own
//! (the `live` role) and fans events out to its connected clients. The last events are kept
//! in a bounded buffer, so a client that reconnects with `Last-Event-ID` gets what it missed
//! meanwhile; when that id is no longer in the buffer (a long absence, or another API
//! process) it gets a `resync` event and should reload through the REST API.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream, StreamExt};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_util::sync::CancellationToken;

use super::AppState;
use crate::auth::CurrentUser;
use crate::bus::consumer::{Handler, HandlerError, Membership};
use crate::events::{Event, EventData, Topic};
use crate::store::Tx;

/// Events kept for clients that reconnect.
const BUFFER: usize = 10_000;

/// One event as the stream sends it.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub json: String,
}

/// Fans events out to connected clients; cheap to clone.
#[derive(Clone)]
pub struct LiveHub {
    sender: broadcast::Sender<LiveEvent>,
    recent: Arc<Mutex<VecDeque<LiveEvent>>>,
    /// Ends every open stream when the process stops.
    stop: CancellationToken,
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveHub")
    }
}

impl LiveHub {
    pub fn new(stop: CancellationToken) -> Self {
        Self {
            sender: broadcast::channel(4_096).0,
            recent: Arc::new(Mutex::new(VecDeque::with_capacity(BUFFER))),
            stop,
        }
    }

    fn publish(&self, event: &Event) {
        let wanted = matches!(
            event.data,
            EventData::TaskCreated(_)
                | EventData::TaskUpdated(_)
                | EventData::TaskCompleted(_)
                | EventData::TaskReopened(_)
                | EventData::TaskDeleted(_)
                | EventData::ReminderFired(_)
        );
        if !wanted {
            return;
        }
        let Ok(json) = event.encode() else { return };
        let live = LiveEvent {
            id: event.header.event_id.to_string(),
            user_id: event.header.user_id.clone(),
            kind: event.header.event_type.clone(),
            json,
        };
        if let Ok(mut recent) = self.recent.lock() {
            if recent.len() == BUFFER {
                recent.pop_front();
            }
            recent.push_back(live.clone());
        }
        let _ = self.sender.send(live); // no client connected is fine
    }

    /// The user's buffered events after `last_id`; `None` when `last_id` is not buffered.
    fn since(&self, user: &str, last_id: &str) -> Option<Vec<LiveEvent>> {
        let recent = self.recent.lock().ok()?;
        let position = recent.iter().position(|e| e.id == last_id)?;
        Some(
            recent
                .iter()
                .skip(position + 1)
                .filter(|e| e.user_id == user)
                .cloned()
                .collect(),
        )
    }
}

/// The `live` consumer role: every API process runs one.
pub struct Live(pub LiveHub);

impl Handler for Live {
    fn name(&self) -> &'static str {
        "live"
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::TaskEvents, Topic::TaskReminders]
    }

    fn membership(&self) -> Membership {
        Membership::PerProcess
    }

    type Prepared = ();

    fn handle<'a>(
        &'a self,
        _tx: &'a mut Tx,
        _event: &'a Event,
        (): (),
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a {
        async { Ok(()) }
    }

    fn committed(&self, event: &Event) {
        self.0.publish(event);
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/stream", get(stream))
}

fn to_sse(event: &LiveEvent) -> SseEvent {
    SseEvent::default()
        .id(event.id.clone())
        .event(event.kind.clone())
        .data(event.json.clone())
}

/// Live task changes and fired reminders of the caller (Server-Sent Events). Send
/// `Last-Event-ID` when reconnecting to get what was missed.
#[utoipa::path(get, path = "/api/v1/stream", tag = "live",
    params(("Last-Event-ID" = Option<String>, Header, description = "id of the last event received")),
    responses((status = 200, description = "text/event-stream of task.* and reminder.fired events")),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let hub = state.live.clone();
    let user = user.as_str().to_owned();
    // Subscribe before reading the buffer, so nothing falls between the two.
    let live = BroadcastStream::new(hub.sender.subscribe());
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let missed: Vec<SseEvent> = match &last_id {
        None => Vec::new(),
        Some(id) => match hub.since(&user, id) {
            Some(events) => events.iter().map(to_sse).collect(),
            None => vec![SseEvent::default()
                .event("resync")
                .data("{\"reason\":\"events since Last-Event-ID are no longer buffered; reload\"}")],
        },
    };
    let replayed: std::collections::HashSet<String> = match &last_id {
        Some(id) => hub
            .since(&user, id)
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.id)
            .collect(),
        None => Default::default(),
    };
    let live = live.filter_map(move |item| {
        let user = user.clone();
        let replayed = replayed.clone();
        async move {
            match item {
                Ok(event) if event.user_id == user && !replayed.contains(&event.id) => Some(to_sse(&event)),
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
    let stop = hub.stop.clone();
    let events = stream::iter(missed)
        .chain(live)
        .take_until(async move { stop.cancelled().await })
        .map(Ok);
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
