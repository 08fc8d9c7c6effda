//! [`RedisStore`]: the [`SessionStore`] on Redis.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::redis::{self, Script};
use sessions_core::{
    Loaded, SessionKey, SessionStore, StoreError, Stored, Version, create_with_fresh_key,
};

use crate::backend::Backend;
use crate::command::{Command, Effect};
use crate::connections::Connections;
use crate::pool::Pool;
use crate::record::{self, FIRST_VERSION};
use crate::{DEFAULT_KEY_PREFIX, RedisBuildError, RedisStoreBuilder};

/// A [`SessionStore`] keeping sessions in Redis (one server, a Sentinel-watched primary, or a
/// Cluster), over one multiplexed connection per worker thread that the thread's calls share.
///
/// Each operation is one round trip: `GET` to load, `SET NX PX` to create, a compare-and-set
/// script (`EVALSHA`) to update, `PEXPIRE` to touch, `DEL` to delete. Expiry is Redis's own.
/// See the [crate documentation](crate) for the data layout.
///
/// `Debug` shows the key prefix, the topology and how many connections are open, never the
/// URL. Clones share the connections, so one store can be cloned into every `HttpServer`
/// worker.
///
/// ```no_run
/// use sessions_redis::RedisStore;
///
/// let store = RedisStore::new("redis://127.0.0.1:6379")?;
/// # Ok::<(), sessions_redis::RedisBuildError>(())
/// ```
#[derive(Clone)]
pub struct RedisStore {
    backend: Backend,
    key_prefix: Box<[u8]>,
    compare_and_set: Script,
}

impl RedisStore {
    /// A store for the Redis server at `url`, with the default settings (see
    /// [`builder`](Self::builder)). Nothing connects yet: connections open on first use.
    ///
    /// URLs look like `redis://[[user]:password@]host[:port][/db]` for one server,
    /// `redis+sentinel://[[user]:password@]host:port[,host:port…]/<primary name>[/db]` for a
    /// primary found through Sentinel, and `redis+cluster://[[user]:password@]host:port[,…]`
    /// for a Cluster; `rediss` instead of `redis` (TLS) needs the `tls-rustls` or
    /// `tls-native-tls` feature.
    ///
    /// ```
    /// let store = sessions_redis::RedisStore::new("redis://127.0.0.1:6379/0")?;
    /// # Ok::<(), sessions_redis::RedisBuildError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`RedisBuildError::InvalidUrl`] when `url` does not parse.
    pub fn new(url: impl Into<String>) -> Result<Self, RedisBuildError> {
        Self::builder(url).build()
    }

    /// A builder for a store at `url` (see [`new`](Self::new)), to change the key prefix or
    /// timeouts.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let store = sessions_redis::RedisStore::builder("redis://127.0.0.1:6379")
    ///     .key_prefix("shop:session:")
    ///     .io_timeout(Duration::from_millis(500))
    ///     .build()?;
    /// # Ok::<(), sessions_redis::RedisBuildError>(())
    /// ```
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder::new(url.into())
    }

    /// A store on an existing deadpool-redis pool, with the default key prefix (see
    /// [`with_key_prefix`](Self::with_key_prefix)).
    ///
    /// Each call checks a connection out of the pool and holds it for its one command, and the
    /// pool's own settings apply. This costs more per request than the builder's per-thread
    /// connections: concurrent commands do not share system calls, and deadpool-redis pings
    /// the server each time a connection is checked out (one extra round trip per call). A pool
    /// without timeouts would wait forever, so the store bounds each checkout by the pool's
    /// wait timeout plus the larger of its create and recycle timeouts, an unset one counting
    /// as 1 second.
    ///
    /// ```
    /// use sessions_redis::{RedisStore, deadpool_redis};
    ///
    /// let pool = deadpool_redis::Config::from_url("redis://127.0.0.1:6379")
    ///     .create_pool(Some(deadpool_redis::Runtime::Tokio1))?;
    /// let store = RedisStore::from_pool(pool);
    /// # Ok::<(), deadpool_redis::CreatePoolError>(())
    /// ```
    #[must_use]
    pub fn from_pool(pool: deadpool_redis::Pool) -> Self {
        Self::with_backend(
            Backend::Pool(Pool::new(pool)),
            DEFAULT_KEY_PREFIX.to_owned(),
        )
    }

    /// Replaces the key prefix (see [`RedisStoreBuilder::key_prefix`]); meant for stores made
    /// with [`from_pool`](Self::from_pool).
    ///
    /// ```
    /// use sessions_redis::{RedisStore, deadpool_redis};
    ///
    /// let pool = deadpool_redis::Config::from_url("redis://127.0.0.1:6379")
    ///     .create_pool(Some(deadpool_redis::Runtime::Tokio1))?;
    /// let store = RedisStore::from_pool(pool).with_key_prefix("admin:session:");
    /// assert_eq!(store.key_prefix(), b"admin:session:");
    /// # Ok::<(), deadpool_redis::CreatePoolError>(())
    /// ```
    #[must_use]
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into().into_bytes().into_boxed_slice();
        self
    }

    /// The bytes put before each session key to make its Redis key.
    ///
    /// ```
    /// let store = sessions_redis::RedisStore::new("redis://127.0.0.1")?;
    /// assert_eq!(store.key_prefix(), b"session:");
    /// # Ok::<(), sessions_redis::RedisBuildError>(())
    /// ```
    #[must_use]
    pub fn key_prefix(&self) -> &[u8] {
        &self.key_prefix
    }

    pub(crate) fn with_connections(connections: Connections, key_prefix: String) -> Self {
        Self::with_backend(Backend::Shared(Arc::new(connections)), key_prefix)
    }

    fn with_backend(backend: Backend, key_prefix: String) -> Self {
        Self {
            backend,
            key_prefix: key_prefix.into_bytes().into_boxed_slice(),
            compare_and_set: record::compare_and_set_script(),
        }
    }

    #[cfg(feature = "actix-session")]
    pub(crate) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The Redis key of a session: the prefix, then the session key's bytes.
    fn redis_key(&self, key: &SessionKey) -> Vec<u8> {
        [&*self.key_prefix, key.as_bytes()].concat()
    }

    /// Inserts a new record unless `redis_key` is taken; `None` when it is.
    async fn insert(
        &self,
        redis_key: Vec<u8>,
        payload: &[u8],
        ttl: Duration,
    ) -> Result<Option<Version>, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(redis_key)
            .arg(record::encode(FIRST_VERSION, payload))
            .arg("NX")
            .arg("PX")
            .arg(record::ttl_millis(ttl));
        let inserted: Option<()> = Command::new("SET", cmd, Effect::Write)
            .run(&self.backend)
            .await?;
        Ok(inserted.map(|()| FIRST_VERSION))
    }
}

impl SessionStore for RedisStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<Loaded>, StoreError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.redis_key(key));
        let value: Option<Vec<u8>> = Command::new("GET", cmd, Effect::Idempotent)
            .run(&self.backend)
            .await?;
        value.map(record::decode).transpose()
    }

    async fn create(&self, payload: &[u8], ttl: Duration) -> Result<Stored, StoreError> {
        create_with_fresh_key(
            payload,
            |key| self.insert(self.redis_key(&key), payload, ttl),
            |key| async move { self.load(&key).await },
        )
        .await
    }

    async fn update(
        &self,
        key: &SessionKey,
        payload: &[u8],
        ttl: Duration,
        expected: Version,
    ) -> Result<Stored, StoreError> {
        // The script has checked that the stored version is `expected`, so no other writer can
        // have produced `expected + 1`.
        let version = Version::new(expected.get().wrapping_add(1));
        let command = record::compare_and_set(
            &self.compare_and_set,
            self.redis_key(key),
            expected,
            record::encode(version, payload),
            ttl,
        );
        let swapped: bool = command.run(&self.backend).await?;
        if !swapped {
            return Err(StoreError::conflict());
        }
        Ok(Stored::new(key.clone(), version))
    }

    async fn touch(&self, key: &SessionKey, ttl: Duration) -> Result<SessionKey, StoreError> {
        let mut cmd = redis::cmd("PEXPIRE");
        cmd.arg(self.redis_key(key)).arg(record::ttl_millis(ttl));
        // 0 means there was no record: nothing to extend, and not an error.
        let _extended: bool = Command::new("PEXPIRE", cmd, Effect::Idempotent)
            .run(&self.backend)
            .await?;
        Ok(key.clone())
    }

    async fn delete(&self, key: &SessionKey) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(self.redis_key(key));
        let _deleted: u64 = Command::new("DEL", cmd, Effect::Idempotent)
            .run(&self.backend)
            .await?;
        Ok(())
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("key_prefix", &String::from_utf8_lossy(&self.key_prefix))
            .field("connections", &self.backend)
            .finish_non_exhaustive()
    }
}
