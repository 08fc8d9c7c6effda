//! The store's own connections: a few multiplexed connections shared by every call.
//!
//! # Why shared connections rather than a pool
//!
//! A Redis call costs little; the system calls around it cost more (one `write` and one `read`
//! on each side of the socket). A multiplexed connection lets any number of calls be in flight
//! at once: their commands are queued to the connection's driver task, which writes all the
//! queued commands with one system call and reads all the replies that have arrived with
//! another, and Redis in turn reads and answers the batch with one `read` and one `write`. So
//! the more concurrent requests there are, the less each one costs, on the application's side
//! and on Redis's.
//!
//! A pool that lends a connection to one call at a time (as deadpool does) gives up that
//! batching: each command is alone in its system calls, whatever the load. On the load benchmark
//! of this repository (64 concurrent users, one actix-web worker, application and Redis on one
//! core), lending connections cost 39 µs of the application's CPU and 22 µs of Redis's per
//! request; sharing one connection brings both down (the commit that introduced this module
//! gives the figures).
//!
//! # Which connection a call uses
//!
//! Each thread sticks to one connection, chosen by the order in which threads first used a
//! store: with `n` connections, the first thread takes connection 0, the second connection 1, …,
//! the `n + 1`-th connection 0 again. Calls made on one thread (one actix-web worker) therefore
//! all share a connection, which batches them best, and that connection's driver task usually
//! runs on the same thread (it is spawned by whichever call opened the connection), so no call
//! has to wake another thread. Connections open on first use, so threads that never call the
//! store open none.
//!
//! # Failures
//!
//! A call whose command fails with an I/O error (a dropped connection, a response timeout) or an
//! unrecoverable protocol error discards its connection; the next call on that connection's
//! slot opens a new one. Calls still waiting on the old connection finish on it (it closes once
//! the last of them is done). Opening is shared: the calls that find their slot empty all wait
//! for the same attempt, bounded by the connection timeout, and a failed attempt leaves the
//! slot empty for the next call to try again. A connection that sat unused for longer than
//! `ping_after_idle` is checked with a `PING` before its next command, so that a connection
//! closed by a server `timeout`, a proxy or a NAT while idle is replaced before a request
//! depends on it.
//!
//! A connection is driven by a task on the runtime of the thread that opened it. When that
//! runtime shuts down (an actix-web worker stopping, a test ending) the connection dies with it;
//! a [`RuntimeWatch`] notices, and the next call on that slot, from any thread, opens a new
//! connection instead of failing.

use std::cell::Cell;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use std::{fmt, io};

use deadpool_redis::redis::aio::MultiplexedConnection;
use deadpool_redis::redis::{self, AsyncConnectionConfig, Client, RedisError};
use futures_util::future::{BoxFuture, FutureExt as _, Shared};
use sessions_core::StoreError;
use tokio::sync::oneshot;

use crate::RedisBuildError;
use crate::config::Config;

/// A connection being opened, awaited by every call that needs it meanwhile.
type Opening = Shared<BoxFuture<'static, Result<Driven, RedisError>>>;

/// The store's multiplexed connections (see the [module documentation](self)).
pub(crate) struct Connections {
    client: Client,
    config: AsyncConnectionConfig,
    ping_after_idle: Duration,
    /// The origin of [`Slot::last_used`].
    epoch: Instant,
    slots: Box<[Slot]>,
}

impl Connections {
    pub(crate) fn new(url: &str, config: &Config) -> Result<Self, RedisBuildError> {
        let client = Client::open(url).map_err(RedisBuildError::InvalidUrl)?;
        // The connection timeout bounds the whole opening: TCP connect, TLS and the handshake
        // (`AUTH`, `SELECT`, `CLIENT SETINFO`). The response timeout bounds each command,
        // including the wait for room in the connection's queue.
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(config.connection_timeout))
            .set_response_timeout(Some(config.response_timeout));
        Ok(Self {
            client,
            config: connection,
            ping_after_idle: config.ping_after_idle,
            epoch: Instant::now(),
            slots: (0..config.connections).map(|_| Slot::default()).collect(),
        })
    }

    /// The calling thread's connection, opened (or checked after a long idle time) first if
    /// need be.
    ///
    /// # Errors
    ///
    /// `Unavailable` when no connection could be opened, or the idle check failed and no new
    /// one could be opened, within the configured timeouts.
    pub(crate) async fn get(&self) -> Result<Lease<'_>, StoreError> {
        let slot = &self.slots[thread_index() % self.slots.len()];
        let (generation, conn, fresh) = slot.connection(self).await?;
        let now = self.millis_since_epoch();
        let idle = Duration::from_millis(now.saturating_sub(slot.last_used.swap(now, Relaxed)));
        let mut lease = Lease {
            slot,
            generation,
            conn,
        };
        if !fresh && idle >= self.ping_after_idle {
            let ping = redis::cmd("PING").query_async::<()>(&mut lease.conn).await;
            if let Err(err) = ping {
                tracing::debug!(error = %err, ?idle, "replacing an idle Redis connection that failed its check");
                slot.discard(generation);
                let (generation, conn, _) = slot.connection(self).await?;
                lease = Lease {
                    slot,
                    generation,
                    conn,
                };
            }
        }
        Ok(lease)
    }

    /// How many connections are open.
    pub(crate) fn open(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| matches!(&slot.lock().conn, Conn::Open(open) if open.runtime.runtime_alive()))
            .count()
    }

    /// The number of connections the store may open.
    pub(crate) fn max(&self) -> usize {
        self.slots.len()
    }

    fn millis_since_epoch(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Opens a connection, within the connection timeout (applied by the client).
    ///
    /// The opening runs as a task of the calling thread's runtime, so that the connection's
    /// driver task (which the client spawns on whichever runtime runs the opening) and its
    /// [`RuntimeWatch`] end up on the same runtime, even when the caller that started the
    /// opening gives up and a caller on another thread awaits it to the end.
    fn open_connection(&self) -> Opening {
        let client = self.client.clone();
        let config = self.config.clone();
        let opening = tokio::spawn(async move {
            let runtime = Arc::new(RuntimeWatch::start());
            let conn = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            Ok(Driven { conn, runtime })
        });
        async move {
            // Fails only when the runtime shut down while the connection was opening.
            opening
                .await
                .unwrap_or_else(|stopped| Err(io::Error::other(stopped).into()))
        }
        .boxed()
        .shared()
    }
}

impl fmt::Debug for Connections {
    // The client holds the URL, which may carry a password: left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connections")
            .field("open", &self.open())
            .field("max", &self.max())
            .finish_non_exhaustive()
    }
}

/// The order in which threads first used a store, for [`Connections::get`].
fn thread_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: Cell<Option<usize>> = const { Cell::new(None) };
    }
    INDEX.with(|index| {
        index.get().unwrap_or_else(|| {
            let assigned = NEXT.fetch_add(1, Relaxed);
            index.set(Some(assigned));
            assigned
        })
    })
}

/// One connection of the set, open, being opened, or not open.
#[derive(Default)]
struct Slot {
    state: Mutex<State>,
    /// When a call last used this slot, in milliseconds since [`Connections::epoch`].
    last_used: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Counts the connections this slot has had, so that a failure seen on a connection
    /// discards that connection and never its replacement.
    generation: u64,
    conn: Conn,
}

#[derive(Default)]
enum Conn {
    #[default]
    Closed,
    Opening(Opening),
    Open(Driven),
}

/// An open connection and the watch on the runtime that drives it.
#[derive(Clone)]
struct Driven {
    conn: MultiplexedConnection,
    runtime: Arc<RuntimeWatch>,
}

/// Tells whether the runtime a connection was opened on still runs.
///
/// A multiplexed connection is driven by a task on the runtime that opened it; connections
/// are shared between threads, and each actix-web worker (or test) has a runtime of its own.
/// When that runtime shuts down, its tasks are dropped and the connection is dead, though
/// other threads still hold it: the watch lets them notice before sending a command, and open
/// a new connection instead of failing a request.
///
/// It is a task spawned beside the connection's driver, which clears a flag when it is dropped
/// (by the runtime's shutdown) and ends when the watch itself is dropped (the slot let go of the
/// connection), so replaced connections leave no task behind.
struct RuntimeWatch {
    alive: Arc<AtomicBool>,
    _stop: oneshot::Sender<()>,
}

impl RuntimeWatch {
    /// Watches the current runtime. Must be called from within a tokio runtime.
    fn start() -> Self {
        struct ClearOnDrop(Arc<AtomicBool>);
        impl Drop for ClearOnDrop {
            fn drop(&mut self) {
                self.0.store(false, Release);
            }
        }
        let alive = Arc::new(AtomicBool::new(true));
        let (stop, stopped) = oneshot::channel::<()>();
        let flag = ClearOnDrop(Arc::clone(&alive));
        tokio::spawn(async move {
            let _flag = flag;
            // Resolves (with an error) when the watch, and so the sender, is dropped.
            let _ = stopped.await;
        });
        Self { alive, _stop: stop }
    }

    fn runtime_alive(&self) -> bool {
        self.alive.load(Acquire)
    }
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The lock is never held across a panic-prone call, and the state stays consistent
        // anyway: recover from poisoning rather than failing every later call.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The slot's connection and its generation, opening one if there is none; `true` when this
    /// call waited for it to open.
    async fn connection(
        &self,
        connections: &Connections,
    ) -> Result<(u64, MultiplexedConnection, bool), StoreError> {
        let (generation, opening) = {
            let mut state = self.lock();
            let opening = match &state.conn {
                Conn::Open(open) if open.runtime.runtime_alive() => {
                    return Ok((state.generation, open.conn.clone(), false));
                }
                Conn::Opening(opening) => opening.clone(),
                Conn::Open(_) | Conn::Closed => {
                    // A connection whose runtime shut down is closed like a failed one.
                    state.generation += 1;
                    let opening = connections.open_connection();
                    state.conn = Conn::Opening(opening.clone());
                    opening
                }
            };
            (state.generation, opening)
        };
        let opened = opening.await;
        let mut state = self.lock();
        let current = state.generation == generation;
        match opened {
            Ok(opened) => {
                let conn = opened.conn.clone();
                if current && matches!(state.conn, Conn::Opening(_)) {
                    state.conn = Conn::Open(opened);
                }
                Ok((generation, conn, true))
            }
            Err(err) => {
                if current {
                    state.generation += 1;
                    state.conn = Conn::Closed;
                }
                Err(StoreError::unavailable(err).with_message("cannot connect to Redis"))
            }
        }
    }

    /// Closes the slot's connection if it is still the one of `generation`.
    fn discard(&self, generation: u64) {
        let mut state = self.lock();
        if state.generation == generation {
            state.generation += 1;
            state.conn = Conn::Closed;
        }
    }
}

/// A connection lent to one call. Other calls may use the same connection at the same time.
pub(crate) struct Lease<'a> {
    slot: &'a Slot,
    generation: u64,
    pub(crate) conn: MultiplexedConnection,
}

impl Lease<'_> {
    /// Closes the connection after an error that may have broken it (see
    /// [`crate::store`]'s error handling), so that the next call opens a new one.
    pub(crate) fn discard(&self) {
        self.slot.discard(self.generation);
    }
}
