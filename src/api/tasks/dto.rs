//! What clients send and receive for tasks. These types also generate the OpenAPI schemas.

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{Priority, RecurrenceMode, Task, TaskInput};

/// A new task. Only `title` is required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTaskRequest {
    /// 1–255 characters after trimming.
    #[schema(example = "Pay rent")]
    pub title: String,
    /// At most 10,000 characters.
    pub description: Option<String>,
    /// Defaults to medium.
    pub priority: Option<Priority>,
    /// At most 10 tags of 1–30 characters; stored lowercase and unique.
    pub tags: Option<Vec<String>>,
    /// RFC 3339 instant with offset.
    #[schema(example = "2026-03-01T09:00:00+01:00")]
    pub due_at: Option<String>,
    /// IANA time zone in which due times and repeat rules are read. Defaults to UTC.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    /// RFC 5545 RRULE (FREQ DAILY, WEEKLY, MONTHLY or YEARLY); needs `due_at`.
    #[schema(example = "FREQ=WEEKLY;BYDAY=MO")]
    pub recurrence: Option<String>,
    /// `due` (default): the next occurrence follows the rule's calendar; `completion`: it is
    /// counted from the day the previous one was completed.
    pub recurrence_mode: Option<RecurrenceMode>,
    /// Occurrences to skip: RFC 3339 instants of the rule (at most 100).
    pub exdates: Option<Vec<String>>,
    /// At most 5: RFC 3339 instants, or offsets before `due_at` such as "-PT15M".
    pub reminders: Option<Vec<String>>,
}

impl CreateTaskRequest {
    pub fn into_input(self) -> TaskInput {
        TaskInput {
            title: self.title,
            description: self.description.unwrap_or_default(),
            priority: self.priority.unwrap_or_default(),
            tags: self.tags.unwrap_or_default(),
            due_at: self.due_at,
            time_zone: self.time_zone.unwrap_or_else(|| "UTC".to_owned()),
            recurrence: self.recurrence,
            recurrence_mode: self.recurrence_mode.unwrap_or_default(),
            exdates: self.exdates.unwrap_or_default(),
            reminders: self.reminders.unwrap_or_default(),
        }
    }
}

/// A partial update: absent fields stay as they are; `null` clears a field that may be empty.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTaskRequest {
    #[serde(default, deserialize_with = "not_null")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "not_null")]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "not_null")]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub due_at: Option<Option<String>>,
    #[serde(default, deserialize_with = "not_null")]
    pub time_zone: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, nullable)]
    pub recurrence: Option<Option<String>>,
    #[serde(default, deserialize_with = "not_null")]
    pub recurrence_mode: Option<RecurrenceMode>,
    #[serde(default, deserialize_with = "not_null")]
    pub exdates: Option<Vec<String>>,
    #[serde(default, deserialize_with = "not_null")]
    pub reminders: Option<Vec<String>>,
}

impl UpdateTaskRequest {
    /// The current raw fields with this patch applied.
    pub fn apply(self, mut input: TaskInput) -> TaskInput {
        if let Some(title) = self.title {
            input.title = title;
        }
        if let Some(description) = self.description {
            input.description = description.unwrap_or_default();
        }
        if let Some(priority) = self.priority {
            input.priority = priority;
        }
        if let Some(tags) = self.tags {
            input.tags = tags;
        }
        if let Some(due_at) = self.due_at {
            input.due_at = due_at;
        }
        if let Some(time_zone) = self.time_zone {
            input.time_zone = time_zone;
        }
        if let Some(recurrence) = self.recurrence {
            input.recurrence = recurrence;
        }
        if let Some(mode) = self.recurrence_mode {
            input.recurrence_mode = mode;
        }
        if let Some(exdates) = self.exdates {
            input.exdates = exdates;
        }
        if let Some(reminders) = self.reminders {
            input.reminders = reminders;
        }
        input
    }
}

/// An absent field is None; a present `null` is refused (the field cannot be cleared).
fn not_null<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Tells a present `null` (Some(None)) from an absent field (None).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A task as the API shows it. Instants are RFC 3339 in UTC.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskView {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub due_at: Option<String>,
    pub time_zone: String,
    pub recurrence: Option<String>,
    pub recurrence_mode: RecurrenceMode,
    pub exdates: Vec<String>,
    pub reminders: Vec<String>,
    /// Shared by every occurrence of a repeating task (the first occurrence's id).
    pub series_id: Uuid,
    /// 1 for the first occurrence of the series (since its rule was last set).
    pub occurrence: i64,
    /// True on the last occurrence of a series that COUNT or UNTIL ended.
    pub series_ended: bool,
    /// open or completed
    #[schema(example = "open")]
    pub status: String,
    pub completed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Starts at 1 and grows by one on every change; send it back in If-Match.
    pub version: i64,
}

impl From<&Task> for TaskView {
    fn from(task: &Task) -> Self {
        let c = &task.content;
        Self {
            id: task.id,
            title: c.title.as_str().to_owned(),
            description: c.description.as_str().to_owned(),
            priority: c.priority,
            tags: c.tags.to_strings(),
            due_at: c.due_at.map(crate::time::format),
            time_zone: c.time_zone.name().to_owned(),
            recurrence: c.recurrence.as_ref().map(|r| r.as_str().to_owned()),
            recurrence_mode: c.recurrence_mode,
            exdates: c.exdates.iter().copied().map(crate::time::format).collect(),
            reminders: c.reminders.to_strings(),
            series_id: task.series.id,
            occurrence: task.series.index,
            series_ended: task.series.ended,
            status: task.status.as_str().to_owned(),
            completed_at: task.completed_at.map(crate::time::format),
            created_at: crate::time::format(task.created_at),
            updated_at: crate::time::format(task.updated_at),
            version: task.version,
        }
    }
}

/// One page of tasks.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskPage {
    pub items: Vec<TaskView>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// One recorded event of a task's history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub event_id: String,
    /// task.created, task.updated, task.completed, task.reopened or task.deleted
    pub event_type: String,
    pub task_version: i64,
    pub occurred_at: String,
    /// The event's type-specific data.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<crate::store::AuditEntry> for HistoryEntry {
    fn from(entry: crate::store::AuditEntry) -> Self {
        let data = serde_json::from_str::<serde_json::Value>(&entry.payload)
            .ok()
            .and_then(|mut v| v.get_mut("data").map(serde_json::Value::take))
            .unwrap_or_default();
        Self {
            event_id: entry.event_id,
            event_type: entry.event_type,
            task_version: entry.task_version,
            occurred_at: entry.occurred_at,
            data,
        }
    }
}

/// Upcoming due times of a repeating task.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OccurrencePreview {
    /// RFC 3339 UTC instants after this occurrence's due time, in order.
    pub due_times: Vec<String>,
    /// The same instants as wall-clock times in the task's time zone.
    pub local_times: Vec<String>,
    /// True when the series ends within the preview (COUNT or UNTIL).
    pub series_ends: bool,
}

/// One reminder of a task at its current occurrence.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReminderView {
    pub index: u32,
    /// As given: an instant or an offset such as "-PT15M".
    pub spec: String,
    /// When it fires (or fired) for this occurrence.
    pub fire_at: Option<String>,
    /// pending | fired | delivered | failed | missed | cancelled
    pub state: String,
    pub fired_at: Option<String>,
    /// How long after its moment it fired.
    pub late_ms: Option<i64>,
}
