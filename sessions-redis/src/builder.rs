//! [`RedisStoreBuilder`]: key prefix, number of connections and timeouts.

use std::fmt;
use std::time::Duration;

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
///     .connections(2)
///     .response_timeout(Duration::from_millis(500))
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

    /// The most connections the store opens. Calls share them: each thread (each actix-web
    /// worker) sticks to one connection, on which any number of its calls are in flight at
    /// once, their commands and replies batched into shared reads and writes. Threads beyond
    /// this number share connections with earlier ones. Connections open on first use, so a
    /// store used by fewer threads opens fewer.
    ///
    /// Fewer connections batch more; more spread the work of driving them over more threads.
    ///
    /// Defaults to 4.
    ///
    /// ```
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1").connections(8);
    /// ```
    pub fn connections(mut self, connections: usize) -> Self {
        self.config.connections = connections;
        self
    }

    /// How long opening a connection may take in all: the TCP connect, TLS, and the handshake
    /// (`AUTH`, `SELECT`). Calls that need a connection while one is being opened wait for the
    /// same attempt.
    ///
    /// Defaults to 1 second.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1")
    ///     .connection_timeout(Duration::from_millis(500));
    /// ```
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.config.connection_timeout = timeout;
        self
    }

    /// How long a command waits for Redis's reply (including, under heavy load, for room in
    /// the connection's queue). A connection whose command timed out is replaced: calls already
    /// waiting on it finish there, the next ones open a new one.
    ///
    /// Defaults to 1 second.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1")
    ///     .response_timeout(Duration::from_millis(300));
    /// ```
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.config.response_timeout = timeout;
        self
    }

    /// A connection unused for this long is checked with a `PING` (bounded by the
    /// [`response_timeout`](Self::response_timeout)) before its next command, and replaced if
    /// that fails, in case the server, a proxy or a NAT closed it meanwhile. Connections in
    /// steady use are not checked, which saves a round trip per call. [`Duration::ZERO`] checks
    /// before every command.
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

    /// Builds the store. Nothing connects yet: connections open on first use.
    ///
    /// ```
    /// let store = sessions_redis::RedisStore::builder("redis://127.0.0.1:6379").build()?;
    /// # Ok::<(), sessions_redis::RedisBuildError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`RedisBuildError::InvalidUrl`] when the URL does not parse (or is `rediss://` without
    /// a TLS feature), [`RedisBuildError::ZeroConnections`] and [`RedisBuildError::ZeroTimeout`]
    /// for settings that would fail every call.
    pub fn build(self) -> Result<RedisStore, RedisBuildError> {
        self.validate()?;
        let connections = Connections::new(&self.url, &self.config)?;
        Ok(RedisStore::with_connections(
            connections,
            self.config.key_prefix,
        ))
    }

    fn validate(&self) -> Result<(), RedisBuildError> {
        if self.config.connections == 0 {
            return Err(RedisBuildError::ZeroConnections);
        }
        let timeouts = [
            ("connection_timeout", self.config.connection_timeout),
            ("response_timeout", self.config.response_timeout),
        ];
        match timeouts.into_iter().find(|(_, timeout)| timeout.is_zero()) {
            Some((setting, _)) => Err(RedisBuildError::ZeroTimeout(setting)),
            None => Ok(()),
        }
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
            builder().connections(0).build(),
            Err(RedisBuildError::ZeroConnections)
        ));
        assert!(matches!(
            builder().response_timeout(Duration::ZERO).build(),
            Err(RedisBuildError::ZeroTimeout("response_timeout"))
        ));
        assert!(matches!(
            builder().connection_timeout(Duration::ZERO).build(),
            Err(RedisBuildError::ZeroTimeout("connection_timeout"))
        ));
        assert!(builder().ping_after_idle(Duration::ZERO).build().is_ok());
    }
}
