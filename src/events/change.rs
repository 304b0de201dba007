//! From a task write to its events: one pure function, [`Event::for_change`], deciding which
//! events a change produces and in which order consumers must see them.

use serde_json::{Map, Value};

use super::codec::{Event, EventData};
use super::payloads::*;
use crate::domain::{Reminder, Task};

impl Event {
    /// The events one task write produces, in the order consumers must see them.
    pub fn for_change(before: Option<&Task>, after: Option<&Task>) -> Vec<Event> {
        match (before, after) {
            (None, Some(created)) => created_events(created),
            (Some(old), Some(new)) => changed_events(old, new),
            (Some(deleted), None) => deleted_events(deleted),
            (None, None) => Vec::new(),
        }
    }
}

fn created_events(task: &Task) -> Vec<Event> {
    let mut events = vec![Event::new(
        task,
        EventData::TaskCreated(TaskCreated { task: task.into() }),
    )];
    if let Some(schedule) = schedule_of(task) {
        events.push(Event::new(task, EventData::ReminderScheduled(schedule)));
    }
    events
}

fn changed_events(old: &Task, new: &Task) -> Vec<Event> {
    use crate::domain::Status;
    let mut events = Vec::new();
    let mut changed = old.content.changed_fields(&new.content);
    if old.series.ended != new.series.ended {
        changed.push("series_ended");
    }
    if !changed.is_empty() {
        let (before, after) = (TaskSnapshot::from(old).fields(), TaskSnapshot::from(new).fields());
        let pick = |all: &Map<String, Value>| -> Map<String, Value> {
            changed
                .iter()
                .filter_map(|f| all.get(*f).map(|v| ((*f).to_owned(), v.clone())))
                .collect()
        };
        events.push(Event::new(
            new,
            EventData::TaskUpdated(TaskUpdated {
                changed: changed.iter().map(|f| (*f).to_owned()).collect(),
                before: pick(&before),
                after: pick(&after),
            }),
        ));
    }
    match (old.status, new.status) {
        (Status::Open, Status::Completed) => {
            events.push(Event::new(
                new,
                EventData::TaskCompleted(TaskCompleted {
                    completed_at: new.completed_at.map(crate::time::format).unwrap_or_default(),
                }),
            ));
            events.push(Event::new(
                new,
                EventData::ReminderCancelled(ReminderCancelled {
                    reason: "completed".into(),
                }),
            ));
            if new.content.recurrence.is_some() {
                events.push(Event::new(
                    new,
                    EventData::SeriesAdvance(SeriesAdvance {
                        series_id: new.series.id,
                        occurrence: new.into(),
                    }),
                ));
            }
        }
        (Status::Completed, Status::Open) => {
            events.push(Event::new(new, EventData::TaskReopened(TaskReopened {})));
            events.extend(schedule_or_cancel(new));
        }
        _ if new.status == Status::Open && (changed.contains(&"reminders") || changed.contains(&"due_at")) => {
            events.extend(schedule_or_cancel(new));
        }
        _ => {}
    }
    events
}

fn deleted_events(task: &Task) -> Vec<Event> {
    // The deletion is the task's last version: one past the stored one.
    let mut gone = task.clone();
    gone.version += 1;
    gone.updated_at = crate::time::now().max(task.updated_at);
    vec![
        Event::new(&gone, EventData::TaskDeleted(TaskDeleted { task: task.into() })),
        Event::new(
            &gone,
            EventData::ReminderCancelled(ReminderCancelled {
                reason: "deleted".into(),
            }),
        ),
    ]
}

/// reminder.scheduled with the task's reminders, or reminder.cancelled when it has none.
fn schedule_or_cancel(task: &Task) -> Option<Event> {
    Some(match schedule_of(task) {
        Some(schedule) => Event::new(task, EventData::ReminderScheduled(schedule)),
        None => Event::new(
            task,
            EventData::ReminderCancelled(ReminderCancelled {
                reason: "removed".into(),
            }),
        ),
    })
}

fn schedule_of(task: &Task) -> Option<ReminderScheduled> {
    let due_at = task.content.due_at;
    let reminders: Vec<ScheduledReminder> = task
        .content
        .reminders
        .iter()
        .enumerate()
        .filter_map(|(index, reminder): (usize, Reminder)| {
            Some(ScheduledReminder {
                index: u32::try_from(index).ok()?,
                spec: reminder.to_text(),
                fire_at: crate::time::format(reminder.fire_at(due_at)?),
            })
        })
        .collect();
    (!reminders.is_empty()).then(|| ReminderScheduled {
        due_at: due_at.map(crate::time::format),
        time_zone: task.content.time_zone.name().to_owned(),
        reminders,
    })
}
