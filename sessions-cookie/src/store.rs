//! [`CookieStore`]: the session state travels in the cookie.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sessions_core::{Loaded, SessionKey, SessionStore, StoreError, Stored, Version};

use crate::CookieStoreBuilder;

/// The format byte of the state envelope.
const FORMAT_V1: u8 = 1;
/// Format byte, issued-at and expiry (milliseconds since the Unix epoch, big-endian u64).
const HEADER_LEN: usize = 1 + 8 + 8;

/// Keeps the whole session in the cookie: no server, no shared state between instances.
///
/// The middleware seals the cookie (AES-256-GCM by default), so the client can neither read
/// nor change it. Inside the sealed value, before the session payload, are the time the
/// session was issued and the time it expires, both checked on every request: a stolen cookie
/// stops working after its TTL even if the thief ignores `Max-Age` (actix-session's cookie
/// store does not check this).
///
/// ```text
/// key = 0x01  issued_at_ms:u64be  expires_at_ms:u64be  payload
/// ```
///
/// What a cookie store cannot do, by design:
/// - **Revocation.** [`Session::purge`] and [`Session::renew`] stop *this browser* from using
///   the old cookie, but a copy of it stays valid until it expires. Keep the TTL short, or use
///   [`CookieStoreBuilder::not_before`] to invalidate every cookie issued before a moment.
/// - **Size.** A cookie holds at most 4096 bytes, about 3 KB of session data after sealing
///   and base64. A session that outgrows it is an error when the response is saved (a 500,
///   logged with the sizes), never a silently dropped cookie.
/// - **Compare-and-set.** Two concurrent requests of one browser each send back a whole
///   cookie; the browser keeps the last one.
///
/// ```
/// use sessions_core::{Key, SessionMiddleware};
/// use sessions_cookie::CookieStore;
///
/// let middleware = SessionMiddleware::new(CookieStore::new(), Key::generate());
/// # let _ = middleware;
/// ```
///
/// [`Session::purge`]: sessions_core::Session::purge
/// [`Session::renew`]: sessions_core::Session::renew
#[derive(Debug, Clone, Default)]
pub struct CookieStore {
    pub(crate) max_lifetime: Option<Duration>,
    pub(crate) not_before: Option<SystemTime>,
}

/// The decoded envelope of a cookie-store key.
struct Envelope<'a> {
    issued_at: u64,
    expires_at: u64,
    payload: &'a [u8],
}

impl CookieStore {
    /// A cookie store with the default settings: no absolute lifetime, no `not_before`.
    ///
    /// ```
    /// let store = sessions_cookie::CookieStore::new();
    /// # let _ = store;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder for an absolute lifetime or a `not_before` cut-off.
    ///
    /// ```
    /// let store = sessions_cookie::CookieStore::builder()
    ///     .max_lifetime(std::time::Duration::from_secs(12 * 3600))
    ///     .build();
    /// # let _ = store;
    /// ```
    pub fn builder() -> CookieStoreBuilder {
        CookieStoreBuilder::default()
    }

    /// Seals nothing (the middleware does): lays out issued-at, expiry and payload.
    fn key(&self, issued_at: u64, ttl: Duration, payload: &[u8]) -> Result<SessionKey, StoreError> {
        let expires_at = self.expiry(issued_at, now_ms().saturating_add(millis(ttl)));
        let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
        bytes.push(FORMAT_V1);
        bytes.extend_from_slice(&issued_at.to_be_bytes());
        bytes.extend_from_slice(&expires_at.to_be_bytes());
        bytes.extend_from_slice(payload);
        let size = bytes.len();
        SessionKey::from_bytes(bytes)
            .map_err(|_| StoreError::too_large(size, sessions_core::MAX_KEY_LEN))
    }

    /// The expiry, capped by the absolute lifetime if one is set.
    fn expiry(&self, issued_at: u64, wanted: u64) -> u64 {
        match self.max_lifetime {
            Some(lifetime) => wanted.min(issued_at.saturating_add(millis(lifetime))),
            None => wanted,
        }
    }

    /// Whether a cookie issued at `issued_at` and expiring at `expires_at` is still good.
    fn is_valid(&self, envelope: &Envelope<'_>, now: u64) -> bool {
        let after_cutoff = self
            .not_before
            .is_none_or(|cutoff| envelope.issued_at >= system_ms(cutoff));
        envelope.expires_at > now && after_cutoff
    }
}

fn parse(key: &SessionKey) -> Result<Envelope<'_>, StoreError> {
    let bytes = key.as_bytes();
    let (&[version], rest) = bytes
        .split_first_chunk::<1>()
        .ok_or_else(|| corrupt("empty"))?;
    if version != FORMAT_V1 {
        return Err(corrupt("unknown cookie state format"));
    }
    let (issued_at, rest) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt("truncated"))?;
    let (expires_at, payload) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt("truncated"))?;
    Ok(Envelope {
        issued_at: u64::from_be_bytes(*issued_at),
        expires_at: u64::from_be_bytes(*expires_at),
        payload,
    })
}

fn corrupt(why: &'static str) -> StoreError {
    StoreError::corrupt(why).with_message("cookie session state")
}

fn now_ms() -> u64 {
    system_ms(SystemTime::now())
}

fn system_ms(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, millis)
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl SessionStore for CookieStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        let envelope = parse(key)?;
        if !self.is_valid(&envelope, now_ms()) {
            return Ok(None);
        }
        Ok(Some(Loaded::new(
            envelope.payload.to_vec(),
            Version::new(0),
        )))
    }

    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        Ok(Stored::new(
            self.key(now_ms(), ttl, payload)?,
            Version::new(0),
        ))
    }

    /// A renewal keeps the time the session was first issued, so `max_lifetime` holds however
    /// often a session is renewed (a stolen cookie plus an endpoint that renews would
    /// otherwise live forever). After a log-out the state in the old cookie is still the
    /// browser's, so the new session counts from its issue time too.
    async fn create_replacing(
        &self,
        replaced: &SessionKey,
        payload: &[u8],
        ttl: Duration,
    ) -> Result<Stored, StoreError> {
        let issued_at = parse(replaced).map_or_else(|_| now_ms(), |envelope| envelope.issued_at);
        Ok(Stored::new(
            self.key(issued_at, ttl, payload)?,
            Version::new(0),
        ))
    }

    /// Last writer wins: a cookie store cannot compare versions across a browser's requests.
    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        ttl: Duration,
        _: Version,
    ) -> Result<Stored, StoreError> {
        let issued_at = parse(key).map_or_else(|_| now_ms(), |envelope| envelope.issued_at);
        Ok(Stored::new(
            self.key(issued_at, ttl, payload)?,
            Version::new(0),
        ))
    }

    async fn touch(&self, key: &SessionKey, ttl: Duration) -> Result<SessionKey, StoreError> {
        let envelope = parse(key)?;
        self.key(envelope.issued_at, ttl, envelope.payload)
    }

    /// Nothing to delete server-side; the middleware removes the cookie.
    async fn delete(&self, _: &SessionKey) -> Result<(), StoreError> {
        Ok(())
    }

    /// No: each request's cookie carries the whole state, and the browser keeps the last one.
    fn compares_versions(&self) -> bool {
        false
    }
}

const _: () = {
    const fn store<T: SessionStore + Clone>() {}
    store::<CookieStore>();
};

#[cfg(test)]
mod tests {
    use super::*;
    use sessions_core::StoreErrorKind;

    const HOUR: Duration = Duration::from_secs(3600);

    #[actix_web::test]
    async fn expiry_is_inside_the_key_and_enforced() {
        let store = CookieStore::new();
        let stored = store
            .create(b"state", Duration::from_millis(30))
            .await
            .unwrap();
        assert_eq!(
            store.load(stored.key()).await.unwrap().unwrap().payload(),
            b"state"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        assert!(store.load(stored.key()).await.unwrap().is_none());
    }

    #[actix_web::test]
    async fn touch_and_update_keep_issued_at_and_move_expiry() {
        let store = CookieStore::new();
        let created = store.create(b"a", Duration::from_millis(30)).await.unwrap();
        let issued = parse(created.key()).unwrap().issued_at;
        let touched = store.touch(created.key(), HOUR).await.unwrap();
        let updated = store
            .update(&touched, b"b", HOUR, Version::new(0))
            .await
            .unwrap();
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(parse(&touched).unwrap().issued_at, issued);
        assert_eq!(parse(updated.key()).unwrap().issued_at, issued);
        assert_eq!(
            store.load(updated.key()).await.unwrap().unwrap().payload(),
            b"b"
        );
    }

    #[actix_web::test]
    async fn max_lifetime_caps_rolling_extension() {
        let store = CookieStore::builder()
            .max_lifetime(Duration::from_millis(40))
            .build();
        let created = store.create(b"a", HOUR).await.unwrap();
        let touched = store.touch(created.key(), HOUR).await.unwrap();
        actix_web::rt::time::sleep(Duration::from_millis(60)).await;
        assert!(store.load(&touched).await.unwrap().is_none());
    }

    #[actix_web::test]
    async fn not_before_revokes_earlier_cookies() {
        let old = CookieStore::new().create(b"a", HOUR).await.unwrap();
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
        let store = CookieStore::builder().not_before(SystemTime::now()).build();
        assert!(store.load(old.key()).await.unwrap().is_none());
        let fresh = store.create(b"b", HOUR).await.unwrap();
        assert!(store.load(fresh.key()).await.unwrap().is_some());
    }

    #[actix_web::test]
    async fn malformed_keys_are_corrupt_not_panics() {
        let store = CookieStore::new();
        for bytes in [vec![0_u8], vec![1], vec![1; 16], vec![2; 40]] {
            let key = SessionKey::from_bytes(bytes).unwrap();
            assert_eq!(
                store.load(&key).await.unwrap_err().kind(),
                StoreErrorKind::Corrupt
            );
        }
    }

    #[actix_web::test]
    async fn oversized_state_is_too_large() {
        let err = CookieStore::new()
            .create(&[0; 5000], HOUR)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::TooLarge);
    }
}
