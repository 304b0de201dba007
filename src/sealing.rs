//! Secrets the service must read back (webhook signing secrets) are sealed at rest with
//! XChaCha20-Poly1305: a copy of the database alone does not let anyone sign deliveries. The
//! key comes from the environment or a file, or for the embedded default is generated once
//! into the private data directory. Each sealed value is bound to its row's owner (associated
//! data), so it cannot be moved to another user's row and still open.

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::config::{CommonSettings, Secret};
use crate::private_files;

/// Marks a sealed value (anything else is a value stored before sealing existed).
const PREFIX: &str = "sealed:v1:";
const GENERATED_KEY_FILE: &str = "secrets-key";
const NONCE_BYTES: usize = 24;

/// Seals and opens secrets with one key.
#[derive(Clone)]
pub struct Sealer(XChaCha20Poly1305);

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

impl Sealer {
    /// A key given as 64 hex digits.
    ///
    /// # Errors
    /// When it is not 32 bytes of hex.
    pub fn from_hex(key: &Secret) -> anyhow::Result<Self> {
        let bytes = hex::decode(key.expose().trim())
            .ok()
            .filter(|b| b.len() == 32)
            .context("the secrets key must be 32 bytes written as 64 hex digits")?;
        Ok(Self(
            XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| anyhow!("bad key length"))?,
        ))
    }

    /// The key from TASKSTREAM_SECRETS_KEY, its file, or generated once into the data dir.
    ///
    /// # Errors
    /// When the key is malformed or its file cannot be read or written.
    pub fn from_settings(settings: &CommonSettings) -> anyhow::Result<Self> {
        let key = match (&settings.secrets_key, &settings.secrets_key_file) {
            (Some(key), _) => key.clone(),
            (None, Some(path)) => Secret::new(private_files::read_secret_file(path, "the secrets key file")?),
            (None, None) => Secret::new(private_files::generated_secret(
                &settings.data_dir,
                GENERATED_KEY_FILE,
                "the secrets key file",
                || hex::encode(XChaCha20Poly1305::generate_key(&mut OsRng)),
            )?),
        };
        Self::from_hex(&key)
    }

    /// `secret` sealed for `owner`.
    pub fn seal(&self, secret: &Secret, owner: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: secret.expose().as_bytes(),
            aad: owner.as_bytes(),
        };
        // Encryption with a valid key and nonce cannot fail.
        let sealed = self.0.encrypt(&nonce, payload).unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
        )
    }

    /// The secret `stored` holds for `owner`; a value stored before sealing comes back as is.
    ///
    /// # Errors
    /// When the value was sealed with another key or for another owner, or is damaged.
    pub fn open(&self, stored: &str, owner: &str) -> anyhow::Result<Secret> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Ok(Secret::new(stored));
        };
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(encoded)
            .context("a sealed secret is damaged (not base64)")?;
        if bytes.len() <= NONCE_BYTES {
            bail!("a sealed secret is damaged (too short)");
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let payload = Payload {
            msg: sealed,
            aad: owner.as_bytes(),
        };
        let plain = self
            .0
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| anyhow!("a sealed secret does not open: it was sealed with another TASKSTREAM_SECRETS_KEY"))?;
        Ok(Secret::new(
            String::from_utf8(plain).context("a sealed secret is not text")?,
        ))
    }

    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(byte: u8) -> Sealer {
        Sealer::from_hex(&Secret::new(hex::encode([byte; 32]))).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_owner() {
        let secret = Secret::new("whsec_0123");
        let sealed = sealer(1).seal(&secret, "alice");
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.contains("whsec"), "{sealed}");
        assert_ne!(sealed, sealer(1).seal(&secret, "alice"), "a fresh nonce each time");
        assert_eq!(sealer(1).open(&sealed, "alice").unwrap().expose(), "whsec_0123");
        assert!(sealer(2).open(&sealed, "alice").is_err(), "another key");
        assert!(sealer(1).open(&sealed, "bob").is_err(), "another owner's row");
        assert!(sealer(1).open("sealed:v1:AAAA", "alice").is_err(), "damaged");
        assert_eq!(
            sealer(1).open("whsec_legacy", "alice").unwrap().expose(),
            "whsec_legacy"
        );
        for bad in ["", "abc", &"0".repeat(62)] {
            assert!(Sealer::from_hex(&Secret::new(bad)).is_err(), "{bad:?}");
        }
    }
}
