//! The store's own connections: one multiplexed connection per worker thread.
//!
//! # Why multiplexed connections rather than a pool
//!
//! A Redis call costs little; the system calls around it cost more (one `write` and one `read`
//! on each side of the socket). A multiplexed connection lets any number of calls be in flight
//! at once: their commands are queued to the connection's driver task, which writes all the
//! queued commands with one system call and reads all the replies that have arrived with
//! another, and Redis in turn reads and answers the batch with one `read` and one `write`. So
//! the more concurrent requests there are, the less each one costs, on the application's side
//! and on Redis's. A pool that lends a connection to one call at a time (as deadpool does)
//! gives up that batching.
//!
//! # Why one per worker thread
//!
//! A connection is driven by a task on the runtime of the thread that opened it, and each
//! actix-web worker has a runtime of its own. Connections shared between workers made a worker
//! blocked in a synchronous handler stall the others' calls on its connections (and time them
//! out). Each worker thread therefore has its own connection
//! ([`sessions_net`]), shared by all the calls it runs.
//!
//! # Checks
//!
//! A connection whose command failed in a way that may have broken it is dropped (see
//! [`crate::command`]). One left unused for longer than `ping_after_idle` (long enough for a
//! server `timeout`, a proxy or a NAT to have closed it) is checked with a `PING` before its
//! next command, so that a write is not sent on a connection that died while idle; a Cluster
//! client watches its nodes' connections itself.

use std::fmt;

use deadpool_redis::redis::{self, AsyncConnectionConfig};
use sessions_core::StoreError;
use sessions_net::{IdleCheck, Lease, PerThread, Timeouts};

use crate::RedisBuildError;
use crate::config::Config;
use crate::connection::Conn;
use crate::topology::Topology;

/// One connection per worker thread to the store's Redis (see the [module documentation](self)).
pub(crate) struct Connections {
    topology: Topology,
    config: AsyncConnectionConfig,
    timeouts: Timeouts,
    idle_check: IdleCheck,
    per_thread: PerThread<Conn>,
}

impl Connections {
    pub(crate) fn new(url: &str, config: &Config) -> Result<Self, RedisBuildError> {
        let topology = Topology::parse(url, config).map_err(RedisBuildError::InvalidUrl)?;
        let timeouts = config.timeouts;
        // The connection timeout bounds the client's TCP connect; the whole opening is bounded
        // by `PerThread` too. Replies are bounded by `crate::command`, which sees every command.
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeouts.connect()))
            .set_response_timeout(None);
        Ok(Self {
            topology,
            config: connection,
            timeouts,
            idle_check: IdleCheck::new(config.ping_after_idle, timeouts.io()),
            per_thread: PerThread::new(timeouts.connect()),
        })
    }

    pub(crate) fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    pub(crate) fn is_cluster(&self) -> bool {
        self.topology.is_cluster()
    }

    /// The calling thread's connection, opened (or checked after a long idle time) first if
    /// need be.
    ///
    /// # Errors
    ///
    /// `Unavailable` when no connection could be opened, or the idle check failed and no new
    /// one could be opened, within the configured timeouts.
    pub(crate) async fn lease(&self) -> Result<Lease<Conn>, StoreError> {
        let open = || async {
            self.topology
                .open(&self.config)
                .await
                .map_err(|err| StoreError::unavailable(err).with_message("cannot connect to Redis"))
        };
        self.idle_check
            .lease(&self.per_thread, open, answers_ping, &"Redis")
            .await
            .map_err(|err| err.into_store_error(&"Redis"))
    }

    /// How many connections are open.
    pub(crate) fn open_connections(&self) -> usize {
        self.per_thread.open_connections()
    }
}

/// Whether a connection answers a `PING`. Unbounded: the idle check applies the timeout. A
/// Cluster client watches its nodes' connections itself.
async fn answers_ping(conn: Conn) -> bool {
    match conn {
        Conn::Single(mut conn) => redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .is_ok(),
        Conn::Cluster(_) => true,
    }
}

impl fmt::Debug for Connections {
    // The topology's client holds the URL, which may carry a password: only its shape is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connections")
            .field("topology", &self.topology)
            .field("open", &self.open_connections())
            .finish_non_exhaustive()
    }
}
