//! Routes, methods and ids that do not exist: 404 and 405 as problems.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{create, id_endpoints, id_of, stored, task_count, task_path, ALICE};
use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn an_id_that_is_not_a_uuid_is_404() {
    let app = spawn_app().await;
    create(&app).await;
    for bad in [
        "not-a-uuid",
        "123",
        "0190b3c8-0000-7000-8000-00000000000",
        "0190b3c8-0000-7000-8000-00000000000g",
    ] {
        for (method, path, body) in id_endpoints(bad) {
            let mut request = app.request(method.clone(), &path, ALICE);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            assert_problem(response, StatusCode::NOT_FOUND, None).await;
        }
    }
    // A well-formed id of no task is 404 too.
    for (method, path, body) in id_endpoints(&uuid::Uuid::new_v4().to_string()) {
        let mut request = app.request(method.clone(), &path, ALICE);
        if let Some(body) = &body {
            request = request.json(body);
        }
        assert_problem(request.send().await.unwrap(), StatusCode::NOT_FOUND, None).await;
    }
    assert_eq!(task_count(&app).await, 1);
}

#[tokio::test]
async fn an_unknown_route_is_a_404_problem() {
    let app = spawn_app().await;
    let id = id_of(&create(&app).await);
    for (method, path) in [
        (Method::GET, "/api/v1/nothing".to_owned()),
        (Method::GET, "/api/v2/tasks".to_owned()),
        (Method::GET, "/nothing-here".to_owned()),
        (Method::GET, "/console/no-such-file.js".to_owned()),
        (Method::POST, format!("/api/v1/tasks/{id}/archive")),
        (Method::GET, format!("/api/v1/tasks/{id}/complete/now")),
    ] {
        let response = app.request(method.clone(), &path, ALICE).send().await.unwrap();
        assert_problem(response, StatusCode::NOT_FOUND, None).await;
    }
}

#[tokio::test]
async fn a_method_the_route_does_not_have_is_a_405_problem() {
    let app = spawn_app().await;
    let task = create(&app).await;
    let id = id_of(&task);
    for (method, path) in [
        (Method::PUT, task_path(&id)),
        (Method::POST, task_path(&id)),
        (Method::DELETE, "/api/v1/tasks".to_owned()),
        (Method::PATCH, "/api/v1/tasks".to_owned()),
        (Method::GET, format!("{}/complete", task_path(&id))),
        (Method::DELETE, format!("{}/reopen", task_path(&id))),
        (Method::POST, "/healthz".to_owned()),
    ] {
        let response = app
            .request(method.clone(), &path, ALICE)
            .json(&json!({ "title": "x" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        assert_problem(response, StatusCode::METHOD_NOT_ALLOWED, None).await;
    }
    assert_eq!(stored(&app, &id).await, task);
}

/// Percent-encoded bytes that are not UTF-8 cannot be a task id either.
#[tokio::test]
async fn an_id_that_is_not_utf8_is_a_404_problem() {
    let app = spawn_app().await;
    create(&app).await;
    for (method, path, body) in id_endpoints("%FF%FE") {
        let mut request = app.request(method.clone(), &path, ALICE);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {path}");
        assert_problem(response, StatusCode::NOT_FOUND, None).await;
    }
}
