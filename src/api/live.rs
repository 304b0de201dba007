//! The live stream: GET /api/v1/stream sends the caller's task changes and fired reminders
//! as Server-Sent Events while the client is connected.
//!
//! Every API process reads task-events and task-reminders in a consumer group of its own
//! (the `live` role) and fans events out to its connected clients. The last events are kept
//! in a bounded buffer, so a client that reconnects with `Last-Event-ID` gets what it missed
//! meanwhile; when that id is no longer in the buffer (a long absence, or another API
//! process) it gets a `resync` event and should reload through the REST API.
//!
//! Bounds: the buffer holds at most [`BUFFER`] events and [`BUFFER_BYTES`] of payload; an
//! event's payload is shared by every client, not copied per connection; a user may hold
//! [`STREAMS_PER_USER`] streams and the process [`STREAMS_TOTAL`] (429 beyond).

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
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

use super::{ApiError, AppState};
use crate::auth::Caller;
use crate::bus::consumer::{Handler, HandlerError, Membership};
use crate::events::{Event, EventData, Topic};
use crate::store::Tx;

/// Events kept for clients that reconnect, at most.
const BUFFER: usize = 10_000;
/// Payload bytes kept for clients that reconnect, at most.
const BUFFER_BYTES: usize = 32 * 1024 * 1024;
/// Open streams one user may hold in one API process.
pub const STREAMS_PER_USER: usize = 5;
/// Open streams one API process serves.
pub const STREAMS_TOTAL: usize = 1_000;

/// One event as the stream sends it; shared by every client that receives it.
#[derive(Debug)]
pub struct LiveEvent {
    pub id: String,
    pub user_id: String,
    pub kind: String,
    pub json: String,
}

/// The buffer of recent events, bounded in count and bytes.
#[derive(Default)]
struct Recent {
    events: VecDeque<Arc<LiveEvent>>,
    bytes: usize,
}

impl Recent {
    fn push(&mut self, event: Arc<LiveEvent>) {
        self.bytes += event.json.len();
        self.events.push_back(event);
        while self.events.len() > BUFFER || self.bytes > BUFFER_BYTES {
            match self.events.pop_front() {
                Some(old) => self.bytes -= old.json.len(),
                None => break,
            }
        }
    }
}

/// Fans events out to connected clients; cheap to clone.
#[derive(Clone)]
pub struct LiveHub {
    sender: broadcast::Sender<Arc<LiveEvent>>,
    recent: Arc<Mutex<Recent>>,
    /// Open streams per user.
    open: Arc<Mutex<HashMap<String, usize>>>,
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
            recent: Arc::new(Mutex::new(Recent::default())),
            open: Arc::new(Mutex::new(HashMap::new())),
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
        let live = Arc::new(LiveEvent {
            id: event.header.event_id.to_string(),
            user_id: event.header.user_id.clone(),
            kind: event.header.event_type.clone(),
            json,
        });
        // Buffer and send under one lock, so a stream that resumes (reading the buffer under
        // the same lock) sees each event either in the buffer or on its subscription.
        if let Ok(mut recent) = self.recent.lock() {
            recent.push(live.clone());
            let _ = self.sender.send(live); // no client connected is fine
        }
    }

    /// Subscribes and, with `last_id`, reads the user's buffered events after it, at one
    /// instant: nothing falls between the two. The events are `None` when `last_id` is no
    /// longer buffered.
    fn resume(
        &self,
        user: &str,
        last_id: Option<&str>,
    ) -> (broadcast::Receiver<Arc<LiveEvent>>, Option<Vec<Arc<LiveEvent>>>) {
        let Ok(recent) = self.recent.lock() else {
            return (self.sender.subscribe(), None);
        };
        let receiver = self.sender.subscribe();
        let missed = match last_id {
            None => Some(Vec::new()),
            Some(last_id) => recent.events.iter().position(|e| e.id == last_id).map(|position| {
                recent
                    .events
                    .iter()
                    .skip(position + 1)
                    .filter(|e| e.user_id == user)
                    .cloned()
                    .collect()
            }),
        };
        (receiver, missed)
    }

    /// A slot for one more stream of `user`, or `None` when the user or the process is at
    /// its cap. The slot frees itself when dropped (the client went away).
    fn open_stream(&self, user: &str) -> Option<StreamSlot> {
        let mut open = self.open.lock().ok()?;
        let total: usize = open.values().sum();
        let mine = open.entry(user.to_owned()).or_default();
        if *mine >= STREAMS_PER_USER || total >= STREAMS_TOTAL {
            return None;
        }
        *mine += 1;
        Some(StreamSlot {
            open: self.open.clone(),
            user: user.to_owned(),
        })
    }
}

/// One open stream, counted until dropped.
struct StreamSlot {
    open: Arc<Mutex<HashMap<String, usize>>>,
    user: String,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.open.lock() {
            if let Some(count) = open.get_mut(&self.user) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    open.remove(&self.user);
                }
            }
        }
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

    async fn handle(&self, _tx: &mut Tx, _event: &Event, (): ()) -> Result<(), HandlerError> {
        Ok(())
    }

    fn committed(&self, event: &Event) {
        self.0.publish(event);
    }
}

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
