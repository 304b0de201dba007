//! A role's effect applied to decoded events, exactly once through the role's inbox: one
//! event ([`apply_once`]) or a batch in one transaction ([`apply_batch`]). Retries, the
//! attempt deadline, panics and the DLQ stay with the runtime (`consumer::run`); these are
//! public so that a role's logic can be driven without a broker.

use std::collections::HashSet;

use tracing::Instrument;

use super::consumer::{Handler, HandlerError, Membership};
use crate::events::Event;
use crate::store::{Store, INBOX_MAX_IDS};
use crate::telemetry::trace::TraceContext;

/// What was done with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The role's effect ran: for a shared role, committed in one transaction with the
    /// event's inbox row.
    Effect,
    /// The role's inbox already held the event: nothing ran.
    Duplicate,
}

/// The most events [`apply_batch`] takes at once.
pub const MAX_BATCH: usize = INBOX_MAX_IDS;

/// Applies one decoded event to `handler` the way the runtime does with a record it takes
/// alone: for a shared role the inbox check, `prepare`, one transaction that claims the
/// event in the inbox and applies the effect, the commit, then `committed`; a fan-out role
/// only prepares and is told.
///
/// # Errors
/// The handler's failure; a database failure as [`HandlerError::Transient`].
pub async fn apply_once<H: Handler>(store: &Store, handler: &H, event: &Event) -> Result<Applied, HandlerError> {
    if handler.membership() == Membership::PerProcess {
        handler.prepare(event).await?;
        handler.committed(event, H::Done::default());
        return Ok(Applied::Effect);
    }
    let applied = apply_batch(store, handler, std::slice::from_ref(event)).await?;
    Ok(applied[0])
}

/// Applies `events` (in order, at most [`MAX_BATCH`]) to a shared role in one transaction:
/// `prepare` runs for each (for an event alone only when the inbox does not hold it yet),
/// then one transaction claims them all in the inbox (one statement; those applied before
/// are skipped), applies their effects in order (`Handler::handle_all`) and commits;
/// `committed` follows for each. An event twice in `events` is applied once.
/// Any failure rolls back the whole batch: nothing of it is applied, and the caller decides
/// how to go on (the runtime takes the records one at a time to isolate the culprit).
///
/// # Errors
/// The first failure of a handler; a database failure as [`HandlerError::Transient`].
///
/// # Panics
/// When `events` holds more than [`MAX_BATCH`] events, or the role is a fan-out role.
pub async fn apply_batch<H: Handler>(
    store: &Store,
    handler: &H,
    events: &[Event],
) -> Result<Vec<Applied>, HandlerError> {
    apply_traced(store, handler, events, &[]).await
}

/// [`apply_batch`] with each event's work done in its own span and trace context (the
/// runtime's per-record span, whose trace the events an effect writes carry on); `traces`
/// is empty or one per event.
pub(super) async fn apply_traced<H: Handler>(
    store: &Store,
    handler: &H,
    events: &[Event],
    traces: &[(tracing::Span, TraceContext)],
) -> Result<Vec<Applied>, HandlerError> {
    assert!(events.len() <= MAX_BATCH, "a batch of {} events", events.len());
    assert_eq!(handler.membership(), Membership::Shared, "a fan-out role has no inbox");
    let ids: Vec<String> = events.iter().map(|e| e.header.event_id.to_string()).collect();
    // An event alone is looked up first, so that a redelivery costs neither `prepare` nor a
    // write transaction. A batch learns its duplicates from the claim in the transaction
    // instead: PostgreSQL has no plan for a lookup of many ids that stays fast (a generic
    // plan cached while the inbox was small scans all of it once it is large: 30–70 ms a
    // batch at 200,000 rows, measured), while the claim probes the key once per id.
    let held = match ids.as_slice() {
        [id] => store
            .inbox_holds(handler.name(), id)
            .await
            .map_err(HandlerError::Transient)?,
        _ => false,
    };
    let mut fresh = HashSet::new();
    let mut todo = Vec::new();
    for (i, event) in events.iter().enumerate() {
        if held || !fresh.insert(ids[i].as_str()) {
            tracing::debug!(event_id = %ids[i], "duplicate event ignored");
            continue;
        }
        let prepared = Scope(traces.get(i)).run(handler.prepare(event)).await?;
        todo.push((i, prepared));
    }
    let mut applied = vec![Applied::Duplicate; events.len()];
    if todo.is_empty() {
        return Ok(applied);
    }
    let mut tx = store.begin().await.map_err(HandlerError::Transient)?;
    let claim: Vec<String> = todo.iter().map(|(i, _)| ids[*i].clone()).collect();
    // Claimed again inside the transaction: another replica may have applied some meanwhile.
    let claimed = store
        .claim_inbox_all(&mut tx, handler.name(), &claim)
        .await
        .map_err(HandlerError::Transient)?;
    let mut batch = Batch {
        items: Vec::with_capacity(todo.len()),
    };
    let mut order = Vec::with_capacity(todo.len());
    for (i, prepared) in todo {
        if !claimed.contains(&ids[i]) {
            tracing::debug!(event_id = %ids[i], "duplicate event ignored");
            continue;
        }
        batch.items.push((Scope(traces.get(i)), &events[i], prepared));
        order.push(i);
    }
    let outcomes = if batch.is_empty() {
        Vec::new()
    } else {
        handler.handle_all(&mut tx, batch).await?
    };
    assert_eq!(outcomes.len(), order.len(), "handle_all reports one outcome per event");
    let done = order.into_iter().zip(outcomes);
    // The effects may have written outbox rows: the commit wakes this process's relay.
    store.commit(tx).await.map_err(HandlerError::Transient)?;
    for (i, outcome) in done {
        handler.committed(&events[i], outcome);
        applied[i] = Applied::Effect;
    }
    Ok(applied)
}

/// The events of a batch a role applies in one transaction (`Handler::handle_all`): each
/// claimed in the role's inbox in this transaction, in their partition's order, with what
/// `prepare` made of it and the [`Scope`] its work belongs in.
pub struct Batch<'a, P> {
    items: Vec<(Scope<'a>, &'a Event, P)>,
}

impl<'a, P> Batch<'a, P> {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn events(&self) -> impl Iterator<Item = &'a Event> + '_ {
        self.items.iter().map(|(_, event, _)| *event)
    }

    pub fn into_items(self) -> impl Iterator<Item = (Scope<'a>, &'a Event, P)> {
        self.items.into_iter()
    }
}

/// Where one event's work is traced: the runtime's span of its record and the trace
/// context the events its effect writes carry on (none outside the runtime).
#[derive(Clone, Copy)]
pub struct Scope<'a>(Option<&'a (tracing::Span, TraceContext)>);

impl Scope<'_> {
    /// The scope the caller is in already (an event taken alone runs in its record's).
    pub fn current() -> Self {
        Self(None)
    }

    /// Runs `work` in this event's span and trace context.
    pub async fn run<F: std::future::Future>(self, work: F) -> F::Output {
        match self.0 {
            Some((span, context)) => context.scope(work.instrument(span.clone())).await,
            None => work.await,
        }
    }
}
