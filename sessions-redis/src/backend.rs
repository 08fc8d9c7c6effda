//! Where a store call gets its connection: the store's shared connections, or a pool.

use std::sync::Arc;

use deadpool_redis::redis::RedisError;
use deadpool_redis::redis::aio::MultiplexedConnection;
use sessions_core::StoreError;

use crate::connections::{Connections, Lease};
use crate::pool::Pool;

/// The store's source of connections. Clones share the connections.
#[derive(Clone)]
pub(crate) enum Backend {
    /// Built by [`RedisStoreBuilder`](crate::RedisStoreBuilder): multiplexed connections that
    /// concurrent calls share.
    Shared(Arc<Connections>),
    /// Handed to [`RedisStore::from_pool`](crate::RedisStore::from_pool): one connection per
    /// call, checked out of the pool.
    Pool(Pool),
}

impl Backend {
    /// A connection for one call.
    ///
    /// # Errors
    ///
    /// `Unavailable` when none can be had within the configured timeouts.
    pub(crate) async fn get(&self) -> Result<Connection<'_>, StoreError> {
        match self {
            Self::Shared(connections) => connections.get().await.map(Connection::Shared),
            // deadpool's checkout future is several kilobytes (it holds the manager's connect
            // and recycle futures inline); boxed, so that it does not bloat every store call's
            // future (boxed and moved by the middleware) on the shared-connection path.
            Self::Pool(pool) => Box::pin(pool.get()).await.map(Connection::Pooled),
        }
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Shared(connections) => connections.fmt(f),
            Self::Pool(pool) => f.debug_tuple("Pool").field(&pool.status()).finish(),
        }
    }
}

/// The connection one call uses.
pub(crate) enum Connection<'a> {
    Shared(Lease<'a>),
    Pooled(deadpool_redis::Connection),
}

impl Connection<'_> {
    pub(crate) fn get_mut(&mut self) -> &mut MultiplexedConnection {
        match self {
            Self::Shared(lease) => &mut lease.conn,
            Self::Pooled(conn) => conn,
        }
    }

    /// Turns a failed call into a [`StoreError`], first closing the connection when the error
    /// may have broken it (I/O failure, response timeout, dropped connection), so that the next
    /// call opens a fresh one instead of failing again.
    pub(crate) fn fail(self, command: &'static str, err: RedisError) -> StoreError {
        self.fail_as(command, err, false)
    }

    /// [`fail`](Self::fail) for a write: a connection that broke, or a reply that timed out,
    /// after the command may have reached Redis leaves its outcome unknown
    /// ([`StoreError::outcome_unknown`]), for the caller to settle by reading back.
    pub(crate) fn fail_write(self, command: &'static str, err: RedisError) -> StoreError {
        self.fail_as(command, err, true)
    }

    fn fail_as(self, command: &'static str, err: RedisError, write: bool) -> StoreError {
        // The key holds a list, hash or set: not a session this store wrote. The client gets a
        // fresh session rather than an error page.
        if err.code() == Some("WRONGTYPE") {
            return StoreError::corrupt(err).with_message("the Redis key does not hold a session");
        }
        if err.is_io_error() || err.is_unrecoverable_error() {
            tracing::debug!(command, error = %err, "dropping a Redis connection after a failure");
            match self {
                Self::Shared(lease) => lease.discard(),
                Self::Pooled(conn) => drop(deadpool_redis::Connection::take(conn)),
            }
        }
        let message = format!("Redis {command} failed");
        if write && (err.is_io_error() || err.is_timeout() || err.is_connection_dropped()) {
            return StoreError::outcome_unknown(err).with_message(message);
        }
        StoreError::unavailable(err).with_message(message)
    }
}
