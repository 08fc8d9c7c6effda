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
    pub(crate) timeouts: Timeouts,
    /// Root certificates (and a client certificate) for `rediss` URLs, beside the platform's.
    #[cfg(feature = "tls-rustls")]
    pub(crate) tls: Option<crate::redis::TlsCertificates>,
}

/// How long each network step may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// Opening a connection: TCP connect, TLS, the handshake (`AUTH`, `SELECT`), and for
    /// Sentinel and Cluster the discovery of the primary or of the slots.
    pub(crate) connection: Duration,
    /// Each command's reply.
    pub(crate) response: Duration,
    /// How long a connection may sit unused before it is checked with a `PING`.
    pub(crate) ping_after_idle: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeouts: Timeouts {
                connection: Duration::from_secs(1),
                response: Duration::from_secs(1),
                ping_after_idle: Duration::from_secs(30),
            },
            #[cfg(feature = "tls-rustls")]
            tls: None,
        }
    }
}
