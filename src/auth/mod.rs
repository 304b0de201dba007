//! Bearer tokens: HS256 JWTs whose `sub` claim names the user.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::api::ApiError;
use crate::config::{CommonSettings, Secret};
use crate::domain::UserId;

const MIN_SECRET_BYTES: usize = 32;
const GENERATED_SECRET_FILE: &str = "jwt-secret";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
}

/// Issues and checks tokens.
#[derive(Clone)]
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth(HS256)")
    }
}

impl Auth {
    pub fn new(secret: &Secret) -> Self {
        let bytes = secret.expose().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            issuer: None,
            audience: None,
        }
    }

    /// Also requires (and puts into issued tokens) this `iss` and/or `aud`.
    pub fn expecting(mut self, issuer: Option<String>, audience: Option<String>) -> Self {
        let mut required = vec!["exp", "sub"];
        if let Some(issuer) = &issuer {
            self.validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        if let Some(audience) = &audience {
            self.validation.set_audience(&[audience]);
            self.validation.validate_aud = true;
            required.push("aud");
        }
        self.validation.set_required_spec_claims(&required);
        self.issuer = issuer;
        self.audience = audience;
        self
    }

    /// The secret from the environment, a file, or (for local use) one generated once and
    /// kept in the data directory so tokens survive restarts.
    ///
    /// # Errors
    /// When the secret is too short or its file cannot be read or written.
    pub fn from_settings(settings: &CommonSettings) -> anyhow::Result<Self> {
        let secret = match (&settings.jwt_secret, &settings.jwt_secret_file) {
            (Some(secret), _) => secret.clone(),
            (None, Some(path)) => read_secret(path)?,
            (None, None) => generated_secret(&settings.data_dir)?,
        };
        if secret.expose().len() < MIN_SECRET_BYTES {
            bail!("the JWT secret must be at least {MIN_SECRET_BYTES} bytes long");
        }
        Ok(Self::new(&secret).expecting(settings.jwt_issuer.clone(), settings.jwt_audience.clone()))
    }

    /// A token for `user`, valid for `ttl`.
    ///
    /// # Errors
    /// Only if signing fails, which HS256 with a valid key does not.
    pub fn issue(&self, user: &UserId, ttl: Duration) -> anyhow::Result<String> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: user.as_str().to_owned(),
            iat: now,
            exp: now + ttl.as_secs(),
            nbf: Some(now),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).context("sign token")
    }

    /// The user a token names.
    ///
    /// # Errors
    /// A human-readable reason when the token is expired, badly signed or malformed.
    pub fn verify(&self, token: &str) -> Result<UserId, String> {
        use jsonwebtoken::errors::ErrorKind;
        let data = decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
            ErrorKind::InvalidSignature => "the token signature is invalid".to_owned(),
            ErrorKind::InvalidAlgorithm => "the token must be signed with HS256".to_owned(),
            ErrorKind::MissingRequiredClaim(claim) => {
                format!("the token has no {claim} claim")
            }
            ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".to_owned(),
            ErrorKind::InvalidIssuer => "the token's issuer is not accepted".to_owned(),
            ErrorKind::InvalidAudience => "the token is not meant for this service (aud)".to_owned(),
            _ => "the token is malformed".to_owned(),
        })?;
        UserId::parse(&data.claims.sub).map_err(|e| e.message)
    }
}

fn read_secret(path: &Path) -> anyhow::Result<Secret> {
    crate::private_files::check_secret_file(path, "the JWT secret file")?;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read the JWT secret file {}", path.display()))?;
    Ok(Secret::new(text.trim_end()))
}

fn generated_secret(data_dir: &Path) -> anyhow::Result<Secret> {
    let path = data_dir.join(GENERATED_SECRET_FILE);
    if path.exists() {
        return read_secret(&path);
    }
    crate::private_files::private_dir(data_dir)?;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    write_private(&path, &secret).with_context(|| format!("cannot write the JWT secret file {}", path.display()))?;
    Ok(Secret::new(secret))
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub UserId);

impl<S> FromRequestParts<S> for CurrentUser
where
    Auth: FromRef<S>,
    crate::api::UserLimits: FromRef<S>,
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
        let user = Auth::from_ref(state).verify(token).map_err(ApiError::Unauthorized)?;
        tracing::Span::current().record("user_id", user.as_str());
        crate::api::UserLimits::from_ref(state)
            .check(&user)
            .map_err(|wait| ApiError::TooManyRequests { retry_after: wait })?;
        Ok(CurrentUser(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("a-test-secret-of-at-least-thirty-two-bytes")
    }

    fn signed(claims: &serde_json::Value) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret().expose().as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn issuer_audience_and_not_before_are_checked() {
        let now = jsonwebtoken::get_current_timestamp();
        let auth = Auth::new(&secret()).expecting(Some("idp".into()), Some("taskstream".into()));
        let alice = UserId::parse("alice").unwrap();
        let token = auth.issue(&alice, Duration::from_secs(60)).unwrap();
        assert_eq!(auth.verify(&token).unwrap(), alice, "its own tokens carry iss and aud");

        let base = serde_json::json!({"sub": "alice", "iat": now, "exp": now + 60, "iss": "idp", "aud": "taskstream"});
        let with = |key: &str, value: serde_json::Value| {
            let mut claims = base.clone();
            claims[key] = value;
            signed(&claims)
        };
        assert!(auth
            .verify(&with("iss", "someone-else".into()))
            .unwrap_err()
            .contains("issuer"));
        assert!(auth
            .verify(&with("aud", "another-service".into()))
            .unwrap_err()
            .contains("aud"));
        assert!(auth
            .verify(&with("nbf", (now + 3_600).into()))
            .unwrap_err()
            .contains("nbf"));
        let mut no_issuer = base.clone();
        no_issuer.as_object_mut().unwrap().remove("iss");
        assert!(
            auth.verify(&signed(&no_issuer)).is_err(),
            "iss is required once configured"
        );
        assert!(
            Auth::new(&secret()).verify(&signed(&no_issuer)).is_ok(),
            "without the settings neither is required"
        );
    }
}
