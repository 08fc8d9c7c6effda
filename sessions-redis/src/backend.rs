//! Where a store call gets its connection: the store's per-thread connections, or a pool.

use std::sync::Arc;
use std::time::Duration;

use deadpool_redis::redis::{Cmd, RedisError, Value};
use sessions_core::StoreError;
use sessions_net::Lease;

use crate::connection::{Conn, Redirect};
use crate::connections::Connections;
use crate::pool::{Pool, UNSET_TIMEOUT};

/// The store's source of connections. Clones share the connections.
#[derive(Clone)]
pub(crate) enum Backend {
    /// Built by [`RedisStoreBuilder`](crate::RedisStoreBuilder): one multiplexed connection per
    /// worker thread, shared by the calls it runs.
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
    pub(crate) async fn lease(&self) -> Result<Leased, StoreError> {
        match self {
            Self::Shared(connections) => connections.lease().await.map(Leased::Shared),
            // deadpool's checkout future is several kilobytes (it holds the manager's connect
            // and recycle futures inline); boxed, so that it does not bloat every store call's
            // future (boxed and moved by the middleware) on the per-thread path.
            Self::Pool(pool) => Box::pin(pool.get()).await.map(Leased::Pooled),
        }
    }

    /// How long a command may wait for its reply.
    pub(crate) fn io_timeout(&self) -> Duration {
        match self {
            Self::Shared(connections) => connections.timeouts().io(),
            Self::Pool(_) => UNSET_TIMEOUT,
        }
    }

    pub(crate) fn is_cluster(&self) -> bool {
        match self {
            Self::Shared(connections) => connections.is_cluster(),
            Self::Pool(_) => false,
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
pub(crate) enum Leased {
    Shared(Lease<Conn>),
    Pooled(deadpool_redis::Connection),
}

impl Leased {
    /// Sends `cmd` (see [`Conn::send`]); unbounded, the caller applies the response timeout.
    pub(crate) async fn send(
        &mut self,
        cmd: &Cmd,
        redirect: Option<&Redirect>,
    ) -> Result<Value, RedisError> {
        match self {
            Self::Shared(lease) => lease.connection_mut().send(cmd, redirect).await,
            Self::Pooled(conn) => cmd.query_async(conn).await,
        }
    }

    /// Closes the connection after a failure that may have broken it, so that the next call
    /// opens a fresh one instead of failing again.
    pub(crate) fn discard(self) {
        match self {
            Self::Shared(lease) => lease.discard(),
            Self::Pooled(conn) => drop(deadpool_redis::Connection::take(conn)),
        }
    }
}
