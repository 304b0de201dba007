//! The recurrence role: when an occurrence of a repeating task is completed, create the
//! next one — exactly once. The next occurrence's id derives from the series and the
//! completed occurrence's due time (`Task::next_occurrence_id`), and it is inserted with
//! ON CONFLICT DO NOTHING in the same transaction as the inbox row, so redeliveries, a
//! reopen-and-complete-again, or two recurrence processes all land on the same single task.

use std::future::Future;

use crate::bus::consumer::{Handler, HandlerError};
use crate::events::{Event, EventData, Topic};
use crate::store::{Store, Tx};

pub struct Repeat {
    store: Store,
}

impl Repeat {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    async fn advance(&self, tx: &mut Tx, event: &Event) -> Result<(), HandlerError> {
        let EventData::SeriesAdvance(advance) = &event.data else {
            return Ok(()); // not this role's to act on
        };
        let done = advance
            .occurrence
            .to_task(&event.header)
            .map_err(HandlerError::Permanent)?;
        let now = crate::time::now();
        let done_at = done.completed_at.unwrap_or(now);
        match done.next_occurrence(done_at, now) {
            Some(next) => {
                let created = self
                    .store
                    .create_occurrence(tx, &next)
                    .await
                    .map_err(HandlerError::Transient)?;
                tracing::info!(series = %next.series.id, occurrence = %next.id, created, "series advanced");
            }
            None => {
                self.store
                    .end_series(tx, &done.user_id, done.id)
                    .await
                    .map_err(HandlerError::Transient)?;
                tracing::info!(series = %done.series.id, "series ended");
            }
        }
        Ok(())
    }
}

impl Handler for Repeat {
    fn name(&self) -> &'static str {
        "recurrence"
    }

    fn topics(&self) -> &'static [Topic] {
        &[Topic::TaskRecurrence]
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut Tx,
        event: &'a Event,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a {
        self.advance(tx, event)
    }
}
