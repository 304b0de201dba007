//! The recurrence role: when an occurrence of a repeating task is completed, create the
//! next one — exactly once. The next occurrence's id derives from the series and the
//! completed occurrence's due time (`Task::next_occurrence_id`), and it is inserted with
//! ON CONFLICT DO NOTHING in the same transaction as the inbox row, so redeliveries, a
//! reopen-and-complete-again, or two recurrence processes all land on the same single task;
//! and its id is recorded as made, so a next occurrence the user deleted is not made again.
//! A batch's next occurrences are written together: a few multi-row statements instead of
//! four or five per completion.
//!
//! The next due time is worked out in `prepare`, before the transaction and on a blocking
//! thread: it is bounded rule arithmetic (a rule too costly to follow is a permanent failure,
//! parked on the DLQ with the reason) and must hold neither the database nor the runtime. It
//! depends only on the event (the completed occurrence's snapshot), not on any row, so the
//! transaction has nothing to re-check: inserting the next occurrence is idempotent by its
//! id, and ending the series locks the row it marks.

use std::future::Future;

use anyhow::anyhow;
use chrono::{DateTime, Utc};

use crate::bus::consumer::{Batch, Handler, HandlerError, Scope};
use crate::domain::{Budget, Task};
use crate::events::{Event, EventData, Topic};
use crate::store::{NextOccurrence, Store, Tx};

pub struct Repeat {
    store: Store,
}

/// What the completion of an occurrence leads to.
#[derive(Debug, Default)]
pub enum Advance {
    /// Not this role's to act on.
    #[default]
    Nothing,
    /// Create this occurrence.
    Next(Box<Task>),
    /// This completed occurrence was the last of its series.
    End(Box<Task>),
}

impl Repeat {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    async fn plan(&self, event: &Event) -> Result<Advance, HandlerError> {
        if !matches!(event.data, EventData::SeriesAdvance(_)) {
            return Ok(Advance::Nothing);
        }
        let event = event.clone();
        tokio::task::spawn_blocking(move || plan(&event)).await.map_err(|e| {
            // A panic in the rule arithmetic would recur on every retry.
            let error = anyhow!("working out the next occurrence failed: {e}");
            if e.is_panic() {
                HandlerError::Permanent(error)
            } else {
                HandlerError::Transient(error)
            }
        })?
    }

    /// Applies the advances of a batch's completions, in order: the series that end one by
    /// one, the next occurrences together (a few statements for the whole batch). For each,
    /// when the completed occurrence was completed if its successor was created now (the
    /// latency counted once the transaction commits).
    async fn advance_all(
        &self,
        tx: &mut Tx,
        batch: Vec<(Scope<'_>, &Event, Advance)>,
    ) -> Result<Vec<Option<DateTime<Utc>>>, HandlerError> {
        let mut done = vec![None; batch.len()];
        let mut nexts = Vec::new();
        let mut of_next = Vec::new();
        for (i, (scope, event, advance)) in batch.into_iter().enumerate() {
            match advance {
                Advance::Nothing => {}
                Advance::Next(next) => {
                    // Its events are worked out in the completion's scope, whose trace they carry.
                    let next = scope
                        .run(async { NextOccurrence::new(*next) })
                        .await
                        .map_err(HandlerError::Transient)?;
                    nexts.push(next);
                    of_next.push((i, scope, completed_at(event)));
                }
                Advance::End(ended) => {
                    scope.run(self.end(tx, &ended)).await?;
                }
            }
        }
        let created = self
            .store
            .create_occurrences(tx, &nexts)
            .await
            .map_err(HandlerError::Transient)?;
        for ((next, (i, scope, completed)), created) in nexts.iter().zip(of_next).zip(created) {
            let task = next.task();
            scope
                .run(async {
                    tracing::info!(series = %task.series.id, occurrence = %task.id, created, "series advanced")
                })
                .await;
            if created {
                done[i] = Some(completed);
            }
        }
        Ok(done)
    }

    async fn end(&self, tx: &mut Tx, done: &Task) -> Result<(), HandlerError> {
        self.store
            .end_series(tx, &done.user_id, done.id)
            .await
            .map_err(HandlerError::Transient)?;
        tracing::info!(series = %done.series.id, "series ended");
        Ok(())
    }
}

/// When the occurrence `event` reports was completed (now, if the event does not say).
fn completed_at(event: &Event) -> DateTime<Utc> {
    let EventData::SeriesAdvance(advance) = &event.data else {
        return crate::time::now();
    };
    advance
        .occurrence
        .completed_at
        .as_deref()
        .and_then(crate::time::parse)
        .unwrap_or_else(crate::time::now)
}

/// The next occurrence after the one `event` reports completed, or the end of its series.
fn plan(event: &Event) -> Result<Advance, HandlerError> {
    let EventData::SeriesAdvance(advance) = &event.data else {
        return Ok(Advance::Nothing);
    };
    let done = advance
        .occurrence
        .to_task(&event.header)
        .map_err(HandlerError::Permanent)?;
    let now = crate::time::now();
    let done_at = done.completed_at.unwrap_or(now);
    match done.next_occurrence(done_at, now, &mut Budget::new()) {
        Ok(Some(next)) => Ok(Advance::Next(Box::new(next))),
        Ok(None) => Ok(Advance::End(Box::new(done))),
        Err(too_costly) => Err(HandlerError::Permanent(anyhow!(
            "series {} cannot advance: {too_costly}",
            done.series.id
        ))),
    }
}

impl Handler for Repeat {
    type Prepared = Advance;
    /// When the completed occurrence was completed, if its successor was created.
    type Done = Option<DateTime<Utc>>;

    fn name(&self) -> &'static str {
        super::Role::Recurrence.name()
    }

    fn topics(&self) -> &'static [Topic] {
        super::Role::Recurrence.topics()
    }

    fn prepare<'a>(&'a self, event: &'a Event) -> impl Future<Output = Result<Advance, HandlerError>> + Send + 'a {
        self.plan(event)
    }

    async fn handle(&self, tx: &mut Tx, event: &Event, advance: Advance) -> Result<Self::Done, HandlerError> {
        let done = self.advance_all(tx, vec![(Scope::current(), event, advance)]).await?;
        Ok(done.into_iter().next().flatten())
    }

    fn handle_all<'a>(
        &'a self,
        tx: &'a mut Tx,
        batch: Batch<'a, Advance>,
    ) -> impl Future<Output = Result<Vec<Self::Done>, HandlerError>> + Send + 'a {
        self.advance_all(tx, batch.into_items().collect())
    }

    fn committed(&self, _event: &Event, completed: Self::Done) {
        if let Some(at) = completed {
            let latency = (crate::time::now() - at).to_std().unwrap_or_default();
            crate::telemetry::metrics::next_occurrence(latency);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::domain::{NewTask, Status, TaskInput, UserId};

    /// The series.advance event of completing a daily task due `due` whose series started
    /// at `start`.
    fn advance_of(start: &str, due: &str) -> Event {
        let raw = TaskInput {
            due_at: Some(due.into()),
            recurrence: Some("FREQ=DAILY".into()),
            ..TaskInput::titled("Stretch")
        };
        let now = crate::time::now();
        let mut open = Task::new(UserId::parse("u").unwrap(), NewTask::parse(&raw).unwrap(), now);
        open.series.start = Some(start.parse().unwrap());
        let done = Task {
            status: Status::Completed,
            completed_at: Some(now),
            version: 2,
            ..open.clone()
        };
        Event::for_change(Some(&open), Some(&done))
            .into_iter()
            .find(|e| matches!(e.data, EventData::SeriesAdvance(_)))
            .expect("a series.advance event")
    }

    #[test]
    fn the_next_occurrence_is_worked_out_from_the_event() {
        let event = advance_of("2026-01-05T09:00:00Z", "2026-01-07T09:00:00Z");
        let Ok(Advance::Next(next)) = plan(&event) else {
            panic!("expected a next occurrence");
        };
        let expected: DateTime<Utc> = "2026-01-08T09:00:00Z".parse().unwrap();
        assert_eq!(next.content.due_at, Some(expected));
    }

    #[test]
    fn a_series_too_costly_to_follow_is_a_permanent_failure() {
        // A start no API path can store (a crafted event, or a row from before the range
        // bound): reaching 2026 from year 1 one day at a time exceeds the budget.
        let event = advance_of("0001-01-01T09:00:00Z", "2026-01-07T09:00:00Z");
        match plan(&event) {
            Err(HandlerError::Permanent(error)) => {
                assert!(error.to_string().contains("too much computation"), "{error:#}");
            }
            other => panic!("expected a permanent failure, got {other:?}"),
        }
    }
}
