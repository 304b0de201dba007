//! The scheduler's durable reminder schedule and the notifier's delivery records.

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{outbox, Store, Tx};
use crate::domain::{ReminderState, Status};
use crate::events::{Event, EventData, ReminderFired, ReminderMissed, ScheduledReminder};
use crate::telemetry::trace::TraceContext;

/// One scheduled reminder of one occurrence.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ScheduleRow {
    pub id: String,
    pub task_id: String,
    pub user_id: String,
    pub reminder_index: i64,
    pub spec: String,
    pub occurrence_due: Option<String>,
    pub fire_at: String,
    pub task_version: i64,
    pub state: String,
    pub fired_at: Option<String>,
    pub late_ms: Option<i64>,
    /// The `traceparent` of the change that scheduled it (none on rows from before).
    pub traceparent: Option<String>,
}

const COLUMNS: &str =
    "id, task_id, user_id, reminder_index, spec, occurrence_due, fire_at, task_version, state, fired_at, late_ms, traceparent";

/// The id of a reminder of an occurrence.
pub fn reminder_id(task_id: Uuid, index: u32, fire_at: &str) -> String {
    format!("{task_id}:{index}:{fire_at}")
}

/// What a firing pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FireReport {
    pub fired: usize,
    pub missed: usize,
    pub cancelled: usize,
}

impl FireReport {
    pub fn total(self) -> usize {
        self.fired + self.missed + self.cancelled
    }
}

impl Store {
    /// Applies the task's schedule at `version` unless a newer one was applied; true if applied.
    ///
    /// # Errors
    /// A database failure.
    pub async fn apply_schedule(
        &self,
        tx: &mut Tx,
        user: &str,
        task_id: Uuid,
        version: i64,
        due_at: Option<&str>,
        reminders: &[ScheduledReminder],
    ) -> anyhow::Result<bool> {
        if !claim_version(tx, task_id, version).await? {
            return Ok(false);
        }
        cancel_pending(tx, task_id).await?;
        let now = crate::time::format(crate::time::now());
        // The trace of the change being applied: the reminder fires and is delivered in it.
        let traceparent = TraceContext::current().map(|context| context.header());
        for reminder in reminders {
            // A reminder that already fired for this occurrence stays fired; one cancelled
            // earlier (say by a completion that was undone) becomes pending again.
            sqlx::query(&format!(
                "INSERT INTO reminder_schedule ({COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', NULL, NULL, $10, $9) \
                 ON CONFLICT (id) DO UPDATE SET state = 'pending', task_version = excluded.task_version, \
                 occurrence_due = excluded.occurrence_due, fired_at = NULL, late_ms = NULL, \
                 traceparent = excluded.traceparent, updated_at = excluded.updated_at \
                 WHERE reminder_schedule.state = 'cancelled'"
            ))
            .bind(reminder_id(task_id, reminder.index, &reminder.fire_at))
            .bind(task_id.to_string())
            .bind(user)
            .bind(i64::from(reminder.index))
            .bind(&reminder.spec)
            .bind(due_at)
            .bind(&reminder.fire_at)
            .bind(version)
            .bind(&now)
            .bind(&traceparent)
            .execute(&mut **tx)
            .await
            .context("schedule reminder")?;
        }
        Ok(true)
    }

    /// Cancels the task's pending reminders as of `version` unless a newer event was applied.
    ///
    /// # Errors
    /// A database failure.
    pub async fn cancel_schedule(&self, tx: &mut Tx, task_id: Uuid, version: i64) -> anyhow::Result<bool> {
        if !claim_version(tx, task_id, version).await? {
            return Ok(false);
        }
        cancel_pending(tx, task_id).await?;
        Ok(true)
    }

    /// The earliest pending fire time.
    ///
    /// # Errors
    /// A database failure.
    pub async fn next_fire_at(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        let (next,): (Option<String>,) =
            sqlx::query_as("SELECT MIN(fire_at) FROM reminder_schedule WHERE state = 'pending'")
                .fetch_one(&self.reader)
                .await
                .context("read next fire time")?;
        Ok(next.as_deref().and_then(crate::time::parse))
    }

    /// Fires (or records as missed) up to `limit` reminders due by `now`, in one transaction.
    /// Each row moves from pending only once, whichever scheduler gets to it, so a reminder
    /// fires once even with several schedulers on one database.
    ///
    /// # Errors
    /// A database failure.
    pub async fn fire_due(&self, now: DateTime<Utc>, grace: TimeDelta, limit: i64) -> anyhow::Result<FireReport> {
        let now_text = crate::time::format(now);
        let due: Vec<ScheduleRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM reminder_schedule WHERE state = 'pending' AND fire_at <= $1 ORDER BY fire_at LIMIT $2"
        ))
        .bind(&now_text)
        .bind(limit)
        .fetch_all(&self.reader)
        .await
        .context("read due reminders")?;
        if due.is_empty() {
            return Ok(FireReport::default());
        }
        let mut tx = self.begin().await.context("begin firing")?;
        let mut report = FireReport::default();
        let mut events = Vec::new();
        let mut lateness = Vec::new();
        for row in &due {
            let Some(fire_at) = crate::time::parse(&row.fire_at) else {
                continue;
            };
            let task_id = Uuid::parse_str(&row.task_id).context("scheduled task id")?;
            let (state, title) = match task_state(&mut tx, task_id).await? {
                Some((status, due, title, reminders))
                    if Status::parse(&status) == Some(Status::Open)
                        && due == row.occurrence_due
                        && still_listed(&reminders, &row.spec) =>
                {
                    let missed = now - fire_at > grace;
                    (
                        if missed {
                            ReminderState::Missed
                        } else {
                            ReminderState::Fired
                        },
                        title,
                    )
                }
                // Completed, deleted, moved or the reminder removed since: the event saying
                // so is on its way; the task row already knows.
                _ => (ReminderState::Cancelled, String::new()),
            };
            let late = (now - fire_at).num_milliseconds().max(0);
            let moved = sqlx::query(
                "UPDATE reminder_schedule SET state = $1, fired_at = $2, late_ms = $3, updated_at = $5 \
                 WHERE id = $4 AND state = 'pending'",
            )
            .bind(state.as_str())
            .bind((state == ReminderState::Fired).then_some(now_text.as_str()))
            .bind((state != ReminderState::Cancelled).then_some(late))
            .bind(&row.id)
            .bind(&now_text)
            .execute(&mut *tx)
            .await
            .context("fire reminder")?;
            if moved.rows_affected() != 1 {
                continue; // another scheduler took it
            }
            let index = u32::try_from(row.reminder_index).unwrap_or_default();
            match state {
                ReminderState::Fired => {
                    report.fired += 1;
                    lateness.push(std::time::Duration::from_millis(late.unsigned_abs()));
                    events.push((
                        firing_trace(row),
                        Event::about(
                            &row.user_id,
                            task_id,
                            row.task_version,
                            EventData::ReminderFired(ReminderFired {
                                reminder_id: row.id.clone(),
                                index,
                                spec: row.spec.clone(),
                                fire_at: row.fire_at.clone(),
                                fired_at: now_text.clone(),
                                late: late > LATE_AFTER_MS,
                                late_ms: late,
                                title,
                                due_at: row.occurrence_due.clone(),
                            }),
                        ),
                    ));
                }
                ReminderState::Missed => {
                    report.missed += 1;
                    tracing::warn!(reminder = %row.id, late_ms = late, "reminder missed: its moment passed longer ago than the grace period");
                    events.push((
                        firing_trace(row),
                        Event::about(
                            &row.user_id,
                            task_id,
                            row.task_version,
                            EventData::ReminderMissed(ReminderMissed {
                                reminder_id: row.id.clone(),
                                index,
                                fire_at: row.fire_at.clone(),
                                detected_at: now_text.clone(),
                            }),
                        ),
                    ));
                }
                _ => report.cancelled += 1,
            }
        }
        for (trace, event) in &events {
            trace
                .scope(outbox::append(&mut tx, std::slice::from_ref(event)))
                .await?;
        }
        self.commit(tx).await.context("commit firing")?;
        crate::telemetry::metrics::reminders_fired(&lateness, report.missed);
        Ok(report)
    }

    /// The schedule rows of the caller's task, by fire time.
    ///
    /// # Errors
    /// A database failure.
    pub async fn reminder_rows(&self, user: &str, task_id: Uuid) -> anyhow::Result<Vec<ScheduleRow>> {
        sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM reminder_schedule WHERE user_id = $1 AND task_id = $2 ORDER BY fire_at, reminder_index"
        ))
        .bind(user)
        .bind(task_id.to_string())
        .fetch_all(&self.reader)
        .await
        .context("read reminder schedule")
    }

    /// Records a delivery on `channel` unless one was recorded; true when recorded now.
    ///
    /// # Errors
    /// A database failure.
    pub async fn record_delivery(&self, tx: &mut Tx, reminder_id: &str, channel: &str) -> anyhow::Result<bool> {
        let done = sqlx::query(
            "INSERT INTO reminder_deliveries (reminder_id, channel, delivered_at) VALUES ($1, $2, $3) \
             ON CONFLICT (reminder_id, channel) DO NOTHING",
        )
        .bind(reminder_id)
        .bind(channel)
        .bind(crate::time::format(crate::time::now()))
        .execute(&mut **tx)
        .await
        .context("record delivery")?;
        Ok(done.rows_affected() == 1)
    }

    /// Whether `channel` already delivered `reminder_id`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn delivered(&self, reminder_id: &str, channel: &str) -> anyhow::Result<bool> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT channel FROM reminder_deliveries WHERE reminder_id = $1 AND channel = $2")
                .bind(reminder_id)
                .bind(channel)
                .fetch_optional(&self.reader)
                .await
                .context("read deliveries")?;
        Ok(row.is_some())
    }

    /// Sets the state of a fired reminder (delivered or failed).
    ///
    /// # Errors
    /// A database failure.
    pub async fn set_reminder_state(&self, tx: &mut Tx, reminder_id: &str, state: ReminderState) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE reminder_schedule SET state = $1, updated_at = $2 WHERE id = $3 AND state IN ('fired', 'failed')",
        )
        .bind(state.as_str())
        .bind(crate::time::format(crate::time::now()))
        .bind(reminder_id)
        .execute(&mut **tx)
        .await
        .context("set reminder state")?;
        Ok(())
    }

    /// Writes `events` to the outbox inside a consumer's transaction.
    ///
    /// # Errors
    /// A database failure.
    pub async fn append_events(&self, tx: &mut Tx, events: &[Event]) -> anyhow::Result<()> {
        outbox::append(tx, events).await
    }
}

/// The trace a fired (or missed) reminder's event goes on in: a span of the scheduler's that
/// continues the change that scheduled the reminder.
fn firing_trace(row: &ScheduleRow) -> TraceContext {
    let span =
        tracing::info_span!("fire reminder", reminder_id = %row.id, task_id = %row.task_id, user_id = %row.user_id);
    TraceContext::start(&span, row.traceparent.as_deref().and_then(TraceContext::parse))
}

/// A reminder fired this much after its moment counts as late (the scheduler was down).
const LATE_AFTER_MS: i64 = 1_000;

async fn claim_version(tx: &mut Tx, task_id: Uuid, version: i64) -> anyhow::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO reminder_versions (task_id, version) VALUES ($1, $2) \
         ON CONFLICT (task_id) DO UPDATE SET version = excluded.version WHERE reminder_versions.version < excluded.version",
    )
    .bind(task_id.to_string())
    .bind(version)
    .execute(&mut **tx)
    .await
    .context("claim reminder version")?;
    Ok(done.rows_affected() == 1)
}

async fn cancel_pending(tx: &mut Tx, task_id: Uuid) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE reminder_schedule SET state = 'cancelled', updated_at = $1 WHERE task_id = $2 AND state = 'pending'",
    )
    .bind(crate::time::format(crate::time::now()))
    .bind(task_id.to_string())
    .execute(&mut **tx)
    .await
    .context("cancel pending reminders")?;
    Ok(())
}

/// Whether the task's stored reminder list (JSON) still holds `spec`.
fn still_listed(reminders: &str, spec: &str) -> bool {
    serde_json::from_str::<Vec<String>>(reminders).is_ok_and(|list| list.iter().any(|r| r == spec))
}

/// The task's status, due time, title and reminders, if it exists.
async fn task_state(tx: &mut Tx, task_id: Uuid) -> anyhow::Result<Option<(String, Option<String>, String, String)>> {
    sqlx::query_as("SELECT status, due_at, title, reminders FROM tasks WHERE id = $1")
        .bind(task_id.to_string())
        .fetch_optional(&mut **tx)
        .await
        .context("read task for firing")
}
