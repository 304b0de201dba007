//! The consumer roles one binary can play: what each does with a record. The relay, which
//! publishes the outbox, sits beside them in `crate::relay`.

pub mod audit;
pub mod delivery;
pub mod live;
pub mod notifier;
pub mod presence;
pub mod recurrence;
pub mod scheduler;

use std::str::FromStr;

use crate::events::Topic;

/// A consumer role for `taskstream worker --role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Appends every task event to the audit history.
    Audit,
    /// Creates the next occurrence when an occurrence of a repeating task is completed.
    Recurrence,
    /// Keeps the reminder schedule and fires each reminder at its moment.
    Scheduler,
    /// Delivers fired reminders: a log line, and the user's webhook through its delivery
    /// worker (in the same process).
    Notifier,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Audit, Role::Recurrence, Role::Scheduler, Role::Notifier];

    /// Names the role's consumer group and inbox.
    pub fn name(self) -> &'static str {
        match self {
            Self::Audit => "audit",
            Self::Recurrence => "recurrence",
            Self::Scheduler => "scheduler",
            Self::Notifier => "notifier",
        }
    }

    /// The topics the role reads.
    pub fn topics(self) -> &'static [Topic] {
        match self {
            Self::Audit => &[Topic::TaskEvents],
            Self::Recurrence => &[Topic::TaskRecurrence],
            Self::Scheduler | Self::Notifier => &[Topic::TaskReminders],
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Self as clap::ValueEnum>::from_str(s, true)
    }
}
