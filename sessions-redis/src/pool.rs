//! Connection checkout: the store's own pool, or a `deadpool_redis::Pool` handed in.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use deadpool::managed::{self, Metrics, Object, RecycleResult};
use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{self, AsyncConnectionConfig, Client, RedisError};
use deadpool_redis::{PoolConfig, QueueMode, Runtime, Status, Timeouts};
use sessions_core::StoreError;

use crate::RedisBuildError;
use crate::config::Config;

/// Where the store's connections come from. Clones share the connections.
#[derive(Clone)]
pub(crate) enum Pool {
    /// Built by [`RedisStoreBuilder`](crate::RedisStoreBuilder): recycles without a round trip.
    Own {
        pool: managed::Pool<Manager>,
        deadline: Duration,
    },
    /// Handed to [`RedisStore::from_pool`](crate::RedisStore::from_pool) (it may have no
    /// timeouts of its own).
    Deadpool {
        pool: deadpool_redis::Pool,
        deadline: Duration,
    },
}

impl Pool {
    pub(crate) fn open(url: &str, config: &Config) -> Result<Self, RedisBuildError> {
        let client = Client::open(url).map_err(RedisBuildError::InvalidUrl)?;
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(config.connection_timeout))
            .set_response_timeout(Some(config.response_timeout));
        let manager = Manager {
            client,
            connection,
            ping_after_idle: config.ping_after_idle,
        };
        let timeouts = Timeouts {
            wait: Some(config.wait_timeout),
            create: Some(config.create_timeout),
            recycle: Some(config.recycle_timeout),
        };
        // LIFO keeps reusing the most recently used connections, so after a burst the extra
        // ones go idle (and get checked before reuse) instead of being rotated through.
        let pool_config = PoolConfig {
            max_size: config.pool_max_size,
            timeouts,
            queue_mode: QueueMode::Lifo,
        };
        let deadline = checkout_deadline(&timeouts);
        let pool = managed::Pool::builder(manager)
            .config(pool_config)
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(RedisBuildError::Pool)?;
        Ok(Self::Own { pool, deadline })
    }

    pub(crate) fn from_deadpool(pool: deadpool_redis::Pool) -> Self {
        let deadline = checkout_deadline(&pool.timeouts());
        Self::Deadpool { pool, deadline }
    }

    pub(crate) async fn get(&self) -> Result<Connection, StoreError> {
        match self {
            Self::Own { pool, deadline } => {
                within(*deadline, pool.get()).await.map(Connection::Own)
            }
            Self::Deadpool { pool, deadline } => within(*deadline, pool.get())
                .await
                .map(Connection::Deadpool),
        }
    }

    pub(crate) fn status(&self) -> Status {
        match self {
            Self::Own { pool, .. } => pool.status(),
            Self::Deadpool { pool, .. } => pool.status(),
        }
    }
}

/// The longest a checkout may take: waiting for a free connection, then opening one or checking
/// an idle one, with the defaults for timeouts the pool does not set.
///
/// deadpool applies its timeouts per step, and when the check of an idle connection fails it
/// goes on to the next idle one: against a stalled server, a pool of idle connections would
/// otherwise cost one recycle timeout per connection before the call fails.
fn checkout_deadline(timeouts: &Timeouts) -> Duration {
    let defaults = Config::default();
    let create = timeouts.create.unwrap_or(defaults.create_timeout);
    let recycle = timeouts.recycle.unwrap_or(defaults.recycle_timeout);
    timeouts.wait.unwrap_or(defaults.wait_timeout) + create.max(recycle)
}

/// Runs a pool checkout, failing with `Unavailable` if it errs or outlasts `deadline`.
async fn within<T, E>(
    deadline: Duration,
    checkout: impl Future<Output = Result<T, managed::PoolError<E>>>,
) -> Result<T, StoreError>
where
    E: std::error::Error + Send + Sync + 'static,
{
    match tokio::time::timeout(deadline, checkout).await {
        Ok(conn) => {
            conn.map_err(|e| StoreError::unavailable(e).with_message("no Redis connection"))
        }
        Err(elapsed) => Err(StoreError::unavailable(elapsed)
            .with_message(format!("no Redis connection within {deadline:?}"))),
    }
}

/// A checked-out connection. Dropping it returns it to its pool.
pub(crate) enum Connection {
    Own(Object<Manager>),
    Deadpool(deadpool_redis::Connection),
}

impl Connection {
    /// Turns a failed call into a [`StoreError`], first taking the connection out of its pool
    /// when the error may have broken it (I/O failure, timeout, dropped connection), so the
    /// next checkout opens a fresh one instead of failing again.
    pub(crate) fn fail(self, command: &'static str, err: RedisError) -> StoreError {
        // The key holds a list, hash or set: not a session this store wrote. The client gets a
        // fresh session rather than an error page.
        if err.code() == Some("WRONGTYPE") {
            return StoreError::corrupt(err).with_message("the Redis key does not hold a session");
        }
        if err.is_io_error() || err.is_unrecoverable_error() {
            tracing::debug!(command, error = %err, "dropping a Redis connection after a failure");
            match self {
                Self::Own(conn) => drop(Object::take(conn)),
                Self::Deadpool(conn) => drop(deadpool_redis::Connection::take(conn)),
            }
        }
        StoreError::unavailable(err).with_message(format!("Redis {command} failed"))
    }
}

impl Deref for Connection {
    type Target = MultiplexedConnection;

    fn deref(&self) -> &MultiplexedConnection {
        match self {
            Self::Own(conn) => conn,
            Self::Deadpool(conn) => conn,
        }
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut MultiplexedConnection {
        match self {
            Self::Own(conn) => conn,
            Self::Deadpool(conn) => conn,
        }
    }
}

/// Opens multiplexed connections with the configured timeouts, and recycles them cheaply.
pub(crate) struct Manager {
    client: Client,
    connection: AsyncConnectionConfig,
    ping_after_idle: Duration,
}

impl managed::Manager for Manager {
    type Type = MultiplexedConnection;
    type Error = RedisError;

    async fn create(&self) -> Result<MultiplexedConnection, RedisError> {
        self.client
            .get_multiplexed_async_connection_with_config(&self.connection)
            .await
    }

    // deadpool-redis's own manager sends UNWATCH + PING on every checkout (it has no "fast"
    // recycling mode), which adds a round trip to every store call and doubles a load's latency.
    // This store never WATCHes, and a connection that fails while in use is taken out of the pool
    // (`Connection::fail`), so only connections left idle long enough for a server `timeout`, a
    // proxy or a NAT to have cut them are checked before reuse.
    async fn recycle(
        &self,
        conn: &mut MultiplexedConnection,
        metrics: &Metrics,
    ) -> RecycleResult<RedisError> {
        if metrics.last_used() < self.ping_after_idle {
            return Ok(());
        }
        let () = redis::cmd("PING").query_async(conn).await?;
        Ok(())
    }
}
