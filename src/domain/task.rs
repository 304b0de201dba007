//! A task and the parts of it a user edits.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Description, FieldError, FieldErrors, Priority, Recurrence, Reminders, Tags, TaskTitle, TimeZone, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Completed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Completed => "completed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "open" => Some(Self::Open),
            "completed" => Some(Self::Completed),
            _ => None,
        }
    }
}

/// The user-editable fields in their raw form, as a client sends them. Creating a task
/// parses one of these; editing one merges the patch into the current raw form and parses
/// the result, so every cross-field rule is checked the same way on both paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInput {
    pub title: String,
    pub description: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub due_at: Option<String>,
    pub time_zone: String,
    pub recurrence: Option<String>,
    pub reminders: Vec<String>,
}

/// The user-editable fields, valid and consistent with each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub title: TaskTitle,
    pub description: Description,
    pub priority: Priority,
    pub tags: Tags,
    pub due_at: Option<DateTime<Utc>>,
    pub time_zone: TimeZone,
    pub recurrence: Option<Recurrence>,
    pub reminders: Reminders,
}

impl NewTask {
    /// # Errors
    /// Every field at fault, each named as the client wrote it.
    pub fn parse(input: &TaskInput) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let title = errors.take(TaskTitle::parse(&input.title));
        let description = errors.take(Description::parse(&input.description));
        let tags = Tags::parse(&input.tags)
            .map_err(|e| e.into_iter().for_each(|e| errors.push(e)))
            .ok();
        let due_at = match &input.due_at {
            None => Some(None),
            Some(raw) => errors.take(crate::time::parse(raw).map(Some).ok_or_else(|| {
                FieldError::new(
                    "due_at",
                    format!("{raw:?} is not an RFC 3339 instant with offset, e.g. 2026-03-01T09:00:00+01:00"),
                )
            })),
        };
        let time_zone = errors.take(TimeZone::parse(&input.time_zone));
        let reminders = Reminders::parse(&input.reminders)
            .map_err(|e| e.into_iter().for_each(|e| errors.push(e)))
            .ok();
        let recurrence = match (&input.recurrence, due_at, time_zone) {
            (None, _, _) => Some(None),
            (Some(_), Some(None), _) => {
                errors.push(FieldError::new(
                    "recurrence",
                    "a repeating task needs a due_at (its first occurrence)",
                ));
                None
            }
            (Some(rule), Some(Some(due)), Some(zone)) => errors.take(Recurrence::parse(rule, due, zone).map(Some)),
            _ => None,
        };
        if let (Some(reminders), Some(None)) = (&reminders, due_at) {
            if reminders.any_relative() {
                errors.push(FieldError::new(
                    "reminders",
                    "a reminder relative to the due time needs a due_at",
                ));
            }
        }
        errors.finish()?;
        // Every part parsed, or `finish` would have returned the errors.
        match (title, description, tags, due_at, time_zone, recurrence, reminders) {
            (
                Some(title),
                Some(description),
                Some(tags),
                Some(due_at),
                Some(time_zone),
                Some(recurrence),
                Some(reminders),
            ) => Ok(Self {
                title,
                description,
                priority: input.priority,
                tags,
                due_at,
                time_zone,
                recurrence,
                reminders,
            }),
            _ => unreachable!("a field failed to parse without recording an error"),
        }
    }

    /// The raw form of these fields, for merging a patch into.
    pub fn to_input(&self) -> TaskInput {
        TaskInput {
            title: self.title.as_str().to_owned(),
            description: self.description.as_str().to_owned(),
            priority: self.priority,
            tags: self.tags.to_strings(),
            due_at: self.due_at.map(crate::time::format),
            time_zone: self.time_zone.name().to_owned(),
            recurrence: self.recurrence.as_ref().map(|r| r.as_str().to_owned()),
            reminders: self.reminders.to_strings(),
        }
    }

    /// Names of the fields that differ between `self` and `other`, in a fixed order.
    pub fn changed_fields(&self, other: &Self) -> Vec<&'static str> {
        let mut changed = Vec::new();
        let mut check = |name, differs: bool| {
            if differs {
                changed.push(name);
            }
        };
        check("title", self.title != other.title);
        check("description", self.description != other.description);
        check("priority", self.priority != other.priority);
        check("tags", self.tags != other.tags);
        check("due_at", self.due_at != other.due_at);
        check("time_zone", self.time_zone != other.time_zone);
        check("recurrence", self.recurrence != other.recurrence);
        check("reminders", self.reminders != other.reminders);
        changed
    }
}

/// A stored task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: Uuid,
    pub user_id: UserId,
    pub content: NewTask,
    pub status: Status,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// What a write did to a task, for the caller to answer with and to turn into events.
#[derive(Debug, Clone)]
pub struct TaskChanges {
    pub before: Option<Task>,
    pub after: Task,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> TaskInput {
        TaskInput {
            title: "Pay rent".into(),
            description: String::new(),
            priority: Priority::High,
            tags: vec!["Home".into()],
            due_at: Some("2026-03-01T09:00:00+01:00".into()),
            time_zone: "Europe/Berlin".into(),
            recurrence: Some("FREQ=MONTHLY".into()),
            reminders: vec!["-PT15M".into()],
        }
    }

    #[test]
    fn parses_and_round_trips() {
        let task = NewTask::parse(&input()).unwrap();
        assert_eq!(NewTask::parse(&task.to_input()).unwrap(), task);
    }

    #[test]
    fn cross_field_rules_name_the_field() {
        let mut raw = input();
        raw.due_at = None;
        let fields: Vec<_> = NewTask::parse(&raw).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["recurrence", "reminders"]);
    }

    #[test]
    fn reports_every_field_at_once() {
        let mut raw = input();
        raw.title = " ".into();
        raw.time_zone = "Mars/Olympus".into();
        raw.tags = vec![String::new()];
        let fields: Vec<_> = NewTask::parse(&raw).unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["title", "tags[0]", "time_zone"]);
    }
}
