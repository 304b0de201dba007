//! One request of the hostile batch and what came back for it.

use reqwest::header::HeaderValue;
use reqwest::{Method, Response, StatusCode};

use super::super::{ALICE, PROBE_TIMEOUT};
use crate::helpers::TestApp;

/// One request of the hostile batch.
pub(super) struct Probe {
    label: String,
    method: Method,
    path: String,
    headers: Vec<(&'static str, HeaderValue)>,
    body: Option<Vec<u8>>,
}

impl Probe {
    pub(super) fn new(label: impl Into<String>, method: Method, path: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            method,
            path: path.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub(super) fn body(mut self, body: Vec<u8>) -> Self {
        self.body = Some(body);
        self
    }

    pub(super) fn header(mut self, name: &'static str, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Sends it as ALICE (unless it brings its own Authorization) with a JSON content type
    /// (unless it brings its own).
    pub(super) async fn send(&self, app: &TestApp) -> Outcome {
        let mut request = app
            .client
            .request(self.method.clone(), app.url(&self.path))
            .timeout(PROBE_TIMEOUT);
        let has = |name: &str| self.headers.iter().any(|(n, _)| *n == name);
        if !has("authorization") {
            request = request.bearer_auth(app.token(ALICE));
        }
        if !has("content-type") && self.body.is_some() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in &self.headers {
            request = request.header(*name, value.clone());
        }
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        Outcome::of(self.label.clone(), request.send().await).await
    }
}

/// What came back for one request: a status (none if no answer came), content type and
/// the start of the body (or why no answer came).
pub(super) struct Outcome {
    label: String,
    pub(super) status: Option<StatusCode>,
    pub(super) content_type: String,
    pub(super) body: String,
}

impl Outcome {
    pub(super) async fn of(label: String, sent: reqwest::Result<Response>) -> Self {
        match sent {
            Ok(response) => {
                let status = Some(response.status());
                let content_type = response
                    .headers()
                    .get("content-type")
                    .map(|v| v.to_str().unwrap_or("?").to_owned())
                    .unwrap_or_default();
                let body = response.text().await.unwrap_or_default();
                Self {
                    label,
                    status,
                    content_type,
                    body,
                }
            }
            Err(error) => Self {
                label,
                status: None,
                content_type: String::new(),
                body: format!("no answer: {error:?}"),
            },
        }
    }

    pub(super) fn describe(&self) -> String {
        let status = self.status.map_or_else(|| "no answer".to_owned(), |s| s.to_string());
        let body: String = self.body.chars().take(300).collect();
        format!("{} -> {status} {:?} {body}", self.label, self.content_type)
    }
}
