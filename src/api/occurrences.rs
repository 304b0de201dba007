//! The occurrence preview of a repeating task not yet saved: what a form shows while a person
//! writes the rule. The same parsing and bounded arithmetic as a saved task's
//! `/tasks/{id}/occurrences`, so a rule previewed here is one creating the task accepts.

use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use utoipa::ToSchema;

use super::tasks::dto::OccurrencePreview;
use super::tasks::rules::off_runtime;
use super::{ApiError, ApiJson, AppState, Problem};
use crate::api::CurrentUser;
use crate::domain::{Budget, FieldError, NewTask, RecurrenceMode, Task, TaskInput};

/// Largest `limit` of one preview, as for a saved task.
const MAX_LIMIT: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new().route("/occurrences", post(preview_occurrences))
}

/// The timing fields of a task, as `POST /tasks` takes them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OccurrencesRequest {
    /// The first occurrence: RFC 3339 instant with offset.
    #[schema(example = "2026-03-02T09:00:00+01:00")]
    pub due_at: String,
    /// IANA time zone the rule is read in. Defaults to UTC.
    pub time_zone: Option<String>,
    /// RFC 5545 RRULE.
    #[schema(example = "FREQ=MONTHLY;BYDAY=-1FR")]
    pub recurrence: String,
    pub recurrence_mode: Option<RecurrenceMode>,
    pub exdates: Option<Vec<String>>,
    /// 1–100, default 10.
    pub limit: Option<usize>,
}

/// Preview the due times that would follow `due_at` under a repeat rule, before the task
/// exists. Field errors name the fields as creating the task would.
#[utoipa::path(post, path = "/api/v1/occurrences", tag = "tasks", request_body = OccurrencesRequest,
    responses(
        (status = 200, description = "The due times after due_at", body = OccurrencePreview),
        (status = 422, description = "An invalid field, or the rule needs too much computation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str()))]
pub async fn preview_occurrences(
    CurrentUser(user): CurrentUser,
    ApiJson { body, .. }: ApiJson<OccurrencesRequest>,
) -> Result<Json<OccurrencePreview>, ApiError> {
    let limit = body.limit.unwrap_or(10);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(vec![FieldError::new(
            "limit",
            format!("must be 1 to {MAX_LIMIT}"),
        )]));
    }
    let input = TaskInput {
        due_at: Some(body.due_at),
        time_zone: body.time_zone.unwrap_or_else(|| "UTC".to_owned()),
        recurrence: Some(body.recurrence),
        recurrence_mode: body.recurrence_mode.unwrap_or_default(),
        exdates: body.exdates.unwrap_or_default(),
        ..TaskInput::titled("preview")
    };
    let (due_times, series_ends, zone) = off_runtime(move || {
        let content = NewTask::parse(&input)?;
        let zone = content.time_zone.tz();
        let task = Task::new(user, content, crate::time::now());
        let (due_times, ends) = task.upcoming(limit, &mut Budget::new()).map_err(|e| vec![e.into()])?;
        Ok::<_, Vec<FieldError>>((due_times, ends, zone))
    })
    .await?
    .map_err(ApiError::invalid)?;
    Ok(Json(OccurrencePreview {
        local_times: due_times.iter().map(|t| t.with_timezone(&zone).to_rfc3339()).collect(),
        due_times: due_times.into_iter().map(crate::time::format).collect(),
        series_ends,
    }))
}
