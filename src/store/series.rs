//! Repeating series: creating the next occurrence exactly once, ending and stopping series.

use std::collections::HashSet;

use anyhow::Context;
use uuid::Uuid;

use super::outbox::{self, Outgoing};
use super::rows::{self, returned_ids, task_values, Bind};
use super::sql::Exec;
use super::tasks::update_task;
use super::{Backend, Store, Tx, WriteError};
use crate::domain::{Task, UserId};
use crate::events::Event;

/// Next occurrences one set of statements writes (22 parameters a task, 7 an outbox row:
/// within SQLite's 32,766 and PostgreSQL's 65,535 with room for a task's two events).
const OCCURRENCES_PER_STATEMENT: usize = 256;

/// A next occurrence ready to be written: the task and its events' outbox rows, worked out
/// in the scope of the completion that leads to it (whose trace they carry on).
#[derive(Debug)]
pub struct NextOccurrence {
    task: Task,
    outgoing: Vec<Outgoing>,
}

impl NextOccurrence {
    /// # Errors
    /// An event of the occurrence that does not pass the event contract.
    pub fn new(task: Task) -> anyhow::Result<Self> {
        let outgoing = outbox::outgoing(&Event::for_change(None, Some(&task)))?;
        Ok(Self { task, outgoing })
    }

    pub fn task(&self) -> &Task {
        &self.task
    }
}

impl Store {
    /// Creates each of `nexts` (occurrences whose ids derive from their predecessors) inside
    /// the consumer's transaction, with their events, a few statements for all of them; for
    /// each, whether it was created. Not created, and nothing written for it: made before
    /// (it may have been deleted since), made by an earlier item of `nexts`, or its series
    /// stopped.
    ///
    /// # Errors
    /// A database failure.
    pub async fn create_occurrences(&self, tx: &mut Tx, nexts: &[NextOccurrence]) -> anyhow::Result<Vec<bool>> {
        let mut created = Vec::with_capacity(nexts.len());
        for chunk in nexts.chunks(OCCURRENCES_PER_STATEMENT) {
            created.extend(create_chunk(tx, self.backend, chunk).await?);
        }
        Ok(created)
    }

    /// Marks the caller's occurrence as the last of its series, if it still exists.
    ///
    /// # Errors
    /// A database failure.
    pub async fn end_series(&self, tx: &mut Tx, user: &UserId, id: Uuid) -> anyhow::Result<()> {
        let current = match self.lock_task(tx, user, id, None).await {
            Ok(task) => task,
            Err(WriteError::NotFound) => return Ok(()),
            Err(error) => return Err(anyhow::anyhow!("{error}")),
        };
        if current.series.ended {
            return Ok(());
        }
        let mut next = current.clone();
        next.series.ended = true;
        next.version += 1;
        next.updated_at = crate::time::now().max(current.updated_at);
        update_task(tx, &next, current.version)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        outbox::append(tx, &Event::for_change(Some(&current), Some(&next))).await
    }
}

async fn create_chunk(tx: &mut Tx, backend: Backend, nexts: &[NextOccurrence]) -> anyhow::Result<Vec<bool>> {
    let made = record_made(tx, backend, nexts).await?;
    // An id made here is made by its first item only (a completion reopened and completed
    // again within one batch leads to the same next occurrence twice).
    let mut first = HashSet::new();
    let made: Vec<bool> = nexts
        .iter()
        .map(|next| {
            let id = next.task.id.to_string();
            made.contains(&id) && first.insert(id)
        })
        .collect();
    let fresh: Vec<&Task> = nexts
        .iter()
        .zip(&made)
        .filter(|(_, made)| **made)
        .map(|(next, _)| &next.task)
        .collect();
    let inserted = insert_tasks_once(tx, backend, &fresh).await?;
    let created: Vec<bool> = nexts
        .iter()
        .zip(made)
        .map(|(next, made)| made && inserted.contains(&next.task.id.to_string()))
        .collect();
    let written = || nexts.iter().zip(&created).filter(|(_, c)| **c).map(|(next, _)| next);
    insert_tags_all(tx, backend, &written().map(|next| &next.task).collect::<Vec<_>>()).await?;
    let rows: Vec<Outgoing> = written().flat_map(|next| next.outgoing.iter().cloned()).collect();
    outbox::append_all(tx, backend, &rows).await?;
    Ok(created)
}

/// Records each of `nexts` as made unless its series was stopped (one statement); the ids
/// recorded now (not those made before, nor those of stopped series).
async fn record_made(tx: &mut Tx, backend: Backend, nexts: &[NextOccurrence]) -> anyhow::Result<HashSet<String>> {
    let sql = format!(
        "INSERT INTO occurrences_made (id, series_id, made_at) \
         SELECT v.column1, v.column2, v.column3 FROM (VALUES {}) AS v \
         WHERE NOT EXISTS (SELECT 1 FROM stopped_series s WHERE s.series_id = v.column2) \
         ON CONFLICT (id) DO NOTHING RETURNING id",
        backend.tuples(1, nexts.len(), 3)
    );
    let made_at = crate::time::format(crate::time::now());
    let binds: Vec<Bind> = nexts
        .iter()
        .flat_map(|next| {
            [
                Bind::Text(next.task.id.to_string()),
                Bind::Text(next.task.series.id.to_string()),
                Bind::Text(made_at.clone()),
            ]
        })
        .collect();
    returned_ids(tx, &sql, &binds)
        .await
        .context("record the occurrences made")
}

/// Inserts `tasks` in one statement, passing over ids already stored; the ids inserted.
async fn insert_tasks_once(tx: &mut Tx, backend: Backend, tasks: &[&Task]) -> anyhow::Result<HashSet<String>> {
    if tasks.is_empty() {
        return Ok(HashSet::new());
    }
    let mut binds = Vec::new();
    for task in tasks {
        binds.extend(task_values(task)?);
    }
    returned_ids(tx, &rows::insert_tasks_once(backend, tasks.len()), &binds)
        .await
        .context("insert next occurrences")
}

/// The tag rows of `tasks`, in one statement.
async fn insert_tags_all(tx: &mut dyn Exec, backend: Backend, tasks: &[&Task]) -> anyhow::Result<()> {
    let binds: Vec<Bind> = tasks
        .iter()
        .flat_map(|task| {
            let (id, user) = (task.id.to_string(), task.user_id.as_str().to_owned());
            task.content
                .tags
                .to_strings()
                .into_iter()
                .flat_map(move |tag| [Bind::Text(id.clone()), Bind::Text(user.clone()), Bind::Text(tag)])
        })
        .collect();
    if binds.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO task_tags (task_id, user_id, tag) VALUES {}",
        backend.tuples(1, binds.len() / 3, 3)
    );
    tx.execute(&sql, &binds).await.context("insert tags")?;
    Ok(())
}

pub(super) async fn stop(tx: &mut dyn Exec, user: &UserId, series: Uuid) -> anyhow::Result<()> {
    let binds = [
        Bind::Text(series.to_string()),
        Bind::Text(user.as_str().to_owned()),
        Bind::Text(crate::time::format(crate::time::now())),
    ];
    tx.execute(
        "INSERT INTO stopped_series (series_id, user_id, stopped_at) VALUES ($1, $2, $3) \
         ON CONFLICT (series_id) DO NOTHING",
        &binds,
    )
    .await
    .context("stop series")?;
    Ok(())
}
