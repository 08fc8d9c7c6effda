//! Secrets: [`Key`] (one secret, with subkeys derived by HKDF) and [`KeyRing`] (key rotation).

use std::fmt;

use ring::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
use ring::hkdf::{HKDF_SHA256, KeyType, Salt};
use ring::hmac;
use ring::rand::{SecureRandom as _, SystemRandom};

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 32;

/// HKDF salt: fixed and public, it separates this library's keys from other uses of a secret.
const HKDF_SALT: &[u8] = b"sessions-core cookie keys v1";
const ENCRYPTION_INFO: &[u8] = b"aes-256-gcm";
const SIGNING_INFO: &[u8] = b"hmac-sha256";

/// A secret for sealing cookies, from which an encryption key and a signing key are derived.
///
/// The secret itself is not kept: HKDF-SHA256 derives an AES-256-GCM key (private cookies)
/// and an HMAC-SHA256 key (signed cookies) from it, so one secret serves both modes without
/// using the same key for two algorithms. `Debug` never prints key material.
///
/// ```
/// use sessions_core::Key;
///
/// // In production, load at least 32 random bytes from your secret store.
/// let key = Key::from(&[7_u8; 64]).unwrap();
/// assert_eq!(format!("{key:?}"), "Key(<redacted>)");
/// assert!(Key::from(b"too short").is_err());
/// ```
#[derive(Clone)]
pub struct Key {
    encryption: LessSafeKey,
    signing: hmac::Key,
}

impl Key {
    /// Derives a key from `secret`, which must hold at least [`MIN_SECRET_LEN`] bytes.
    ///
    /// Use high-entropy bytes (from a secret manager, or `openssl rand -base64 64`), not a
    /// password: the secret is not stretched.
    ///
    /// ```
    /// let key = sessions_core::Key::from(&[1_u8; 32]).unwrap();
    /// # let _ = key;
    /// ```
    ///
    /// # Errors
    ///
    /// [`KeyError::TooShort`] when `secret` has fewer than [`MIN_SECRET_LEN`] bytes.
    #[allow(
        clippy::should_implement_trait,
        reason = "fallible, so not the From trait"
    )]
    pub fn from(secret: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let secret = secret.as_ref();
        if secret.len() < MIN_SECRET_LEN {
            return Err(KeyError::TooShort { len: secret.len() });
        }
        let prk = Salt::new(HKDF_SALT_ALGORITHM, HKDF_SALT).extract(secret);
        let mut encryption = [0_u8; 32];
        let mut signing = [0_u8; 32];
        expand(&prk, ENCRYPTION_INFO, &mut encryption);
        expand(&prk, SIGNING_INFO, &mut signing);
        let unbound =
            UnboundKey::new(&AES_256_GCM, &encryption).expect("AES-256 keys are 32 bytes");
        Ok(Self {
            encryption: LessSafeKey::new(unbound),
            signing: hmac::Key::new(hmac::HMAC_SHA256, &signing),
        })
    }

    /// A key from 64 fresh random bytes. Sessions sealed with it die with the process, so this
    /// suits tests and demos; production code loads a stable secret with [`Key::from`].
    ///
    /// ```
    /// let key = sessions_core::Key::generate();
    /// # let _ = key;
    /// ```
    ///
    /// # Panics
    ///
    /// Panics if the operating system's random number generator fails.
    #[must_use]
    pub fn generate() -> Self {
        let mut secret = [0_u8; 64];
        SystemRandom::new()
            .fill(&mut secret)
            .expect("the operating system's random number generator failed");
        Self::from(secret).expect("64 bytes is long enough")
    }

    pub(crate) fn encryption(&self) -> &LessSafeKey {
        &self.encryption
    }

    pub(crate) fn signing(&self) -> &hmac::Key {
        &self.signing
    }
}

const HKDF_SALT_ALGORITHM: ring::hkdf::Algorithm = HKDF_SHA256;

/// HKDF output length for `expand`: 32 bytes.
struct Len32;

impl KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

fn expand(prk: &ring::hkdf::Prk, info: &[u8], out: &mut [u8; 32]) {
    prk.expand(&[info], Len32)
        .and_then(|okm| okm.fill(out))
        .expect("32 bytes is a valid HKDF-SHA256 output length");
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// The keys cookies are sealed and opened with: the first seals, all of them open.
///
/// To rotate, put a new key first and keep the old ones behind it for as long as cookies sealed
/// with them may still be presented (the session TTL). A cookie opened with an old key is
/// sealed again with the current key on the response.
///
/// ```
/// use sessions_core::{Key, KeyRing};
///
/// let old = Key::from(&[1_u8; 32]).unwrap();
/// let new = Key::from(&[2_u8; 32]).unwrap();
/// let ring = KeyRing::new(new).with_old_key(old);
/// assert_eq!(ring.len(), 2);
/// ```
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: Vec<Key>,
}

impl KeyRing {
    /// A ring with one key, used for sealing and opening.
    ///
    /// ```
    /// let ring = sessions_core::KeyRing::new(sessions_core::Key::generate());
    /// assert_eq!(ring.len(), 1);
    /// ```
    #[must_use]
    pub fn new(current: Key) -> Self {
        Self {
            keys: vec![current],
        }
    }

    /// Adds a retired key that still opens cookies but never seals new ones.
    ///
    /// ```
    /// use sessions_core::{Key, KeyRing};
    /// let ring = KeyRing::new(Key::generate()).with_old_key(Key::generate());
    /// # assert_eq!(ring.len(), 2);
    /// ```
    #[must_use]
    pub fn with_old_key(mut self, old: Key) -> Self {
        self.keys.push(old);
        self
    }

    /// The number of keys, current one included.
    ///
    /// ```
    /// assert_eq!(sessions_core::KeyRing::new(sessions_core::Key::generate()).len(), 1);
    /// ```
    #[must_use]
    #[allow(
        clippy::len_without_is_empty,
        reason = "a ring always holds its current key, so it is never empty"
    )]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn current(&self) -> &Key {
        &self.keys[0]
    }

    /// All keys, current first.
    pub(crate) fn keys(&self) -> &[Key] {
        &self.keys
    }
}

impl From<Key> for KeyRing {
    fn from(key: Key) -> Self {
        Self::new(key)
    }
}

/// A secret could not be used as a [`Key`].
///
/// ```
/// let err = sessions_core::Key::from(b"short").unwrap_err();
/// assert_eq!(err.to_string(), "a session key secret needs at least 32 bytes, got 5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The secret has fewer than [`MIN_SECRET_LEN`] bytes.
    TooShort {
        /// The secret's length in bytes.
        len: usize,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { len } => {
                write!(
                    f,
                    "a session key secret needs at least {MIN_SECRET_LEN} bytes, got {len}"
                )
            }
        }
    }
}

impl std::error::Error for KeyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_short_secrets_and_accepts_32_bytes() {
        assert_eq!(
            Key::from([0_u8; 31]).unwrap_err(),
            KeyError::TooShort { len: 31 }
        );
        assert!(Key::from([0_u8; 32]).is_ok());
    }

    #[test]
    fn debug_never_shows_key_material() {
        let ring = KeyRing::new(Key::from([0x41_u8; 40]).unwrap());
        let printed = format!("{ring:?}");
        assert!(printed.contains("<redacted>"), "{printed}");
        assert!(!printed.contains("AAAA"), "{printed}");
    }
}
