//! The task resource: /api/v1/tasks and its actions.

pub mod counts;
pub mod dto;
mod handlers;
pub mod query;
pub(crate) mod rules;

use axum::routing::{get, post};
use axum::Router;

use super::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tasks", post(create_task).get(list_tasks))
        .route("/tasks/counts", get(counts::task_counts))
        .route("/tasks/{id}", get(get_task).patch(update_task).delete(delete_task))
        .route("/tasks/{id}/complete", post(complete_task))
        .route("/tasks/{id}/reopen", post(reopen_task))
        .route("/tasks/{id}/history", get(task_history))
        .route("/tasks/{id}/reminders", get(task_reminders))
        .route("/tasks/{id}/skip", post(skip_task))
        .route("/tasks/{id}/occurrences", get(task_occurrences))
}
pub use counts::{__path_task_counts, task_counts};
pub use handlers::{
    __path_complete_task, __path_create_task, __path_delete_task, __path_get_task, __path_list_tasks,
    __path_reopen_task, __path_skip_task, __path_task_history, __path_task_occurrences, __path_task_reminders,
    __path_update_task, complete_task, create_task, delete_task, get_task, list_tasks, reopen_task, skip_task,
    task_history, task_occurrences, task_reminders, update_task,
};
