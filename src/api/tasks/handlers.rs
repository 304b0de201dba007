//! Handlers of the task endpoints: parse, call the store, answer.

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use uuid::Uuid;

use super::dto::{
    CreateTaskRequest, HistoryEntry, OccurrencePreview, ReminderView, TaskPage, TaskView, UpdateTaskRequest,
};
use super::query::{self, ListParams};
use super::rules::{self, off_runtime};
use crate::api::headers::{self, etag};
use crate::api::CurrentUser;
use crate::api::{ApiError, ApiJson, AppState, Problem};
use crate::domain::{Budget, NewTask, ReminderState, Status, Task};
use crate::store::{CreateOutcome, IdempotencyRequest, StoredResponse};

type ApiResult<T> = Result<T, ApiError>;

/// The `{id}` of a task path. Ids are UUIDs; anything else (including bytes that are not
/// UTF-8) cannot name a task and is answered 404.
pub struct TaskId(Uuid);

impl<S: Send + Sync> FromRequestParts<S> for TaskId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let not_found =
            |raw: &str| ApiError::NotFound(format!("no such task: task ids are UUIDs and {raw:?} is not one"));
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found("(not UTF-8)"))?;
        Uuid::parse_str(&raw).map(Self).map_err(|_| not_found(&raw))
    }
}

fn task_response(status: StatusCode, task: &Task) -> Response {
    let mut response = (status, Json(TaskView::from(task))).into_response();
    response.headers_mut().insert(header::ETAG, etag(task.version));
    response
}

fn location(id: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("/api/v1/tasks/{id}")).ok()
}

/// Create a task.
#[utoipa::path(post, path = "/api/v1/tasks", tag = "tasks",
    request_body = CreateTaskRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "A retry with the same key and body returns the first response")),
    responses(
        (status = 201, description = "Created", body = TaskView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A quota of the user (open tasks, reminders) would be passed", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid field, unknown field, or a reused Idempotency-Key with another body", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str()))]
pub async fn create_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    headers: HeaderMap,
    ApiJson { body, raw }: ApiJson<CreateTaskRequest>,
) -> ApiResult<Response> {
    let key = headers::idempotency_key(&headers)?;
    let input = body.into_input();
    let content = off_runtime(move || NewTask::parse(&input))
        .await?
        .map_err(ApiError::invalid)?;
    let idempotency = key.map(|key| IdempotencyRequest::new(key, &raw));
    let render = |task: &Task| StoredResponse {
        status: StatusCode::CREATED.as_u16(),
        body: serde_json::to_string(&TaskView::from(task)).unwrap_or_default(),
    };
    match state
        .store
        .create_task(&user, content, state.quotas.holdings, idempotency, render)
        .await?
    {
        CreateOutcome::Created(task) => {
            let mut response = task_response(StatusCode::CREATED, &task);
            if let Some(location) = location(&task.id.to_string()) {
                response.headers_mut().insert(header::LOCATION, location);
            }
            Ok(response)
        }
        CreateOutcome::Replayed(stored) => Ok(replay(&stored)),
    }
}

/// The stored first response to an idempotent request, marked as a replay.
fn replay(stored: &StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    if let Ok(view) = serde_json::from_str::<TaskView>(&stored.body) {
        if let Some(location) = location(&view.id.to_string()) {
            headers.insert(header::LOCATION, location);
        }
    }
    response
}

/// List the caller's tasks.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "tasks", params(ListParams),
    responses(
        (status = 200, description = "One page of tasks", body = TaskPage),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A query parameter is invalid or unknown", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str()))]
pub async fn list_tasks(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<TaskPage>> {
    let query = query::parse(raw.as_deref()).map_err(ApiError::invalid)?;
    let page = state.store.list_tasks(&user, &query).await?;
    Ok(Json(TaskPage {
        items: page.items.iter().map(TaskView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Get one task.
#[utoipa::path(get, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task; ETag carries its version", body = TaskView),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str(), task = %id))]
pub async fn get_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TaskId(id): TaskId,
) -> ApiResult<Response> {
    let task = state
        .store
        .get_task(&user, id)
        .await?
        .ok_or_else(ApiError::task_not_found)?;
    Ok(task_response(StatusCode::OK, &task))
}

/// Change some fields of a task.
#[utoipa::path(patch, path = "/api/v1/tasks/{id}", tag = "tasks",
    request_body = UpdateTaskRequest,
    params(("id" = Uuid, Path, description = "Task id"),
           ("If-Match" = Option<String>, Header, description = "The version the change is based on, e.g. \"3\"")),
    responses(
        (status = 200, description = "The changed task", body = TaskView),
        (status = 403, description = "A quota of the user (open tasks, reminders) would be passed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task has changed since that version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or unknown field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str(), task = %id))]
pub async fn update_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TaskId(id): TaskId,
    headers: HeaderMap,
    ApiJson { body, .. }: ApiJson<UpdateTaskRequest>,
) -> ApiResult<Response> {
    let if_match = headers::if_match(&headers)?;
    let task = rules::change_task(&state, &user, id, if_match, move |current, _now| {
        let content = NewTask::parse(&body.clone().apply(current.content.to_input()))?;
        if content == current.content {
            return Ok(None);
        }
        let edited = current.edited(content, &mut Budget::new());
        edited.map(Some).map_err(|e| vec![e.into()])
    })
    .await?;
    Ok(task_response(StatusCode::OK, &task))
}

/// Delete a task; with `?series=true` also stop its repeating series.
#[utoipa::path(delete, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id"),
           ("series" = Option<bool>, Query, description = "true: no further occurrence of this task's series is created"),
           ("If-Match" = Option<String>, Header, description = "The version the deletion is based on")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task has changed since that version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str(), task = %id))]
pub async fn delete_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TaskId(id): TaskId,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<StatusCode> {
    let stop_series = query::parse_delete(raw.as_deref()).map_err(ApiError::invalid)?;
    state
        .store
        .delete_task(&user, id, headers::if_match(&headers)?, stop_series)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mark a task completed (a completed task stays as it is).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/complete", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id"),
           ("If-Match" = Option<String>, Header, description = "The version the change is based on")),
    responses(
        (status = 200, description = "The completed task", body = TaskView),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task has changed since that version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str(), task = %id))]
pub async fn complete_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TaskId(id): TaskId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    set_status(&state, &user, id, &headers, Status::Completed).await
}

/// Reopen a completed task (an open task stays as it is).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reopen", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id"),
           ("If-Match" = Option<String>, Header, description = "The version the change is based on")),
    responses(
        (status = 200, description = "The reopened task", body = TaskView),
        (status = 403, description = "A quota of the user (open tasks, reminders) would be passed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task has changed since that version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str(), task = %id))]
pub async fn reopen_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TaskId(id): TaskId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    set_status(&state, &user, id, &headers, Status::Open).await
}

async fn set_status(
    state: &AppState,
    user: &crate::domain::UserId,
    id: Uuid,
    headers: &HeaderMap,
    status: Status,
) -> ApiResult<Response> {
    let task = state
        .store
        .change_task(
            user,
            id,
            headers::if_match(headers)?,
            state.quotas.holdings,
            move |current, now| Ok(current.with_status(status, now)),
        )
        .await?;
    Ok(task_response(StatusCode::OK, &task))
}

/// The task's recorded history: every task event the audit role has applied, oldest first.
/// It stays readable after the task is deleted, and trails the task by the event delay.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/history", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, description = "Recorded events", body = [HistoryEntry]),
        (status = 404, description = "No history for such a task of this user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str(), task = %id))]
pub async fn task_history(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TaskId(id): TaskId,
) -> ApiResult<Json<Vec<HistoryEntry>>> {
    let entries = state.store.task_history(&user, id).await?;
    if entries.is_empty() && state.store.get_task(&user, id).await?.is_none() {
        return Err(ApiError::task_not_found());
    }
    Ok(Json(entries.into_iter().map(HistoryEntry::from).collect()))
}

/// Skip this occurrence of a repeating task: it moves to the series' next due time
/// without being completed (its fixed-instant reminders move with it).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/skip", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id"),
           ("If-Match" = Option<String>, Header, description = "The version the change is based on")),
    responses(
        (status = 200, description = "The task, now at the next occurrence", body = TaskView),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The task has changed since that version", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not repeating, completed, the last occurrence, or the rule needs too much computation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str(), task = %id))]
pub async fn skip_task(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TaskId(id): TaskId,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let if_match = headers::if_match(&headers)?;
    let task = rules::change_task(&state, &user, id, if_match, |current, now| {
        current.skipped(now, &mut Budget::new()).map(Some).map_err(|e| vec![e])
    })
    .await?;
    Ok(task_response(StatusCode::OK, &task))
}

/// Preview the next due times of a repeating task (`limit` 1–100, default 10), assuming
/// each occurrence is done on time.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/occurrences", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id"), ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "1–100, default 10")),
    responses(
        (status = 200, description = "Upcoming due times", body = OccurrencePreview),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit, or the rule needs too much computation", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str(), task = %id))]
pub async fn task_occurrences(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TaskId(id): TaskId,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<OccurrencePreview>> {
    let limit = query::parse_occurrences(raw.as_deref()).map_err(ApiError::invalid)?;
    let task = state
        .store
        .get_task(&user, id)
        .await?
        .ok_or_else(ApiError::task_not_found)?;
    let tz = task.content.time_zone.tz();
    let (due_times, series_ends) = off_runtime(move || task.upcoming(limit, &mut Budget::new()))
        .await?
        .map_err(|e| ApiError::invalid(vec![e.into()]))?;
    Ok(Json(OccurrencePreview {
        local_times: due_times.iter().map(|t| t.with_timezone(&tz).to_rfc3339()).collect(),
        due_times: due_times.into_iter().map(crate::time::format).collect(),
        series_ends,
    }))
}

/// Each reminder of the task with its fire time and state (pending, fired, delivered,
/// failed, missed, cancelled). A reminder the scheduler has not taken in yet shows as
/// pending (or cancelled when the task is completed).
#[utoipa::path(get, path = "/api/v1/tasks/{id}/reminders", tag = "tasks",
    params(("id" = Uuid, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task's reminders", body = [ReminderView]),
        (status = 404, description = "No such task for this user", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = [])))]
#[tracing::instrument(skip_all, fields(user = %user.as_str(), task = %id))]
pub async fn task_reminders(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    TaskId(id): TaskId,
) -> ApiResult<Json<Vec<ReminderView>>> {
    let task = state
        .store
        .get_task(&user, id)
        .await?
        .ok_or_else(ApiError::task_not_found)?;
    let rows = state.store.reminder_rows(user.as_str(), id).await?;
    let views = task
        .content
        .reminders
        .iter()
        .enumerate()
        .map(|(index, reminder)| {
            let index = u32::try_from(index).unwrap_or_default();
            let fire_at = reminder.fire_at(task.content.due_at).map(crate::time::format);
            let row = rows
                .iter()
                .find(|r| r.reminder_index == i64::from(index) && Some(&r.fire_at) == fire_at.as_ref());
            let state = match (row, task.status) {
                (Some(row), _) => row.state.clone(),
                (None, Status::Completed) => ReminderState::Cancelled.as_str().to_owned(),
                (None, Status::Open) => ReminderState::Pending.as_str().to_owned(),
            };
            ReminderView {
                index,
                spec: reminder.to_text(),
                fire_at,
                state,
                fired_at: row.and_then(|r| r.fired_at.clone()),
                late_ms: row.and_then(|r| r.late_ms),
            }
        })
        .collect();
    Ok(Json(views))
}
