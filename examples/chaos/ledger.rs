//! What the harness knows was committed: every task version the API acknowledged (or that a
//! write whose answer was lost turned out to have made), the next occurrence every completion
//! of a repeating occurrence asks the recurrence role for, and every reminder asked for.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The occurrence a completion asks for.
#[derive(Debug, Clone)]
pub struct NextOccurrence {
    pub series: Uuid,
    /// Its position in the series (the completed one's plus one).
    pub index: i64,
    /// Completions that asked for it (a reopened occurrence completed again asks again).
    pub completions: u32,
}

/// A reminder the harness asked for, on a task it never touches again.
#[derive(Debug, Clone)]
pub struct Reminder {
    /// Whose webhook it goes to.
    pub user: String,
    pub task: Uuid,
    pub index: u32,
    pub fire_at: DateTime<Utc>,
}

impl Reminder {
    /// Its id, which is also its webhook delivery id: `<task>:<index>:<fire_at>`.
    pub fn id(&self) -> String {
        format!(
            "{}:{}:{}",
            self.task,
            self.index,
            taskstream::time::format(self.fire_at)
        )
    }
}

/// Everything the checks compare the pipeline with.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// Versions of each task, from the API's answers.
    pub versions: HashMap<Uuid, BTreeSet<i64>>,
    /// Next occurrences by their id (version 1 of each is the recurrence role's change).
    pub next: HashMap<Uuid, NextOccurrence>,
    pub reminders: Vec<Reminder>,
}

impl Expected {
    /// Every change: (task, version) for each acknowledged write and each next occurrence.
    pub fn changes(&self) -> HashMap<Uuid, BTreeSet<i64>> {
        let mut changes = self.versions.clone();
        for id in self.next.keys() {
            changes.entry(*id).or_default().insert(1);
        }
        changes
    }

    /// When the last reminder asked for falls due.
    pub fn last_fire_at(&self) -> Option<DateTime<Utc>> {
        self.reminders.iter().map(|r| r.fire_at).max()
    }
}

#[derive(Default)]
pub struct Ledger {
    inner: Mutex<Expected>,
}

impl Ledger {
    /// `task` is at `version` by a write of the harness.
    pub fn committed(&self, task: Uuid, version: i64) {
        self.lock().versions.entry(task).or_default().insert(version);
    }

    /// An occurrence (`series`, `index`) due at `due` was completed: the id of the next one,
    /// and whether this is the first completion asking for it.
    pub fn completed_occurrence(&self, series: Uuid, index: i64, due: Option<DateTime<Utc>>) -> (Uuid, bool) {
        let id = taskstream::domain::next_occurrence_id(series, due);
        let mut inner = self.lock();
        let next = inner.next.entry(id).or_insert(NextOccurrence {
            series,
            index: index + 1,
            completions: 0,
        });
        next.completions += 1;
        (id, next.completions == 1)
    }

    pub fn reminder(&self, reminder: Reminder) {
        self.lock().reminders.push(reminder);
    }

    pub fn snapshot(&self) -> Expected {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Expected> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
