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
    pub(crate) connections: usize,
    pub(crate) connection_timeout: Duration,
    pub(crate) response_timeout: Duration,
    pub(crate) ping_after_idle: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            // Calls on one thread share one connection, and each connection batches whatever
            // is in flight on it: a few connections serve any number of concurrent requests,
            // and fewer connections batch more (Redis's own CPU is what every application
            // server shares).
            connections: 4,
            // Covers the whole opening: TCP connect, TLS and the AUTH / SELECT handshake.
            connection_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(1),
            ping_after_idle: Duration::from_secs(30),
        }
    }
}
