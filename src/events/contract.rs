//! Event types, their data, and the topics they travel on.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::domain::{RecurrenceMode, Reminder, Task};

/// The schema version this build writes and the newest it reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The logical topics (their names on the broker get the configured prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    TaskEvents,
    TaskReminders,
    TaskRecurrence,
}

impl Topic {
    pub const ALL: [Topic; 3] = [Topic::TaskEvents, Topic::TaskReminders, Topic::TaskRecurrence];

    pub fn base_name(self) -> &'static str {
        match self {
            Self::TaskEvents => "task-events",
            Self::TaskReminders => "task-reminders",
            Self::TaskRecurrence => "task-recurrence",
        }
    }

    pub fn from_base_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.base_name() == name)
    }
}

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
    fn fields(&self) -> Map<String, Value> {
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

/// The type-specific part of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventData {
    TaskCreated(TaskCreated),
    TaskUpdated(TaskUpdated),
    TaskCompleted(TaskCompleted),
    TaskReopened(TaskReopened),
    TaskDeleted(TaskDeleted),
    ReminderScheduled(ReminderScheduled),
    ReminderCancelled(ReminderCancelled),
    ReminderFired(ReminderFired),
    ReminderMissed(ReminderMissed),
    ReminderDelivered(ReminderDelivered),
    ReminderFailed(ReminderFailed),
    SeriesAdvance(SeriesAdvance),
}

/// Every event type: its name, topic, and how to read and write its data.
macro_rules! event_types {
    ($($variant:ident => $name:literal on $topic:ident),+ $(,)?) => {
        impl EventData {
            pub const TYPES: &'static [&'static str] = &[$($name),+];

            pub fn event_type(&self) -> &'static str {
                match self { $(Self::$variant(_) => $name),+ }
            }

            pub fn topic(&self) -> Topic {
                match self { $(Self::$variant(_) => Topic::$topic),+ }
            }

            fn to_value(&self) -> serde_json::Result<Value> {
                match self { $(Self::$variant(data) => serde_json::to_value(data)),+ }
            }

            fn from_value(event_type: &str, value: Value) -> Result<Self, DecodeError> {
                match event_type {
                    $($name => serde_json::from_value(value).map(Self::$variant).map_err(|e| DecodeError::Schema(e.to_string())),)+
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }

            /// The JSON Schema of each event type's data, by type name.
            pub fn data_schemas() -> Vec<(&'static str, Topic, schemars::schema::RootSchema)> {
                vec![$(($name, Topic::$topic, schemars::schema_for!($variant))),+]
            }
        }
    };
}

event_types! {
    TaskCreated => "task.created" on TaskEvents,
    TaskUpdated => "task.updated" on TaskEvents,
    TaskCompleted => "task.completed" on TaskEvents,
    TaskReopened => "task.reopened" on TaskEvents,
    TaskDeleted => "task.deleted" on TaskEvents,
    ReminderScheduled => "reminder.scheduled" on TaskReminders,
    ReminderCancelled => "reminder.cancelled" on TaskReminders,
    ReminderFired => "reminder.fired" on TaskReminders,
    ReminderMissed => "reminder.missed" on TaskReminders,
    ReminderDelivered => "reminder.delivered" on TaskReminders,
    ReminderFailed => "reminder.failed" on TaskReminders,
    SeriesAdvance => "series.advance" on TaskRecurrence,
}

/// The fields every event carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventHeader {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    /// RFC 3339, UTC.
    pub occurred_at: String,
    pub user_id: String,
    pub task_id: Uuid,
    pub task_version: i64,
}

/// A whole event: what a record value holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub header: EventHeader,
    pub data: EventData,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("the record value is not a JSON object: {0}")]
    NotJson(String),
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error("schema version {0} is newer than this build understands ({SCHEMA_VERSION})")]
    NewerVersion(u32),
    #[error("the record does not match its schema: {0}")]
    Schema(String),
}

impl Event {
    /// An event about a task that is not at hand, only its identity.
    pub fn about(user_id: &str, task_id: Uuid, task_version: i64, data: EventData) -> Self {
        Self {
            header: EventHeader {
                event_id: Uuid::now_v7(),
                event_type: data.event_type().to_owned(),
                schema_version: SCHEMA_VERSION,
                occurred_at: crate::time::format(crate::time::now()),
                user_id: user_id.to_owned(),
                task_id,
                task_version,
            },
            data,
        }
    }

    fn new(task: &Task, data: EventData) -> Self {
        Self {
            header: EventHeader {
                event_id: Uuid::now_v7(),
                event_type: data.event_type().to_owned(),
                schema_version: SCHEMA_VERSION,
                occurred_at: crate::time::format(task.updated_at),
                user_id: task.user_id.as_str().to_owned(),
                task_id: task.id,
                task_version: task.version,
            },
            data,
        }
    }

    pub fn topic(&self) -> Topic {
        self.data.topic()
    }

    /// The record key: the task id, or the series id on task-recurrence.
    pub fn key(&self) -> String {
        match &self.data {
            EventData::SeriesAdvance(advance) => advance.series_id.to_string(),
            _ => self.header.task_id.to_string(),
        }
    }

    /// # Errors
    /// Only if serialisation fails, which these types do not.
    pub fn encode(&self) -> serde_json::Result<String> {
        let mut object = match serde_json::to_value(&self.header)? {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        object.insert("data".into(), self.data.to_value()?);
        serde_json::to_string(&object)
    }

    /// Reads and validates a record value.
    ///
    /// # Errors
    /// Not JSON, an unknown type, a newer schema version, or a value off its schema.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let value: Value = serde_json::from_slice(bytes).map_err(|e| DecodeError::NotJson(e.to_string()))?;
        let Value::Object(mut object) = value else {
            return Err(DecodeError::NotJson("not an object".into()));
        };
        let data = object
            .remove("data")
            .ok_or_else(|| DecodeError::Schema("missing field `data`".into()))?;
        let header: EventHeader =
            serde_json::from_value(Value::Object(object)).map_err(|e| DecodeError::Schema(e.to_string()))?;
        if header.schema_version > SCHEMA_VERSION {
            return Err(DecodeError::NewerVersion(header.schema_version));
        }
        let data = EventData::from_value(&header.event_type, data)?;
        Ok(Self { header, data })
    }

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
