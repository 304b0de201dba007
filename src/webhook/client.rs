//! The HTTP client that calls webhooks, and nothing else: the policy is applied to the
//! address each call connects to, redirects are not followed (a redirect could lead anywhere
//! the policy refuses), no proxy is taken from the environment (it would connect for us,
//! past the resolver), and errors show the URL redacted.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;

use super::policy::{EgressPolicy, Refusal};
use super::resolver::PolicyResolver;
use super::signature::{signature, SIGNATURE_HEADER};
use super::WebhookUrl;
use crate::telemetry::http::TRACEPARENT;
use crate::telemetry::trace::TraceContext;

pub const DELIVERY_HEADER: &str = "x-taskstream-delivery";

/// Why a webhook call did not succeed. Every text shows the URL as `scheme://host[:port]`.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The policy refuses the destination: retrying cannot help.
    #[error("webhook {url}: {refusal}")]
    Refused { url: String, refusal: Refusal },
    /// The call failed on the way (connect, TLS, timeout, DNS): worth retrying.
    #[error("webhook {url}")]
    Transport {
        url: String,
        #[source]
        error: reqwest::Error,
    },
    /// The receiver answered, but not with a 2xx.
    #[error("webhook {url} answered {status}")]
    Status { url: String, status: StatusCode },
}

impl DeliveryError {
    /// The error as stored, published and shown to the user: its causes in one line, the URL
    /// as `scheme://host[:port]` (no cause shows more), at most 1000 characters.
    pub fn report(self) -> String {
        format!("{:#}", anyhow::Error::from(self)).chars().take(1_000).collect()
    }

    /// The receiver's status, when it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether a retry could succeed where this call failed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Refused { .. })
    }

    /// Whether the failure says the receiving host is unwell (no answer in time, no
    /// connection, 5xx, 408, 429) rather than something about this one call: a 404 for one
    /// user's path says nothing about the other users of the same host.
    pub fn host_is_down(&self) -> bool {
        match self {
            Self::Refused { .. } => false,
            Self::Transport { .. } => true,
            Self::Status { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::REQUEST_TIMEOUT
                    || *status == StatusCode::TOO_MANY_REQUESTS
            }
        }
    }
}

/// One call: where, signed with which secret, under which delivery id.
pub struct Call<'a> {
    pub url: &'a WebhookUrl,
    pub secret: &'a str,
    pub delivery_id: &'a str,
    pub body: Vec<u8>,
}

/// Calls webhooks under an [`EgressPolicy`].
#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    policy: EgressPolicy,
}

impl WebhookClient {
    /// # Errors
    /// When the HTTP client cannot be built (no TLS backend).
    pub fn new(policy: EgressPolicy, timeout: Duration) -> reqwest::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PolicyResolver::new(policy.clone())))
            .build()?;
        Ok(Self { http, policy })
    }

    /// POSTs `call.body` as JSON, signed with the current time; answers the 2xx status.
    ///
    /// # Errors
    /// When the policy refuses the destination, the call fails or the answer is not 2xx.
    pub async fn post(&self, call: Call<'_>) -> Result<StatusCode, DeliveryError> {
        let url = call.url.redacted();
        // A literal address never reaches the resolver: judge it here.
        self.policy.check(call.url).map_err(|refusal| DeliveryError::Refused {
            url: url.clone(),
            refusal,
        })?;
        let timestamp = chrono::Utc::now().timestamp();
        let mut request = self
            .http
            .post(call.url.as_str())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(call.secret, timestamp, &call.body))
            .header(DELIVERY_HEADER, call.delivery_id);
        // The receiver may continue the trace of the change that scheduled the reminder.
        if let Some(context) = TraceContext::current() {
            request = request.header(TRACEPARENT, context.header());
        }
        let response = request
            .body(call.body)
            .send()
            .await
            .map_err(|error| transport_error(url.clone(), error))?;
        let status = response.status();
        if status.is_success() {
            Ok(status)
        } else {
            Err(DeliveryError::Status { url, status })
        }
    }
}

/// A failed send, told apart: the resolver's refusal travels inside reqwest's error chain.
fn transport_error(url: String, error: reqwest::Error) -> DeliveryError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = cause {
        if let Some(refusal) = current.downcast_ref::<Refusal>() {
            return DeliveryError::Refused { url, refusal: *refusal };
        }
        cause = current.source();
    }
    DeliveryError::Transport {
        url,
        error: error.without_url(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::parse_allow_entry;

    /// A receiver on 127.0.0.1 answering 204; returns its port.
    async fn receiver() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let app = axum::Router::new().route("/hook", axum::routing::post(|| async { StatusCode::NO_CONTENT }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        port
    }

    async fn post(policy: EgressPolicy, url: &str) -> Result<StatusCode, DeliveryError> {
        let client = WebhookClient::new(policy, Duration::from_secs(5)).expect("client");
        let url = WebhookUrl::parse(url).expect("url");
        client
            .post(Call {
                url: &url,
                secret: "whsec_test",
                delivery_id: "d1",
                body: b"{}".to_vec(),
            })
            .await
    }

    fn loopback_allowed() -> EgressPolicy {
        EgressPolicy::new(&[parse_allow_entry("127.0.0.1/32").expect("cidr")], false)
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_at_connect_time() {
        let port = receiver().await;
        let error = post(
            EgressPolicy::default(),
            &format!("http://localhost:{port}/hook?token=s3cret"),
        )
        .await
        .expect_err("refused");
        assert!(error.is_permanent(), "{error}");
        let text = format!("{:#}", anyhow::Error::from(error));
        assert_eq!(
            text,
            format!("webhook http://localhost:{port}: destination address not allowed (private, loopback or otherwise internal)")
        );
    }

    #[tokio::test]
    async fn a_literal_address_is_judged_before_the_call() {
        let port = receiver().await;
        let error = post(EgressPolicy::default(), &format!("http://127.0.0.1:{port}/hook"))
            .await
            .expect_err("refused");
        assert!(
            matches!(
                error,
                DeliveryError::Refused {
                    refusal: Refusal::Address,
                    ..
                }
            ),
            "{error}"
        );
    }

    #[tokio::test]
    async fn allow_listed_addresses_are_called_by_name_and_literal() {
        let port = receiver().await;
        // localhost also resolves to ::1, which stays refused: the call uses 127.0.0.1.
        post(loopback_allowed(), &format!("http://localhost:{port}/hook"))
            .await
            .expect("by name");
        post(loopback_allowed(), &format!("http://127.0.0.1:{port}/hook"))
            .await
            .expect("literal");
    }

    #[tokio::test]
    async fn transport_errors_are_retryable_and_show_no_path() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("addr").port()
        }; // closed again: nothing listens there
        let error = post(
            loopback_allowed(),
            &format!("http://127.0.0.1:{port}/hook?token=s3cret"),
        )
        .await
        .expect_err("nothing listens");
        assert!(!error.is_permanent());
        let text = format!("{:#}", anyhow::Error::from(error));
        assert!(
            text.starts_with(&format!("webhook http://127.0.0.1:{port}: ")),
            "{text}"
        );
        assert!(!text.contains("/hook") && !text.contains("s3cret"), "{text}");
    }
}
