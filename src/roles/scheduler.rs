//! The scheduler role: keeps the durable reminder schedule from reminder.scheduled and
//! reminder.cancelled, and fires each reminder at its moment.
//!
//! Timing: a timer sleeps until the earliest pending fire time (woken early when the
//! schedule changes) — no polling interval decides when a reminder fires, and no timer per
//! reminder is held in memory: 1,000,000 pending reminders are rows, not timers. Firing
//! moves a row from pending and writes reminder.fired to the outbox in one transaction, so a
//! reminder fires once even with several schedulers. After downtime, overdue reminders fire
//! at once marked late, unless older than the grace period: then they are recorded missed.
//! A batch's schedules are written together: per 512 tasks one statement claims the versions,
//! one cancels what they replace and one writes the new rows (instead of three or more
//! statements per event).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use futures_util::FutureExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::bus::consumer::{Batch, Handler, HandlerError, Scope};
use crate::events::{Event, EventData, Topic};
use crate::store::{ScheduleChange, Store, Tx};
use crate::telemetry::trace::TraceContext;

#[derive(Debug, Clone, Copy)]
pub struct SchedulerSettings {
    /// Reminders overdue by more than this when found are recorded missed, not sent.
    pub grace: TimeDelta,
    /// Most reminders fired in one transaction.
    pub batch: i64,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            grace: TimeDelta::hours(24),
            batch: 500,
        }
    }
}

pub struct Scheduler {
    store: Store,
    wake: Arc<Notify>,
    settings: SchedulerSettings,
}

/// Longest sleep without looking at the schedule again: a safety net for changes made by
/// another process, not the timing mechanism.
const RECHECK: Duration = Duration::from_secs(5);

impl Scheduler {
    pub fn new(store: Store, settings: SchedulerSettings) -> Self {
        Self {
            store,
            wake: Arc::new(Notify::new()),
            settings,
        }
    }

    /// Fires reminders at their moments until `shutdown`.
    ///
    /// # Errors
    /// Never in normal operation: database failures are logged and retried.
    pub async fn run_timer(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        tracing::info!(grace = ?self.settings.grace, "scheduler timer started");
        let mut ready = false;
        while !shutdown.is_cancelled() {
            let now = crate::time::now();
            let next = self.store.next_fire_at().await;
            if !ready && next.is_ok() {
                ready = true;
                tracing::info!(next = ?next.as_ref().ok().copied().flatten(), "scheduler ready to fire");
            }
            let sleep = match next {
                Ok(Some(at)) if at <= now => {
                    match self.store.fire_due(now, self.settings.grace, self.settings.batch).await {
                        Ok(report) if report.total() > 0 => {
                            tracing::debug!(?report, "fired");
                            continue;
                        }
                        Ok(_) => Duration::from_millis(1),
                        Err(error) => {
                            tracing::warn!(error = format!("{error:#}"), "firing failed; retrying");
                            Duration::from_millis(500)
                        }
                    }
                }
                Ok(Some(at)) => (at - now).to_std().unwrap_or_default().min(RECHECK),
                Ok(None) => RECHECK,
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "cannot read the schedule; retrying");
                    Duration::from_millis(500)
                }
            };
            tokio::select! {
                () = tokio::time::sleep(sleep) => {},
                () = self.wake.notified() => {},
                () = shutdown.cancelled() => {},
            }
        }
        tracing::info!("scheduler timer stopped");
        Ok(())
    }

    /// Applies the schedules of a batch's events (in order) with a few statements for all.
    async fn apply_all<'e>(
        &self,
        tx: &mut Tx,
        events: Vec<(Scope<'e>, &'e Event, ())>,
    ) -> Result<Vec<()>, HandlerError> {
        let n = events.len();
        let mut changes = Vec::new();
        for (scope, event, ()) in events {
            // Each row keeps the trace of its own change: worked out in the event's scope.
            if let Some(change) = scope.run(async { schedule_change(event) }).await? {
                changes.push(change);
            }
        }
        let applied = self
            .store
            .apply_schedules(tx, &changes)
            .await
            .map_err(HandlerError::Transient)?;
        for (change, applied) in changes.iter().zip(applied) {
            if !applied {
                tracing::debug!(task = %change.task_id, version = change.version, "older than the applied schedule; ignored");
            }
        }
        Ok(vec![(); n])
    }
}

/// The schedule `event` states, if it is the scheduler's to act on.
fn schedule_change(event: &Event) -> Result<Option<ScheduleChange<'_>>, HandlerError> {
    let h = &event.header;
    let (due_at, reminders) = match &event.data {
        EventData::ReminderScheduled(s) => {
            // Fire times are compared as text: only the service's own instant form sorts right.
            if let Some(bad) = s.reminders.iter().find(|r| {
                crate::time::parse(&r.fire_at).map(crate::time::format).as_deref() != Some(r.fire_at.as_str())
            }) {
                return Err(HandlerError::Permanent(anyhow::anyhow!(
                    "fire_at {:?} is not an instant in RFC 3339 UTC form",
                    bad.fire_at
                )));
            }
            (s.due_at.as_deref(), s.reminders.as_slice())
        }
        EventData::ReminderCancelled(_) => (None, &[][..]),
        _ => return Ok(None), // fired, delivered …: not the scheduler's to act on
    };
    Ok(Some(ScheduleChange {
        user: &h.user_id,
        task_id: h.task_id,
        version: h.task_version,
        due_at,
        reminders,
        traceparent: TraceContext::current().map(|context| context.header()),
    }))
}

impl Handler for Scheduler {
    fn name(&self) -> &'static str {
        super::Role::Scheduler.name()
    }

    fn topics(&self) -> &'static [Topic] {
        super::Role::Scheduler.topics()
    }

    type Prepared = ();
    type Done = ();

    fn handle<'a>(
        &'a self,
        tx: &'a mut Tx,
        event: &'a Event,
        (): (),
    ) -> impl Future<Output = Result<(), HandlerError>> + Send + 'a {
        self.apply_all(tx, vec![(Scope::current(), event, ())])
            .map(|done| done.map(|_| ()))
    }

    fn handle_all<'a>(
        &'a self,
        tx: &'a mut Tx,
        batch: Batch<'a, ()>,
    ) -> impl Future<Output = Result<Vec<()>, HandlerError>> + Send + 'a {
        self.apply_all(tx, batch.into_items().collect())
    }

    fn committed(&self, _event: &Event, (): ()) {
        self.wake.notify_one();
    }
}
