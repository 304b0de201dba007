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
