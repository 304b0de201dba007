//! The scheduler's durable reminder schedule and the notifier's delivery records.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::rows::{returned_ids, Bind};
use super::sql::Exec;
use super::{outbox, Backend, Store, Tx};
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

/// A task's schedule as one reminder event states it, for [`Store::apply_schedules`].
#[derive(Debug, Clone)]
pub struct ScheduleChange<'a> {
    pub user: &'a str,
    pub task_id: Uuid,
    /// The task version the event describes: a schedule replaces only older ones.
    pub version: i64,
    pub due_at: Option<&'a str>,
    /// The reminders now scheduled; none when the event cancels them.
    pub reminders: &'a [ScheduledReminder],
    /// The trace of the change: the reminders fire and are delivered in it.
    pub traceparent: Option<String>,
}

/// Tasks one statement claims or cancels (2 parameters a task), and reminder rows one
/// statement writes (10 parameters a row): within SQLite's 32,766 and PostgreSQL's 65,535.
const SCHEDULES_PER_STATEMENT: usize = 512;
const REMINDERS_PER_STATEMENT: usize = 512;

impl Store {
    /// Applies `changes` (in their partition's order) inside the consumer's transaction, a
    /// few statements for all of them, as if one after the other: each task's schedule becomes
    /// that of its newest change (the first of equals) unless one as new was applied before.
    /// For each change, whether it was applied; a change followed in `changes` by a newer one
    /// of its task is passed over, since the newer replaces all it would write (a reminder
    /// only it listed is left unwritten rather than written and cancelled).
    ///
    /// # Errors
    /// A database failure.
    pub async fn apply_schedules(&self, tx: &mut Tx, changes: &[ScheduleChange<'_>]) -> anyhow::Result<Vec<bool>> {
        let newest = newest_of_each_task(changes);
        let candidates: Vec<&ScheduleChange<'_>> = changes
            .iter()
            .zip(&newest)
            .filter(|(_, newest)| **newest)
            .map(|(change, _)| change)
            .collect();
        let now = crate::time::format(crate::time::now());
        let mut claimed = HashSet::new();
        for chunk in candidates.chunks(SCHEDULES_PER_STATEMENT) {
            let won = claim_versions(tx, self.backend, chunk).await?;
            cancel_pending(tx, self.backend, &won, &now).await?;
            claimed.extend(won);
        }
        let applied: Vec<&ScheduleChange<'_>> = candidates
            .into_iter()
            .filter(|change| claimed.contains(&change.task_id.to_string()))
            .collect();
        let rows: Vec<[Bind; 10]> = applied.iter().flat_map(|change| reminder_rows(change, &now)).collect();
        for chunk in rows.chunks(REMINDERS_PER_STATEMENT) {
            schedule(tx, self.backend, chunk).await?;
        }
        Ok(changes
            .iter()
            .zip(newest)
            .map(|(change, newest)| newest && claimed.contains(&change.task_id.to_string()))
            .collect())
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

/// For each change, whether it is its task's newest in `changes`, the first of equals (one
/// after the other, a later change of the same version would lose the claim).
fn newest_of_each_task(changes: &[ScheduleChange<'_>]) -> Vec<bool> {
    let mut newest: HashMap<Uuid, usize> = HashMap::new();
    for (i, change) in changes.iter().enumerate() {
        let entry = newest.entry(change.task_id).or_insert(i);
        if changes[*entry].version < change.version {
            *entry = i;
        }
    }
    (0..changes.len()).map(|i| newest[&changes[i].task_id] == i).collect()
}

/// Records each change's version as its task's applied schedule unless a newer one was
/// (one statement; each task at most once in `changes`); the task ids that won.
async fn claim_versions(tx: &mut Tx, backend: Backend, changes: &[&ScheduleChange<'_>]) -> anyhow::Result<Vec<String>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "INSERT INTO reminder_versions (task_id, version) VALUES {} \
         ON CONFLICT (task_id) DO UPDATE SET version = excluded.version \
         WHERE reminder_versions.version < excluded.version RETURNING task_id",
        backend.tuples(1, changes.len(), 2)
    );
    let binds: Vec<Bind> = changes
        .iter()
        .flat_map(|change| [Bind::Text(change.task_id.to_string()), Bind::Int(change.version)])
        .collect();
    returned_ids(tx, &sql, &binds).await.context("claim reminder versions")
}

/// Cancels every pending reminder of `tasks` (one statement).
async fn cancel_pending(tx: &mut Tx, backend: Backend, tasks: &[String], now: &str) -> anyhow::Result<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "UPDATE reminder_schedule SET state = 'cancelled', updated_at = $1 \
         WHERE state = 'pending' AND task_id IN ({})",
        backend.list(2, tasks.len())
    );
    let binds: Vec<Bind> = std::iter::once(Bind::Text(now.to_owned()))
        .chain(tasks.iter().map(|id| Bind::Text(id.clone())))
        .collect();
    Exec::execute(tx, &sql, &binds)
        .await
        .context("cancel pending reminders")?;
    Ok(())
}

/// The values of `change`'s reminders' rows: [`COLUMNS`] and `updated_at` but for the state,
/// `fired_at` and `late_ms` of a pending row, which [`schedule`] writes itself.
fn reminder_rows<'c>(change: &'c ScheduleChange<'_>, now: &'c str) -> impl Iterator<Item = [Bind; 10]> + 'c {
    let opt = |text: Option<&str>| text.map_or(Bind::Null, |t| Bind::Text(t.to_owned()));
    change.reminders.iter().map(move |reminder| {
        [
            Bind::Text(reminder_id(change.task_id, reminder.index, &reminder.fire_at)),
            Bind::Text(change.task_id.to_string()),
            Bind::Text(change.user.to_owned()),
            Bind::Int(i64::from(reminder.index)),
            Bind::Text(reminder.spec.clone()),
            opt(change.due_at),
            Bind::Text(reminder.fire_at.clone()),
            Bind::Int(change.version),
            opt(change.traceparent.as_deref()),
            Bind::Text(now.to_owned()),
        ]
    })
}

/// Writes `rows` pending (one statement). A reminder that already fired for this occurrence
/// stays fired; one cancelled earlier (say by a completion that was undone) becomes pending
/// again.
async fn schedule(tx: &mut Tx, backend: Backend, rows: &[[Bind; 10]]) -> anyhow::Result<()> {
    // Constants in the text, not parameters: PostgreSQL types an untyped NULL parameter as
    // text, which late_ms (bigint) refuses.
    let values = (0..rows.len())
        .map(|row| {
            let first = 1 + row * 10;
            format!(
                "({}, '{}', NULL, NULL, {})",
                backend.list(first, 8),
                ReminderState::Pending.as_str(),
                backend.list(first + 8, 2)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO reminder_schedule ({COLUMNS}, updated_at) VALUES {values} \
         ON CONFLICT (id) DO UPDATE SET state = 'pending', task_version = excluded.task_version, \
         occurrence_due = excluded.occurrence_due, fired_at = NULL, late_ms = NULL, \
         traceparent = excluded.traceparent, updated_at = excluded.updated_at \
         WHERE reminder_schedule.state = 'cancelled'"
    );
    let binds: Vec<Bind> = rows.iter().flatten().cloned().collect();
    Exec::execute(tx, &sql, &binds).await.context("schedule reminders")?;
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
