//! The logical topics events travel on; their names on the broker get the configured prefix
//! (`bus::TopicNames`).

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
