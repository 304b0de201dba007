//! The audit role: an append-only history of every task event, one row per event, a batch's
//! rows written in one statement.

use anyhow::Context;

use crate::bus::consumer::{Batch, Handler, HandlerError, MAX_BATCH};
use crate::events::{Event, Topic};
use crate::store::{append_history, Tx, HISTORY_MAX_ROWS};

pub struct Audit;

// A batch fits in one history statement.
const _: () = assert!(MAX_BATCH <= HISTORY_MAX_ROWS);

impl Handler for Audit {
    fn name(&self) -> &'static str {
        super::Role::Audit.name()
    }

    fn topics(&self) -> &'static [Topic] {
        super::Role::Audit.topics()
    }

    type Prepared = ();
    type Done = ();

    async fn handle(&self, tx: &mut Tx, event: &Event, (): ()) -> Result<(), HandlerError> {
        record(tx, &[event]).await
    }

    async fn handle_all(&self, tx: &mut Tx, batch: Batch<'_, ()>) -> Result<Vec<()>, HandlerError> {
        let events: Vec<&Event> = batch.events().collect();
        record(tx, &events).await?;
        Ok(vec![(); events.len()])
    }
}

/// The history rows of `events`: an event that cannot be encoded is the batch's permanent
/// failure (taken alone, it goes to the DLQ).
async fn record(tx: &mut Tx, events: &[&Event]) -> Result<(), HandlerError> {
    let rows = events
        .iter()
        .map(|event| Ok((*event, event.encode().context("encode event")?)))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(HandlerError::Permanent)?;
    append_history(tx, &rows).await.map_err(HandlerError::Transient)
}
