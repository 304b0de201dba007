//! Mapping between stored rows and domain values.

use anyhow::{anyhow, Context};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::{Query, QueryAs};
use sqlx::Any;
use uuid::Uuid;

use super::sql::Record;

use crate::domain::{
    Description, NewTask, Priority, Recurrence, RecurrenceMode, Reminders, Series, Status, Tags, Task, TaskTitle,
    TimeZone, UserId,
};

pub(crate) const TASK_COLUMNS: &str = "t.id, t.user_id, t.title, t.description, t.priority, \
    t.tags, t.due_at, t.time_zone, t.recurrence, t.reminders, t.status, t.completed_at, \
    t.created_at, t.updated_at, t.version, t.recurrence_mode, t.exdates, t.series_id, t.series_start, \
    t.occurrence_index, t.series_ended";

#[derive(Debug)]
pub(crate) struct TaskRow {
    id: String,
    user_id: String,
    title: String,
    description: String,
    priority: i64,
    tags: String,
    due_at: Option<String>,
    time_zone: String,
    recurrence: Option<String>,
    reminders: String,
    status: String,
    completed_at: Option<String>,
    created_at: String,
    updated_at: String,
    version: i64,
    recurrence_mode: String,
    exdates: String,
    series_id: Option<String>,
    series_start: Option<String>,
    occurrence_index: i64,
    series_ended: i64,
}

impl TaskRow {
    /// Reads a row of [`TASK_COLUMNS`], in their order.
    pub(crate) fn from_record(record: Record) -> anyhow::Result<Self> {
        let mut c = record.columns();
        Ok(Self {
            id: c.text()?,
            user_id: c.text()?,
            title: c.text()?,
            description: c.text()?,
            priority: c.int()?,
            tags: c.text()?,
            due_at: c.opt_text()?,
            time_zone: c.text()?,
            recurrence: c.opt_text()?,
            reminders: c.text()?,
            status: c.text()?,
            completed_at: c.opt_text()?,
            created_at: c.text()?,
            updated_at: c.text()?,
            version: c.int()?,
            recurrence_mode: c.text()?,
            exdates: c.text()?,
            series_id: c.opt_text()?,
            series_start: c.opt_text()?,
            occurrence_index: c.int()?,
            series_ended: c.int()?,
        })
    }
}

impl sqlx::FromRow<'_, AnyRow> for TaskRow {
    fn from_row(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let decode = |error: anyhow::Error| sqlx::Error::Decode(error.into());
        Self::from_record(Record::from_any_row(row).map_err(decode)?).map_err(decode)
    }
}

impl TryFrom<TaskRow> for Task {
    type Error = anyhow::Error;

    /// Rows were valid when written; a failure here means the database was edited by hand.
    fn try_from(row: TaskRow) -> anyhow::Result<Task> {
        let instant =
            |text: &str| crate::time::parse(text).ok_or_else(|| anyhow!("stored instant {text:?} is not RFC 3339"));
        let tags: Vec<String> = serde_json::from_str(&row.tags).context("stored tags")?;
        let reminders: Vec<String> = serde_json::from_str(&row.reminders).context("stored reminders")?;
        let exdates: Vec<String> = serde_json::from_str(&row.exdates).context("stored exdates")?;
        let content = NewTask {
            title: TaskTitle::parse(&row.title).map_err(|e| anyhow!(e.message))?,
            description: Description::parse(&row.description).map_err(|e| anyhow!(e.message))?,
            priority: Priority::from_rank(row.priority).context("stored priority")?,
            tags: Tags::parse(&tags).map_err(|_| anyhow!("stored tags are invalid"))?,
            due_at: row.due_at.as_deref().map(instant).transpose()?,
            time_zone: TimeZone::parse(&row.time_zone).map_err(|e| anyhow!(e.message))?,
            recurrence: row.recurrence.map(Recurrence::from_stored),
            recurrence_mode: RecurrenceMode::parse(&row.recurrence_mode).context("stored recurrence mode")?,
            exdates: exdates.iter().map(|t| instant(t)).collect::<anyhow::Result<_>>()?,
            reminders: Reminders::parse(&reminders).map_err(|_| anyhow!("stored reminders are invalid"))?,
        };
        let id = Uuid::parse_str(&row.id).context("stored task id")?;
        let series = Series {
            id: row
                .series_id
                .as_deref()
                .map(Uuid::parse_str)
                .transpose()
                .context("stored series id")?
                .unwrap_or(id),
            start: row.series_start.as_deref().map(instant).transpose()?,
            index: row.occurrence_index,
            ended: row.series_ended != 0,
        };
        Ok(Task {
            id,
            user_id: UserId::parse(&row.user_id).map_err(|e| anyhow!(e.message))?,
            content,
            series,
            status: Status::parse(&row.status).context("stored status")?,
            completed_at: row.completed_at.as_deref().map(instant).transpose()?,
            created_at: instant(&row.created_at)?,
            updated_at: instant(&row.updated_at)?,
            version: row.version,
        })
    }
}

/// A parameter of a query assembled at run time, or a column value read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bind {
    Text(String),
    Int(i64),
    Null,
}

pub(crate) fn bind_all<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    binds: &'q [Bind],
) -> Query<'q, Any, AnyArguments<'q>> {
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text.as_str()),
            Bind::Int(value) => query.bind(*value),
            Bind::Null => query.bind(None::<String>),
        };
    }
    query
}

pub(crate) fn bind_all_as<'q, O>(
    mut query: QueryAs<'q, Any, O, AnyArguments<'q>>,
    binds: &'q [Bind],
) -> QueryAs<'q, Any, O, AnyArguments<'q>> {
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text.as_str()),
            Bind::Int(value) => query.bind(*value),
            Bind::Null => query.bind(None::<String>),
        };
    }
    query
}
