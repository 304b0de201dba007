//! GET /tasks/counts: how many of the caller's tasks each filter of a client shows, so a
//! console can put the numbers beside its filters without listing every task.

use axum::extract::{RawQuery, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::CurrentUser;
use crate::api::{ApiError, AppState, Problem};
use crate::domain::{FieldError, Priority};
use crate::store::TaskCounts;

/// The caller's tasks counted by what the list filters on. Each count stops at 10,000
/// (see `capped`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TaskCountsView {
    pub open: u32,
    /// Open tasks whose due time has passed.
    pub overdue: u32,
    pub completed: u32,
    /// Open tasks of each priority.
    pub open_by_priority: PriorityCounts,
    /// True when a status holds more than 10,000 tasks: its counts are lower bounds.
    pub capped: bool,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct PriorityCounts {
    pub low: u32,
    pub medium: u32,
    pub high: u32,
    pub urgent: u32,
}

impl From<&TaskCounts> for TaskCountsView {
    fn from(counts: &TaskCounts) -> Self {
        let mut by = PriorityCounts::default();
        for &(priority, n) in &counts.open_by_priority {
            *match priority {
                Priority::Low => &mut by.low,
                Priority::Medium => &mut by.medium,
                Priority::High => &mut by.high,
                Priority::Urgent => &mut by.urgent,
            } = n;
        }
        Self {
            open: counts.open,
            overdue: counts.overdue,
            completed: counts.completed,
            open_by_priority: by,
            capped: counts.capped,
        }
    }
}

/// Count the caller's tasks: open, overdue, completed, and open by priority.
#[utoipa::path(get, path = "/api/v1/tasks/counts", tag = "tasks",
    responses(
        (status = 200, description = "The caller's counts (no other user's tasks are ever counted)", body = TaskCountsView),
        (status = 422, description = "A query parameter was given (none are taken)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str()))]
pub async fn task_counts(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    RawQuery(raw): RawQuery,
) -> Result<Json<TaskCountsView>, ApiError> {
    if let Some((name, _)) = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()).next() {
        return Err(ApiError::invalid(vec![FieldError::new(
            name.into_owned(),
            "is not a known parameter (this endpoint takes none)",
        )]));
    }
    let counts = state.store.task_counts(&user, crate::time::now()).await?;
    Ok(Json(TaskCountsView::from(&counts)))
}
