//! Local sign-in: a short-lived token for a user name, without a password. Only when the
//! operator turned it on (`TASKSTREAM_CONSOLE_LOCAL_SIGNIN`, for a service on one's own
//! machine), only for a client on this machine's loopback, and only when the page was reached
//! by a loopback name: a web page elsewhere that rebinds its DNS name to 127.0.0.1 sends its
//! own Host and is refused.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::Console;
use crate::api::{ApiError, ApiJson, Problem, PROBLEM_JSON};
use crate::auth::Auth;
use crate::domain::{FieldError, UserId};

/// How long a token from the local sign-in lasts; the console signs in again after it.
pub const TOKEN_TTL: Duration = Duration::from_secs(3_600);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    user: String,
}

#[derive(Debug, Serialize)]
pub struct SignInResponse {
    token: String,
    user: String,
    expires_in: u64,
}

#[derive(Debug, Serialize)]
pub struct Offered {
    local_sign_in: bool,
}

/// The address of the client, when the server records it.
pub struct Peer(Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0),
        ))
    }
}

/// Whether the page may offer the one-click sign-in.
pub async fn offered(State(console): State<Console>) -> Json<Offered> {
    Json(Offered {
        local_sign_in: console.local_sign_in,
    })
}

/// A token for the named user, valid for [`TOKEN_TTL`].
pub async fn sign_in(
    State(console): State<Console>,
    State(auth): State<Auth>,
    Peer(peer): Peer,
    headers: HeaderMap,
    ApiJson { body, .. }: ApiJson<SignInRequest>,
) -> Result<Response, ApiError> {
    if !console.local_sign_in {
        return Ok(forbidden(
            "local sign-in is off; paste a bearer token (the operator turns it on with TASKSTREAM_CONSOLE_LOCAL_SIGNIN=true)",
        ));
    }
    if !peer.is_some_and(|peer| peer.ip().is_loopback()) || !loopback_host(&headers) {
        return Ok(forbidden(
            "local sign-in answers only a browser on this machine that opened the console as localhost or a loopback address",
        ));
    }
    let user =
        UserId::parse(body.user.trim()).map_err(|e| ApiError::invalid(vec![FieldError::new("user", e.message)]))?;
    let token = auth.issue(&user, TOKEN_TTL)?;
    tracing::info!(user = user.as_str(), "local sign-in");
    Ok(Json(SignInResponse {
        token,
        user: user.as_str().to_owned(),
        expires_in: TOKEN_TTL.as_secs(),
    })
    .into_response())
}

/// The Host header names this machine: localhost or a loopback address, any port.
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn forbidden(detail: &str) -> Response {
    let problem = Problem {
        kind: "/problems/forbidden".into(),
        title: "Forbidden".into(),
        status: StatusCode::FORBIDDEN.as_u16(),
        detail: detail.into(),
        errors: Vec::new(),
        current_version: None,
    };
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, PROBLEM_JSON)],
        Json(problem),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, value.parse().unwrap());
        headers
    }

    #[test]
    fn only_loopback_host_names_pass() {
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:8080",
            "127.1.2.3",
            "[::1]:8080",
            "LOCALHOST",
        ] {
            assert!(loopback_host(&host(ok)), "{ok}");
        }
        for refused in [
            "example.com",
            "evil.test:8080",
            "10.0.0.1:80",
            "[fe80::1]:80",
            "localhost.evil.test",
        ] {
            assert!(!loopback_host(&host(refused)), "{refused}");
        }
        assert!(!loopback_host(&HeaderMap::new()));
    }
}
