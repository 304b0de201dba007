//! Reading and writing tasks. Every write goes through [`Store::write`]: the task row, its tag
//! rows, the idempotency record and its outbox rows commit together (promise 1).

use anyhow::Context;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::idempotency::{self, Claim};
use super::rows::{task_values, Bind, TaskRow, INSERT_TASK, TASK_COLUMNS, UPDATE_TASK};
use super::sql::Exec;
use super::{Holdings, IdempotencyRequest, Store, StoredResponse};
use crate::domain::{FieldError, NewTask, Task, UserId};
use crate::events::Event;

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("task not found")]
    NotFound,
    #[error("the task is at version {current}, not the version the request was based on")]
    Stale { current: i64 },
    #[error("the change is invalid")]
    Invalid(Vec<FieldError>),
    #[error("this Idempotency-Key was used with a different request body")]
    IdempotencyMismatch,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInFlight,
    #[error("{0}")]
    QuotaExceeded(String),
    #[error(transparent)]
    Database(#[from] anyhow::Error),
}

impl From<sqlx::Error> for WriteError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error.into())
    }
}

pub enum CreateOutcome {
    Created(Box<Task>),
    /// A retry of an earlier request with the same Idempotency-Key.
    Replayed(StoredResponse),
}

impl Store {
    /// Creates a task for `user` within `holdings`. With an idempotency key the response
    /// `render` makes is stored in the same transaction and a retry gets it back unchanged
    /// (even once the user is at a quota).
    ///
    /// # Errors
    /// A reused key with another body, a quota reached, or a database failure.
    pub async fn create_task(
        &self,
        user: &UserId,
        content: NewTask,
        holdings: Holdings,
        idempotency: Option<IdempotencyRequest>,
        render: impl FnOnce(&Task) -> StoredResponse + Send + 'static,
    ) -> Result<CreateOutcome, WriteError> {
        let user = user.clone();
        self.write(Box::new(move |tx| {
            Box::pin(async move {
                if let Some(request) = &idempotency {
                    match idempotency::claim(tx, &user, request).await? {
                        Claim::New => {}
                        Claim::Replay(response) => return Ok((CreateOutcome::Replayed(response), Vec::new())),
                        Claim::Mismatch => return Err(WriteError::IdempotencyMismatch),
                        Claim::InFlight => return Err(WriteError::IdempotencyInFlight),
                    }
                }
                let task = Task::new(user.clone(), content, crate::time::now());
                holdings.admit(tx, &user, None, &task).await?;
                insert_task(tx, &task).await?;
                replace_tags(tx, &task, false).await?;
                if let Some(request) = &idempotency {
                    idempotency::complete(tx, &user, request, &render(&task)).await?;
                }
                let events = Event::for_change(None, Some(&task));
                Ok((CreateOutcome::Created(Box::new(task)), events))
            })
        }))
        .await
    }

    /// The caller's task, or `None` when it does not exist or belongs to someone else.
    ///
    /// # Errors
    /// A database failure.
    pub async fn get_task(&self, user: &UserId, id: Uuid) -> anyhow::Result<Option<Task>> {
        let sql = format!(
            "SELECT {} FROM tasks t WHERE t.id = $1 AND t.user_id = $2",
            *TASK_COLUMNS
        );
        let row: Option<TaskRow> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .bind(user.as_str())
            .fetch_optional(&self.reader)
            .await
            .context("read task")?;
        row.map(Task::try_from).transpose()
    }

    /// Loads the caller's task, lets `change` compute its next state from it and the
    /// current time (`None`: nothing to change), and stores that state as the next version,
    /// within `holdings`.
    ///
    /// # Errors
    /// Not found, a stale `if_match`, a change `change` rejects, a quota reached, or a
    /// database failure.
    pub async fn change_task<F>(
        &self,
        user: &UserId,
        id: Uuid,
        if_match: Option<i64>,
        holdings: Holdings,
        change: F,
    ) -> Result<Task, WriteError>
    where
        F: FnOnce(&Task, DateTime<Utc>) -> Result<Option<Task>, Vec<FieldError>> + Send + 'static,
    {
        let (store, user) = (self.clone(), user.clone());
        self.write(Box::new(move |tx| {
            Box::pin(async move {
                let current = store.lock_task(tx, &user, id, if_match).await?;
                let now = crate::time::now();
                let Some(mut next) = change(&current, now).map_err(WriteError::Invalid)? else {
                    return Ok((current, Vec::new()));
                };
                next.version = current.version + 1;
                next.updated_at = now.max(current.updated_at);
                holdings.admit(tx, &user, Some(&current), &next).await?;
                update_task(tx, &next, current.version).await?;
                if next.content.tags != current.content.tags {
                    replace_tags(tx, &next, true).await?;
                }
                let events = Event::for_change(Some(&current), Some(&next));
                Ok((next, events))
            })
        }))
        .await
    }

    /// Deletes the caller's task and returns what it was.
    ///
    /// # Errors
    /// Not found, a stale `if_match`, or a database failure.
    pub async fn delete_task(
        &self,
        user: &UserId,
        id: Uuid,
        if_match: Option<i64>,
        stop_series: bool,
    ) -> Result<Task, WriteError> {
        let (store, user) = (self.clone(), user.clone());
        self.write(Box::new(move |tx| {
            Box::pin(async move {
                let current = store.lock_task(tx, &user, id, if_match).await?;
                if stop_series {
                    super::series::stop(tx, &user, current.series.id).await?;
                }
                let binds = [Bind::Text(id.to_string()), Bind::Text(user.as_str().to_owned())];
                tx.execute("DELETE FROM tasks WHERE id = $1 AND user_id = $2", &binds)
                    .await
                    .context("delete task")?;
                let events = Event::for_change(Some(&current), None);
                Ok((current, events))
            })
        }))
        .await
    }

    pub(super) async fn lock_task(
        &self,
        tx: &mut dyn Exec,
        user: &UserId,
        id: Uuid,
        if_match: Option<i64>,
    ) -> Result<Task, WriteError> {
        let sql = format!(
            "SELECT {} FROM tasks t WHERE t.id = $1 AND t.user_id = $2{}",
            *TASK_COLUMNS,
            self.backend.for_update()
        );
        let binds = [Bind::Text(id.to_string()), Bind::Text(user.as_str().to_owned())];
        let record = tx.fetch_optional(&sql, &binds).await.context("read task for change")?;
        let current = Task::try_from(TaskRow::from_record(record.ok_or(WriteError::NotFound)?)?)?;
        match if_match {
            Some(expected) if expected != current.version => Err(WriteError::Stale {
                current: current.version,
            }),
            _ => Ok(current),
        }
    }
}

async fn insert_task(tx: &mut dyn Exec, task: &Task) -> anyhow::Result<()> {
    let binds = task_values(task)?;
    tx.execute(&INSERT_TASK, &binds).await.context("insert task")?;
    Ok(())
}

/// Writes `task` over the stored row, which must still be at `expected_version`.
pub(super) async fn update_task(tx: &mut dyn Exec, task: &Task, expected_version: i64) -> Result<(), WriteError> {
    let mut binds = task_values(task)?;
    binds.push(Bind::Int(expected_version));
    let updated = tx.execute(&UPDATE_TASK, &binds).await.context("update task")?;
    if updated == 1 {
        Ok(())
    } else {
        Err(WriteError::Stale {
            current: expected_version,
        })
    }
}

pub(super) async fn replace_tags(tx: &mut dyn Exec, task: &Task, clear_first: bool) -> anyhow::Result<()> {
    let id = task.id.to_string();
    if clear_first {
        tx.execute("DELETE FROM task_tags WHERE task_id = $1", &[Bind::Text(id.clone())])
            .await
            .context("clear tags")?;
    }
    let tags = task.content.tags.to_strings();
    if tags.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = (0..tags.len()).map(|i| format!("($1, $2, ${})", i + 3)).collect();
    let sql = format!(
        "INSERT INTO task_tags (task_id, user_id, tag) VALUES {}",
        values.join(", ")
    );
    let mut binds = vec![Bind::Text(id), Bind::Text(task.user_id.as_str().to_owned())];
    binds.extend(tags.into_iter().map(Bind::Text));
    tx.execute(&sql, &binds).await.context("insert tags")?;
    Ok(())
}
