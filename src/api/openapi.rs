//! The OpenAPI 3.1 document, generated from the types and handlers the API uses.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use super::tasks::{self, dto};
use super::{health, AppState, PROBLEM_JSON};

#[derive(OpenApi)]
#[openapi(
    info(title = "taskstream", description = "Tasks with due dates, reminders and repeat rules; every change an event."),
    paths(
        tasks::create_task, tasks::list_tasks, tasks::task_counts, tasks::get_task, tasks::update_task,
        tasks::delete_task, tasks::complete_task, tasks::reopen_task, tasks::task_history, tasks::task_reminders, tasks::skip_task, tasks::task_occurrences,
        health::healthz, health::readyz,
        super::live::stream,
        super::webhook::put_webhook, super::webhook::get_webhook, super::webhook::delete_webhook, super::webhook::test_webhook,
        super::occurrences::preview_occurrences,
    ),
    components(schemas(dto::CreateTaskRequest, dto::UpdateTaskRequest, dto::TaskView, dto::TaskPage, tasks::counts::TaskCountsView, tasks::counts::PriorityCounts, dto::HistoryEntry, dto::OccurrencePreview, dto::ReminderView, super::webhook::WebhookRequest, super::webhook::WebhookView, super::webhook::WebhookTestView, super::occurrences::OccurrencesRequest, super::Problem)),
    modifiers(&BearerAuth, &CommonProblems),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// What an operation takes that can be refused before (or besides) its handler's own checks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    Token,
    Body,
    Header,
    Query,
}

/// The errors an operation may answer because of what it takes, whichever handler it is:
/// the token is checked (and the caller's rate limit spent) by the extractor, the write
/// queue and the database can be full or away for any caller, and bodies, headers and query
/// strings are parsed by shared code. (status, takes, description, carries Retry-After)
const COMMON: &[(u16, Takes, &str, bool)] = &[
    (401, Takes::Token, "No valid bearer token", false),
    (
        429,
        Takes::Token,
        "Too many requests from this user, or too many open streams",
        true,
    ),
    (
        503,
        Takes::Token,
        "The write queue is full, the database is unavailable, or the request passed its deadline",
        true,
    ),
    (400, Takes::Body, "The body is not JSON", false),
    (413, Takes::Body, "The body is over 64 KiB", false),
    (415, Takes::Body, "The body's Content-Type is not JSON", false),
    (422, Takes::Body, "A field is invalid or unknown", false),
    (400, Takes::Header, "A header is malformed", false),
    (422, Takes::Query, "A query parameter is invalid", false),
];

/// Lists every [`COMMON`] error on the operations it applies to, keeping a handler's own
/// description where it has one, so the document names every status the API can answer.
struct CommonProblems;

impl Modify for CommonProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                add_common_problems(operation);
            }
        }
    }
}

fn add_common_problems(operation: &mut Operation) {
    let takes = takes(operation);
    for &(status, needs, description, retry_after) in COMMON {
        if takes.contains(&needs) {
            operation
                .responses
                .responses
                .entry(status.to_string())
                .or_insert_with(|| problem(description, retry_after));
        }
    }
}

fn takes(operation: &Operation) -> Vec<Takes> {
    let mut takes = Vec::new();
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        takes.push(Takes::Token);
    }
    if operation.request_body.is_some() {
        takes.push(Takes::Body);
    }
    for parameter in operation.parameters.iter().flatten() {
        match parameter.parameter_in {
            ParameterIn::Header => takes.push(Takes::Header),
            ParameterIn::Query => takes.push(Takes::Query),
            _ => {}
        }
    }
    takes
}

fn problem(description: &str, retry_after: bool) -> RefOr<Response> {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, content);
    if retry_after {
        let seconds = HeaderBuilder::new()
            .schema(Object::with_type(Type::String))
            .description(Some("Seconds to wait before retrying"))
            .build();
        response = response.header("Retry-After", seconds);
    }
    RefOr::T(response.build())
}

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_lists_the_errors_shared_code_can_answer() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serialises");
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("operations") {
                operations += 1;
                let lists = |status: &str| operation["responses"][status]["content"][PROBLEM_JSON].is_object();
                let mut expected = Vec::new();
                if operation.get("security").is_some() {
                    expected.extend(["401", "429", "503"]);
                }
                if operation.get("requestBody").is_some() {
                    expected.extend(["400", "413", "415", "422"]);
                }
                let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
                let takes = |place: &str| parameters.iter().any(|p| p["in"] == place);
                if takes("header") {
                    expected.push("400");
                }
                if takes("query") {
                    expected.push("422");
                }
                for status in expected {
                    assert!(lists(status), "{method} {path} does not list {status} as problem+json");
                }
            }
        }
        assert!(operations >= 20, "only {operations} operations");
    }
}
