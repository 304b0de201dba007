//! The `live` role: every API process reads task-events and task-reminders in a consumer
//! group of its own and fans the events out to its connected stream clients (the SSE endpoint
//! is `api::live`). The last events are kept in a bounded buffer, so a client that reconnects
//! with `Last-Event-ID` gets what it missed meanwhile.
//!
//! Bounds: the buffer holds at most [`BUFFER`] events and [`BUFFER_BYTES`] of payload; an
//! event's payload is shared by every client, not copied per connection; a user may hold
//! [`STREAMS_PER_USER`] streams and the process [`STREAMS_TOTAL`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

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
    pub(crate) stop: CancellationToken,
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
    pub fn resume(
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
    pub fn open_stream(&self, user: &str) -> Option<StreamSlot> {
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
pub struct StreamSlot {
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
    type Done = ();

    async fn handle(&self, _tx: &mut Tx, _event: &Event, (): ()) -> Result<(), HandlerError> {
        Ok(())
    }

    fn committed(&self, event: &Event, (): ()) {
        self.0.publish(event);
    }
}
