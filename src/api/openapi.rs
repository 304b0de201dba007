//! The OpenAPI 3.1 document, generated from the types and handlers the API uses.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::tasks::{self, dto};
use super::{health, AppState};

#[derive(OpenApi)]
#[openapi(
    info(title = "taskstream", description = "Tasks with due dates, reminders and repeat rules; every change an event."),
    paths(
        tasks::create_task, tasks::list_tasks, tasks::get_task, tasks::update_task,
        tasks::delete_task, tasks::complete_task, tasks::reopen_task, tasks::task_history, tasks::task_reminders, tasks::skip_task, tasks::task_occurrences,
        health::healthz, health::readyz,
        super::live::stream,
        super::webhook::put_webhook, super::webhook::get_webhook, super::webhook::delete_webhook,
        super::occurrences::preview_occurrences,
    ),
    components(schemas(dto::CreateTaskRequest, dto::UpdateTaskRequest, dto::TaskView, dto::TaskPage, dto::HistoryEntry, dto::OccurrencePreview, dto::ReminderView, super::webhook::WebhookRequest, super::webhook::WebhookView, super::occurrences::OccurrencesRequest, super::Problem)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}
