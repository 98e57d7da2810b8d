//! Secrets at rest: app credentials are sealed with AES-256-GCM under the installation's key
//! before the store sees them, and opened only where a request to the target is made.
//!
//! Invariant: a sealed secret is `nonce (12 bytes) ‖ ciphertext+tag`; the key never leaves
//! this type and neither the key nor a plaintext appears in `Debug` output or errors.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};

use crate::{Error, Result};

/// Length of the installation key.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

/// Seals and opens secrets with one key.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(…)")
    }
}

impl Sealer {
    pub fn new(key: &[u8; KEY_LEN]) -> Sealer {
        Sealer {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
        }
    }

    /// A new random key.
    pub fn generate_key() -> [u8; KEY_LEN] {
        Aes256Gcm::generate_key(&mut OsRng).into()
    }

    pub fn seal(&self, plaintext: &str) -> Result<Vec<u8>> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .map_err(|_| Error::Internal("cannot seal a secret".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`Sealer::seal`] made with the same key; an error (never the plaintext) if the
    /// key differs or the data was altered.
    pub fn open(&self, sealed: &[u8]) -> Result<String> {
        let (nonce, ciphertext) = sealed
            .split_at_checked(NONCE_LEN)
            .ok_or_else(|| Error::Internal("a sealed secret is too short".into()))?;
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| {
                Error::Internal(
                    "cannot open a sealed secret: the installation key differs from the one it \
                     was sealed with, or the data was altered"
                        .into(),
                )
            })?;
        String::from_utf8(plain).map_err(|_| Error::Internal("a sealed secret is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let sealer = Sealer::new(&Sealer::generate_key());
        let sealed = sealer.seal("s3cret-token").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(sealer.open(&sealed).unwrap(), "s3cret-token");
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert!(sealer.open(&altered).is_err());
        let other = Sealer::new(&Sealer::generate_key());
        let err = other.open(&sealed).unwrap_err().to_string();
        assert!(err.contains("installation key"), "{err}");
        assert!(!err.contains("s3cret"));
        assert!(sealer.open(b"short").is_err());
    }

    #[test]
    fn two_seals_differ() {
        let sealer = Sealer::new(&[7; KEY_LEN]);
        assert_ne!(sealer.seal("x").unwrap(), sealer.seal("x").unwrap());
    }
}
