//! Repeating series: creating the next occurrence exactly once, ending and stopping series.

use anyhow::Context;
use uuid::Uuid;

use super::rows::Bind;
use super::sql::Exec;
use super::tasks::{insert_task_once, replace_tags, update_task};
use super::{outbox, Store, Tx, WriteError};
use crate::domain::{Task, UserId};
use crate::events::Event;

impl Store {
    /// Creates `next` (an occurrence whose id derives from its predecessor) inside the
    /// consumer's transaction, with its events; false when it was made before (it may have
    /// been deleted since) or the series was stopped, and then nothing is written.
    ///
    /// # Errors
    /// A database failure.
    pub async fn create_occurrence(&self, tx: &mut Tx, next: &Task) -> anyhow::Result<bool> {
        if !record_made(tx, next).await? {
            return Ok(false);
        }
        if !insert_task_once(tx, next).await? {
            return Ok(false);
        }
        replace_tags(tx, next, false).await?;
        outbox::append(tx, &Event::for_change(None, Some(next))).await?;
        Ok(true)
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

/// Records that `next` is made, unless its series was stopped; false when it was made
/// before or the series is stopped (one statement: the role runs it for every completion).
async fn record_made(tx: &mut dyn Exec, next: &Task) -> anyhow::Result<bool> {
    let binds = [
        Bind::Text(next.id.to_string()),
        Bind::Text(next.series.id.to_string()),
        Bind::Text(crate::time::format(crate::time::now())),
    ];
    let made = tx
        .execute(
            "INSERT INTO occurrences_made (id, series_id, made_at) SELECT $1, $2, $3 \
             WHERE NOT EXISTS (SELECT 1 FROM stopped_series WHERE series_id = $2) \
             ON CONFLICT (id) DO NOTHING",
            &binds,
        )
        .await
        .context("record the occurrence made")?;
    Ok(made == 1)
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
