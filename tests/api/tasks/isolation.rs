//! Isolation between users: another user's tasks can be neither seen nor touched.

use reqwest::{Method, Response, StatusCode};
use serde_json::json;

use super::{get_ok, id_of, list_ids, sample_task, ALICE, BOB};
use crate::helpers::{assert_problem, spawn_app, TestApp};

// ---------------------------------------------------------------------------------------
// Isolation between users
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn another_users_task_is_invisible_and_untouchable() {
    let app = spawn_app().await;
    let alices = app.create_task(ALICE, &sample_task()).await;
    let bobs = app.create_task(BOB, &json!({ "title": "Bob's own" })).await;
    let id = id_of(&alices);
    let path = format!("/api/v1/tasks/{id}");

    assert_problem(app.get_task(BOB, &id).await, StatusCode::NOT_FOUND, None).await;
    assert_problem(
        app.patch_task(BOB, &id, &json!({ "title": "hijacked" })).await,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;
    assert_problem(app.action(BOB, &id, "complete").await, StatusCode::NOT_FOUND, None).await;
    assert_problem(app.action(BOB, &id, "reopen").await, StatusCode::NOT_FOUND, None).await;
    let delete = app.request(Method::DELETE, &path, BOB).send().await.unwrap();
    assert_problem(delete, StatusCode::NOT_FOUND, None).await;
    // With the right version in hand it is still not Bob's.
    assert_problem(
        send_if_match_as(&app, BOB, Method::DELETE, &path, "\"1\"").await,
        StatusCode::NOT_FOUND,
        None,
    )
    .await;

    assert_eq!(list_ids(&app, BOB, "").await, vec![id_of(&bobs)]);
    assert_eq!(list_ids(&app, BOB, "q=rent").await, Vec::<String>::new());
    assert_eq!(list_ids(&app, BOB, "tag=home").await, Vec::<String>::new());
    assert_eq!(
        get_ok(&app, ALICE, &id).await,
        alices,
        "Bob's attempts must change nothing"
    );
    assert_eq!(list_ids(&app, ALICE, "").await, vec![id.clone()]);
}

async fn send_if_match_as(app: &TestApp, user: &str, method: Method, path: &str, if_match: &str) -> Response {
    app.request(method, path, user)
        .header("if-match", if_match)
        .send()
        .await
        .expect("send")
}
