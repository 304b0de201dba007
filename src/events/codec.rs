//! An event as a record value: the common header, the type-specific data, which topic each
//! type goes to, and the strict encoding and decoding (unknown fields, unknown types and newer
//! schema versions are refused, so a record that decodes is valid).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::payloads::*;
use super::Topic;
use crate::domain::Task;

/// The schema version this build writes and the newest it reads.
pub const SCHEMA_VERSION: u32 = 1;

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

    pub(super) fn new(task: &Task, data: EventData) -> Self {
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
}
