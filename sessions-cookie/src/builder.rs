//! [`CookieStoreBuilder`]: absolute lifetime and a revocation cut-off.

use std::time::{Duration, SystemTime};

use crate::CookieStore;

/// Configures a [`CookieStore`].
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use sessions_cookie::CookieStore;
///
/// let store = CookieStore::builder()
///     .max_lifetime(Duration::from_secs(24 * 3600))
///     .not_before(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600))
///     .build();
/// # let _ = store;
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct CookieStoreBuilder {
    store: CookieStore,
}

impl CookieStoreBuilder {
    /// The longest a session may live from its creation, however often a rolling TTL extends
    /// it (an absolute timeout, as OWASP recommends). Defaults to none: only the TTL applies.
    ///
    /// ```
    /// let store = sessions_cookie::CookieStore::builder()
    ///     .max_lifetime(std::time::Duration::from_secs(8 * 3600))
    ///     .build();
    /// # let _ = store;
    /// ```
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.store.max_lifetime = Some(lifetime);
        self
    }

    /// Rejects every session created before `cutoff`: the cookie store's "log everybody out",
    /// for example after a leak. Defaults to none.
    ///
    /// ```
    /// let store = sessions_cookie::CookieStore::builder()
    ///     .not_before(std::time::SystemTime::now())
    ///     .build();
    /// # let _ = store;
    /// ```
    pub fn not_before(mut self, cutoff: SystemTime) -> Self {
        self.store.not_before = Some(cutoff);
        self
    }

    /// Builds the store.
    ///
    /// ```
    /// let store = sessions_cookie::CookieStore::builder().build();
    /// # let _ = store;
    /// ```
    pub fn build(self) -> CookieStore {
        self.store
    }
}
