//! Beyond capacity the API sheds writes with 503 + Retry-After at once, never a 500, while
//! reads go on.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use taskstream::startup::Parts;

use crate::helpers::{assert_problem, hold_writes, spawn, TestApp};

const USER: &str = "olga";

async fn api_with_queue(queue: usize) -> TestApp {
    spawn(|mut http| {
        http.write_queue = queue;
        Parts {
            http: Some(http),
            ..Parts::default()
        }
    })
    .await
}

fn assert_retry_after(response: &reqwest::Response) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    assert!(retry_after.is_some_and(|secs| secs >= 1), "503 without Retry-After");
}

#[tokio::test]
async fn a_full_write_queue_answers_503_with_retry_after_and_never_500_while_reads_go_on() {
    let app = api_with_queue(2).await;
    app.create_task(USER, &json!({"title": "before"})).await;

    // With the database's writes held, the first two writes take the queue's two slots and
    // wait; the rest cannot get a slot until one of them is answered.
    let held = hold_writes(&app, "tasks").await;
    let bodies: Vec<_> = (0..10).map(|i| json!({ "title": format!("burst {i}") })).collect();
    let burst = futures_util::future::join_all(bodies.iter().map(|body| app.post_task(USER, body)));
    let read = async {
        let response = app.list(USER, "limit=10").await;
        assert_eq!(response.status(), StatusCode::OK, "reads are not queued behind writes");
    };
    let release = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        drop(held);
    };
    let (responses, (), ()) = tokio::join!(burst, read, release);

    let mut shed = 0;
    for response in responses {
        match response.status() {
            StatusCode::CREATED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_retry_after(&response);
                let problem = assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, None).await;
                shed += usize::from(problem["type"] == "/problems/overloaded");
            }
            status => panic!("a write got {status}: {:?}", response.text().await),
        }
    }
    assert!(shed >= 1, "a queue of 2 sheds some of 10 simultaneous writes");
    app.create_task(USER, &json!({"title": "after"})).await;
}

#[tokio::test]
async fn a_write_that_times_out_waiting_for_the_database_is_a_503_not_a_500() {
    let app = api_with_queue(64).await;
    // Held longer than the pool's 5 s acquire timeout and SQLite's 5 s busy timeout (on
    // PostgreSQL the insert just waits for the table lock and succeeds).
    let held = hold_writes(&app, "tasks").await;
    let bodies: Vec<_> = (0..3).map(|i| json!({ "title": format!("waiting {i}") })).collect();
    let writes = futures_util::future::join_all(bodies.iter().map(|body| app.post_task(USER, body)));
    let release = async {
        tokio::time::sleep(Duration::from_secs(8)).await;
        drop(held);
    };
    let (responses, ()) = tokio::join!(writes, release);
    for response in responses {
        match response.status() {
            StatusCode::CREATED => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert_retry_after(&response);
                assert_problem(response, StatusCode::SERVICE_UNAVAILABLE, None).await;
            }
            status => panic!("a write got {status}: {:?}", response.text().await),
        }
    }
    app.create_task(USER, &json!({"title": "after"})).await;
}

#[tokio::test]
async fn a_user_over_the_rate_limit_gets_429_with_retry_after_while_others_are_served() {
    let app = spawn(|mut http| {
        http.rate_limit_per_minute = 1; // one more request a minute after the burst
        http.rate_limit_burst = 5;
        Parts {
            http: Some(http),
            ..Parts::default()
        }
    })
    .await;
    for n in 1..=5 {
        assert_eq!(
            app.list("greedy", "").await.status(),
            StatusCode::OK,
            "request {n} of the burst"
        );
    }
    let response = app.list("greedy", "").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_retry_after(&response);
    let problem = assert_problem(response, StatusCode::TOO_MANY_REQUESTS, None).await;
    assert_eq!(problem["type"], "/problems/rate-limited");
    assert_eq!(
        app.list("patient", "").await.status(),
        StatusCode::OK,
        "another user is not slowed by the first"
    );
}
