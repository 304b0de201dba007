//! Mapping between stored rows and domain values.

use std::sync::LazyLock;

use anyhow::{anyhow, Context};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::{Query, QueryAs};
use sqlx::Any;
use uuid::Uuid;

use super::sql::Record;
use super::Backend;
use crate::domain::{
    Description, NewTask, Priority, Recurrence, RecurrenceMode, Reminders, Series, Status, Tags, Task, TaskTitle,
    TimeZone, UserId,
};

/// The columns of `tasks` a task is read from, in the order [`TaskRow::from_record`] reads
/// them and [`task_values`] writes them; every statement on tasks is built from this list.
const TASK_FIELDS: [&str; 21] = [
    "id",
    "user_id",
    "title",
    "description",
    "priority",
    "tags",
    "due_at",
    "time_zone",
    "recurrence",
    "reminders",
    "status",
    "completed_at",
    "created_at",
    "updated_at",
    "version",
    "recurrence_mode",
    "exdates",
    "series_id",
    "series_start",
    "occurrence_index",
    "series_ended",
];
/// Written after the fields, never read back: the per-user search words.
const TASK_WRITE_ONLY: [&str; 1] = ["words"];
/// The columns that name a task's row; an update never changes them.
const TASK_KEY: [&str; 2] = ["id", "user_id"];

/// The select list of a task, from `tasks t`.
pub(crate) static TASK_COLUMNS: LazyLock<String> =
    LazyLock::new(|| TASK_FIELDS.map(|name| format!("t.{name}")).join(", "));

/// Inserts [`task_values`].
pub(crate) static INSERT_TASK: LazyLock<String> = LazyLock::new(|| {
    let names: Vec<&str> = TASK_FIELDS.iter().chain(&TASK_WRITE_ONLY).copied().collect();
    let params: Vec<String> = (1..=names.len()).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO tasks ({}) VALUES ({})",
        names.join(", "),
        params.join(", ")
    )
});

/// Inserts the [`task_values`] of `rows` tasks in one statement, passing over ids already
/// stored and returning the ids inserted (parameters from `backend`, as a batch's are).
pub(crate) fn insert_tasks_once(backend: Backend, rows: usize) -> String {
    let names: Vec<&str> = TASK_FIELDS.iter().chain(&TASK_WRITE_ONLY).copied().collect();
    format!(
        "INSERT INTO tasks ({}) VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
        names.join(", "),
        backend.tuples(1, rows, names.len())
    )
}

/// Writes [`task_values`] over the row of the same key whose version is the parameter after them.
pub(crate) static UPDATE_TASK: LazyLock<String> = LazyLock::new(|| {
    let names = TASK_FIELDS.iter().chain(&TASK_WRITE_ONLY);
    let param = |name: &str| names.clone().position(|n| *n == name).map_or(0, |i| i + 1);
    let set: Vec<String> = names
        .clone()
        .filter(|name| !TASK_KEY.contains(name))
        .map(|name| format!("{name} = ${}", param(name)))
        .collect();
    let key: Vec<String> = TASK_KEY
        .iter()
        .map(|name| format!("{name} = ${}", param(name)))
        .collect();
    let version = names.count() + 1;
    format!(
        "UPDATE tasks SET {} WHERE {} AND version = ${version}",
        set.join(", "),
        key.join(" AND ")
    )
});

/// The values of [`TASK_FIELDS`] and [`TASK_WRITE_ONLY`] for `task`, in order.
pub(crate) fn task_values(task: &Task) -> anyhow::Result<Vec<Bind>> {
    let c = &task.content;
    let opt = |value: Option<String>| value.map_or(Bind::Null, Bind::Text);
    Ok(vec![
        Bind::Text(task.id.to_string()),
        Bind::Text(task.user_id.as_str().to_owned()),
        Bind::Text(c.title.as_str().to_owned()),
        Bind::Text(c.description.as_str().to_owned()),
        Bind::Int(c.priority.rank()),
        Bind::Text(serde_json::to_string(&c.tags.to_strings())?),
        opt(c.due_at.map(crate::time::format)),
        Bind::Text(c.time_zone.name().to_owned()),
        opt(c.recurrence.as_ref().map(|r| r.as_str().to_owned())),
        Bind::Text(serde_json::to_string(&c.reminders.to_strings())?),
        Bind::Text(task.status.as_str().to_owned()),
        opt(task.completed_at.map(crate::time::format)),
        Bind::Text(crate::time::format(task.created_at)),
        Bind::Text(crate::time::format(task.updated_at)),
        Bind::Int(task.version),
        Bind::Text(c.recurrence_mode.as_str().to_owned()),
        Bind::Text(serde_json::to_string(
            &c.exdates.iter().copied().map(crate::time::format).collect::<Vec<_>>(),
        )?),
        Bind::Text(task.series.id.to_string()),
        opt(task.series.start.map(crate::time::format)),
        Bind::Int(task.series.index),
        Bind::Int(i64::from(task.series.ended)),
        Bind::Text(super::search::document(
            task.user_id.as_str(),
            c.title.as_str(),
            c.description.as_str(),
        )),
    ])
}

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
    /// Reads a row of [`TASK_FIELDS`], in their order.
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

/// Runs a statement whose `RETURNING` clause gives one text column (an id) inside `tx`,
/// and collects the ids it returned.
pub(crate) async fn returned_ids<C: FromIterator<String>>(
    tx: &mut super::Tx,
    sql: &str,
    binds: &[Bind],
) -> Result<C, sqlx::Error> {
    let rows: Vec<(String,)> = bind_all_as(sqlx::query_as(sql), binds).fetch_all(&mut **tx).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Priority, TaskInput};

    /// A task whose every field differs from its default, so a value written to the wrong
    /// column cannot read back equal.
    fn full_task() -> Task {
        let input = TaskInput {
            title: "Pay rent".into(),
            description: "before the 3rd".into(),
            tags: vec!["home".into(), "money".into()],
            priority: Priority::High,
            due_at: Some("2026-03-01T09:00:00+01:00".into()),
            time_zone: "Europe/Berlin".into(),
            recurrence: Some("FREQ=MONTHLY".into()),
            exdates: vec!["2026-05-01T09:00:00+02:00".into()],
            reminders: vec!["-PT15M".into()],
            ..TaskInput::titled("")
        };
        let content = NewTask::parse(&input).expect("valid input");
        let mut task = Task::new(UserId::parse("alice").unwrap(), content, crate::time::now());
        task.status = Status::Completed;
        task.completed_at = Some(task.created_at + chrono::Duration::minutes(5));
        task.updated_at = task.created_at + chrono::Duration::minutes(6);
        task.version = 7;
        task.series.id = Uuid::new_v4();
        task.series.start = Some(task.created_at - chrono::Duration::days(30));
        task.series.index = 3;
        task.series.ended = true;
        task
    }

    #[test]
    fn a_task_written_as_values_reads_back_equal() {
        let task = full_task();
        let values = task_values(&task).unwrap();
        assert_eq!(values.len(), TASK_FIELDS.len() + TASK_WRITE_ONLY.len());
        let read = TaskRow::from_record(Record::new(values[..TASK_FIELDS.len()].to_vec())).unwrap();
        assert_eq!(Task::try_from(read).unwrap(), task);
    }

    #[test]
    fn statements_name_each_column_once_with_its_own_parameter() {
        assert_eq!(TASK_COLUMNS.matches("t.").count(), TASK_FIELDS.len());
        assert!(INSERT_TASK.ends_with("$21, $22)"), "{}", *INSERT_TASK);
        assert!(
            UPDATE_TASK.starts_with("UPDATE tasks SET title = $3, "),
            "{}",
            *UPDATE_TASK
        );
        assert!(
            UPDATE_TASK.ends_with("words = $22 WHERE id = $1 AND user_id = $2 AND version = $23"),
            "{}",
            *UPDATE_TASK
        );
    }
}
