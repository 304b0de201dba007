//! Request headers the API reads (If-Match, Idempotency-Key) in forms it cannot use.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{create, id_endpoints, id_of, stored, task_count, ALICE};
use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn an_unparsable_if_match_is_400() {
    let app = spawn_app().await;
    let task = create(&app).await;
    for if_match in ["abc", "\"abc\"", "", "W/", "\"1.5\""] {
        for (method, path, body) in id_endpoints(&id_of(&task))
            .into_iter()
            .filter(|(m, ..)| *m != Method::GET)
        {
            let mut request = app.request(method.clone(), &path, ALICE).header("if-match", if_match);
            if let Some(body) = &body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "{method} {path} If-Match {if_match:?}"
            );
            assert_problem(response, StatusCode::BAD_REQUEST, Some("If-Match")).await;
        }
    }
    assert_eq!(stored(&app, &id_of(&task)).await, task);
}

#[tokio::test]
async fn an_unusable_idempotency_key_is_400() {
    let app = spawn_app().await;
    for key in ["k".repeat(256), String::new()] {
        let response = app
            .request(Method::POST, "/api/v1/tasks", ALICE)
            .header("idempotency-key", key.as_str())
            .json(&json!({ "title": "x" }))
            .send()
            .await
            .unwrap();
        assert_problem(response, StatusCode::BAD_REQUEST, Some("Idempotency-Key")).await;
    }
    assert_eq!(task_count(&app).await, 0);
}
