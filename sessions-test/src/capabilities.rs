//! [`Capabilities`]: what a store can do, so the suite checks exactly that.

use std::time::Duration;

/// What the store under test can do. Cases that need a missing capability pass without
/// checking it and say so on stderr.
///
/// ```
/// use std::time::Duration;
/// use sessions_test::Capabilities;
///
/// // Memcached: expiry has one-second granularity.
/// let caps = Capabilities::server_side()
///     .ttl(Duration::from_secs(3))
///     .ttl_granularity(Duration::from_secs(1));
/// # let _ = caps;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// `update` is a real compare-and-set (false for the cookie store).
    pub compare_and_set: bool,
    /// State lives server-side, so deleting a record revokes it (false for the cookie store,
    /// whose old cookies stay valid until they expire).
    pub server_side: bool,
    /// The TTL the expiry cases use. Longer than twice the granularity.
    pub ttl: Duration,
    /// How late or early the store may expire a record (Memcached: one second).
    pub ttl_granularity: Duration,
    /// A value size that must round-trip in a server-side store.
    pub large_value: usize,
}

impl Capabilities {
    /// A server-side store with compare-and-set and millisecond expiry: every case applies.
    ///
    /// ```
    /// assert!(sessions_test::Capabilities::server_side().compare_and_set);
    /// ```
    #[must_use]
    pub const fn server_side() -> Self {
        Self {
            compare_and_set: true,
            server_side: true,
            ttl: Duration::from_secs(1),
            ttl_granularity: Duration::ZERO,
            large_value: 64 * 1024,
        }
    }

    /// A store that keeps the state in the cookie: no compare-and-set, no revocation.
    ///
    /// ```
    /// assert!(!sessions_test::Capabilities::client_side().server_side);
    /// ```
    #[must_use]
    pub const fn client_side() -> Self {
        Self {
            compare_and_set: false,
            server_side: false,
            ..Self::server_side()
        }
    }

    /// Sets the TTL the expiry cases use. Defaults to one second.
    ///
    /// ```
    /// let caps = sessions_test::Capabilities::server_side().ttl(std::time::Duration::from_secs(2));
    /// assert_eq!(caps.ttl.as_secs(), 2);
    /// ```
    #[must_use]
    pub const fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets how imprecise the store's expiry is. Defaults to zero (millisecond precision).
    ///
    /// ```
    /// let caps = sessions_test::Capabilities::server_side().ttl_granularity(std::time::Duration::from_secs(1));
    /// assert_eq!(caps.ttl_granularity.as_secs(), 1);
    /// ```
    #[must_use]
    pub const fn ttl_granularity(mut self, granularity: Duration) -> Self {
        self.ttl_granularity = granularity;
        self
    }

    /// Sets the value size that must round-trip. Defaults to 64 KiB.
    ///
    /// ```
    /// let caps = sessions_test::Capabilities::server_side().large_value(1024);
    /// assert_eq!(caps.large_value, 1024);
    /// ```
    #[must_use]
    pub const fn large_value(mut self, bytes: usize) -> Self {
        self.large_value = bytes;
        self
    }

    /// How long after a write a record is certainly still there.
    pub(crate) fn surely_alive(&self) -> Duration {
        self.ttl.saturating_sub(self.ttl_granularity) / 2
    }

    /// How long after a write a record is certainly gone.
    pub(crate) fn surely_expired(&self) -> Duration {
        self.ttl + self.ttl_granularity + Duration::from_millis(200)
    }
}
