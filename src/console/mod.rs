//! The web console: a small page at `/` that drives the public API (`/api/v1`) with a bearer
//! token, like any other client. Its files are embedded in the binary, so it works offline
//! and a build needs cargo alone.
//!
//! The console adds no way around the API's limits: the only endpoint of its own is the
//! local sign-in, off unless `TASKSTREAM_CONSOLE_LOCAL_SIGNIN` turns it on.

mod assets;
mod security;
mod sign_in;

use axum::routing::get;
use axum::Router;

use crate::api::AppState;

/// The console's settings, as every handler of the API process can reach them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Console {
    /// Whether `POST /console/sign-in` issues tokens for a bare user name.
    pub local_sign_in: bool,
}

/// `/` (the page), `/console/{file}` (its scripts, styles, icon) and `/console/sign-in`,
/// each answered with the console's security headers.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(assets::index))
        .route("/console/sign-in", get(sign_in::offered).post(sign_in::sign_in))
        .route("/console/{file}", get(assets::file))
        .layer(axum::middleware::from_fn(security::headers))
}
