//! [`SessionKey`]: what a store hands back and the cookie carries (sealed).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom as _, SystemRandom};

/// The longest key accepted, in bytes. A sealed cookie cannot carry more than 4096 bytes anyway.
pub const MAX_KEY_LEN: usize = 4096;

/// The number of random bits in a generated key.
const GENERATED_BITS: usize = 256;

/// The key a store keeps a session under, as returned by [`SessionStore::create`].
///
/// For server-side stores it is a random identifier made by [`SessionKey::generate`]:
/// 256 bits from the operating system's CSPRNG, as 43 URL-safe characters. For a store that
/// keeps the whole state client-side (the cookie store), the key *is* the encoded state.
/// Either way, the middleware seals the key before it goes into the cookie, so a client can
/// neither forge nor (in the default private mode) read it.
///
/// `Debug` prints only the length: a session key is a bearer credential and must not reach logs.
///
/// ```
/// use sessions_core::SessionKey;
///
/// let key = SessionKey::generate();
/// assert_eq!(key.as_str().map(str::len), Some(43));
/// assert_ne!(key, SessionKey::generate());
/// ```
///
/// [`SessionStore::create`]: crate::SessionStore::create
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionKey(Box<[u8]>);

impl SessionKey {
    /// A fresh random key: 256 bits from [`SystemRandom`], base64url-encoded (43 characters).
    ///
    /// ```
    /// let key = sessions_core::SessionKey::generate();
    /// assert!(key.as_str().unwrap().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    /// ```
    ///
    /// # Panics
    ///
    /// Panics if the operating system's random number generator fails, which on supported
    /// platforms only happens when it is unusable (and no secure session could be made).
    #[must_use]
    pub fn generate() -> Self {
        #[cfg(feature = "testing")]
        if let Some(forced) = crate::testing::next_forced_key() {
            return forced;
        }
        let mut bytes = [0_u8; GENERATED_BITS / 8];
        SystemRandom::new()
            .fill(&mut bytes)
            .expect("the operating system's random number generator failed");
        Self(
            URL_SAFE_NO_PAD
                .encode(bytes)
                .into_bytes()
                .into_boxed_slice(),
        )
    }

    /// Wraps bytes a store produced (for example a client-side store's encoded state).
    ///
    /// ```
    /// use sessions_core::SessionKey;
    ///
    /// let key = SessionKey::from_bytes(b"abc".to_vec()).unwrap();
    /// assert_eq!(key.as_bytes(), b"abc");
    /// assert!(SessionKey::from_bytes(Vec::new()).is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`InvalidSessionKey`] when `bytes` is empty or longer than [`MAX_KEY_LEN`].
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Result<Self, InvalidSessionKey> {
        let bytes = bytes.into();
        if bytes.is_empty() || bytes.len() > MAX_KEY_LEN {
            return Err(InvalidSessionKey { len: bytes.len() });
        }
        Ok(Self(bytes.into_boxed_slice()))
    }

    /// The key's bytes.
    ///
    /// ```
    /// let key = sessions_core::SessionKey::generate();
    /// assert_eq!(key.as_bytes().len(), 43);
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key as text, when it is UTF-8 (generated keys always are; client-side state is not).
    ///
    /// Server-side stores that need text (a Memcached key, a MongoDB `_id`) use this and
    /// report a `None` as [`StoreError::corrupt`](crate::StoreError::corrupt): such a key
    /// cannot have been issued by them.
    ///
    /// ```
    /// use sessions_core::SessionKey;
    ///
    /// assert!(SessionKey::generate().as_str().is_some());
    /// assert!(SessionKey::from_bytes(vec![0xff]).unwrap().as_str().is_none());
    /// ```
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// The key's length in bytes.
    ///
    /// ```
    /// assert_eq!(sessions_core::SessionKey::generate().len(), 43);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: a key is never empty. Present for API symmetry with [`len`](Self::len).
    ///
    /// ```
    /// assert!(!sessions_core::SessionKey::generate().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKey(<{} bytes>)", self.0.len())
    }
}

/// A session key was empty or longer than [`MAX_KEY_LEN`].
///
/// ```
/// let err = sessions_core::SessionKey::from_bytes(Vec::new()).unwrap_err();
/// assert!(err.to_string().contains("0 bytes"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSessionKey {
    len: usize,
}

impl fmt::Display for InvalidSessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a session key must be 1 to {MAX_KEY_LEN} bytes, got {} bytes",
            self.len
        )
    }
}

impl std::error::Error for InvalidSessionKey {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_url_safe_and_distinct() {
        let keys: std::collections::HashSet<_> =
            (0..1000).map(|_| SessionKey::generate()).collect();
        assert_eq!(keys.len(), 1000);
        for key in &keys {
            let text = key.as_str().unwrap();
            assert_eq!(text.len(), 43);
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
        }
    }

    #[test]
    fn debug_hides_the_key() {
        let key = SessionKey::generate();
        let printed = format!("{key:?}");
        assert!(!printed.contains(key.as_str().unwrap()));
        assert_eq!(printed, "SessionKey(<43 bytes>)");
    }

    #[test]
    fn rejects_oversized_keys() {
        assert!(SessionKey::from_bytes(vec![b'a'; MAX_KEY_LEN]).is_ok());
        assert!(SessionKey::from_bytes(vec![b'a'; MAX_KEY_LEN + 1]).is_err());
    }
}
