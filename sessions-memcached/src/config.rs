//! The store's settings and their defaults, all in one place.

use std::time::Duration;

use sessions_net::Timeouts;

/// What the text transport's pool size defaulted to. No transport pools connections any more
/// (each thread shares one connection per server), so nothing reads it.
///
/// ```
/// #[allow(deprecated)]
/// let size = sessions_memcached::DEFAULT_POOL_SIZE;
/// assert_eq!(size, 16);
/// ```
#[deprecated(
    since = "0.1.1",
    note = "no transport pools connections: each worker thread shares one connection per server"
)]
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long opening (and authenticating) a connection may take. See
/// [`MemcachedStoreBuilder::connect_timeout`](crate::MemcachedStoreBuilder::connect_timeout).
///
/// ```
/// assert_eq!(sessions_memcached::DEFAULT_CONNECT_TIMEOUT.as_secs(), 2);
/// ```
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one request may wait for its reply. See
/// [`MemcachedStoreBuilder::io_timeout`](crate::MemcachedStoreBuilder::io_timeout).
///
/// ```
/// assert_eq!(sessions_memcached::DEFAULT_IO_TIMEOUT.as_secs(), 1);
/// ```
pub const DEFAULT_IO_TIMEOUT: Duration = Duration::from_secs(1);

/// The largest payload stored: memcached's default item size limit (`-I 1m`). See
/// [`MemcachedStoreBuilder::max_value_size`](crate::MemcachedStoreBuilder::max_value_size).
///
/// ```
/// assert_eq!(sessions_memcached::DEFAULT_MAX_VALUE_SIZE, 1024 * 1024);
/// ```
pub const DEFAULT_MAX_VALUE_SIZE: usize = 1024 * 1024;

/// How many requests in a row a server may fail before it is ejected from the ring. See
/// [`MemcachedStoreBuilder::eject_after`](crate::MemcachedStoreBuilder::eject_after).
///
/// ```
/// assert_eq!(sessions_memcached::DEFAULT_EJECT_AFTER, 3);
/// ```
pub const DEFAULT_EJECT_AFTER: u32 = 3;

/// How long an ejected server stays out of the ring before a request tries it again. See
/// [`MemcachedStoreBuilder::retry_interval`](crate::MemcachedStoreBuilder::retry_interval).
///
/// ```
/// assert_eq!(sessions_memcached::DEFAULT_RETRY_INTERVAL.as_secs(), 5);
/// ```
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(5);

/// A connection unused for this long is checked with a no-op before its next request. See
/// [`MemcachedStoreBuilder::ping_after_idle`](crate::MemcachedStoreBuilder::ping_after_idle).
///
/// ```
/// assert_eq!(sessions_memcached::DEFAULT_PING_AFTER_IDLE.as_secs(), 30);
/// ```
pub const DEFAULT_PING_AFTER_IDLE: Duration = Duration::from_secs(30);

/// The settings every server connection shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Settings {
    pub(crate) timeouts: Timeouts,
    pub(crate) max_value_size: usize,
    pub(crate) eject_after: u32,
    pub(crate) retry_interval: Duration,
    pub(crate) ping_after_idle: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            timeouts: Timeouts::new(DEFAULT_CONNECT_TIMEOUT, DEFAULT_IO_TIMEOUT),
            max_value_size: DEFAULT_MAX_VALUE_SIZE,
            eject_after: DEFAULT_EJECT_AFTER,
            retry_interval: DEFAULT_RETRY_INTERVAL,
            ping_after_idle: DEFAULT_PING_AFTER_IDLE,
        }
    }
}
