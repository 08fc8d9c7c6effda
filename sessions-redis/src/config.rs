//! The store's settings and their defaults, all in one place.

use std::time::Duration;

use sessions_net::{DEFAULT_KEY_PREFIX, Timeouts};

/// What [`RedisStoreBuilder`](crate::RedisStoreBuilder) configures. Every default is here.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) key_prefix: String,
    /// Opening a connection: TCP connect, TLS, the handshake (`AUTH`, `SELECT`), and for
    /// Sentinel and Cluster the discovery of the primary or of the slots; and each command's
    /// reply.
    pub(crate) timeouts: Timeouts,
    /// How long a connection may sit unused before it is checked with a `PING`.
    pub(crate) ping_after_idle: Duration,
    /// Root certificates (and a client certificate) for `rediss` URLs, beside the platform's.
    #[cfg(feature = "tls-rustls")]
    pub(crate) tls: Option<crate::redis::TlsCertificates>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            key_prefix: DEFAULT_KEY_PREFIX.to_owned(),
            timeouts: Timeouts::new(Duration::from_secs(1), Duration::from_secs(1)),
            ping_after_idle: Duration::from_secs(30),
            #[cfg(feature = "tls-rustls")]
            tls: None,
        }
    }
}
