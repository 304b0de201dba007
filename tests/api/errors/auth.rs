//! Requests without a valid bearer token: 401 with a challenge, and nothing done.

use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use super::{all_endpoints, create, id_of, stored, task_count, ALICE};
use crate::helpers::{assert_problem, spawn_app, TestApp, SECRET};

pub(super) fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A JWT signed with `secret` and `algorithm` carrying `claims`.
fn jwt(secret: &str, algorithm: jsonwebtoken::Algorithm, claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(algorithm),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign token")
}

pub(super) fn hs256(secret: &str, claims: &Value) -> String {
    jwt(secret, jsonwebtoken::Algorithm::HS256, claims)
}

/// An unsigned token ("alg": "none").
fn unsigned_token(claims: &Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let part = |value: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap());
    format!("{}.{}.", part(&json!({ "alg": "none", "typ": "JWT" })), part(claims))
}

/// Authorization header values that must all be refused, with what is wrong with each.
pub(super) fn bad_authorizations() -> Vec<(&'static str, String)> {
    let now = now_secs();
    let claims = |sub: Value, exp: Value| json!({ "sub": sub, "exp": exp, "iat": now - 60 });
    vec![
        ("garbage token", "Bearer not-a-jwt".to_owned()),
        ("three garbage parts", "Bearer aaa.bbb.ccc".to_owned()),
        ("empty bearer", "Bearer ".to_owned()),
        ("other scheme", format!("Basic {}", "YWxpY2U6c2VjcmV0")),
        (
            "token without scheme",
            hs256(SECRET, &claims(json!(ALICE), json!(now + 3600))),
        ),
        (
            "expired",
            format!(
                "Bearer {}",
                hs256(SECRET, &json!({ "sub": ALICE, "exp": now - 3600, "iat": now - 7200 }))
            ),
        ),
        (
            "wrong secret",
            format!(
                "Bearer {}",
                hs256(
                    "another-secret-that-is-long-enough-to-use",
                    &claims(json!(ALICE), json!(now + 3600))
                )
            ),
        ),
        (
            "HS512",
            format!(
                "Bearer {}",
                jwt(
                    SECRET,
                    jsonwebtoken::Algorithm::HS512,
                    &claims(json!(ALICE), json!(now + 3600))
                )
            ),
        ),
        (
            "alg none",
            format!("Bearer {}", unsigned_token(&claims(json!(ALICE), json!(now + 3600)))),
        ),
        (
            "no exp",
            format!("Bearer {}", hs256(SECRET, &json!({ "sub": ALICE, "iat": now }))),
        ),
        (
            "no sub",
            format!("Bearer {}", hs256(SECRET, &json!({ "exp": now + 3600, "iat": now }))),
        ),
        (
            "empty sub",
            format!("Bearer {}", hs256(SECRET, &claims(json!(""), json!(now + 3600)))),
        ),
        (
            "numeric sub",
            format!("Bearer {}", hs256(SECRET, &claims(json!(42), json!(now + 3600)))),
        ),
        (
            "control character in sub",
            format!(
                "Bearer {}",
                hs256(SECRET, &claims(json!("ali\u{0}ce"), json!(now + 3600)))
            ),
        ),
        (
            "over-long sub",
            format!(
                "Bearer {}",
                hs256(SECRET, &claims(json!("u".repeat(256)), json!(now + 3600)))
            ),
        ),
    ]
}

async fn assert_unauthorized(response: Response, label: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{label}");
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    assert!(
        challenge.as_deref().is_some_and(|c| c.starts_with("Bearer")),
        "{label}: WWW-Authenticate was {challenge:?}"
    );
    assert_problem(response, StatusCode::UNAUTHORIZED, None).await;
}

fn request_without_auth(app: &TestApp, method: Method, path: &str, body: Option<&Value>) -> reqwest::RequestBuilder {
    let request = app.client.request(method, app.url(path));
    match body {
        Some(body) => request.json(body),
        None => request,
    }
}

#[tokio::test]
async fn every_endpoint_needs_a_valid_token() {
    let app = spawn_app().await;
    let task = create(&app).await;
    for (method, path, body) in all_endpoints(&id_of(&task)) {
        let label = format!("{method} {path} without a token");
        assert_unauthorized(
            request_without_auth(&app, method.clone(), &path, body.as_ref())
                .send()
                .await
                .unwrap(),
            &label,
        )
        .await;
        for (what, authorization) in bad_authorizations() {
            let response = request_without_auth(&app, method.clone(), &path, body.as_ref())
                .header("authorization", authorization)
                .send()
                .await
                .unwrap();
            assert_unauthorized(response, &format!("{method} {path} with {what}")).await;
        }
    }
    // None of that did anything.
    assert_eq!(stored(&app, &id_of(&task)).await, task);
    assert_eq!(task_count(&app).await, 1);
}

#[tokio::test]
async fn a_token_made_with_the_right_secret_is_accepted() {
    let app = spawn_app().await;
    let now = now_secs();
    let token = hs256(SECRET, &json!({ "sub": ALICE, "exp": now + 600, "iat": now }));
    let created = app
        .client
        .post(app.url("/api/v1/tasks"))
        .bearer_auth(&token)
        .json(&json!({ "title": "hand-made token" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let created: Value = created.json().await.unwrap();
    // It names the same user as the helpers' tokens.
    assert_eq!(stored(&app, &id_of(&created)).await, created);
}
