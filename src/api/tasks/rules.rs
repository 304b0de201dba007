//! Where the task endpoints run repeat-rule arithmetic: on a blocking thread (it is CPU work,
//! bounded only by its budget, and must not hold an async worker that other requests need)
//! and never inside a database transaction (on SQLite the one writer connection would wait
//! for it, and with it every write of the service).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::api::{ApiError, AppState};
use crate::domain::{FieldError, Task, UserId};
use crate::store::WriteError;

/// Tries of a change when other writes keep coming between its snapshot and its write.
const ATTEMPTS: u32 = 3;

/// Runs `work` on the blocking thread pool.
///
/// # Errors
/// When `work` panics (or the runtime is shutting down).
pub async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("rule arithmetic did not finish: {e}")))
}

/// Changes the caller's task to the state `compute` works out from it and the current time
/// (`None`: nothing to change), where `compute` may need rule arithmetic.
///
/// Optimistic, instead of `Store::change_task`'s compute-under-lock: the task is read outside
/// any transaction, `compute` runs on a blocking thread, and the write transaction only checks
/// that the task is still at the version that was read (`change_task` with that version as
/// If-Match) and stores the result. When another write came between, the work is done again
/// from a fresh read, unless the client named a version with If-Match: then that write made
/// its version stale and the answer is 412, as it would have been.
///
/// # Errors
/// Not found, a stale `if_match`, a change `compute` rejects, or a database failure.
pub async fn change_task<F>(
    state: &AppState,
    user: &UserId,
    id: Uuid,
    if_match: Option<i64>,
    compute: F,
) -> Result<Task, ApiError>
where
    F: Fn(&Task, DateTime<Utc>) -> Result<Option<Task>, Vec<FieldError>> + Send + Sync + 'static,
{
    let compute = Arc::new(compute);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let current = state
            .store
            .get_task(user, id)
            .await?
            .ok_or_else(ApiError::task_not_found)?;
        if let Some(expected) = if_match.filter(|expected| *expected != current.version) {
            tracing::debug!(expected, current = current.version, "stale If-Match");
            return Err(ApiError::PreconditionFailed {
                current: current.version,
            });
        }
        let (work, snapshot) = (Arc::clone(&compute), current.clone());
        let next = off_runtime(move || work(&snapshot, crate::time::now()))
            .await?
            .map_err(ApiError::invalid)?;
        let Some(next) = next else {
            return Ok(current);
        };
        let written = state
            .store
            .change_task(user, id, Some(current.version), state.quotas.holdings, move |_, _| {
                Ok(Some(next))
            })
            .await;
        match written {
            Err(WriteError::Stale { .. }) if if_match.is_none() && attempt < ATTEMPTS => continue,
            written => return written.map_err(ApiError::from),
        }
    }
}
