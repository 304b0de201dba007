//! What each event type carries in its `data`: the task snapshot and one struct per type.
//! Their JSON Schemas are generated from these types (`schema`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::EventHeader;
use crate::domain::{RecurrenceMode, Task};

/// A task's fields as events carry them. Instants are RFC 3339 UTC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskSnapshot {
    pub title: String,
    pub description: String,
    /// low | medium | high | urgent
    pub priority: String,
    pub tags: Vec<String>,
    pub due_at: Option<String>,
    pub time_zone: String,
    pub recurrence: Option<String>,
    pub recurrence_mode: RecurrenceMode,
    pub exdates: Vec<String>,
    pub reminders: Vec<String>,
    /// open | completed
    pub status: String,
    pub completed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Shared by every occurrence of a repeating task.
    pub series_id: Uuid,
    /// DTSTART of the series' rule.
    pub series_start: Option<String>,
    /// 1 for the first occurrence since the rule was set.
    pub occurrence_index: i64,
    /// True on the last occurrence of a series that COUNT or UNTIL ended.
    pub series_ended: bool,
}

impl From<&Task> for TaskSnapshot {
    fn from(task: &Task) -> Self {
        let c = &task.content;
        Self {
            title: c.title.as_str().to_owned(),
            description: c.description.as_str().to_owned(),
            priority: c.priority.as_str().to_owned(),
            tags: c.tags.to_strings(),
            due_at: c.due_at.map(crate::time::format),
            time_zone: c.time_zone.name().to_owned(),
            recurrence: c.recurrence.as_ref().map(|r| r.as_str().to_owned()),
            recurrence_mode: c.recurrence_mode,
            exdates: c.exdates.iter().copied().map(crate::time::format).collect(),
            reminders: c.reminders.to_strings(),
            status: task.status.as_str().to_owned(),
            completed_at: task.completed_at.map(crate::time::format),
            created_at: crate::time::format(task.created_at),
            updated_at: crate::time::format(task.updated_at),
            series_id: task.series.id,
            series_start: task.series.start.map(crate::time::format),
            occurrence_index: task.series.index,
            series_ended: task.series.ended,
        }
    }
}

impl TaskSnapshot {
    /// The task this snapshot describes, parsed as strictly as an API request.
    ///
    /// # Errors
    /// When a field is not valid.
    pub fn to_task(&self, header: &EventHeader) -> anyhow::Result<Task> {
        use crate::domain::{NewTask, Priority, Series, Status, TaskInput, UserId};
        let invalid = |what: &str| anyhow::anyhow!("the event's {what} is not valid");
        let input = TaskInput {
            title: self.title.clone(),
            description: self.description.clone(),
            priority: Priority::parse(&self.priority).ok_or_else(|| invalid("priority"))?,
            tags: self.tags.clone(),
            due_at: self.due_at.clone(),
            time_zone: self.time_zone.clone(),
            recurrence: self.recurrence.clone(),
            recurrence_mode: self.recurrence_mode,
            exdates: self.exdates.clone(),
            reminders: self.reminders.clone(),
        };
        let content = NewTask::parse(&input).map_err(|e| anyhow::anyhow!("the event's task is not valid: {e:?}"))?;
        let instant = |text: &str| crate::time::parse(text).ok_or_else(|| invalid("instant"));
        Ok(Task {
            id: header.task_id,
            user_id: UserId::parse(&header.user_id).map_err(|_| invalid("user_id"))?,
            content,
            series: Series {
                id: self.series_id,
                start: self.series_start.as_deref().map(instant).transpose()?,
                index: self.occurrence_index,
                ended: self.series_ended,
            },
            status: Status::parse(&self.status).ok_or_else(|| invalid("status"))?,
            completed_at: self.completed_at.as_deref().map(instant).transpose()?,
            created_at: instant(&self.created_at)?,
            updated_at: instant(&self.updated_at)?,
            version: header.task_version,
        })
    }
}

impl TaskSnapshot {
    pub(super) fn fields(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskCreated {
    pub task: TaskSnapshot,
}

/// The fields that changed, with their values before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdated {
    pub changed: Vec<String>,
    pub before: Map<String, Value>,
    pub after: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskCompleted {
    pub completed_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskReopened {}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskDeleted {
    /// The task as it was when deleted.
    pub task: TaskSnapshot,
}

/// One reminder of a task, with the instant it should fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduledReminder {
    /// Position in the task's reminder list.
    pub index: u32,
    /// As the user gave it: an instant or an offset such as "-PT15M".
    pub spec: String,
    pub fire_at: String,
}

/// The complete reminder schedule of a task at this version (it replaces earlier ones).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderScheduled {
    pub due_at: Option<String>,
    pub time_zone: String,
    pub reminders: Vec<ScheduledReminder>,
}

/// Every pending reminder of the task is void from this version on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderCancelled {
    /// completed | deleted | removed
    pub reason: String,
}

/// A reminder's moment came and the scheduler fired it (once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderFired {
    /// Names this reminder of this occurrence: `<task id>:<index>:<fire_at>`.
    pub reminder_id: String,
    pub index: u32,
    pub spec: String,
    /// When it was meant to fire.
    pub fire_at: String,
    /// When it fired.
    pub fired_at: String,
    /// True when it fired after its moment because no scheduler was running then.
    pub late: bool,
    pub late_ms: i64,
    pub title: String,
    pub due_at: Option<String>,
}

/// A reminder whose moment passed longer ago than the grace period while no scheduler
/// ran: recorded, not sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderMissed {
    pub reminder_id: String,
    pub index: u32,
    pub fire_at: String,
    pub detected_at: String,
}

/// A fired reminder reached the user on a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderDelivered {
    pub reminder_id: String,
    /// webhook | log
    pub channels: Vec<String>,
    pub delivered_at: String,
}

/// A fired reminder could not be delivered on a channel after every retry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReminderFailed {
    pub reminder_id: String,
    pub channel: String,
    pub error: String,
    pub failed_at: String,
}

/// An occurrence of a repeating task was completed: the series should advance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesAdvance {
    pub series_id: Uuid,
    /// The occurrence that was completed.
    pub occurrence: TaskSnapshot,
}
