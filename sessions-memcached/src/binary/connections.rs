//! The shared connections to one server: opening, SASL PLAIN authentication, and which
//! connection a call uses.
//!
//! # Which connection a call uses
//!
//! There are up to `pool_size` connections, each in a slot. Each thread sticks to one slot,
//! chosen by the order in which threads first used a store: with `n` slots, the first thread
//! takes slot 0, the second slot 1, …, the `n + 1`-th slot 0 again. Calls made on one thread
//! (one actix-web worker) therefore share a connection, which batches their requests best, and
//! that connection's tasks run on the same thread (they are spawned by the call that opened
//! it), so no call has to wake another thread. Slots open their connection on first use.
//!
//! # Failures
//!
//! A connection that closed (an I/O error, the server restarted, garbage on the wire) is
//! replaced by the next call on its slot; so is one retired by a call that timed out
//! ([`Lease::discard`]), whose late replies are best never read. Calls still waiting on a
//! replaced connection finish on it; it closes once the last of them is done. Opening is
//! shared: the calls that find their slot empty wait for the same attempt, bounded by the
//! connect timeout.
//!
//! A connection's tasks run on the runtime of the thread that opened it. When that runtime
//! shuts down (an actix-web worker stopping, a test ending) the connection closes with it (see
//! [`Connection`]), and the next call on the slot, from any thread, opens a new one instead of
//! failing.

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use sessions_core::StoreError;
use tokio::net::TcpStream;

use super::connection::{CallError, Connection};
use super::protocol::{Opcode, Request, Status};
use crate::error::{auth_failed, timed_out};
use crate::server::{Credentials, ServerConfig};

/// The only SASL mechanism implemented: the password travels in clear text, as with every
/// hosted memcached service that offers SASL (use a private network or a TLS tunnel).
const MECHANISM: &str = "PLAIN";

/// Up to `size` shared connections to one server (see the [module documentation](self)).
pub(crate) struct Connections {
    server: ServerConfig,
    address: String,
    connect_timeout: Duration,
    max_body: u32,
    slots: Box<[Slot]>,
}

#[derive(Default)]
struct Slot {
    current: Mutex<Option<Arc<Connection>>>,
    /// Held while the slot opens a connection, so that calls arriving meanwhile wait for it.
    opening: tokio::sync::Mutex<()>,
}

impl Slot {
    fn open_connection(&self) -> Option<Arc<Connection>> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        current.as_ref().filter(|conn| conn.is_open()).cloned()
    }
}

/// A connection lent to one call. Other calls may use the same connection at the same time.
pub(crate) struct Lease<'a> {
    slot: &'a Slot,
    pub(crate) conn: Arc<Connection>,
}

impl Lease<'_> {
    /// Takes the connection out of service (if its slot still holds it), so that the next call
    /// opens a new one. For a connection whose server stopped answering in time.
    pub(crate) fn discard(&self) {
        let mut current = self
            .slot
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if current
            .as_ref()
            .is_some_and(|held| Arc::ptr_eq(held, &self.conn))
        {
            *current = None;
        }
    }
}

impl Connections {
    /// Connections to `server`, opened with `connect_timeout`; replies with bodies over
    /// `max_body` bytes are skipped.
    pub(crate) fn new(
        server: ServerConfig,
        size: usize,
        connect_timeout: Duration,
        max_body: u32,
    ) -> Self {
        Self {
            address: server.address(),
            server,
            connect_timeout,
            max_body,
            slots: (0..size.max(1)).map(|_| Slot::default()).collect(),
        }
    }

    /// The calling thread's connection, opening (and authenticating) one first if need be.
    ///
    /// # Errors
    ///
    /// `Unavailable` when no connection could be opened within the connect timeout (which
    /// bounds waiting for another call's attempt too), or the server refused the credentials.
    pub(crate) async fn get(&self) -> Result<Lease<'_>, StoreError> {
        let slot = &self.slots[thread_index() % self.slots.len()];
        let conn = match slot.open_connection() {
            Some(conn) => conn,
            // Boxed: opening (connect, SASL) is rare, and inline it would make every call's
            // future, which the middleware boxes, several times larger.
            None => tokio::time::timeout(self.connect_timeout, Box::pin(self.reopen(slot)))
                .await
                .map_err(|_| timed_out("connect", &self.server, self.connect_timeout))??,
        };
        Ok(Lease { slot, conn })
    }

    /// How many connections are open.
    pub(crate) fn open(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| slot.open_connection().is_some())
            .count()
    }

    /// Opens a connection in `slot`, unless a call that held the slot's opening lock before
    /// this one did.
    async fn reopen(&self, slot: &Slot) -> Result<Arc<Connection>, StoreError> {
        let _opening = slot.opening.lock().await;
        if let Some(conn) = slot.open_connection() {
            return Ok(conn);
        }
        let conn = self.open_one().await?;
        *slot.current.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&conn));
        Ok(conn)
    }

    /// Connects and authenticates. Unbounded: the caller applies the connect timeout.
    async fn open_one(&self) -> Result<Arc<Connection>, StoreError> {
        let connect = async {
            let stream = TcpStream::connect(&self.address).await?;
            stream.set_nodelay(true)?;
            Ok::<_, std::io::Error>(stream)
        };
        let stream = connect.await.map_err(|err| {
            StoreError::unavailable(err)
                .with_message(format!("cannot connect to memcached on {}", self.server))
        })?;
        let conn = Connection::start(stream, self.max_body);
        if let Some(credentials) = &self.server.credentials {
            // On failure the connection is dropped, which closes it.
            self.authenticate(&conn, credentials).await?;
        }
        Ok(conn)
    }

    /// SASL: checks that the server offers PLAIN (`SASL_LIST_MECHS`), then sends
    /// `SASL_AUTH PLAIN` with `\0<user>\0<password>` (RFC 4616, no authorization identity).
    async fn authenticate(
        &self,
        conn: &Arc<Connection>,
        credentials: &Credentials,
    ) -> Result<(), StoreError> {
        let failed = |err: CallError| {
            StoreError::unavailable(err).with_message(format!(
                "memcached on {} failed during SASL authentication",
                self.server
            ))
        };
        let mechanisms = conn
            .call(Request::new(Opcode::SaslListMechs))
            .await
            .map_err(failed)?;
        let offered = String::from_utf8_lossy(mechanisms.value()).into_owned();
        if mechanisms.header.status != Status::NoError
            || !offered.split_whitespace().any(|m| m == MECHANISM)
        {
            let detail = match mechanisms.header.status {
                Status::NoError => {
                    format!("the server offers the SASL mechanisms `{offered}`, not {MECHANISM}")
                }
                status => format!(
                    "the server does not list SASL mechanisms ({status}); was it started with -S?"
                ),
            };
            return Err(auth_failed(&self.server, detail));
        }
        let token = format!("\0{}\0{}", credentials.username, credentials.password);
        let request = Request {
            key: MECHANISM.as_bytes(),
            value: token.as_bytes(),
            ..Request::new(Opcode::SaslAuth)
        };
        let reply = conn.call(request).await.map_err(failed)?;
        match reply.header.status {
            Status::NoError => Ok(()),
            status => Err(auth_failed(
                &self.server,
                format!(
                    "user `{}` was refused: {status} ({})",
                    credentials.username,
                    String::from_utf8_lossy(reply.value())
                ),
            )),
        }
    }
}

impl fmt::Debug for Connections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connections")
            .field("server", &self.server)
            .field("open", &self.open())
            .field("max", &self.slots.len())
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
            let assigned = NEXT.fetch_add(1, Ordering::Relaxed);
            index.set(Some(assigned));
            assigned
        })
    })
}
