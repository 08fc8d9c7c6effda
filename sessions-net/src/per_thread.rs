//! [`PerThread`]: one connection per worker thread, opened on its runtime (see the crate docs).

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::runtime::{Handle, Id};
use tokio::sync::oneshot;

/// A connection kept per thread by [`PerThread`]. Cloning must be cheap: every call gets a
/// clone (a handle to the same connection).
///
/// ```
/// use sessions_net::ThreadConnection;
///
/// #[derive(Clone)]
/// struct Conn;
/// impl ThreadConnection for Conn {
///     fn is_open(&self) -> bool {
///         true // a client that notices a closed socket says so here
///     }
/// }
/// ```
pub trait ThreadConnection: Send + Sync + 'static {
    /// Whether the connection can still take commands. One that cannot is replaced before the
    /// next call uses it, so that call is never sent on a connection known to be dead.
    ///
    /// Defaults to `true`, for clients that cannot tell.
    ///
    /// ```
    /// # use sessions_net::ThreadConnection;
    /// # #[derive(Clone)] struct Conn;
    /// # impl ThreadConnection for Conn {}
    /// assert!(Conn.is_open());
    /// ```
    fn is_open(&self) -> bool {
        true
    }
}

/// A shared connection is a connection.
///
/// ```
/// use std::sync::Arc;
/// use sessions_net::ThreadConnection;
///
/// struct Conn;
/// impl ThreadConnection for Conn {}
/// assert!(Arc::new(Conn).is_open());
/// ```
impl<T: ThreadConnection + ?Sized> ThreadConnection for Arc<T> {
    fn is_open(&self) -> bool {
        (**self).is_open()
    }
}

/// One connection per thread that uses it (see the [crate documentation](crate)).
///
/// `Debug` shows how many connections are open, and for how many threads.
pub struct PerThread<C> {
    slots: RwLock<HashMap<usize, Arc<Slot<C>>>>,
    connect_timeout: Duration,
}

/// Why [`PerThread::get`] has no connection to lend.
///
/// ```
/// use std::time::Duration;
/// use sessions_net::{OpenError, PerThread, ThreadConnection};
///
/// #[derive(Clone)]
/// struct Conn;
/// impl ThreadConnection for Conn {}
///
/// # actix_web::rt::System::new().block_on(async {
/// let connections = PerThread::<Conn>::new(Duration::from_millis(10));
/// let refused = connections
///     .get(|| async { Err::<Conn, _>(std::io::Error::other("connection refused")) })
///     .await;
/// assert!(matches!(refused, Err(OpenError::Failed(_))));
/// # });
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError<E> {
    /// Opening failed with the opener's error.
    Failed(E),
    /// Opening (or waiting for another call's attempt on the same thread) took longer than the
    /// connect timeout.
    TimedOut(Duration),
    /// The call was made outside a Tokio runtime.
    NoRuntime,
}

impl<E: fmt::Display> fmt::Display for OpenError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(err) => write!(f, "opening a connection failed: {err}"),
            Self::TimedOut(after) => write!(f, "no connection opened within {after:?}"),
            Self::NoRuntime => f.write_str("the store was called outside a Tokio runtime"),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for OpenError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Failed(err) => Some(err),
            Self::TimedOut(_) | Self::NoRuntime => None,
        }
    }
}

impl<C: ThreadConnection + Clone> PerThread<C> {
    /// No connections yet; each thread's opens on its first [`get`](Self::get), within
    /// `connect_timeout`.
    ///
    /// ```
    /// # use sessions_net::{PerThread, ThreadConnection};
    /// # #[derive(Clone)] struct Conn;
    /// # impl ThreadConnection for Conn {}
    /// let connections = PerThread::<Conn>::new(std::time::Duration::from_millis(500));
    /// assert_eq!(connections.open_connections(), 0);
    /// ```
    #[must_use]
    pub fn new(connect_timeout: Duration) -> Self {
        Self {
            slots: RwLock::new(HashMap::new()),
            connect_timeout,
        }
    }

    /// The calling thread's connection, opened with `open` first if the thread has none that
    /// its current runtime drives (or the one it had was discarded or closed).
    ///
    /// `open` runs on the calling thread's runtime, so the tasks a client spawns to drive the
    /// connection run there. Calls on the same thread that need the connection while it opens
    /// wait for the same attempt; every wait, the opening included, is bounded by the connect
    /// timeout.
    ///
    /// ```
    /// # use sessions_net::{PerThread, ThreadConnection};
    /// # #[derive(Clone)] struct Conn;
    /// # impl ThreadConnection for Conn {}
    /// # actix_web::rt::System::new().block_on(async {
    /// let connections = PerThread::<Conn>::new(std::time::Duration::from_secs(1));
    /// let lease = connections.get(|| async { Ok::<_, std::io::Error>(Conn) }).await?;
    /// assert!(lease.is_fresh());
    /// let again = connections.get(|| async { unreachable!("already open") }).await
    ///     .map_err(|e: sessions_net::OpenError<std::io::Error>| e)?;
    /// assert!(!again.is_fresh());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// [`OpenError::Failed`] with `open`'s error, [`OpenError::TimedOut`] past the connect
    /// timeout, [`OpenError::NoRuntime`] outside a Tokio runtime.
    pub async fn get<E, F, Fut>(&self, open: F) -> Result<Lease<C>, OpenError<E>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<C, E>>,
    {
        let runtime = Handle::try_current()
            .map_err(|_| OpenError::NoRuntime)?
            .id();
        let slot = self.slot();
        if let Some(lease) = slot.current(runtime) {
            return Ok(lease);
        }
        // Boxed: opening is rare, and inline its future would make every call's future (which
        // callers box and move) larger.
        let opening = Box::pin(slot.open(runtime, open));
        match tokio::time::timeout(self.connect_timeout, opening).await {
            Ok(opened) => opened.map_err(OpenError::Failed),
            Err(_) => Err(OpenError::TimedOut(self.connect_timeout)),
        }
    }

    /// How many connections are open: those whose thread's runtime still runs, and that were
    /// neither discarded nor closed.
    ///
    /// ```
    /// # use sessions_net::{PerThread, ThreadConnection};
    /// # #[derive(Clone)] struct Conn;
    /// # impl ThreadConnection for Conn {}
    /// let connections = PerThread::<Conn>::new(std::time::Duration::from_secs(1));
    /// assert_eq!(connections.open_connections(), 0);
    /// ```
    #[must_use]
    pub fn open_connections(&self) -> usize {
        self.read_slots()
            .values()
            .filter(|slot| slot.is_live())
            .count()
    }

    /// The calling thread's slot, made on its first call. Making one also forgets the slots of
    /// threads whose runtime has shut down, so threads that come and go leave nothing behind.
    fn slot(&self) -> Arc<Slot<C>> {
        let thread = thread_index();
        if let Some(slot) = self.read_slots().get(&thread) {
            return Arc::clone(slot);
        }
        let mut slots = self.slots.write().unwrap_or_else(PoisonError::into_inner);
        slots.retain(|_, slot| slot.is_live() || slot.is_opening());
        Arc::clone(slots.entry(thread).or_default())
    }

    fn read_slots(&self) -> std::sync::RwLockReadGuard<'_, HashMap<usize, Arc<Slot<C>>>> {
        // Nothing panics while a slot map lock is held; a poisoned map is still consistent.
        self.slots.read().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<C: ThreadConnection + Clone> fmt::Debug for PerThread<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerThread")
            .field("open", &self.open_connections())
            .field("threads", &self.read_slots().len())
            .finish()
    }
}

/// A thread's connection, lent to one call. Other calls on the thread may use the same
/// connection at the same time.
pub struct Lease<C> {
    conn: C,
    slot: Arc<Slot<C>>,
    generation: u64,
    fresh: bool,
    idle: Duration,
}

impl<C: ThreadConnection + Clone> Lease<C> {
    /// The connection.
    ///
    /// ```
    /// # use sessions_net::{PerThread, ThreadConnection};
    /// # #[derive(Clone)] struct Conn(u8);
    /// # impl ThreadConnection for Conn {}
    /// # actix_web::rt::System::new().block_on(async {
    /// # let connections = PerThread::<Conn>::new(std::time::Duration::from_secs(1));
    /// let lease = connections.get(|| async { Ok::<_, std::io::Error>(Conn(1)) }).await?;
    /// assert_eq!(lease.connection().0, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn connection(&self) -> &C {
        &self.conn
    }

    /// The connection, mutably (clients whose commands take `&mut self`).
    ///
    /// ```
    /// # use sessions_net::{PerThread, ThreadConnection};
    /// # #[derive(Clone)] struct Conn(u8);
    /// # impl ThreadConnection for Conn {}
    /// # actix_web::rt::System::new().block_on(async {
    /// # let connections = PerThread::<Conn>::new(std::time::Duration::from_secs(1));
    /// let mut lease = connections.get(|| async { Ok::<_, std::io::Error>(Conn(1)) }).await?;
    /// lease.connection_mut().0 = 2;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn connection_mut(&mut self) -> &mut C {
        &mut self.conn
    }

    /// Whether this call waited for the connection to open (rather than finding it open).
    ///
    /// ```
    /// # use sessions_net::{PerThread, ThreadConnection};
    /// # #[derive(Clone)] struct Conn;
    /// # impl ThreadConnection for Conn {}
    /// # actix_web::rt::System::new().block_on(async {
    /// # let connections = PerThread::<Conn>::new(std::time::Duration::from_secs(1));
    /// let lease = connections.get(|| async { Ok::<_, std::io::Error>(Conn) }).await?;
    /// assert!(lease.is_fresh());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn is_fresh(&self) -> bool {
        self.fresh
    }

    /// How long the connection sat unused before this call (zero for a fresh one): a
    /// connection idle for long may have been closed by the server, a proxy or a NAT, and is
    /// worth checking before a command that must not be lost.
    ///
    /// ```
    /// # use sessions_net::{PerThread, ThreadConnection};
    /// # #[derive(Clone)] struct Conn;
    /// # impl ThreadConnection for Conn {}
    /// # actix_web::rt::System::new().block_on(async {
    /// # let connections = PerThread::<Conn>::new(std::time::Duration::from_secs(1));
    /// let lease = connections.get(|| async { Ok::<_, std::io::Error>(Conn) }).await?;
    /// assert_eq!(lease.idle(), std::time::Duration::ZERO);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// Takes the connection out of service, after a failure that may have broken it: the
    /// thread's next call opens a new one. Does nothing if it was already replaced.
    ///
    /// ```
    /// # use sessions_net::{PerThread, ThreadConnection};
    /// # #[derive(Clone)] struct Conn;
    /// # impl ThreadConnection for Conn {}
    /// # actix_web::rt::System::new().block_on(async {
    /// # let connections = PerThread::<Conn>::new(std::time::Duration::from_secs(1));
    /// let lease = connections.get(|| async { Ok::<_, std::io::Error>(Conn) }).await?;
    /// lease.discard();
    /// assert_eq!(connections.open_connections(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn discard(&self) {
        let mut state = self.slot.lock();
        if state.generation == self.generation {
            state.close();
        }
    }
}

impl<C> fmt::Debug for Lease<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("generation", &self.generation)
            .field("fresh", &self.fresh)
            .finish_non_exhaustive()
    }
}

/// One thread's connection: open, or not.
struct Slot<C> {
    state: Mutex<State<C>>,
    /// Held while the slot opens a connection, so that calls arriving meanwhile wait for it.
    opening: tokio::sync::Mutex<()>,
}

impl<C> Default for Slot<C> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                generation: 0,
                open: None,
            }),
            opening: tokio::sync::Mutex::new(()),
        }
    }
}

struct State<C> {
    /// Counts the connections the slot has had, so that discarding a connection never
    /// discards its replacement.
    generation: u64,
    open: Option<Open<C>>,
}

impl<C> State<C> {
    fn close(&mut self) {
        self.generation += 1;
        self.open = None;
    }
}

struct Open<C> {
    conn: C,
    runtime: Id,
    watch: RuntimeWatch,
    last_used: Instant,
}

impl<C: ThreadConnection> Open<C> {
    fn usable_on(&self, runtime: Id) -> bool {
        // The id alone is not enough: Tokio may give a finished runtime's id to a new one.
        self.runtime == runtime && self.watch.runtime_alive() && self.conn.is_open()
    }
}

impl<C: ThreadConnection + Clone> Slot<C> {
    fn lock(&self) -> MutexGuard<'_, State<C>> {
        // Nothing panics while the lock is held; a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The open connection, if `runtime` can use it; a connection it cannot use (its runtime
    /// is gone, or it closed) is dropped here.
    fn current(self: &Arc<Self>, runtime: Id) -> Option<Lease<C>> {
        let mut state = self.lock();
        let generation = state.generation;
        let open = state.open.as_mut()?;
        if !open.usable_on(runtime) {
            state.close();
            return None;
        }
        let now = Instant::now();
        let idle = now.saturating_duration_since(open.last_used);
        open.last_used = now;
        Some(Lease {
            conn: open.conn.clone(),
            slot: Arc::clone(self),
            generation,
            fresh: false,
            idle,
        })
    }

    /// Opens a connection, unless a call that held the opening lock before this one did.
    async fn open<E, F, Fut>(self: &Arc<Self>, runtime: Id, open: F) -> Result<Lease<C>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<C, E>>,
    {
        let _opening = self.opening.lock().await;
        if let Some(lease) = self.current(runtime) {
            return Ok(lease);
        }
        let conn = open().await?;
        let mut state = self.lock();
        state.generation += 1;
        state.open = Some(Open {
            conn: conn.clone(),
            runtime,
            watch: RuntimeWatch::start(),
            last_used: Instant::now(),
        });
        Ok(Lease {
            conn,
            slot: Arc::clone(self),
            generation: state.generation,
            fresh: true,
            idle: Duration::ZERO,
        })
    }

    fn is_live(&self) -> bool {
        self.lock()
            .open
            .as_ref()
            .is_some_and(|open| open.watch.runtime_alive() && open.conn.is_open())
    }

    fn is_opening(&self) -> bool {
        self.opening.try_lock().is_err()
    }
}

/// Tells whether the runtime a connection was opened on still runs: a task spawned beside the
/// connection's own clears a flag when it is dropped (by the runtime's shutdown), and ends when
/// the watch itself is dropped (the slot let go of the connection), so replaced connections
/// leave no task behind.
struct RuntimeWatch {
    alive: Arc<AtomicBool>,
    _stop: oneshot::Sender<()>,
}

impl RuntimeWatch {
    /// Watches the current runtime. Must be called from within a Tokio runtime.
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
        // The flag is moved in as the task is made, so a runtime that shuts down before
        // polling the task still drops it.
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

/// A number for the calling thread, unique in the process: threads are numbered in the order
/// they first use any [`PerThread`].
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

#[cfg(test)]
mod tests;
