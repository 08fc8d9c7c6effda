//! [`RedisStoreBuilder`]: key prefix, timeouts and TLS certificates.

use std::fmt;
use std::time::Duration;

use sessions_net::ZeroTimeout;

use crate::config::Config;
use crate::connections::Connections;
use crate::{RedisBuildError, RedisStore};

/// Configures a [`RedisStore`]. Made by [`RedisStore::builder`].
///
/// Every network step is bounded: opening a connection, checking an idle one, and each
/// command's response. A request facing a stalled Redis fails
/// with [`StoreErrorKind::Unavailable`](sessions_core::StoreErrorKind::Unavailable) instead of
/// hanging.
///
/// ```
/// use std::time::Duration;
/// use sessions_redis::RedisStore;
///
/// let store = RedisStore::builder("redis://127.0.0.1:6379/2")
///     .key_prefix("myapp:session:")
///     .io_timeout(Duration::from_millis(500))
///     .build()?;
/// # Ok::<(), sessions_redis::RedisBuildError>(())
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct RedisStoreBuilder {
    url: String,
    config: Config,
}

impl RedisStoreBuilder {
    pub(crate) fn new(url: String) -> Self {
        Self {
            url,
            config: Config::default(),
        }
    }

    /// The text put before every session key to make the Redis key, so that sessions do not
    /// collide with other data in the same database. May be empty.
    ///
    /// Defaults to [`DEFAULT_KEY_PREFIX`](crate::DEFAULT_KEY_PREFIX) (`"session:"`).
    ///
    /// ```
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1").key_prefix("app1:sess:");
    /// ```
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.key_prefix = prefix.into();
        self
    }

    /// How long opening a connection may take in all: the TCP connect, TLS, the handshake
    /// (`AUTH`, `SELECT`), and for Sentinel the question to the sentinels, for a Cluster the
    /// discovery of its nodes. Calls on a worker that need its connection while it is being
    /// opened wait for the same attempt.
    ///
    /// Defaults to 1 second.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1")
    ///     .connect_timeout(Duration::from_millis(500));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts = self.config.timeouts.with_connect(timeout);
        self
    }

    /// The name [`connect_timeout`](Self::connect_timeout) had.
    ///
    /// ```
    /// # use std::time::Duration;
    /// #[allow(deprecated)]
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1")
    ///     .connection_timeout(Duration::from_millis(500));
    /// ```
    #[deprecated(since = "0.1.1", note = "renamed `connect_timeout`, as in every store")]
    pub fn connection_timeout(self, timeout: Duration) -> Self {
        self.connect_timeout(timeout)
    }

    /// How long a command waits for Redis's reply. A connection whose command timed out is
    /// replaced: calls already waiting on it finish there, the next ones open a new one. It
    /// also bounds how long a command the server refused for now (`TRYAGAIN`, `CLUSTERDOWN`,
    /// `MOVED` during a failover) is sent again.
    ///
    /// Defaults to 1 second.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1")
    ///     .io_timeout(Duration::from_millis(300));
    /// ```
    pub fn io_timeout(mut self, timeout: Duration) -> Self {
        self.config.timeouts = self.config.timeouts.with_io(timeout);
        self
    }

    /// The name [`io_timeout`](Self::io_timeout) had.
    ///
    /// ```
    /// # use std::time::Duration;
    /// #[allow(deprecated)]
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1")
    ///     .response_timeout(Duration::from_millis(300));
    /// ```
    #[deprecated(since = "0.1.1", note = "renamed `io_timeout`, as in every store")]
    pub fn response_timeout(self, timeout: Duration) -> Self {
        self.io_timeout(timeout)
    }

    /// A connection unused for this long is checked with a `PING` (bounded by the
    /// [`io_timeout`](Self::io_timeout)) before its next command, and replaced if
    /// that fails, in case the server, a proxy or a NAT closed it meanwhile. Connections in
    /// steady use are not checked, which saves a round trip per call. [`Duration::ZERO`] checks
    /// before every command. (A Cluster client watches its nodes' connections itself.)
    ///
    /// Defaults to 30 seconds.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1")
    ///     .ping_after_idle(Duration::from_secs(10));
    /// ```
    pub fn ping_after_idle(mut self, idle: Duration) -> Self {
        self.config.ping_after_idle = idle;
        self
    }

    /// Root certificates to trust for `rediss` URLs (a private certificate authority), and a
    /// client certificate if the server asks for one, as redis-rs's `TlsCertificates`. They
    /// apply to every node: the server, the sentinels and the primary, or the Cluster's nodes.
    ///
    /// Defaults to none: the platform's root certificates (or Mozilla's, with
    /// `tls-rustls-webpki-roots`), no client certificate.
    ///
    /// ```
    /// use sessions_redis::redis::TlsCertificates;
    ///
    /// let ca = b"-----BEGIN CERTIFICATE-----\n...".to_vec(); // read from a file
    /// let builder = sessions_redis::RedisStore::builder("rediss://127.0.0.1:6380").tls_certificates(
    ///     TlsCertificates { client_tls: None, root_cert: Some(ca) },
    /// );
    /// ```
    #[cfg(feature = "tls-rustls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls-rustls")))]
    pub fn tls_certificates(mut self, certificates: crate::redis::TlsCertificates) -> Self {
        self.config.tls = Some(certificates);
        self
    }

    /// Builds the store. Nothing connects yet: connections open on first use.
    ///
    /// ```
    /// let store = sessions_redis::RedisStore::builder("redis://127.0.0.1:6379").build()?;
    /// # Ok::<(), sessions_redis::RedisBuildError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`RedisBuildError::InvalidUrl`] when the URL does not parse (or is `rediss` without a
    /// TLS feature), [`RedisBuildError::ZeroTimeout`] for a timeout that would fail every call.
    pub fn build(self) -> Result<RedisStore, RedisBuildError> {
        self.validate()?;
        let connections = Connections::new(&self.url, &self.config)?;
        Ok(RedisStore::with_connections(
            connections,
            self.config.key_prefix,
        ))
    }

    fn validate(&self) -> Result<(), ZeroTimeout> {
        self.config.timeouts.validate()
    }
}

impl fmt::Debug for RedisStoreBuilder {
    // The URL may carry a password, so it is left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_leaves_out_the_url() {
        let builder = RedisStore::builder("redis://:hunter2@127.0.0.1");
        assert!(!format!("{builder:?}").contains("hunter2"));
    }

    #[test]
    fn rejects_settings_that_fail_every_call() {
        let builder = || RedisStore::builder("redis://127.0.0.1");
        assert!(matches!(
            builder().io_timeout(Duration::ZERO).build(),
            Err(RedisBuildError::ZeroTimeout {
                setting: "io_timeout"
            })
        ));
        assert!(matches!(
            builder().connect_timeout(Duration::ZERO).build(),
            Err(RedisBuildError::ZeroTimeout {
                setting: "connect_timeout"
            })
        ));
        #[allow(deprecated)]
        let renamed = builder().response_timeout(Duration::ZERO).build();
        assert!(matches!(
            renamed,
            Err(RedisBuildError::ZeroTimeout {
                setting: "io_timeout"
            })
        ));
        assert!(builder().ping_after_idle(Duration::ZERO).build().is_ok());
    }
}
