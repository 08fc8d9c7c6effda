//! The store's settings and their defaults, all in one place.

use std::time::Duration;

/// The prefix put before every session key unless [`key_prefix`] says otherwise.
///
/// ```
/// assert_eq!(sessions_redis::DEFAULT_KEY_PREFIX, "session:");
/// ```
///
/// [`key_prefix`]: crate::RedisStoreBuilder::key_prefix
pub const DEFAULT_KEY_PREFIX: &str = "session:";

/// What [`RedisStoreBuilder`](crate::RedisStoreBuilder) configures. Every default is here.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) key_prefix: String,
    pub(crate) pool_max_size: usize,
    pub(crate) wait_timeout: Duration,
    pub(crate) create_timeout: Duration,
    pub(crate) recycle_timeout: Duration,
    pub(crate) connection_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) ping_after_idle: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            // A store call holds a connection for one round trip, so a few connections serve
            // many concurrent requests.
            pool_max_size: 16,
            // deadpool waits forever by default; a request must fail fast instead.
            wait_timeout: Duration::from_secs(1),
            // Covers the TCP connect, TLS and the AUTH / SELECT handshake.
            create_timeout: Duration::from_secs(2),
            recycle_timeout: Duration::from_secs(1),
            connection_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            ping_after_idle: Duration::from_secs(30),
        }
    }
}
