use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = spawn_app().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready: serde_json::Value = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["checks"]["database"], "ok");
    assert_eq!(ready["checks"]["broker"], "ok");
}

#[tokio::test]
async fn openapi_document_lists_every_endpoint() {
    let app = spawn_app().await;
    let doc: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v1/tasks",
        "/api/v1/tasks/{id}",
        "/api/v1/tasks/{id}/complete",
        "/api/v1/tasks/{id}/reopen",
        "/healthz",
        "/readyz",
    ] {
        assert!(doc["paths"][path].is_object(), "missing {path}");
    }
    assert!(doc["components"]["schemas"]["TaskView"].is_object());
}

#[tokio::test]
async fn readyz_names_what_is_down_without_its_error_text() {
    let mut broker = crate::broker::PrivateBroker::start();
    let kafka = crate::broker::kafka_settings_for(&broker.address(), "ready.");
    let app = crate::helpers::spawn_with(
        |http| taskstream::startup::Parts {
            http: Some(http),
            ..Default::default()
        },
        kafka,
    )
    .await;
    broker.stop();
    let body = crate::process::wait_for(
        "/readyz to answer 503 with the broker gone",
        crate::helpers::WAIT,
        || async {
            let response = app
                .client
                .get(app.url("/readyz"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            if status == 503 {
                Ok(body)
            } else {
                Err(format!("{status} {body}"))
            }
        },
    )
    .await;
    assert!(body.contains("broker"), "names the failed check: {body}");
    assert!(!body.contains("127.0.0.1"), "no addresses or error texts: {body}");
    assert!(!body.to_lowercase().contains("transport"), "no error texts: {body}");
}

#[tokio::test]
async fn readyz_details_each_role_of_the_process_and_the_outbox() {
    let app = crate::helpers::spawn(|http| taskstream::startup::Parts {
        http: Some(http),
        relay: true,
        roles: vec![taskstream::roles::Role::Audit],
    })
    .await;
    let task = app
        .create_task("readyz-user", &serde_json::json!({"title": "Counted"}))
        .await;
    app.wait_for_history("readyz-user", task["id"].as_str().expect("id"), 1)
        .await;
    // The audit role has applied the create; its lag comes from the client's statistics
    // (every 5 s) and the outbox from the sampler (every 2 s): wait for both to catch up.
    let ready = crate::process::wait_for(
        "/readyz to show the audit role's record, no lag and an empty outbox",
        crate::helpers::WAIT,
        || async {
            let response = app
                .client
                .get(app.url("/readyz"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
            let audit = &body["roles"]["audit"];
            let settled = status == 200
                && audit["records"].as_u64() >= Some(1)
                && audit["lag"] == 0
                && audit["lag_by_partition"].as_object().is_some_and(|p| !p.is_empty())
                && body["outbox"]["waiting"] == 0;
            if settled {
                Ok(body)
            } else {
                Err(format!("{status} {body}"))
            }
        },
    )
    .await;
    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["checks"]["roles"], "ok", "{ready}");
    let audit = &ready["roles"]["audit"];
    assert_eq!(audit["ready"], true, "{ready}");
    assert_eq!(audit["parked"], 0, "{ready}");
    assert!(audit["last_record_at"].is_string(), "{ready}");
    assert!(audit["seconds_since_last_record"].as_f64() >= Some(0.0), "{ready}");
    // Only this process's roles: the others run elsewhere (or nowhere).
    assert!(ready["roles"]["recurrence"].is_null(), "{ready}");
    assert!(ready["outbox"]["oldest_waiting_seconds"].is_null(), "{ready}");
}
