//! Who is calling: the request extractors that verify the bearer token (with [`Auth`]),
//! name the caller on the request's span and spend one request of their rate budget.

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;

use super::{ApiError, UserLimits};
use crate::auth::{Auth, Verified};
use crate::domain::UserId;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub UserId);

/// The authenticated caller with their token's expiry (for what outlives one request).
#[derive(Debug, Clone)]
pub struct Caller(pub Verified);

impl<S> FromRequestParts<S> for Caller
where
    Auth: FromRef<S>,
    UserLimits: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).ok_or_else(|| {
            ApiError::Unauthorized("no Authorization header; send `Authorization: Bearer <token>`".into())
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into()))?;
        let verified = Auth::from_ref(state).verify(token).map_err(ApiError::Unauthorized)?;
        tracing::Span::current().record("user_id", verified.user.as_str());
        UserLimits::from_ref(state)
            .check(&verified.user)
            .map_err(|wait| ApiError::TooManyRequests { retry_after: wait })?;
        Ok(Caller(verified))
    }
}

impl<S> FromRequestParts<S> for CurrentUser
where
    Auth: FromRef<S>,
    UserLimits: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Caller(verified) = Caller::from_request_parts(parts, state).await?;
        Ok(CurrentUser(verified.user))
    }
}
