//! The scheduler role: keeps the durable reminder schedule from reminder.scheduled and
//! reminder.cancelled, and fires each reminder at its moment.
//!
//! Timing: a timer sleeps until the earliest pending fire time (woken early when the
//! schedule changes) — no polling interval decides when a reminder fires, and no timer per
//! reminder is held in memory: 1,000,000 pending reminders are rows, not timers. Firing
//! moves a row from pending and writes reminder.fired to the outbox in one transaction, so a
//! reminder fires once even with several schedulers. After downtime, overdue reminders fire
//! at once marked late, unless older than the grace period: then they are recorded missed.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::bus::consumer::{Handler, HandlerError};
use crate::events::{Event, EventData, Topic};
use crate::store::{Store, Tx};

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

    async fn apply(&self, tx: &mut Tx, event: &Event) -> Result<(), HandlerError> {
        let h = &event.header;
        let applied = match &event.data {
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
                self.store
                    .apply_schedule(
                        tx,
                        &h.user_id,
                        h.task_id,
                        h.task_version,
                        s.due_at.as_deref(),
                        &s.reminders,
                    )
                    .await
            }
            EventData::ReminderCancelled(_) => self.store.cancel_schedule(tx, h.task_id, h.task_version).await,
            _ => return Ok(()), // fired, delivered …: not the scheduler's to act on
        };
        let applied = applied.map_err(HandlerError::Transient)?;
        if !applied {
            tracing::debug!(task = %h.task_id, version = h.task_version, "older than the applied schedule; ignored");
        }
        Ok(())
    }
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
        self.apply(tx, event)
    }

    fn committed(&self, _event: &Event, (): ()) {
        self.wake.notify_one();
    }
}
