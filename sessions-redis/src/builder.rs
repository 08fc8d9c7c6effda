//! [`RedisStoreBuilder`]: key prefix, pool size and timeouts.

use std::fmt;
use std::time::Duration;

use crate::config::Config;
use crate::pool::Pool;
use crate::{RedisBuildError, RedisStore};

/// Configures a [`RedisStore`]. Made by [`RedisStore::builder`].
///
/// Every network step is bounded: waiting for a pooled connection, opening one, checking an
/// idle one, connecting, and each command's response. A request facing a stalled Redis fails
/// with [`StoreErrorKind::Unavailable`](sessions_core::StoreErrorKind::Unavailable) instead of
/// hanging.
///
/// ```
/// use std::time::Duration;
/// use sessions_redis::RedisStore;
///
/// let store = RedisStore::builder("redis://127.0.0.1:6379/2")
///     .key_prefix("myapp:session:")
///     .pool_max_size(32)
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

    /// The most connections the pool opens. A store call holds a connection for a single round
    /// trip, so a few connections serve many concurrent requests.
    ///
    /// Defaults to 16.
    ///
    /// ```
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1").pool_max_size(64);
    /// ```
    pub fn pool_max_size(mut self, max_size: usize) -> Self {
        self.config.pool_max_size = max_size;
        self
    }

    /// How long a call waits for a connection when all of them are busy. [`Duration::ZERO`]
    /// fails at once.
    ///
    /// Defaults to 1 second.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1")
    ///     .pool_wait_timeout(Duration::from_millis(250));
    /// ```
    pub fn pool_wait_timeout(mut self, timeout: Duration) -> Self {
        self.config.wait_timeout = timeout;
        self
    }

    /// How long opening a new connection may take in all: connecting, TLS, `AUTH`, `SELECT`.
    ///
    /// Defaults to 2 seconds.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1")
    ///     .pool_create_timeout(Duration::from_secs(5));
    /// ```
    pub fn pool_create_timeout(mut self, timeout: Duration) -> Self {
        self.config.create_timeout = timeout;
        self
    }

    /// How long checking an idle connection (see [`ping_after_idle`](Self::ping_after_idle))
    /// may take before the connection is replaced.
    ///
    /// Defaults to 1 second.
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = sessions_redis::RedisStore::builder("redis://127.0.0.1")
    ///     .pool_recycle_timeout(Duration::from_millis(500));
    /// ```
    pub fn pool_recycle_timeout(mut self, timeout: Duration) -> Self {
        self.config.recycle_timeout = timeout;
        self
    }

    /// How long establishing the TCP (and TLS) connection to Redis may take.
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

    /// How long a command waits for Redis's reply. A connection whose command timed out is
    /// replaced.
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

    /// A pooled connection unused for this long is checked with a `PING` before it serves a
    /// call (and replaced if that fails), in case the server, a proxy or a NAT closed it
    /// meanwhile. Connections in steady use are not checked, which saves a round trip per call.
    /// [`Duration::ZERO`] checks on every checkout, like deadpool-redis does.
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
    /// a TLS feature), [`RedisBuildError::ZeroPoolSize`] and [`RedisBuildError::ZeroTimeout`]
    /// for settings that would fail every call.
    pub fn build(self) -> Result<RedisStore, RedisBuildError> {
        self.validate()?;
        let pool = Pool::open(&self.url, &self.config)?;
        Ok(RedisStore::with_pool(pool, self.config.key_prefix))
    }

    fn validate(&self) -> Result<(), RedisBuildError> {
        if self.config.pool_max_size == 0 {
            return Err(RedisBuildError::ZeroPoolSize);
        }
        let timeouts = [
            ("pool_create_timeout", self.config.create_timeout),
            ("pool_recycle_timeout", self.config.recycle_timeout),
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
            builder().pool_max_size(0).build(),
            Err(RedisBuildError::ZeroPoolSize)
        ));
        assert!(matches!(
            builder().response_timeout(Duration::ZERO).build(),
            Err(RedisBuildError::ZeroTimeout("response_timeout"))
        ));
        assert!(builder().pool_wait_timeout(Duration::ZERO).build().is_ok());
    }
}
