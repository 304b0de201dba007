//! Bearer tokens: HS256 JWTs whose `sub` claim names the user.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::config::{CommonSettings, Secret};
use crate::domain::UserId;
use crate::private_files;

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

/// A verified token: whom it names and until when it is valid.
#[derive(Debug, Clone)]
pub struct Verified {
    pub user: UserId,
    /// Unix seconds of its `exp`.
    pub expires_at: u64,
}

/// Issues and checks tokens with a ring of HS256 keys: tokens are signed with the first key
/// (and carry its `kid` when it has one); a token is checked with the key its `kid` names, or
/// without a `kid` with the first key. Keeping the previous key in the ring while tokens it
/// signed run out lets a secret rotate without signing everyone out.
#[derive(Clone)]
pub struct Auth {
    keys: Arc<KeyRing>,
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Auth(HS256, {} keys)", self.keys.by_kid.len().max(1))
    }
}

impl Auth {
    /// One key without a `kid`.
    pub fn new(secret: &Secret) -> Self {
        Self::with_keys(KeyRing::single(secret))
    }

    fn with_keys(keys: KeyRing) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.leeway = 5;
        Self {
            keys: Arc::new(keys),
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

    /// The keys from a keys file, the environment, a secret file, or (for local use) a
    /// secret generated once and kept in the data directory so tokens survive restarts.
    ///
    /// # Errors
    /// When a secret is too short or a file cannot be read, written or parsed.
    pub fn from_settings(settings: &CommonSettings) -> anyhow::Result<Self> {
        let keys = match (&settings.jwt_keys_file, &settings.jwt_secret, &settings.jwt_secret_file) {
            (Some(path), _, _) => KeyRing::parse(&private_files::read_secret_file(path, "the JWT keys file")?)?,
            (None, Some(secret), _) => KeyRing::single(&checked(secret.clone())?),
            (None, None, Some(path)) => KeyRing::single(&checked(Secret::new(private_files::read_secret_file(
                path,
                "the JWT secret file",
            )?))?),
            (None, None, None) => {
                let secret = private_files::generated_secret(
                    &settings.data_dir,
                    GENERATED_SECRET_FILE,
                    "the JWT secret file",
                    || {
                        let mut bytes = [0u8; 32];
                        rand::thread_rng().fill_bytes(&mut bytes);
                        hex::encode(bytes)
                    },
                )?;
                KeyRing::single(&checked(Secret::new(secret))?)
            }
        };
        Ok(Self::with_keys(keys).expecting(settings.jwt_issuer.clone(), settings.jwt_audience.clone()))
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
        let mut header = Header::new(Algorithm::HS256);
        header.kid.clone_from(&self.keys.signing_kid);
        encode(&header, &claims, &self.keys.signing).context("sign token")
    }

    /// The user a token names, and its expiry.
    ///
    /// # Errors
    /// A human-readable reason when the token is expired, badly signed or malformed.
    pub fn verify(&self, token: &str) -> Result<Verified, String> {
        use jsonwebtoken::errors::ErrorKind;
        let header = jsonwebtoken::decode_header(token).map_err(|_| "the token is malformed".to_owned())?;
        let key = self.keys.for_kid(header.kid.as_deref())?;
        let data = decode::<Claims>(token, key, &self.validation).map_err(|e| match e.kind() {
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
        Ok(Verified {
            user: UserId::parse(&data.claims.sub).map_err(|e| e.message)?,
            expires_at: data.claims.exp,
        })
    }
}

fn checked(secret: Secret) -> anyhow::Result<Secret> {
    if secret.expose().len() < MIN_SECRET_BYTES {
        bail!("the JWT secret must be at least {MIN_SECRET_BYTES} bytes long");
    }
    Ok(secret)
}

/// The keys tokens may be signed with.
struct KeyRing {
    signing: EncodingKey,
    signing_kid: Option<String>,
    /// The first key's, for tokens without a `kid`.
    default: DecodingKey,
    by_kid: HashMap<String, DecodingKey>,
}

impl KeyRing {
    fn single(secret: &Secret) -> Self {
        let bytes = secret.expose().as_bytes();
        Self {
            signing: EncodingKey::from_secret(bytes),
            signing_kid: None,
            default: DecodingKey::from_secret(bytes),
            by_kid: HashMap::new(),
        }
    }

    /// Lines `kid=secret`, the signing key first; blank lines and `#` comments are skipped.
    fn parse(text: &str) -> anyhow::Result<Self> {
        let mut ring: Option<Self> = None;
        let mut by_kid = HashMap::new();
        for (n, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((kid, secret)) = line.split_once('=') else {
                bail!("line {n} of the JWT keys file is not `kid=secret`");
            };
            let kid = kid.trim();
            if kid.is_empty() || kid.len() > 64 || !kid.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            {
                bail!("line {n} of the JWT keys file: a kid is 1-64 letters, digits, '.', '_' or '-'");
            }
            let secret =
                checked(Secret::new(secret.trim())).with_context(|| format!("line {n} of the JWT keys file"))?;
            let bytes = secret.expose().as_bytes();
            if by_kid.insert(kid.to_owned(), DecodingKey::from_secret(bytes)).is_some() {
                bail!("line {n} of the JWT keys file repeats the kid {kid:?}");
            }
            ring.get_or_insert_with(|| Self {
                signing: EncodingKey::from_secret(bytes),
                signing_kid: Some(kid.to_owned()),
                default: DecodingKey::from_secret(bytes),
                by_kid: HashMap::new(),
            });
        }
        let mut ring = ring.context("the JWT keys file holds no key")?;
        ring.by_kid = by_kid;
        Ok(ring)
    }

    fn for_kid(&self, kid: Option<&str>) -> Result<&DecodingKey, String> {
        match kid {
            None => Ok(&self.default),
            Some(kid) => self
                .by_kid
                .get(kid)
                .ok_or_else(|| "the token was signed with a key this service does not have (kid)".to_owned()),
        }
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
        assert_eq!(
            auth.verify(&token).unwrap().user,
            alice,
            "its own tokens carry iss and aud"
        );

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

    #[test]
    fn a_key_ring_signs_with_its_first_key_and_checks_each_by_kid() {
        let old = "old-secret-of-at-least-thirty-two-bytes!";
        let new = "new-secret-of-at-least-thirty-two-bytes!";
        let alice = UserId::parse("alice").unwrap();
        let before = Auth::with_keys(KeyRing::parse(&format!("k1={old}\n")).unwrap());
        let old_token = before.issue(&alice, Duration::from_secs(60)).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&old_token).unwrap().kid.as_deref(),
            Some("k1")
        );

        let rotated = Auth::with_keys(KeyRing::parse(&format!("# current first\nk2={new}\n\nk1={old}\n")).unwrap());
        assert_eq!(
            rotated.verify(&old_token).unwrap().user,
            alice,
            "tokens of the previous key still pass"
        );
        let new_token = rotated.issue(&alice, Duration::from_secs(60)).unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(&new_token).unwrap().kid.as_deref(),
            Some("k2")
        );
        assert!(
            before.verify(&new_token).unwrap_err().contains("kid"),
            "an unknown kid is refused"
        );

        let retired = Auth::with_keys(KeyRing::parse(&format!("k2={new}")).unwrap());
        assert!(
            retired.verify(&old_token).is_err(),
            "a key removed from the ring signs no more callers in"
        );
        let forged = {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some("k2".into());
            let claims = serde_json::json!({"sub": "alice", "exp": jsonwebtoken::get_current_timestamp() + 60});
            encode(&header, &claims, &EncodingKey::from_secret(old.as_bytes())).unwrap()
        };
        assert!(
            rotated.verify(&forged).is_err(),
            "a kid picks its key: another key's signature fails"
        );

        for bad in [
            "",
            "k1",
            "k1=short",
            &format!("k 1={old}"),
            &format!("k1={old}\nk1={new}"),
        ] {
            assert!(KeyRing::parse(bad).is_err(), "{bad:?} is refused");
        }
    }
}
