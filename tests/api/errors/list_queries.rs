//! Query strings of GET /tasks: unknown or invalid parameters, and cursors used with
//! another sort or forged.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{create, fields_of, many_tag_filters, ALICE, PROBE_TIMEOUT};
use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn unknown_and_invalid_list_parameters_are_422_naming_them() {
    let app = spawn_app().await;
    create(&app).await;
    let cases = [
        ("colour=red", "colour"),
        ("Status=open", "Status"),
        ("page=2", "page"),
        ("status=done", "status"),
        ("status=open&status=completed", "status"),
        ("priority=critical", "priority"),
        ("tag=", "tag"),
        ("tag=ok&tag=this-tag-is-far-too-long-to-be-a-tag", "tag"),
        ("due_before=tomorrow", "due_before"),
        ("due_after=2026-01-01", "due_after"),
        ("overdue=yes", "overdue"),
        ("overdue=", "overdue"),
        ("q=", "q"),
        ("q=%21%3F%20*", "q"),
        ("sort=size", "sort"),
        ("sort=due_at&sort=title", "sort"),
        ("order=up", "order"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("cursor=garbage", "cursor"),
        ("cursor=", "cursor"),
    ];
    for (query, field) in cases {
        let response = app.list(ALICE, query).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "GET /tasks?{query}"
        );
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some(field)).await;
    }
    // Several at once are all named.
    let problem = assert_problem(
        app.list(ALICE, "limit=0&sort=size&colour=red").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        None,
    )
    .await;
    let fields = fields_of(&problem);
    for field in ["limit", "sort", "colour"] {
        assert!(fields.iter().any(|f| f == field), "{field} missing from {problem}");
    }
}

#[tokio::test]
async fn a_cursor_only_works_with_the_sort_and_order_it_came_from() {
    let app = spawn_app().await;
    for title in ["a", "b", "c"] {
        app.create_task(ALICE, &json!({ "title": title })).await;
    }
    let first: Value = app.list(ALICE, "sort=title&limit=1").await.json().await.unwrap();
    let cursor = first["next_cursor"].as_str().expect("a next page").to_owned();

    for query in [
        format!("sort=priority&limit=1&cursor={cursor}"),
        format!("limit=1&cursor={cursor}"),
        format!("sort=title&order=desc&limit=1&cursor={cursor}"),
        format!("sort=created_at&order=asc&cursor={cursor}"),
    ] {
        let response = app.list(ALICE, &query).await;
        assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some("cursor")).await;
    }
    // With its own sort it goes on, whatever the limit and filters.
    for query in [
        format!("sort=title&limit=1&cursor={cursor}"),
        format!("cursor={cursor}&order=asc&sort=title&status=open"),
    ] {
        let response = app.list(ALICE, &query).await;
        assert_eq!(response.status(), StatusCode::OK, "{query}");
        let page: Value = response.json().await.unwrap();
        assert_eq!(page["items"][0]["title"], "b", "{query}");
    }
}

/// No task has more than 10 tags, so a thousand tag filters can match nothing; the answer
/// (an empty page, or 422 naming "tag") must come promptly rather than as a 5xx or after
/// minutes of database work.
#[tokio::test]
async fn a_thousand_tag_filters_are_answered_promptly() {
    let app = spawn_app().await;
    app.create_task(ALICE, &json!({ "title": "tagged", "tags": ["t0", "t1"] }))
        .await;
    let response = app
        .request(
            Method::GET,
            &format!("/api/v1/tasks?{}", many_tag_filters(1_000)),
            ALICE,
        )
        .timeout(PROBE_TIMEOUT)
        .send()
        .await
        .unwrap_or_else(|e| panic!("no answer within {PROBE_TIMEOUT:?}: {e}"));
    match response.status() {
        StatusCode::UNPROCESSABLE_ENTITY => {
            assert_problem(response, StatusCode::UNPROCESSABLE_ENTITY, Some("tag")).await;
        }
        status => {
            let body = response.text().await.unwrap_or_default();
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["items"], json!([]));
        }
    }
}

/// A cursor is opaque, but a client can forge one. One whose key does not fit its sort,
/// or that holds NUL characters, must be refused (422 naming "cursor") or read as a
/// position, never reach the database as something it cannot compare.
#[tokio::test]
async fn a_forged_cursor_is_never_a_server_error() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let app = spawn_app().await;
    for title in ["a", "b", "c"] {
        app.create_task(ALICE, &json!({ "title": title, "priority": "high" }))
            .await;
    }
    let forged = [
        (
            "sort=created_at",
            json!({ "s": "created_at", "o": "ASC", "k": 123, "i": "x" }),
        ),
        (
            "sort=updated_at&order=desc",
            json!({ "s": "updated_at", "o": "DESC", "k": -1, "i": "" }),
        ),
        ("sort=due_at", json!({ "s": "due_at", "o": "ASC", "k": 0, "i": "" })),
        ("sort=title", json!({ "s": "title", "o": "ASC", "k": 7, "i": "" })),
        (
            "sort=priority",
            json!({ "s": "priority", "o": "ASC", "k": "high", "i": "x" }),
        ),
        (
            "sort=title",
            json!({ "s": "title", "o": "ASC", "k": "\u{0}", "i": "a" }),
        ),
        (
            "sort=priority",
            json!({ "s": "priority", "o": "ASC", "k": 1, "i": "\u{0}" }),
        ),
    ];
    for (sort, cursor) in forged {
        let encoded = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap());
        let response = app.list(ALICE, &format!("{sort}&cursor={encoded}")).await;
        let status = response.status();
        if status == StatusCode::UNPROCESSABLE_ENTITY {
            assert_problem(response, status, Some("cursor")).await;
        } else {
            let body = response.text().await.unwrap_or_default();
            assert_eq!(status, StatusCode::OK, "{sort} with cursor {cursor}: {body}");
        }
    }
}
